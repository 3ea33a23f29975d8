"""The status model: one in-memory object every part writes its own facts into.

The health endpoint, the metrics, the heartbeat and `kiosk status` only read snapshots of it.
State that changes every second lives here, never on the SD card.

Who writes what:
- the render loop: `beat(next_deadline)` every turn (a deadline at most ~10 s ahead, even while the screen is off:
  systemd's WatchdogSec wants WATCHDOG=1 from the same loop anyway), `slide_started(slide_id)` at every slide start
  (or `update(current_slide=…)`, which counts a change when the value changes), `display_ok`,
  `display_driver`, `display_renderer`, `display_size`, `headless` (only when headless was chosen on purpose),
  `emergency`;
  `display_ok` stays True while the schedule has the screen switched off (the display is there, asleep);
- the programme pointer's producers: `content_version`, `content_format`, `slide_count`, `content_warnings`;
- `kiosk run`, per configuration: `config_warnings` (unwise settings; files named but unusable);
- sync: `sync_finished(ok, error=…, changed=…, bytes_downloaded=…)` (or `update(last_sync=SyncFacts(…))`),
  `cache_bytes`, `cache_files`;
- the schedule: `power` ("on"; "off" or "off-black" when the screen is dark on purpose), `clock_synced`;
- proof of play / heartbeat: `plays_queued`, `count("plays_recorded" | "plays_uploaded" | "plays_dropped" …)`,
  `report_finished("heartbeat" | "plays", ok, error)`;
- any part: `set_error(part, message | None)`.
Device facts (temperature, throttling, disk, memory, IPs) are read lazily by `device.Reader` when a snapshot
is taken, never by the writers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.version import __version__

# Counters (monotonic, since the process started). Each one becomes kiosk_<name>_total in /metrics.
COUNTERS = (
    "slide_changes",  # a slide went on screen
    "frames_slipped",  # the render loop missed a frame deadline (the lead's loop counts these)
    "sync_ok",
    "sync_failed",
    "bytes_downloaded",
    "plays_recorded",  # play records written to the durable queue
    "plays_uploaded",  # play records acknowledged by the source system
    "plays_dropped",  # play records dropped because the queue was full
    "plays_refused",  # play records the report server refused alone (HTTP 422), dropped
    "heartbeats_ok",
    "heartbeats_failed",
    "reloads_ok",  # config / authoring folder reloads taken
    "reloads_failed",  # reloads refused (old config kept)
)


@dataclass
class SyncFacts:
    at: float | None = None  # wall-clock epoch seconds
    ok: bool | None = None
    error: str | None = None
    changed: bool = False
    bytes: int = 0


@dataclass
class ReportFacts:
    """The outcome of the last request of one kind to the source system (heartbeat, plays upload)."""

    at: float | None = None  # wall-clock epoch seconds
    ok: bool | None = None
    error: str | None = None


@dataclass
class Status:
    """Facts, each written by the part that owns it. Thread-safe; readers take snapshots."""

    started_monotonic: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    version: str = __version__
    loop_beat: float | None = None  # monotonic time of the render loop's last turn
    loop_deadline: float | None = None  # the loop promised to turn again before this (monotonic)
    display_ok: bool = False
    display_driver: str = ""
    display_renderer: str = ""  # SDL's renderer: "opengles2" or "opengl" (a GPU), "software" (none)
    display_size: tuple[int, int] | None = None
    headless: bool = False  # True only when running without a screen was chosen on purpose (dev mode)
    current_slide: str | None = None
    slide_started_wall: float | None = None
    content_version: str | None = None
    content_format: int | None = None  # the manifest format the programme was read from (None: a folder, or none)
    slide_count: int = 0
    content_warnings: tuple[str, ...] = ()
    config_warnings: tuple[str, ...] = ()  # config.yaml: unwise settings, files it names that cannot be used
    last_sync: SyncFacts = field(default_factory=SyncFacts)
    last_sync_ok_wall: float | None = None  # wall time of the last successful sync
    sync_failing_since: float | None = None  # monotonic time of the first failure of the current run of failures
    errors: dict[str, str] = field(default_factory=dict)  # part -> message, cleared when it recovers
    power: str = "on"  # "on"; "off" (panel off by command) or "off-black" (drawn black) by display.power
    clock_synced: bool | None = None
    emergency: bool = False
    cache_bytes: int | None = None
    cache_files: int | None = None
    plays_queued: int = 0
    last_heartbeat: ReportFacts = field(default_factory=ReportFacts)
    last_plays_upload: ReportFacts = field(default_factory=ReportFacts)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    channels: dict[str, dict] = field(default_factory=dict)  # source.channels by name: url, version, last sync
    device: Callable[[], dict] | None = field(default=None, repr=False)  # e.g. kiosk.device.Reader(cache_dir)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, **facts) -> None:
        """Set plain facts. `current_slide` and `last_sync` also keep their counters right."""
        sync = facts.pop("last_sync", None)
        with self._lock:
            for name, value in facts.items():
                if not hasattr(self, name) or name.startswith("_") or name in ("counters", "device"):
                    raise AttributeError(name)
                if name == "current_slide" and value is not None and value != self.current_slide:
                    self._start_slide(value)
                setattr(self, name, value)
        if sync is not None:
            if isinstance(sync, dict):
                sync = SyncFacts(**sync)
            if sync.ok is None:  # nothing happened yet: keep as given, count nothing
                with self._lock:
                    self.last_sync = sync
            else:
                self.sync_finished(bool(sync.ok), sync.error, sync.changed, sync.bytes, sync.at)

    def set_error(self, part: str, message: str | None) -> None:
        """Record (or, with None, clear) the current problem of one part."""
        with self._lock:
            if message is None:
                self.errors.pop(part, None)
            else:
                self.errors[part] = message

    def follow_channels(self, urls: dict[str, str]) -> None:
        """The channels now configured (name → url): facts and errors of others are dropped (a reload)."""
        with self._lock:
            for name in list(self.channels):
                if urls.get(name) != self.channels[name]["url"]:
                    del self.channels[name]
            for part in [p for p in self.errors if p.startswith("sync:") and p[5:] not in urls]:
                del self.errors[part]
            for name, url in urls.items():
                self.channels.setdefault(name, {"name": name, "url": url, "version": None, "slides": None,
                                                "last_sync": {"at": None, "ok": None, "error": None}})

    def channel_facts(self, name: str, **facts) -> None:
        """Facts of one channel (kiosk.source.channels): `url`, `version`, `slides`, `last_sync`
        ({at, ok, error}); its current error is errors["sync:<name>"]."""
        with self._lock:
            entry = self.channels.setdefault(name, {"name": name, "url": None, "version": None, "slides": None,
                                                    "last_sync": {"at": None, "ok": None, "error": None}})
            entry.update(facts)

    def beat(self, next_deadline: float) -> None:
        """The render loop is alive and will turn again before `next_deadline` (monotonic)."""
        now = time.monotonic()
        with self._lock:
            self.loop_beat, self.loop_deadline = now, next_deadline

    def count(self, name: str, n: int = 1) -> None:
        """Add to one of COUNTERS (a typo is a bug, so an unknown name raises)."""
        with self._lock:
            if name not in self.counters:
                raise KeyError(f"unknown counter {name!r}; known: {', '.join(COUNTERS)}")
            self.counters[name] += n

    def slide_started(self, slide_id: str | None) -> None:
        """A slide went on screen (counted even when it is the same slide again); None: idle screen."""
        with self._lock:
            self.current_slide = slide_id
            if slide_id is not None:
                self._start_slide(slide_id)

    def _start_slide(self, _slide_id: str) -> None:
        self.counters["slide_changes"] += 1
        self.slide_started_wall = time.time()

    def sync_finished(
        self,
        ok: bool,
        error: str | None = None,
        changed: bool = False,
        bytes_downloaded: int = 0,
        at: float | None = None,
    ) -> None:
        """One sync cycle ended; keeps last_sync, the ok/failed counters and how long sync has been failing."""
        at = time.time() if at is None else at
        with self._lock:
            error = None if ok else error
            self.last_sync = SyncFacts(at=at, ok=ok, error=error, changed=changed, bytes=bytes_downloaded)
            self.counters["sync_ok" if ok else "sync_failed"] += 1
            self.counters["bytes_downloaded"] += max(0, int(bytes_downloaded))
            if ok:
                self.last_sync_ok_wall, self.sync_failing_since = at, None
            elif self.sync_failing_since is None:
                self.sync_failing_since = time.monotonic()

    def report_finished(self, kind: str, ok: bool, error: str | None = None, at: float | None = None) -> None:
        """A heartbeat ("heartbeat") or a plays upload ("plays") got an answer (or failed)."""
        facts = ReportFacts(at=time.time() if at is None else at, ok=ok, error=None if ok else error)
        with self._lock:
            if kind == "heartbeat":
                self.last_heartbeat = facts
                self.counters["heartbeats_ok" if ok else "heartbeats_failed"] += 1
            elif kind == "plays":
                self.last_plays_upload = facts
            else:
                raise ValueError(f"unknown report kind {kind!r} (heartbeat, plays)")

    def snapshot(self, with_device: bool = True) -> dict:
        """A plain, JSON-friendly copy. Device facts are read (cached) outside the lock.

        The render loop must not pay for device facts (a refresh may run `ip`): on the loop, use
        with_device=False, or better, take snapshots from another thread.
        """
        with self._lock:
            snap = {
                "version": self.version,
                "uptime_s": round(time.monotonic() - self.started_monotonic, 1),
                "started_at": self.started_wall,
                "loop_beat": self.loop_beat,
                "loop_deadline": self.loop_deadline,
                "display_ok": self.display_ok,
                "display_driver": self.display_driver,
                "display_renderer": self.display_renderer,
                "display_size": self.display_size,
                "headless": self.headless,
                "current_slide": self.current_slide,
                "slide_started_at": self.slide_started_wall,
                "content_version": self.content_version,
                "content_format": self.content_format,
                "slide_count": self.slide_count,
                "content_warnings": list(self.content_warnings),
                "config_warnings": list(self.config_warnings),
                "last_sync": dict(vars(self.last_sync)),
                "last_sync_ok_at": self.last_sync_ok_wall,
                "sync_failing_since": self.sync_failing_since,
                "errors": dict(self.errors),
                "power": self.power,
                "clock_synced": self.clock_synced,
                "emergency": self.emergency,
                "cache_bytes": self.cache_bytes,
                "cache_files": self.cache_files,
                "plays_queued": self.plays_queued,
                "last_heartbeat": dict(vars(self.last_heartbeat)),
                "last_plays_upload": dict(vars(self.last_plays_upload)),
                "counters": dict(self.counters),
                "channels": [{**c, "last_sync": dict(c["last_sync"])} for c in self.channels.values()],
            }
            reader = self.device
        snap["device"] = _read_device(reader) if with_device else {}
        return snap


def _read_device(reader: Callable[[], dict] | None) -> dict:
    if reader is None:
        return {}
    try:
        return dict(reader())
    except Exception as exc:  # device facts are nice to have; never let them break health
        return {"error": f"{type(exc).__name__}: {exc}"}
