"""The physical screen: a window, SDL's renderer, and every frame uploaded once as a texture.

Frames arrive as pygame Surfaces, drawn once off the loop by the renderer (screen.slide). On a GPU each
is uploaded here once, as a texture, ahead of its slot; from then on SDL's renderer puts it on the panel,
and a crossfade is two textured draws with alpha each frame: our code blends, converts and uploads
nothing per frame. On a Pi the renderer is the GPU's (KMSDRM, OpenGL ES, vsync); where there is no GPU
(headless, CI, Xvfb) SDL's software renderer composites (screen.gpu chooses, so that no machine runs
OpenGL on the CPU). That renderer draws into the window's own surface, and a texture there would only be
a second copy of the frame in the CPU's memory (8 MB at 1080p) for SDL to blit from: there the frame's
Surface is blitted into the window's surface as it is, one blit a fade frame (the new frame with alpha
over what is on screen), the same work as SDL's own copy without the copy.

What a frame draws is a list of layers, (texture, opacity) bottom first. A zone that changes on its own
(a clock, a ticker strip, a video frame) becomes a layer of its own, drawn over the slide every frame.

The thread that opens the screen (the player's, the main thread) owns the window and the renderer: every
SDL call happens there. `screenshot_png` is the one method other threads (the health endpoint, the
reporter) may call: it asks the owner to read the screen back between two frames and waits for it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass, field

import pygame
from PIL import Image
from pygame._sdl2 import video

from kiosk.i18n import _
from kiosk.screen import clip, gpu, quiet, zones
from kiosk.screen.motion import Place, Zone

log = logging.getLogger(__name__)

HEADLESS_SIZE = (1920, 1080)
FADE_FPS = 60  # fade frames are paced to this rate; with vsync the present itself already waits that long
SHOT_WAIT_SECONDS = 4.0  # a screenshot waits this long for the render thread (longer than the loop ever
# waits for a slide's frames), then shows the frame last put on screen if it is still in memory
BLEND_NONE, BLEND_ALPHA = 0, 1  # SDL_BLENDMODE_NONE (a plain copy), SDL_BLENDMODE_BLEND
RENDER_DEVICE_RESET = getattr(pygame, "RENDER_DEVICE_RESET", -1)
RENDER_TARGETS_RESET = getattr(pygame, "RENDER_TARGETS_RESET", -1)
ZONES = "zones"  # in a list of layers: where the moving zones are drawn


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
        if name not in order and (name != "wayland" or quiet.wayland_can_connect()):
            order.append(name)
    return order


@dataclass
class Fade:
    """What the last crossfade cost (bench/ and tests read it)."""

    frames: int = 0
    uploaded_before: int = 0  # bytes uploaded to begin it: the new frame's texture, unless it was ahead
    uploaded_during: int = 0  # bytes uploaded by our code while its frames were drawn: none
    intervals_ms: list[float] = field(default_factory=list)  # between successive presents
    draw_ms: list[float] = field(default_factory=list)  # spent issuing and presenting each frame


@dataclass
class _Texture:
    frame: weakref.ref  # the Surface it was made from (identity only: the texture outlives it if need be)
    texture: video.Texture | pygame.Surface  # a Surface on SDL's software renderer: blitted as it is


class _Shot:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.surface: pygame.Surface | None = None


_OPEN: weakref.WeakSet = weakref.WeakSet()  # screens not closed yet (see quit_video)


def quit_video() -> None:
    """Close every screen still open, then shut SDL's video down, before it opens again.

    `pygame.display.quit()` frees every SDL window, but a pygame Window object left behind destroys its
    window again when it is collected: by then a new window may sit at the same address (seen in CI: a
    fade failed with "Renderer's window has been destroyed"). Closing them first, textures, renderer and
    then window, leaves nothing to free twice."""
    for screen in list(_OPEN):
        screen.close(video_too=False)
    pygame.display.quit()


class Screen:
    """A fullscreen window drawn by SDL's renderer, or an offscreen one when there is no screen."""

    def __init__(self, window: video.Window, renderer: video.Renderer, renderer_name: str, rotation: int,
                 driver: str, headless: bool, status=None, wake: threading.Event | None = None):
        self.window, self.renderer, self.renderer_name = window, renderer, renderer_name
        self.hardware = renderer_name != gpu.SOFTWARE
        self.rotation = rotation % 360
        self.driver = driver
        self.headless = headless
        self.status = status
        self.wake = wake  # set to have the render thread come round at once (a screenshot is wanted)
        phys = tuple(window.size)
        self.physical = phys
        self.size = (phys[1], phys[0]) if self.rotation in (90, 270) else phys  # logical, after rotation
        self._owner = threading.get_ident()
        self._lock = threading.Lock()
        self._last: weakref.ref | None = None  # the logical frame on screen (not kept alive: see crossfade)
        self._has_frame = False  # a frame is on screen (its Surface may be gone: the pixels are on screen)
        self._shown: _Texture | None = None  # the texture on screen (GPU only: see _on_screen)
        self._ahead: _Texture | None = None  # the next frame's, uploaded before its slot (GPU only)
        self._layers: list[tuple[video.Texture, int]] = []  # what the GPU draws now, bottom first
        self._moving: list[Zone] = []  # what moves over the frame on screen (a video), drawn over it
        self._ended: set[Zone] = set()  # of those, the ones that changed for the last time (still drawn)
        self.zone_error: str | None = None  # why the last zone to end ended early, if it did
        self.last_clip: clip.Clip | None = None  # bench/ and tests read what it measured
        self._shots: list[_Shot] = []
        self._lost = False
        self.uploaded_bytes = 0  # every byte our code ever uploaded (bench/ reads it)
        self.last_fade: Fade | None = None
        self._zones: list = []  # zones drawn over the slide every frame (screen.zones), set with each slide
        self._zone_textures: dict[int, tuple[weakref.ref, video.Texture]] = {}  # by id of the piece's surface
        self._zone_clock: tuple[float, dt.datetime, float] | None = None  # (mono, local, perf_counter) last given
        self.zone_frames = 0  # frames drawn for zones alone (bench/ reads it)
        self.still = False  # zones drawn at the instant given, not moved on by the time since (kiosk render:
        # a preview is of one instant, the same pixels however long drawing it took)
        self.zone_log: list | None = None  # bench/ sets a list: (perf_counter, mono) of every frame with zones
        lw, lh = self.size  # where a logical frame goes so that turned by `rotation` it fills the panel
        self._turned = pygame.Rect((phys[0] - lw) // 2, (phys[1] - lh) // 2, lw, lh)
        _OPEN.add(self)

    # --- opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, size: tuple[int, int] | None, rotation: int, status=None,
             wake: threading.Event | None = None) -> Screen:
        """Open the display: fullscreen at native resolution (size None) or `size` (physical pixels).

        Falls back to an offscreen window when no real display can be opened.
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
                window, renderer, name = cls._try_driver(driver, size)
            except (pygame.error, ValueError) as exc:
                tried.append(f"{driver}: {exc}")
                quit_video()
                continue
            screen = cls(window, renderer, name, rotation, driver, headless=False, status=status, wake=wake)
            log.info("display: %s %dx%d, rotation %d, %s renderer", driver, *screen.physical, rotation, name)
            screen._report(True)
            return screen
        if on_purpose:
            log.warning(_("running headless on purpose (SDL_VIDEODRIVER={driver}): playing off-screen, the frame is "
                          "at /screenshot.png on the health endpoint").format(
                driver=os.environ.get("SDL_VIDEODRIVER", "").strip()))
        else:
            log.warning(_("no screen could be opened ({tried}): running headless, playing off-screen with the frame "
                          "at /screenshot.png on the health endpoint, and reporting the display as lost").format(
                tried="; ".join(tried) or _("no video driver")))
        screen = cls.offscreen(size or HEADLESS_SIZE, rotation, status, headless=on_purpose, wake=wake)
        screen._report(False)
        return screen

    @classmethod
    def offscreen(cls, size: tuple[int, int], rotation: int = 0, status=None, headless: bool = True,
                  wake: threading.Event | None = None) -> Screen:
        """A screen that shows nobody (SDL's dummy driver, software renderer): `kiosk render`, tests."""
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        quit_video()
        pygame.display.init()
        window = video.Window("kiosk", size)
        renderer, name = _renderer(window, [gpu.SOFTWARE])
        return cls(window, renderer, name, rotation, "dummy", headless=headless, status=status, wake=wake)

    @staticmethod
    def _try_driver(driver: str, size: tuple[int, int] | None) -> tuple[video.Window, video.Renderer, str]:
        os.environ["SDL_VIDEODRIVER"] = driver
        quit_video()
        pygame.display.init()
        if size is None:
            desktop = pygame.display.get_desktop_sizes()
            size = desktop[0] if desktop else HEADLESS_SIZE
        forced = os.environ.get("SDL_RENDER_DRIVER", "").strip() or None
        names = [info.name for info in video.get_drivers()]
        candidates = gpu.order(driver, names, gpu.has_gpu(driver), forced)
        errors = []
        for name in candidates:  # a window of its own for each: an OpenGL one for the GPU's renderers
            window = video.Window("kiosk", size, fullscreen=True, opengl=name != gpu.SOFTWARE)
            try:
                renderer, name = _renderer(window, [name])
            except pygame.error as exc:
                errors.append(str(exc))
                window.destroy()
                continue
            pygame.mouse.set_visible(False)
            return window, renderer, name
        raise pygame.error("; ".join(errors) or f"no renderer to try (SDL has {', '.join(names) or 'none'})")

    def _report(self, ok: bool) -> None:
        if self.status is not None:
            self.status.update(display_ok=ok, display_driver=self.driver, display_size=self.size,
                               display_renderer=self.renderer_name, headless=self.headless)

    # --- textures -----------------------------------------------------------------------------------

    def _find(self, frame: pygame.Surface) -> _Texture | None:
        for held in (self._shown, self._ahead):
            if held is not None and held.frame() is frame:
                return held
        return None

    def _upload(self, frame: pygame.Surface) -> _Texture:
        """The frame as a texture for the panel: scaled if its size is not the screen's (it always is for
        the renderer's frames), and turned for a rotated panel here where the GPU will not turn it."""
        surface = frame
        if surface.get_size() != self.size:
            surface = pygame.transform.smoothscale(surface if surface.get_bitsize() == 32 else surface.convert(32),
                                                   self.size)
        if self.rotation and not self.hardware:
            surface = pygame.transform.rotate(surface, -self.rotation)  # once per frame, not per draw
        if not self.hardware:  # blitted into the window's surface (see the module's docstring): no upload
            if surface is frame and frame.get_flags() & pygame.SRCALPHA:
                surface = frame.copy()  # its alpha is set for each blit: the caller's is left as it is
            return _Texture(weakref.ref(frame), surface)
        texture = video.Texture.from_surface(self.renderer, surface)
        texture.blend_mode = BLEND_NONE
        self.uploaded_bytes += 4 * texture.width * texture.height
        return _Texture(weakref.ref(frame), texture)

    def _texture(self, frame: pygame.Surface) -> _Texture:
        return self._find(frame) or self._upload(frame)

    def prepare(self, frame: pygame.Surface) -> None:
        """Upload the next frame before its slot, where a GPU holds textures (on the render thread).

        SDL's software renderer has no textures for frames: there the frame is blitted when it is shown."""
        if self.hardware and self._find(frame) is None:
            self._ahead = self._upload(frame)

    def _on_screen(self, held: _Texture, frame: pygame.Surface) -> None:
        """`held` is on screen alone: the texture before it is let go (at most on screen + next).

        SDL's software renderer draws into the window's own surface, which keeps the picture until the
        next draw: there nothing is kept, not even the frame's Surface (a window exposed again is
        presented again, a screenshot reads that surface)."""
        if self._ahead is held:
            self._ahead = None
        self._stop_zones()
        if self.hardware:
            self._shown, self._layers = held, [(held.texture, 255)]
        else:
            self._shown, self._layers = None, []
        with self._lock:
            self._last = weakref.ref(frame)
            self._has_frame = True

    def _is_on_screen(self, frame: pygame.Surface) -> bool:
        return self._last is not None and self._last() is frame

    # --- drawing ------------------------------------------------------------------------------------

    def _draw(self, layers: list[tuple[video.Texture | pygame.Surface, int]]) -> None:
        renderer = self.renderer
        if self.hardware or not layers:
            renderer.draw_color = (0, 0, 0, 255)
            renderer.clear()  # on a tiled GPU (a Pi's) a clear is cheaper than keeping the last frame
        for texture, alpha in layers:
            if texture is ZONES:
                for zone in self._moving:
                    zone.paint()
                continue
            if alpha <= 0:
                continue
            if isinstance(texture, pygame.Surface):  # SDL's software renderer: into the surface it draws on
                texture.set_alpha(None if alpha >= 255 else alpha)  # None: a plain copy
                self.window.get_surface().blit(texture, (0, 0))
                if alpha < 255:
                    texture.set_alpha(None)  # the frame is the caller's: left as it came
                continue
            texture.blend_mode = BLEND_NONE if alpha >= 255 else BLEND_ALPHA
            texture.alpha = min(255, alpha)
            if self.hardware and self.rotation:
                texture.draw(dstrect=self._turned, angle=self.rotation)
            else:
                texture.draw()

    def _render(self, layers: list[tuple[video.Texture, int]]) -> None:
        """One frame: the layers drawn, screenshots asked for read back, presented."""
        self._draw(layers)
        self._draw_zones()
        if self._shots:
            self._serve_shots()
        self.renderer.present()

    def black(self) -> pygame.Surface:
        """A black frame of the logical size: what a screen switched off on purpose shows."""
        frame = pygame.Surface(self.size)
        frame.fill((0, 0, 0))
        return frame

    def show(self, frame: pygame.Surface) -> None:
        """Put a logical frame on the screen."""
        if not self.hardware and self._is_on_screen(frame):
            self.renderer.present()  # SDL's software target holds it already
            return
        held = self._texture(frame)
        self._render([(held.texture, 255)])
        self._on_screen(held, frame)

    def crossfade(self, new: pygame.Surface, duration_ms: int, old: pygame.Surface | None = None) -> list[float]:
        """Fade from what is on screen (or from `old`, when given) to `new` over `duration_ms`;
        milliseconds spent on each frame.

        What is on screen is the screen's own: the caller need not keep the frame it showed last (a
        1080p frame is 8 MB), since its pixels are in the texture on a GPU and in the window's surface
        on SDL's software renderer. On a GPU every frame draws the old texture, then the new one with
        opacity `progress`, and presents. SDL's software renderer draws into a window surface that
        keeps the last frame, so there one blit a frame is enough: the new frame over what is on
        screen, with the opacity chosen so that the old frame's remaining weight is exactly
        1 - progress (the weight actually applied is tracked, so 8-bit rounding never accumulates);
        that halves the memory traffic of the frame on a CPU. The last frame is the new one alone,
        opaque. The progress follows the clock: a slow frame shortens the fade instead of stretching it.
        """
        if old is None:  # from what is on screen: the software target holds it, a GPU its texture
            kept = not self.hardware and self._has_frame
            before = self._shown if self.hardware else None
            fading = kept or before is not None
        else:
            kept = not self.hardware and self._is_on_screen(old)
            before = None
            fading = old is not new
        if not fading or self._is_on_screen(new) or duration_ms <= 0:  # nothing to fade from, or a slide
            self.show(new)  # that follows itself
            return []
        start_bytes = self.uploaded_bytes
        if not kept and before is None:
            before = self._texture(old)
        for zone in self._moving:  # a video fades out at its last picture, silent
            zone.freeze()
        under = [(ZONES, 255)] if self._moving and self.hardware else []
        after = self._texture(new)
        fade = Fade(uploaded_before=self.uploaded_bytes - start_bytes)
        during = self.uploaded_bytes
        times: list[float] = []
        old_weight = 1.0  # share of the old frame in what the software target holds now
        start = time.perf_counter()
        period = 1 / FADE_FPS
        next_frame = start
        presented = None
        while True:
            t0 = time.perf_counter()
            progress = min(1.0, (t0 - start) * 1000 / duration_ms)
            if progress >= 1.0:
                layers = [(after.texture, 255)]
            elif self.hardware or (presented is None and before is not None):
                alpha = round(255 * progress)
                layers = [(before.texture, 255), *under, (after.texture, alpha)]
                old_weight = 1 - alpha / 255
            else:
                alpha = round(255 * (1 - (1 - progress) / old_weight))
                layers = [(after.texture, alpha)]
                old_weight *= 1 - alpha / 255
            self._render(layers)
            now = time.perf_counter()
            times.append((now - t0) * 1000)
            if presented is not None:
                fade.intervals_ms.append((now - presented) * 1000)
            presented = now
            if progress >= 1.0:
                break
            next_frame += period  # without vsync nothing else paces us: sleep to the next slot, never spin
            delay = next_frame - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_frame = time.perf_counter()  # behind (vsync or a slow frame): do not try to catch up
        fade.frames, fade.draw_ms = len(times), times
        fade.uploaded_during = self.uploaded_bytes - during
        self.last_fade = fade
        self._on_screen(after, new)
        return times

    # --- screenshots --------------------------------------------------------------------------------

    # --- zones: what changes while the slide stands -------------------------------------------------

    def _scene(self) -> list:
        return self._layers + ([(ZONES, 255)] if self._moving else [])

    def play(self, motion, volume: float = 1.0) -> None:
        """Start a moving zone over the frame on screen: a video slide's Video (screen.clip), or any Zone.
        It ends when another frame goes on screen."""
        self._stop_zones()
        zone = clip.Clip(motion, self.wake, volume) if isinstance(motion, clip.Video) else motion
        if isinstance(zone, clip.Clip):
            self.last_clip = zone
        self.zone_error = None
        zone.start(Place(self.window, self.size, self.physical, self.rotation),
                   time.monotonic())
        self._moving.append(zone)

    def animate(self, now: float | None = None) -> float | None:
        """Bring the moving zones up to date and present if they changed; the monotonic instant the next
        change is due, or None when nothing moves (any more: `zone_error` says if one failed)."""
        if not self._moving:
            return None
        now = time.monotonic() if now is None else now
        changed = False
        for zone in self._moving:
            if zone in self._ended:
                continue
            due = zone.due()
            if due is None:  # it stays drawn, at its last picture, until another frame goes on screen
                self.zone_error = zone.error
                self._ended.add(zone)
                zone.freeze()
            elif due <= now + 0.001:
                changed = zone.update(now) or changed
        if changed:
            self._render(self._scene() if self.hardware else [(ZONES, 255)])
        dues = [d for d in (zone.due() for zone in self._moving if zone not in self._ended) if d is not None]
        return min(dues) if dues else None

    def set_volume(self, volume: float) -> None:
        for zone in self._moving:
            if hasattr(zone, "set_volume"):
                zone.set_volume(volume)

    def _stop_zones(self) -> None:
        zones, self._moving = self._moving, []
        self._ended = set()
        for zone in zones:
            self._stopped(zone)

    def _stopped(self, zone: Zone) -> None:
        zone.stop()
        stats = getattr(zone, "stats", None)
        if stats is not None and self.status is not None:
            self.status.count("video_pictures_dropped", stats.dropped)
            self.status.count("video_pictures_late", stats.late)

    def snapshot(self) -> pygame.Surface:
        """The logical frame on screen, read back from the renderer (on the render thread only)."""
        if self.hardware:
            self._draw(self._scene())  # a GPU's back buffer is undefined after a present: draw it again
            self._draw_zones()
        return self._read_back()

    def _read_back(self) -> pygame.Surface:
        surface = self.renderer.to_surface()
        if self.rotation:
            surface = pygame.transform.rotate(surface, self.rotation)  # the panel's pixels, turned back
        return surface

    def _serve_shots(self) -> None:
        with self._lock:
            shots, self._shots = self._shots, []
        surface = self._read_back()
        for shot in shots:
            shot.surface = surface
            shot.done.set()

    def screenshot_png(self) -> bytes | None:
        """PNG of the (logical) frame on screen; safe to call from any thread.

        Read back from the renderer by the render thread (during a crossfade: the frame being faded);
        when that thread does not come round in time, the last frame it put on screen if its Surface is
        still alive, else None (the health endpoint then says to ask again)."""
        if threading.get_ident() == self._owner:
            surface = self.snapshot() if self._has_frame else None
        else:
            shot = _Shot()
            with self._lock:
                self._shots.append(shot)
            if self.wake is not None:
                self.wake.set()
            shot.done.wait(SHOT_WAIT_SECONDS)
            with self._lock:
                if shot in self._shots:
                    self._shots.remove(shot)
                surface = shot.surface if shot.surface is not None else self._last and self._last()
        if surface is None and self._has_frame:
            return None  # the render thread is busy and the frame's Surface let go: its pixels are on screen only
        if surface is None:
            raw, size = bytes(3 * self.size[0] * self.size[1]), self.size  # nothing shown yet: black
        else:
            raw, size = pygame.image.tobytes(surface, "RGB"), surface.get_size()
        buffer = io.BytesIO()
        Image.frombytes("RGB", size, raw).save(buffer, "PNG", compress_level=1)
        return buffer.getvalue()

    # --- events -------------------------------------------------------------------------------------

    def pump(self) -> bool:
        """Handle pending window events and screenshot requests; False once the display is gone or closed."""
        if self._lost or not pygame.display.get_init():
            return self._gone(_("display is gone"))
        exposed = False
        for event in pygame.event.get():
            if event.type in (pygame.QUIT, pygame.WINDOWCLOSE):
                return self._gone(_("display closed"))
            if event.type == RENDER_DEVICE_RESET:
                return self._gone(_("the GPU was reset: its textures are lost"))
            if event.type in (pygame.WINDOWEXPOSED, RENDER_TARGETS_RESET):
                exposed = True
        if self.hardware and self._layers and (exposed or self._shots):
            self._render(self._scene())  # drawn again, read back if asked, presented
        else:
            if self._shots:
                self._serve_shots()
            if exposed:  # SDL's software target still holds the frame: present it again
                self.renderer.present()
        return not self._lost

    def _gone(self, why: str) -> bool:
        if not self._lost:
            log.error("%s", why)
        self._lost = True
        if self.status is not None:
            self.status.update(display_ok=False)
        return False

    # --- zones ------------------------------------------------------------------------------------

    def set_zones(self, shown: list, mono: float, local: dt.datetime) -> None:
        """The zones that stand with the slide now going on screen (none: the slide alone), at this instant."""
        self._zones = list(shown)
        self._zone_clock = (mono, local, time.perf_counter())
        if not self._zones:
            self._zone_textures.clear()

    def refresh(self, mono: float, local: dt.datetime) -> float:
        """Draw the zones as they are at this instant and present; the monotonic instant of the next
        change of any of them (math.inf without zones). Only the zones are drawn where SDL's software
        target keeps the slide; a GPU draws the slide's texture again under them (a textured draw)."""
        self._zone_clock = (mono, local, time.perf_counter())
        if not self._zones:
            return math.inf
        if self.hardware:
            self._draw(self._layers)
        self._draw_zones()
        if self._shots:
            self._serve_shots()
        self.renderer.present()
        self.zone_frames += 1
        return min(zone.due(mono, local) for zone in self._zones)

    def _zone_time(self) -> tuple[float, dt.datetime]:
        """The zones' instant for a frame the display draws by itself (a crossfade's): the last refresh's,
        moved on by the time since."""
        if self._zone_clock is None:
            return time.monotonic(), dt.datetime.now()
        mono, local, perf = self._zone_clock
        if self.still:
            return mono, local
        moved = time.perf_counter() - perf
        return mono + moved, local + dt.timedelta(seconds=moved)

    def _draw_zones(self) -> None:
        if not self._zones:
            return
        mono, local = self._zone_time()
        if self.zone_log is not None:
            self.zone_log.append((time.perf_counter(), mono))
        used: dict[int, tuple[weakref.ref, video.Texture]] = {}
        for zone in self._zones:
            for piece in zone.pieces(mono, local):
                texture = self._zone_texture(piece.surface, used)
                surface_size = piece.surface.get_size()
                src = piece.src or (0, 0, *surface_size)
                texture.draw(srcrect=_turn(src, surface_size, self.rotation),
                             dstrect=self._physical(_turn(piece.dst, self.size, self.rotation)))
        self._zone_textures = used  # what no zone handed over this frame is let go

    def _physical(self, rect: zones.Rect) -> zones.Rect:
        """A rect of the turned logical frame on the panel (centred where the panel is larger)."""
        turned_w, turned_h = (self.size[1], self.size[0]) if self.rotation in (90, 270) else self.size
        dx, dy = (self.physical[0] - turned_w) // 2, (self.physical[1] - turned_h) // 2
        return (rect[0] + dx, rect[1] + dy, rect[2], rect[3])

    def _zone_texture(self, surface, used: dict) -> video.Texture:
        held = self._zone_textures.get(id(surface)) or used.get(id(surface))
        if held is None or held[0]() is not surface:
            turned = pygame.transform.rotate(surface, -self.rotation) if self.rotation else surface
            texture = video.Texture.from_surface(self.renderer, turned)
            texture.blend_mode = BLEND_NONE
            self.uploaded_bytes += 4 * texture.width * texture.height
            held = (weakref.ref(surface), texture)
        used[id(surface)] = held
        return held[1]

    def close(self, video_too: bool = True) -> None:
        """Let go of textures, renderer and window in that order (each needs the next); again is a no-op."""
        if self not in _OPEN:
            return
        _OPEN.discard(self)
        self._zones, self._zone_textures = [], {}
        self._stop_zones()
        self._shown = self._ahead = None
        self._layers = []
        self.renderer = None
        self.window.destroy()
        if video_too:
            pygame.display.quit()


def _turn(rect: zones.Rect, size: tuple[int, int], rotation: int) -> zones.Rect:
    """`rect` of a surface of `size`, where it is once the surface is turned clockwise by `rotation`."""
    x, y, w, h = rect
    width, height = size
    if rotation == 90:
        return (height - y - h, x, h, w)
    if rotation == 180:
        return (width - x - w, height - y - h, w, h)
    if rotation == 270:
        return (y, width - x - w, h, w)
    return rect


def _draws_everywhere(renderer: video.Renderer, size: tuple[int, int]) -> bool:
    """A renderer that really fills the window: a colour cleared in, read back at opposite corners. A GPU
    driver that draws into a drawable of the wrong size (seen: OpenGL on an X server that could not change
    mode for a fullscreen size) would otherwise leave most of the panel black for good."""
    probe = (10, 200, 30, 255)
    renderer.draw_color = probe
    renderer.clear()
    width, height = size
    corners = [renderer.to_surface(area=pygame.Rect(x, y, 1, 1)).get_at((0, 0))
               for x, y in ((0, 0), (width - 1, height - 1))]
    renderer.draw_color = (0, 0, 0, 255)
    renderer.clear()
    return all(tuple(c)[:3] == probe[:3] for c in corners)


def _renderer(window: video.Window, names: list[str]) -> tuple[video.Renderer, str]:
    """The first of `names` SDL can create for `window`: hardware ones with vsync where it has it."""
    available = [info.name for info in video.get_drivers()]
    errors = []
    for name in names:
        if name not in available:
            continue
        index = available.index(name)
        hardware = name != gpu.SOFTWARE
        if not hardware:
            # SDL would put the software renderer's window surface on screen through an OpenGL texture
            # (under X11: Mesa's software OpenGL, ~15 ms of CPU a frame); the window system's own shared
            # memory image (XShm) costs a fraction of that.
            os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
            # Frames are blitted into that surface between the renderer's own draws (the zones, a
            # video): each draw must be done when it is called, not queued until the present.
            os.environ["SDL_RENDER_BATCHING"] = "0"
        for vsync in ((True, False) if hardware else (False,)):
            try:
                renderer = video.Renderer(window, index=index, accelerated=int(hardware), vsync=vsync)
            except pygame.error as exc:
                errors.append(f"{name}{' with vsync' if vsync else ''}: {exc}")
                continue
            if _draws_everywhere(renderer, window.size):
                return renderer, name
            errors.append(f"{name}: what it draws does not cover the screen")
            break
    raise pygame.error("no renderer could be created (" + ("; ".join(errors) or "none available") + ")")
