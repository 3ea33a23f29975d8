"""A moving zone: a part of the screen that changes every frame while the slide stands (a video).

The header clock and the ticker, which change seldom or move by whole pieces, are screen.zones; a moving
zone draws with textures of its own (a video's IYUV streaming texture).

The slide under it is one texture, drawn once; a zone is drawn over it each frame it changes, at its own
place, by its own texture. The screen (screen.display) asks its zones when they next change (`due`),
brings them up to date (`update`) and draws them (`paint`) in the same frame as the slide; the render
loop sleeps until the earliest `due`. A zone whose `due` is None has ended (a video at its end, or failed:
`error` says why); the screen drops it and tells the loop.
"""

from __future__ import annotations

import math


class Zone:
    """The frame of a moving part of the screen; subclasses say what it draws and when."""

    error: str | None = None  # why it ended early (a video that failed mid-play)

    def start(self, place: Place, now: float) -> None:
        """Begin on the render thread (textures are made there); `place` maps logical to panel pixels."""
        self.place = place

    def due(self) -> float | None:
        """The monotonic instant of the next change; None once the zone has ended."""
        return None

    def update(self, now: float) -> bool:
        """Bring the zone to what it shows at `now` (render thread); True when what it draws changed."""
        return False

    def paint(self) -> None:
        """Draw onto the renderer, within the frame being drawn (render thread)."""

    def freeze(self) -> None:
        """Stop changing (and sounding), keep the last picture: the slide is fading out."""

    def stop(self) -> None:
        """Let everything go (render thread)."""


class Place:
    """Where a logical rectangle goes on the panel: the screen turns its frames by `rotation` on the GPU
    (a rectangle's centre turned about the screen's centre, the texture drawn at that angle); SDL's
    software renderer gets frames already turned, so there too a zone is drawn turned, by SDL."""

    def __init__(self, window, logical: tuple[int, int], physical: tuple[int, int], rotation: int):
        self.window, self.logical, self.physical, self.rotation = window, logical, physical, rotation

    def rect(self, x: int, y: int, w: int, h: int) -> tuple[tuple[int, int, int, int], float]:
        """The destination rectangle on the panel and the angle to draw it at."""
        if not self.rotation:
            return (x, y, w, h), 0.0
        lw, lh = self.logical
        pw, ph = self.physical
        cx, cy = x + w / 2 - lw / 2, y + h / 2 - lh / 2
        a = math.radians(self.rotation)  # SDL turns clockwise, y pointing down
        rx, ry = cx * math.cos(a) - cy * math.sin(a), cx * math.sin(a) + cy * math.cos(a)
        return (round(pw / 2 + rx - w / 2), round(ph / 2 + ry - h / 2), w, h), float(self.rotation)


def fitted(size: tuple[int, int], box: tuple[int, int], fit: str) -> tuple[int, int, int, int]:
    """`size` scaled into `box` whole (fit: letterboxed) or covering it (fill: cut at the edges), centred."""
    w, h = size
    bw, bh = box
    scale = max(bw / w, bh / h) if fit == "fill" else min(bw / w, bh / h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    return (bw - sw) // 2, (bh - sh) // 2, sw, sh
