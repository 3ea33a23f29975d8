"""A clock for driving the real player loop without waiting: time moves only when the player sleeps.

Used by tests/test_player.py and the soak (tests/faultlab.py): events (a new programme, a sync poll, a
report tick, the report server going down) fire at their instant, in order, and the player never waits.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import threading


class FakeClock:
    """Monotonic and wall time that move only when the player sleeps; events fire at their instant."""

    def __init__(self, wall: dt.datetime | float):
        self.mono = 1000.0
        self.start = self.mono
        self.offset = (wall.timestamp() if isinstance(wall, dt.datetime) else wall) - self.mono
        self.is_trusted = True
        self._events: list = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> float:
        return self.mono + self.offset

    def trusted(self) -> bool:
        return self.is_trusted

    def at(self, seconds: float, action) -> None:
        """Run `action` `seconds` after the start (of fake time)."""
        self.at_monotonic(self.start + seconds, action)

    def at_monotonic(self, when: float, action) -> None:
        heapq.heappush(self._events, (when, next(self._order), action))

    def sleep_until(self, event: threading.Event, deadline: float) -> bool:
        assert deadline >= self.mono - 1e-9, "the player asked to sleep until the past"
        while not event.is_set():
            if self._events and self._events[0][0] <= deadline:
                when, _, action = heapq.heappop(self._events)
                self.mono = max(self.mono, when)
                action()
                continue
            self.mono = max(self.mono, deadline)
            break
        return event.is_set()

    @property
    def t(self) -> float:
        return round(self.mono - self.start, 3)
