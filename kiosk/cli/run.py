"""`kiosk run`: the composition root. Builds each part once, connects them, and tears them down.

One process, a few threads: the render loop (main thread), the frame
builder, the content source (sync, or the authoring-folder worker), the
reporter, the health server and the config watcher. A valid edit of
config.yaml builds a new Session while the screen keeps its last frame.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

from kiosk import i18n
from kiosk.config import Config
from kiosk.content.current import Current
from kiosk.i18n import _
from kiosk.problems import Problem
from kiosk.status import Status
from kiosk.version import __version__

log = logging.getLogger("kiosk")

RELOAD = "reload"
JOIN_SECONDS = 5.0


class SetupError(Exception):
    """A part cannot be built with this configuration (cache folder, font): one line, no traceback."""


class Reload:
    """Hands a new, valid config from the watcher thread to the main thread."""

    def __init__(self, wake: threading.Event, status: Status, running: Config):
        self.wake, self.status, self.running = wake, status, running
        self._latest: Config | None = None
        self._lock = threading.Lock()

    def on_valid(self, cfg: Config) -> None:
        self.status.set_error("config", None)
        self.status.count("reloads_ok")
        i18n.use(cfg.ui.language)
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
            log.error(_("config.yaml edit refused, keeping the running config: {problem}").format(problem=problem))
        self.status.count("reloads_failed")
        self.status.set_error("config", "; ".join(str(p) for p in problems))


def run(cfg: Config, config_problems: list[Problem] | None = None) -> int:
    """Play with `cfg`; `config_problems`: config.yaml is invalid and `cfg` is the last good one."""
    from kiosk import malloc
    from kiosk.config import remember
    from kiosk.report import device
    from kiosk.report.notify import Notifier
    from kiosk.screen import power
    from kiosk.screen.display import Screen
    from kiosk.source import watch

    log.info("kiosk %s starting: device %s (%s), config %s", __version__, cfg.device.id, cfg.device.name, cfg.file)
    malloc.return_big_buffers()
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
        screen = Screen.open(*display, status, wake=current.changed)  # a screenshot wanted wakes the loop
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
                screen = Screen.open(*display, status, wake=current.changed)
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
            _say_config(cfg, status)
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
        panel.wait_idle(2.0)  # a panel command under way finishes: a TV left half-way through CEC is worse
        watcher.stop()
        log.info("stopped")


class Session:
    """Every part that depends on one configuration. Built whole (or not at all) before it runs."""

    def __init__(self, cfg: Config, screen, status: Status, current: Current, stop: threading.Event,
                 notifier, reload: Reload, panel):
        from kiosk.screen.fonts import FontError
        from kiosk.screen.slide import Renderer
        from kiosk.source.prepare import Preparer

        self.cfg, self.screen, self.status, self.current = cfg, screen, status, current
        self.stop, self.notifier, self.reload, self.panel = stop, notifier, reload, panel
        self.ended = threading.Event()  # set when this session gives way: its content thread stops working
        self.cache_dir = Path(cfg.cache.path)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            probe = self.cache_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
            status.set_error("cache", None)
        except OSError as exc:
            if not self.cache_dir.is_dir():
                raise SetupError(f"cache.path {str(self.cache_dir)!r} is not a writable folder: "
                                 f"{exc.strerror or exc}") from None
            # A card gone read-only (or full, or its permissions changed) still holds the last good content:
            # play it. Nothing new is stored; sync, prepared pictures and plays say so where they fail.
            message = (f"cache.path {str(self.cache_dir)!r} cannot be written ({exc.strerror or exc}): "
                       "playing what it holds, storing nothing new")
            log.error("%s", message)
            status.set_error("cache", message)
        try:
            self.renderer = Renderer(screen.size, cfg.display, self.cache_dir, cfg.device.name, feedback=cfg.feedback)
        except FontError as exc:
            raise SetupError(f"display.font: {exc}") from None
        # Synced content is evicted by the sync cache; an authoring folder's leftovers are pruned here.
        # Each picture made ready wakes the player: on a cold start the idle screen gives way to the first one.
        self.preparer = Preparer(screen.size, cfg.display.fit, self.cache_dir, cfg.speech,
                                 prune=cfg.source.path is not None, status=status, ended=self.ended.is_set,
                                 on_ready=current.changed.set, display_cfg=cfg.display, showing=current.get)

    def run(self):
        from kiosk.player.frames import FrameBuilder, speech_voice
        from kiosk.player.loop import Player
        from kiosk.screen.sound import Speaker
        from kiosk.source.feed import Feed
        from kiosk.source.speech import chime_wav as speech_chime

        source = Feed(self.cfg, self.current, self.status, self.preparer.prepare, self.preparer.ready)
        source.load_initial()
        plays = _open_plays(self.cfg, self.status)
        server = _start_health(self.cfg, self.status, self.screen)
        reporter = _start_reporter(self.cfg, self.status, self.screen, plays, source)
        speaker = Speaker(self.cfg.sound.volume / 100, chime=speech_chime())
        frames = FrameBuilder(self.renderer, self.status, self.cfg.device.name,
                              voice=speech_voice(self.cfg.speech, self.cache_dir, speaker, self.status),
                              ready=self.preparer.slide_ready)
        player = Player(self.cfg, self.screen, frames, self.current, self.status, self.stop, speaker=speaker,
                        plays=plays, panel=self.panel, notifier=self.notifier, reload=self.reload.wanted)
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
            reporter[0].set()  # a request under way is cut at once (its Deadline watches the stop)
            plays.wakeup.set()  # the flusher waits on it between flushes: it sees the stop at once
            reporter[1].join(JOIN_SECONDS)
            if server is not None:
                try:
                    server.stop()
                except Exception as exc:  # noqa: BLE001 - shutting down: log, carry on
                    log.warning(_("while stopping the health endpoint: {reason}").format(reason=exc))
            plays.close()


def _say_config(cfg: Config, status: Status) -> None:
    """Once per configuration: what is unwise in it (warnings) and which files it names cannot be used."""
    for problem in cfg.warnings:
        log.warning("%s", problem)
    for problem in cfg.degraded:
        log.error("%s", problem)
    status.update(config_warnings=tuple(str(p) for p in (*cfg.degraded, *cfg.warnings)))


def _systemd_status(notifier, status: Status, stop: threading.Event) -> None:
    """`systemctl status kiosk` shows the verdict of /healthz, refreshed every 10 s (off the render loop)."""
    from kiosk.report import health

    while not stop.wait(10):
        notifier.status(health.summary_line(status.snapshot(), time.monotonic()))


def _open_plays(cfg: Config, status: Status):
    """The plays queue; it works whatever the card does (held in memory while its file cannot be written)."""
    from kiosk.report import plays

    queue = plays.PlayQueue(plays.default_path(cfg.cache.path))
    status.set_error("plays", queue.disk_error)
    return queue


def _start_health(cfg: Config, status: Status, screen):
    from kiosk.report.endpoint import HealthServer

    status.set_error("health", None)  # before start: a token file it cannot read leaves it locked, and says so
    try:
        server = HealthServer(cfg, status, screen.screenshot_png)
        server.start()
    except Exception as exc:  # noqa: BLE001 - e.g. the port is taken: play anyway, say so
        log.error(_("health endpoint not started: {reason}").format(reason=exc))
        status.set_error("health", str(exc))
        return None
    return server


def _start_reporter(cfg: Config, status: Status, screen, plays, source):
    """Always runs: it also writes plays to disk in batches (no report_url: reporting is off, the queue is
    still flushed and bounded), and a full card does not stop it (heartbeats, plays from memory)."""
    from kiosk.report.reporter import Reporter

    def on_command(name: str, _args: dict) -> None:
        if name == "sync_now":
            source.sync_now.set()

    stop = threading.Event()
    reporter = Reporter(cfg, status, plays, on_command, screenshot=screen.screenshot_png)
    thread = threading.Thread(target=reporter.run, args=(stop,), name="reports", daemon=True)
    thread.start()
    return stop, thread
