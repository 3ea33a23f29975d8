"""`kiosk run`: the composition root. Builds each part once, connects them, and tears them down.

One process, a few threads: the render loop (main thread), the frame
builder, the content source (sync or authoring-folder watcher), the
reporter, the health server and the config watcher.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from kiosk import programme as programmemod
from kiosk.config import Config
from kiosk.current import Current
from kiosk.problems import InvalidInput
from kiosk.status import Status
from kiosk.version import __version__

log = logging.getLogger("kiosk")


class ContentSource:
    """Keeps Current filled: from the authoring folder (watched) or the source system (synced)."""

    def __init__(self, cfg: Config, current: Current, status: Status, prepare, stop: threading.Event):
        self.cfg, self.current, self.status, self.prepare, self.stop = cfg, current, status, prepare, stop
        self.sync_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watcher = None

    def load_initial(self) -> None:
        """Before the first frame: whatever is already on this device, with no network."""
        if self.cfg.source.path is not None:
            self.reload_folder()
            return
        from kiosk import sync

        try:
            cached = sync.load_cached(self.cfg)
        except Exception as exc:  # noqa: BLE001 - a damaged cache must not stop the board
            log.error("cached content unusable: %s", exc)
            cached = None
        if cached is not None:
            self.current.replace(self.prepare(cached))
            log.info("playing cached content %s (%d slides)", cached.version, len(cached.slides))
        else:
            log.warning("no content cached yet; the idle screen shows until the first sync")

    def reload_folder(self) -> None:
        folder = self.cfg.source.path
        try:
            loaded = programmemod.load_folder(folder)
        except InvalidInput as exc:
            message = "; ".join(str(p) for p in exc.problems)
            log.error("authoring folder not loaded, keeping the current content: %s", message)
            self.status.set_error("content", message)
            return
        for warning in loaded.warnings:
            log.warning("slide skipped: %s", warning)
        self.status.set_error("content", None)
        prepared = self.prepare(loaded)
        if self.current.replace(prepared):
            log.info("content %s: %d slides from %s", prepared.version, len(prepared.slides), folder)

    def start(self) -> None:
        if self.cfg.source.path is not None:
            from kiosk import watch

            self._watcher = watch.FolderWatcher(self.cfg.source.path, self._folder_changed)
            self._watcher.start()
            return
        from kiosk import sync

        syncer = sync.Syncer(self.cfg, self.status, on_ready=self.current.replace, prepare=self.prepare)
        thread = threading.Thread(target=syncer.run, args=(self.stop, self.sync_now), name="sync", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _folder_changed(self) -> None:
        threading.Thread(target=self.reload_folder, name="folder-reload", daemon=True).start()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()


RELOAD = "reload"


class Reload:
    """Hands a new, valid config from the watcher thread to the main thread."""

    def __init__(self, wake: threading.Event, status: Status):
        self.wake, self.status = wake, status
        self.pending: Config | None = None

    def on_valid(self, cfg: Config) -> None:
        log.info("config.yaml changed: applying it")
        self.status.set_error("config", None)
        self.pending = cfg
        self.wake.set()

    def on_invalid(self, problems) -> None:
        for problem in problems:
            log.error("config.yaml edit refused, keeping the running config: %s", problem)
        self.status.set_error("config", "; ".join(str(p) for p in problems))


def run(cfg: Config) -> int:
    from kiosk import watch
    from kiosk.notify import Notifier
    from kiosk.render.screen import Screen

    log.info("kiosk %s starting: device %s (%s), config %s", __version__, cfg.device.id, cfg.device.name, cfg.file)
    from kiosk import device

    stop = threading.Event()
    status = Status(device=device.Reader(cfg.cache.path))
    current = Current()

    def on_signal(signum, _frame):
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()
        current.changed.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        screen = Screen.open(cfg.display.size, cfg.display.rotation, status)
    except Exception as exc:  # noqa: BLE001 - reported in one line; systemd restarts us
        log.critical("cannot open the display: %s", exc)
        return 1
    notifier = Notifier()
    if notifier.enabled:
        threading.Thread(target=_systemd_status, args=(notifier, status, stop), name="sd-status", daemon=True).start()
    reload = Reload(current.changed, status)
    watcher = watch.ConfigWatcher(cfg.file, reload.on_valid, reload.on_invalid)
    watcher.start()
    try:
        while True:
            code = _play(cfg, screen, status, current, stop, notifier, reload)
            if code != RELOAD:
                return code
            new, reload.pending = reload.pending, None
            if (new.display.size, new.display.rotation) != (cfg.display.size, cfg.display.rotation):
                screen.close()
                screen = Screen.open(new.display.size, new.display.rotation, status)
            cfg = new
            current.replace_with_empty()
    finally:
        notifier.stopping()
        watcher.stop()
        log.info("stopped")


def _play(cfg: Config, screen, status: Status, current: Current, stop: threading.Event, notifier, reload: Reload):
    """Run every part for one configuration, until a stop, a lost display or a new config."""
    from kiosk import prepare as preparemod
    from kiosk.player import Player, without_unpreparable
    from kiosk.render.slide import Renderer

    cache_dir = Path(cfg.cache.path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(screen.size, cfg.display, cache_dir, cfg.device.name)

    def prepare(programme):
        problems = preparemod.prepare_programme(programme, screen.size, cfg.display.fit, cache_dir)
        for slide_id, message in problems.items():
            log.warning("slide %s skipped: %s", slide_id, message)
        return without_unpreparable(programme, problems)

    session_stop = threading.Event()
    source = ContentSource(cfg, current, status, prepare, session_stop)
    source.load_initial()
    plays = _open_plays(cfg, status)
    services = _start_services(cfg, status, screen, plays, source, session_stop)
    from kiosk import power

    def power_report(state: str, error: str | None) -> None:
        status.update(power=state)
        status.set_error("power", error)

    panel = power.Panel(cfg.display.power, report=power_report) if cfg.display.power is not None else None
    player = Player(cfg, screen, renderer, current, status, stop, plays=plays, panel=panel, notifier=notifier,
                    reload=lambda: reload.pending is not None)
    source.start()
    try:
        try:
            code = player.run()
        except Exception as exc:  # noqa: BLE001 - one line in the journal; systemd restarts the player
            log.critical("the player stopped: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            return 1
        return RELOAD if code == 0 and reload.pending is not None and not stop.is_set() else code
    finally:
        session_stop.set()
        source.close()
        for service in services:
            try:
                service.stop()
            except Exception as exc:  # noqa: BLE001 - shutting down: log, carry on
                log.warning("while stopping %s: %s", type(service).__name__, exc)
        if plays is not None:
            plays.close()


def _systemd_status(notifier, status: Status, stop: threading.Event) -> None:
    """`systemctl status kiosk` shows the verdict of /healthz, refreshed every 10 s (off the render loop)."""
    import time

    from kiosk import health

    while not stop.wait(10):
        notifier.status(health.summary_line(status.snapshot(), time.monotonic()))


def _open_plays(cfg: Config, status: Status):
    from kiosk import plays

    try:
        return plays.PlayQueue(Path(cfg.cache.path) / "plays.sqlite")
    except Exception as exc:  # noqa: BLE001 - proof of play is not worth a black screen
        log.error("play records disabled: %s", exc)
        status.set_error("plays", str(exc))
        return None


def _start_services(cfg: Config, status: Status, screen, plays, source: ContentSource, stop: threading.Event) -> list:
    services = []
    try:
        from kiosk.health import HealthServer

        server = HealthServer(cfg, status, screen.screenshot_png)
        server.start()
        services.append(server)
    except Exception as exc:  # noqa: BLE001 - e.g. the port is taken: play anyway, say so
        log.error("health endpoint not started: %s", exc)
        status.set_error("health", str(exc))
    if cfg.report_url and plays is not None:
        from kiosk import reports

        def on_command(name: str, _args: dict) -> None:
            if name == "sync_now":
                source.sync_now.set()

        reporter = reports.Reporter(cfg, status, plays, on_command, screenshot=screen.screenshot_png)
        thread = threading.Thread(target=reporter.run, args=(stop,), name="reports", daemon=True)
        thread.start()
    return services
