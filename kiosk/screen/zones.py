"""Zones: parts of the screen that change while a slide stands (the header clock, the ticker, a video).

A slide is drawn once; a zone is drawn over it, every frame, by the display (screen.display), from
pieces it hands over: a surface, where it goes, and which part of it. The display uploads each surface
object once, as a texture, and keeps it while the zone hands it over again, so a clock that turns once a
minute uploads once a minute, and a ticker that scrolls uploads nothing while it scrolls (its text is in
a few textures drawn at a new place each frame).

This module holds the mechanism and its arithmetic, pure of pygame (the zones that draw are in
screen.bands): when a zone next changes, and where a scrolling text's segments are at an instant. Time is
a parameter (the player's monotonic and local clocks).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Rect = tuple[int, int, int, int]  # x, y, width, height in logical pixels


@dataclass(frozen=True)
class Piece:
    """One textured draw: `surface` (uploaded once per object) drawn at `dst`, from its part `src`."""

    surface: object
    dst: Rect
    src: Rect | None = None


class Zone(Protocol):
    """A part of the screen that changes by itself. `due` is the monotonic instant of its next change
    (math.inf: none until the slide changes); `pieces` what it shows at an instant."""

    rect: Rect

    def due(self, mono: float, local: dt.datetime) -> float: ...

    def pieces(self, mono: float, local: dt.datetime) -> Sequence[Piece]: ...


def next_minute(mono: float, local: dt.datetime) -> float:
    """The monotonic instant the local clock next shows a new minute."""
    return mono + 60.0 - local.second - local.microsecond / 1e6


@dataclass(frozen=True)
class Placed:
    index: int  # which segment
    dst: Rect
    src: Rect  # the part of the segment's surface that is inside the strip


class Scroll:
    """A line of text segments moving right to left through a strip at a constant speed.

    The text enters at the strip's right edge and leaves at its left, then comes again: one loop is the
    text's width plus a gap (at least the strip's width, so a short text crosses the whole strip). The
    position is a function of time alone (from `origin`), rounded to whole pixels: the player draws each
    frame for the instant it was due (so a wake-up a few milliseconds late moves the text by the same
    step as the others), a frame missed shows the text where it is now, and the speed never drifts.
    Frames are asked for `fps` times a second, on a grid from the origin.
    """

    def __init__(self, widths: Sequence[int], strip: Rect, speed: float, fps: float, gap: int):
        self.widths = list(widths)
        self.strip = strip
        self.speed = float(speed)
        self.fps = float(fps)
        self.starts = [sum(self.widths[:i]) for i in range(len(self.widths))]
        self.length = sum(self.widths)
        self.period = max(self.length + gap, strip[2]) if self.length else 0
        self.origin: float | None = None

    def offset(self, mono: float) -> int:
        """How far the text has moved, in pixels, within one loop."""
        if self.origin is None:
            self.origin = mono
        if not self.period:
            return 0
        return math.floor((mono - self.origin) * self.speed + 1e-6) % self.period

    def due(self, mono: float) -> float:
        """The next frame: on the grid of 1/fps from the origin, strictly after `mono`."""
        if self.origin is None or not self.period:
            return mono if self.period else math.inf
        step = 1.0 / self.fps
        return self.origin + (math.floor((mono - self.origin) / step + 1e-9) + 1) * step

    def placed(self, mono: float) -> list[Placed]:
        """The segments inside the strip at `mono`, each clipped to it."""
        x0, y0, width, height = self.strip
        if not self.period:
            return []
        head = x0 + width - self.offset(mono)  # where the text's first pixel is
        out = []
        for copy in (head - self.period, head, head + self.period):
            for index, (start, seg_w) in enumerate(zip(self.starts, self.widths, strict=True)):
                left = copy + start
                lo, hi = max(left, x0), min(left + seg_w, x0 + width)
                if hi > lo:
                    out.append(Placed(index, (lo, y0, hi - lo, height), (lo - left, 0, hi - lo, height)))
        return out
