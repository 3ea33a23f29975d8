"""`kiosk run`: the composition root. Builds each part once, connects them, and tears them down.

One process, a few threads: the render loop (main thread), the frame
builder, the content source (sync, or the authoring-folder worker), the
reporter, the health server and the config watcher. A valid edit of
config.yaml builds a new Session while the screen keeps its last frame.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import unicodedata
from pathlib import Path

from kiosk.config import Config
from kiosk.content import programme as programmemod
from kiosk.content.current import Current
from kiosk.problems import InvalidInput, Problem
from kiosk.status import Status
from kiosk.version import __version__

log = logging.getLogger("kiosk")

RELOAD = "reload"
JOIN_SECONDS = 5.0


class SetupError(Exception):
    """A part cannot be built with this configuration (cache folder, font): one line, no traceback."""


class ContentSource:
    """Keeps Current filled: from the authoring folder (watched) or the source system (synced).

    All loading happens on this object's own thread, one load at a time, so a slow load can never
    finish after a newer one; after close() nothing more reaches Current.
    """

    def __init__(self, cfg: Config, current: Current, status: Status, prepare, warm):
        self.cfg, self.current, self.status, self.prepare, self.warm = cfg, current, status, prepare, warm
        self.sync_now = threading.Event()
        self.stop = threading.Event()
        self._dirty = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._watcher = None

    # --- hand-off ---------------------------------------------------------------------------------
    def deliver(self, programme: programmemod.Programme) -> None:
        with self._lock:
            if self.stop.is_set():
                return  # a session that was closed must not touch the next one's screen
            if self.current.replace(programme):
                log.info("content %s: %d slides", programme.version, len(programme.slides))

    # --- before the first frame -------------------------------------------------------------------
    def load_initial(self) -> None:
        """Whatever is already on this device, with no network. Shown at once when its images are
        already prepared; otherwise the idle screen shows while the content thread prepares them."""
        loaded = self._read_folder() if self.cfg.source.path is not None else self._read_cache()
        if loaded is None:
            return
        try:
            ready = self.warm(loaded) and self.prepare(loaded)
        except Exception as exc:  # noqa: BLE001 - the content thread tries again, the screen shows idle
            log.warning("content not ready at start (%s); preparing it in the background", exc)
            ready = None
        if ready:
            self.deliver(ready)
        else:
            log.info("preparing %d slides for this screen before they show", len(loaded.slides))
            self._pending = loaded
            self._dirty.set()

    _pending: programmemod.Programme | None = None

    def _read_cache(self) -> programmemod.Programme | None:
        from kiosk.source import sync

        try:
            cached = sync.load_cached(self.cfg)
        except Exception as exc:  # noqa: BLE001 - a damaged cache must not stop the board
            log.error("cached content unusable: %s", exc)
            return None
        if cached is None:
            log.warning("no content cached yet; the idle screen shows until the first sync")
        return cached

    def _read_folder(self) -> programmemod.Programme | None:
        try:
            loaded = programmemod.load_folder(self.cfg.source.path)
        except InvalidInput as exc:
            message = "; ".join(str(p) for p in exc.problems)
            log.error("authoring folder not loaded, keeping the current content: %s", message)
            self.status.set_error("content", message)
            return None
        for warning in loaded.warnings:
            log.warning("slide skipped: %s", warning)
        self.status.set_error("content", None)
        return loaded

    # --- the content thread -----------------------------------------------------------------------
    def start(self) -> None:
        if self.cfg.source.path is not None:
            from kiosk.source import watch

            self._spawn(self._folder_worker, "content")
            ignore = [self.cfg.cache.path]  # a cache inside the folder must not trigger reloads
            self._watcher = watch.FolderWatcher(self.cfg.source.path, self._dirty.set, ignore=ignore)
            self._watcher.start()
            return
        from kiosk.source import sync

        syncer = sync.Syncer(self.cfg, self.status, on_ready=self.deliver, prepare=self.prepare)

        def work() -> None:
            self._guarded(self._prepare_pending)  # cached content not yet prepared for this screen: before any sync
            syncer.run(self.stop, self.sync_now)

        self._spawn(work, "sync")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _prepare_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.deliver(self.prepare(pending))

    def _guarded(self, step) -> None:
        """One load; whatever goes wrong is reported and the thread lives on for the next edit."""
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the content thread must outlive any one bad load
            log.error("loading content failed, keeping the current content: %s", exc,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            self.status.set_error("content", f"loading content failed: {exc}")

    def _load_folder_once(self) -> None:
        if self._pending is not None:
            self._prepare_pending()
            return
        loaded = self._read_folder()
        if loaded is not None and not self.stop.is_set():
            self.deliver(self.prepare(loaded))

    def _folder_worker(self) -> None:
        while not self.stop.is_set():
            if not self._dirty.wait(1.0):
                continue
            self._dirty.clear()
            self._guarded(self._load_folder_once)

    def close(self) -> None:
        with self._lock:
            self.stop.set()
        if self._watcher is not None:
            self._watcher.stop()
        for thread in self._threads:
            thread.join(JOIN_SECONDS)


class Reload:
    """Hands a new, valid config from the watcher thread to the main thread."""

    def __init__(self, wake: threading.Event, status: Status, running: Config):
        self.wake, self.status, self.running = wake, status, running
        self._latest: Config | None = None
        self._lock = threading.Lock()

    def on_valid(self, cfg: Config) -> None:
        self.status.set_error("config", None)
        self.status.count("reloads_ok")
        with self._lock:
            self._latest = cfg  # the newest valid file wins, even one that undoes an earlier edit
        log.info("config.yaml is back to the running configuration" if cfg == self.running
                 else "config.yaml changed: applying it")
        self.wake.set()

    def wanted(self) -> bool:
        with self._lock:
            return self._latest is not None and self._latest != self.running

    def take(self) -> Config | None:
        """The config to switch to, if it differs from the running one (read and cleared at once)."""
        with self._lock:
            latest, self._latest = self._latest, None
        return latest if latest is not None and latest != self.running else None

    def on_invalid(self, problems: list[Problem]) -> None:
        for problem in problems:
            log.error("config.yaml edit refused, keeping the running config: %s", problem)
        self.status.count("reloads_failed")
        self.status.set_error("config", "; ".join(str(p) for p in problems))


def run(cfg: Config, config_problems: list[Problem] | None = None) -> int:
    """Play with `cfg`; `config_problems`: config.yaml is invalid and `cfg` is the last good one."""
    from kiosk.config import remember
    from kiosk.report import device
    from kiosk.report.notify import Notifier
    from kiosk.screen import power
    from kiosk.screen.display import Screen
    from kiosk.source import watch

    log.info("kiosk %s starting: device %s (%s), config %s", __version__, cfg.device.id, cfg.device.name, cfg.file)
    stop = threading.Event()
    status = Status(device=device.Reader(cfg.cache.path))
    current = Current()

    def on_signal(signum, _frame):
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()
        current.changed.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    display = (cfg.display.size, cfg.display.rotation)
    try:
        screen = Screen.open(*display, status)
    except Exception as exc:  # noqa: BLE001 - reported in one line; systemd restarts us
        log.critical("cannot open the display: %s", exc)
        return 1
    notifier = Notifier()
    if notifier.enabled:
        threading.Thread(target=_systemd_status, args=(notifier, status, stop), name="sd-status", daemon=True).start()
    reload = Reload(current.changed, status, cfg)
    if config_problems:
        reload.on_invalid(config_problems)
    watcher = watch.ConfigWatcher(cfg.file, reload.on_valid, reload.on_invalid)
    watcher.start()
    previous: Config | None = None

    def power_report(state: str, error: str | None) -> None:
        status.update(power=state)
        status.set_error("power", error)

    panel = power.Panel(cfg.display.power, report=power_report)  # one for the process: no racing commands
    try:
        while True:
            if (cfg.display.size, cfg.display.rotation) != display:
                screen.close()
                display = (cfg.display.size, cfg.display.rotation)
                screen = Screen.open(*display, status)
            try:
                session = Session(cfg, screen, status, current, stop, notifier, reload, panel)
            except SetupError as exc:
                if previous is None:
                    log.critical("%s", exc)
                    return 2
                reload.on_invalid([Problem(str(cfg.file), None, "", str(exc))])
                cfg, previous = previous, None  # back to the configuration that worked
                continue
            reload.running = cfg
            remember(cfg)  # only a config a session was built from (and still on disk) becomes the last good one
            panel.configure(cfg.display.power)
            code = session.run()
            if code != RELOAD:
                return code
            new = reload.take()
            if new is not None:
                previous, cfg = cfg, new
                current.replace_with_empty()
    finally:
        notifier.stopping()
        watcher.stop()
        log.info("stopped")


class Session:
    """Every part that depends on one configuration. Built whole (or not at all) before it runs."""

    def __init__(self, cfg: Config, screen, status: Status, current: Current, stop: threading.Event,
                 notifier, reload: Reload, panel):
        from kiosk.screen.fonts import FontError
        from kiosk.screen.slide import Renderer

        self.cfg, self.screen, self.status, self.current = cfg, screen, status, current
        self.stop, self.notifier, self.reload, self.panel = stop, notifier, reload, panel
        self.ended = threading.Event()  # set when this session gives way: its content thread stops working
        self.cache_dir = Path(cfg.cache.path)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            probe = self.cache_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SetupError(f"cache.path {str(self.cache_dir)!r} is not a writable folder: "
                             f"{exc.strerror or exc}") from None
        try:
            self.renderer = Renderer(screen.size, cfg.display, self.cache_dir, cfg.device.name)
        except FontError as exc:
            raise SetupError(f"display.font: {exc}") from None

    # --- content preparation (on the content thread) ---------------------------------------------
    def prepare(self, programme):
        from kiosk.player.loop import without_unpreparable
        from kiosk.source import prepare as preparemod

        problems = preparemod.prepare_programme(programme, self.screen.size, self.cfg.display.fit, self.cache_dir,
                                                should_stop=self.ended.is_set)
        kept = without_unpreparable(programme, problems)
        if self.ended.is_set():
            return kept  # nobody will show it; above all, do not prune the next session's files
        if self.cfg.source.path is not None:  # synced content is evicted by the sync cache
            self._prune(kept)
        self.status.update(**_usage(self.cache_dir))
        return kept

    def warm(self, programme) -> bool:
        from kiosk.source import prepare as preparemod

        needed = preparemod.needed_files(programme, self.screen.size, self.cfg.display.fit, self.cache_dir)
        return all(path.is_file() for path in needed)

    def _prune(self, programme) -> None:
        """Prepared images and speech of slides no longer played are removed: the SD card is small."""
        from kiosk.source import prepare as preparemod
        from kiosk.source import speech

        keep = preparemod.needed_files(programme, self.screen.size, self.cfg.display.fit, self.cache_dir)
        folder = preparemod.prepared_dir(self.cache_dir)
        for path in folder.glob("*") if folder.is_dir() else ():
            if path not in keep and path.is_file():
                path.unlink(missing_ok=True)
        voices = {
            f"{speech.cache_key(speech_text(s), self.cfg.speech.voice, self.cfg.speech.rate)}.wav"
            for s in programme.slides if s.speak
        }
        speech.prune(self.cache_dir / "speech", [Path(v) for v in voices])

    # --- one run ------------------------------------------------------------------------------------
    def run(self):
        from kiosk.player.loop import Player

        source = ContentSource(self.cfg, self.current, self.status, self.prepare, self.warm)
        source.load_initial()
        plays = _open_plays(self.cfg, self.status)
        server = _start_health(self.cfg, self.status, self.screen)
        reporter = _start_reporter(self.cfg, self.status, self.screen, plays, source)

        player = Player(self.cfg, self.screen, self.renderer, self.current, self.status, self.stop, plays=plays,
                        panel=self.panel, notifier=self.notifier, reload=self.reload.wanted)
        source.start()
        try:
            try:
                code = player.run()
            except Exception as exc:  # noqa: BLE001 - one line in the journal; systemd restarts the player
                log.critical("the player stopped: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
                return 1
            return RELOAD if code == 0 and self.reload.wanted() and not self.stop.is_set() else code
        finally:
            self.ended.set()
            source.close()
            if reporter is not None:
                reporter[0].set()
                reporter[1].join(JOIN_SECONDS)
            if server is not None:
                try:
                    server.stop()
                except Exception as exc:  # noqa: BLE001 - shutting down: log, carry on
                    log.warning("while stopping the health endpoint: %s", exc)
            if plays is not None:
                plays.close()


def _usage(folder: Path) -> dict:
    """Bytes and files under the cache; files that vanish while counted (temp files renamed) are skipped."""
    total = count = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
            count += 1
    return {"cache_bytes": total, "cache_files": count}


def speech_text(slide) -> str:
    """What a `speak: true` slide says: its title, then its body."""
    text = ". ".join(part for part in (slide.title, slide.body) if part)
    return unicodedata.normalize("NFC", text).strip()


def _systemd_status(notifier, status: Status, stop: threading.Event) -> None:
    """`systemctl status kiosk` shows the verdict of /healthz, refreshed every 10 s (off the render loop)."""
    from kiosk.report import health

    while not stop.wait(10):
        notifier.status(health.summary_line(status.snapshot(), time.monotonic()))


def _open_plays(cfg: Config, status: Status):
    from kiosk.report import plays

    try:
        queue = plays.PlayQueue(plays.default_path(cfg.cache.path))
    except Exception as exc:  # noqa: BLE001 - proof of play is not worth a black screen
        log.error("play records disabled: %s", exc)
        status.set_error("plays", str(exc))
        return None
    status.set_error("plays", None)
    return queue


def _start_health(cfg: Config, status: Status, screen):
    from kiosk.report.health import HealthServer

    try:
        server = HealthServer(cfg, status, screen.screenshot_png)
        server.start()
    except Exception as exc:  # noqa: BLE001 - e.g. the port is taken: play anyway, say so
        log.error("health endpoint not started: %s", exc)
        status.set_error("health", str(exc))
        return None
    status.set_error("health", None)
    return server


def _start_reporter(cfg: Config, status: Status, screen, plays, source: ContentSource):
    """Always runs when there is a play queue: it also writes plays to disk in batches (no report_url:
    reporting is off, the queue is still flushed and bounded)."""
    if plays is None:
        return None
    from kiosk.report import reporter as reports

    def on_command(name: str, _args: dict) -> None:
        if name == "sync_now":
            source.sync_now.set()

    stop = threading.Event()
    reporter = reports.Reporter(cfg, status, plays, on_command, screenshot=screen.screenshot_png)
    thread = threading.Thread(target=reporter.run, args=(stop,), name="reports", daemon=True)
    thread.start()
    return stop, thread
