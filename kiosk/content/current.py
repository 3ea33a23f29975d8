"""The current programme: one atomic pointer, swapped whole, never edited in place.

Producers (the sync thread, the authoring-folder watcher) call `replace`; the
player reads `get` at slide boundaries and is woken by `changed` so an
emergency that arrives by sync goes on screen at once.
"""

from __future__ import annotations

import threading

from kiosk.content.programme import EMPTY, Programme


class Current:
    def __init__(self, programme: Programme = EMPTY, wake: threading.Event | None = None):
        self._programme = programme
        self._lock = threading.Lock()
        self.changed = wake or threading.Event()

    def get(self) -> Programme:
        return self._programme

    def replace(self, programme: Programme) -> bool:
        """Make `programme` current; returns False (and wakes nobody) when nothing changed."""
        with self._lock:
            old = self._programme  # the same slides read from the other manifest format is news for status
            if (programme.version, programme.warnings, programme.format) == (old.version, old.warnings, old.format):
                return False
            self._programme = programme
        self.changed.set()
        return True

    def replace_with_empty(self) -> None:
        """Forget the programme (a new config may name another source); the screen keeps its frame."""
        with self._lock:
            self._programme = EMPTY
