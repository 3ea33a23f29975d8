"""The status model: one in-memory object every part writes its own facts into.

The health endpoint, the heartbeat and `kiosk status` only read snapshots of it.
State that changes every second lives here, never on the SD card.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class SyncFacts:
    at: float | None = None  # wall-clock epoch seconds
    ok: bool | None = None
    error: str | None = None
    changed: bool = False
    bytes: int = 0


@dataclass
class Status:
    """Facts, each written by the part that owns it. Thread-safe; readers take snapshots."""

    started_monotonic: float = field(default_factory=time.monotonic)
    loop_beat: float | None = None  # monotonic time of the render loop's last turn
    loop_deadline: float | None = None  # the loop promised to turn again before this (monotonic)
    display_ok: bool = False
    display_driver: str = ""
    display_size: tuple[int, int] | None = None
    headless: bool = False
    current_slide: str | None = None
    content_version: str | None = None
    slide_count: int = 0
    content_warnings: tuple[str, ...] = ()
    last_sync: SyncFacts = field(default_factory=SyncFacts)
    errors: dict[str, str] = field(default_factory=dict)  # part -> message, cleared when it recovers
    power: str = "on"
    clock_synced: bool | None = None
    emergency: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, **facts) -> None:
        with self._lock:
            for name, value in facts.items():
                if not hasattr(self, name) or name.startswith("_"):
                    raise AttributeError(name)
                setattr(self, name, value)

    def set_error(self, part: str, message: str | None) -> None:
        """Record (or, with None, clear) the current problem of one part."""
        with self._lock:
            if message is None:
                self.errors.pop(part, None)
            else:
                self.errors[part] = message

    def beat(self, next_deadline: float) -> None:
        """The render loop is alive and will turn again before `next_deadline` (monotonic)."""
        now = time.monotonic()
        with self._lock:
            self.loop_beat, self.loop_deadline = now, next_deadline

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "uptime_s": round(time.monotonic() - self.started_monotonic, 1),
                "loop_beat": self.loop_beat,
                "loop_deadline": self.loop_deadline,
                "display_ok": self.display_ok,
                "display_driver": self.display_driver,
                "display_size": self.display_size,
                "headless": self.headless,
                "current_slide": self.current_slide,
                "content_version": self.content_version,
                "slide_count": self.slide_count,
                "content_warnings": list(self.content_warnings),
                "last_sync": dict(vars(self.last_sync)),
                "errors": dict(self.errors),
                "power": self.power,
                "clock_synced": self.clock_synced,
                "emergency": self.emergency,
            }
