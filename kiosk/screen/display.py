"""The physical screen: opening it, rotation, showing frames, crossfades, screenshots.

Opened once by the player on its render thread; `screenshot_png` is the one
method other threads (the health endpoint) may call.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
import warnings

import pygame
from PIL import Image

log = logging.getLogger("kiosk.render.screen")

HEADLESS_SIZE = (1920, 1080)
FADE_FPS = 60  # fade frames are paced to this rate; with vsync the flip itself already waits that long


def _driver_order() -> list[str]:
    """The environment's SDL_VIDEODRIVER alone if set; else the likely ones for this session."""
    chosen = os.environ.get("SDL_VIDEODRIVER", "").strip()
    if chosen:
        return [chosen]
    order = []
    if os.environ.get("WAYLAND_DISPLAY"):
        order.append("wayland")
    if os.environ.get("DISPLAY"):
        order.append("x11")
    order.append("kmsdrm")  # Pi OS Lite: no desktop, straight to the HDMI output
    for name in ("x11", "wayland"):
        if name not in order:
            order.append(name)
    return order


class Screen:
    """A fullscreen pygame display, or an offscreen surface when there is no screen (headless)."""

    def __init__(self, display: pygame.Surface, rotation: int, driver: str, headless: bool, status=None):
        self.display = display
        self.rotation = rotation % 360
        self.driver = driver
        self.headless = headless
        self.status = status
        phys = display.get_size()
        self.size = (phys[1], phys[0]) if self.rotation in (90, 270) else phys  # logical, after rotation
        self._lock = threading.Lock()
        self._last: pygame.Surface | None = None  # the logical frame on screen, for screenshots
        self._lost = False

    @classmethod
    def open(cls, size: tuple[int, int] | None, rotation: int, status=None) -> Screen:
        """Open the display: fullscreen at native resolution (size None) or `size` (physical pixels).

        Falls back to an offscreen surface when no real display can be opened.
        """
        if rotation not in (0, 90, 180, 270):
            raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation}")
        tried = []
        # Headless on purpose (tests, previews) only when asked for by name; a board that merely found no
        # screen is headless too, but must report itself unhealthy: its display is lost.
        on_purpose = os.environ.get("SDL_VIDEODRIVER", "").strip() in ("dummy", "offscreen")
        for driver in _driver_order():
            if driver in ("dummy", "offscreen"):
                break
            try:
                display = cls._try_driver(driver, size)
            except pygame.error as exc:
                tried.append(f"{driver}: {exc}")
                pygame.display.quit()
                continue
            screen = cls(display, rotation, driver, headless=False, status=status)
            log.info("display: %s %dx%d, rotation %d", driver, *display.get_size(), rotation)
            screen._report(True)
            return screen
        if tried:
            log.warning("no display could be opened (%s)", "; ".join(tried))
        log.warning("no screen found: running headless, frames at /screenshot.png%s",
                    "" if on_purpose else " (health reports the display as lost)")
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        pygame.display.quit()
        pygame.display.init()
        display = pygame.display.set_mode(size or HEADLESS_SIZE)
        screen = cls(display, rotation, "dummy", headless=on_purpose, status=status)
        screen._report(False)
        return screen

    @staticmethod
    def _try_driver(driver: str, size: tuple[int, int] | None) -> pygame.Surface:
        os.environ["SDL_VIDEODRIVER"] = driver
        pygame.display.quit()
        pygame.display.init()
        if size is None:
            desktop = pygame.display.get_desktop_sizes()
            size = desktop[0] if desktop else (0, 0)
        flags = pygame.FULLSCREEN | pygame.NOFRAME
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "no fast renderer available": we pace fades ourselves then
                display = pygame.display.set_mode(size, flags, vsync=1)
        except pygame.error:
            display = pygame.display.set_mode(size, flags)  # drivers without vsync support
        pygame.mouse.set_visible(False)
        pygame.display.set_caption("kiosk")
        return display

    def _report(self, ok: bool) -> None:
        if self.status is not None:
            self.status.update(display_ok=ok, display_driver=self.driver, display_size=self.size,
                               headless=self.headless)

    # --- frames ---------------------------------------------------------------------------------

    def _physical(self, frame: pygame.Surface) -> pygame.Surface:
        """The frame turned for the panel.

        Rotation turns the picture clockwise, like `xrandr --rotate right` or the
        Pi's display_rotate=1 for 90: the picture's top lands on the panel's right
        edge, which is up for a panel mounted turned 90° counter-clockwise.
        """
        if frame.get_size() != self.size:
            frame = pygame.transform.smoothscale(frame.convert() if frame.get_bitsize() != 32 else frame,
                                                 self.size)
        if self.rotation:
            frame = pygame.transform.rotate(frame, -self.rotation)
        if frame.get_bitsize() != self.display.get_bitsize() or frame.get_masks() != self.display.get_masks():
            frame = frame.convert(self.display)
        return frame

    def black(self) -> pygame.Surface:
        """A black frame of the logical size: what a screen switched off on purpose shows."""
        frame = pygame.Surface(self.size)
        frame.fill((0, 0, 0))
        return frame

    def show(self, frame: pygame.Surface) -> None:
        """Put a logical frame on the screen."""
        self.display.blit(self._physical(frame), (0, 0))
        self._flip()
        with self._lock:
            self._last = frame

    def crossfade(self, old: pygame.Surface | None, new: pygame.Surface, duration_ms: int) -> list[float]:
        """Fade from `old` to `new` over `duration_ms`; milliseconds spent drawing each frame.

        Both frames are put in the display's format once. Each step is ONE
        alpha blit of the new frame over what is already on screen, with the
        alpha chosen so the old frame's remaining weight is exactly 1 - progress
        (the weight actually applied is tracked, so 8-bit rounding never
        accumulates); the last step is an opaque blit. That halves the memory
        traffic of "old opaque, then new with alpha" and allocates nothing per
        frame. The progress follows the clock: a slow frame shortens the fade
        instead of stretching it.
        """
        if old is None or duration_ms <= 0:
            self.show(new)
            return []
        src = self._physical(old)
        dst = self._physical(new)
        if dst is new:
            dst = new.copy()  # our own copy: set_alpha must not touch the caller's frame
        self.display.blit(src, (0, 0))
        times: list[float] = []
        old_weight = 1.0  # share of the old frame in what is on screen now
        start = time.perf_counter()
        period = 1 / FADE_FPS
        next_frame = start
        while True:
            t0 = time.perf_counter()
            progress = min(1.0, (t0 - start) * 1000 / duration_ms)
            if progress >= 1.0:
                dst.set_alpha(None)
                self.display.blit(dst, (0, 0))
            else:
                alpha = round(255 * (1 - (1 - progress) / old_weight))
                if alpha > 0:
                    dst.set_alpha(alpha)
                    self.display.blit(dst, (0, 0))
                    old_weight *= 1 - alpha / 255
            self._flip()
            times.append((time.perf_counter() - t0) * 1000)
            if progress >= 1.0:
                break
            next_frame += period  # without vsync nothing else paces us: sleep to the next slot, never spin
            delay = next_frame - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_frame = time.perf_counter()  # behind (vsync or a slow frame): do not try to catch up
        dst.set_alpha(None)
        with self._lock:
            self._last = new
        return times

    def _flip(self) -> None:
        try:
            pygame.display.flip()
        except pygame.error as exc:
            self._lost = True
            log.error("display lost: %s", exc)
            if self.status is not None:
                self.status.update(display_ok=False)

    def screenshot_png(self) -> bytes:
        """PNG of the (logical) frame on screen; safe to call from any thread."""
        with self._lock:
            frame = self._last
            raw = pygame.image.tobytes(frame, "RGB") if frame is not None else None
            size = frame.get_size() if frame is not None else self.size
        if raw is None:
            raw = bytes(3 * size[0] * size[1])  # nothing shown yet: black
        buffer = io.BytesIO()
        Image.frombytes("RGB", size, raw).save(buffer, "PNG", compress_level=1)
        return buffer.getvalue()

    # --- events ---------------------------------------------------------------------------------

    def pump(self) -> bool:
        """Handle pending window events; False once the display is gone or was closed."""
        if self._lost or not pygame.display.get_init() or pygame.display.get_surface() is None:
            return self._gone("display is gone")
        for event in pygame.event.get():
            if event.type in (pygame.QUIT, getattr(pygame, "WINDOWCLOSE", -1)):
                return self._gone("display closed")
            if event.type in (pygame.VIDEOEXPOSE, getattr(pygame, "WINDOWEXPOSED", -1)):
                with self._lock:
                    last = self._last
                if last is not None:
                    self.display.blit(self._physical(last), (0, 0))
                    self._flip()
        return not self._lost

    def _gone(self, why: str) -> bool:
        if not self._lost:
            log.error("%s", why)
        self._lost = True
        if self.status is not None:
            self.status.update(display_ok=False)
        return False

    def close(self) -> None:
        pygame.display.quit()
