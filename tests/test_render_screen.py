"""The screen under the dummy driver: headless fallback, rotation, screenshots, fades, events, renderer choice."""

import io
import threading
import time
from pathlib import Path

import pygame
import pytest
from PIL import Image

from kiosk.screen import gpu
from kiosk.screen.display import Screen, quit_video
from kiosk.status import Status

RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.fixture
def status():
    return Status()


@pytest.fixture(autouse=True)
def _close_display():
    yield
    quit_video()  # not pygame.display.quit(): a Window left behind would free a later window (see quit_video)


def frame(size, top_color=RED, rest=BLUE) -> pygame.Surface:
    surface = pygame.Surface(size)
    surface.fill(rest)
    surface.fill(top_color, (0, 0, size[0], size[1] // 4))
    return surface


def panel(screen: Screen) -> pygame.Surface:
    """The physical pixels the renderer put on the panel."""
    return screen.renderer.to_surface()


def png(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_without_a_screen_it_runs_headless_and_says_so(status, caplog):
    screen = Screen.open(None, 0, status)
    assert screen.headless and screen.size == (1920, 1080)
    facts = status.snapshot()
    assert facts["headless"] is True and facts["display_ok"] is False and facts["display_size"] == (1920, 1080)
    assert facts["display_renderer"] == "software"  # no GPU under the dummy driver: SDL's own renderer
    assert any("running headless" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("on_gpu", [False, True])
def test_rotation_swaps_the_logical_size_and_turns_the_picture(status, on_gpu):
    screen = Screen.open((640, 360), 90, status)
    screen.hardware = on_gpu  # the GPU's way (the texture drawn turned) also runs on SDL's software renderer
    assert screen.size == (360, 640) and status.snapshot()["display_size"] == (360, 640)
    screen.show(frame(screen.size))
    physical = panel(screen)
    assert physical.get_size() == (640, 360)
    assert tuple(physical.get_at((630, 180)))[:3] == RED  # clockwise: the logical top is on the panel's right
    assert tuple(physical.get_at((10, 180)))[:3] == BLUE
    assert tuple(physical.get_at((639, 0)))[:3] == RED and tuple(physical.get_at((0, 359)))[:3] == BLUE  # corners


def test_screenshot_is_the_logical_frame_on_screen(status):
    screen = Screen.open((640, 360), 270, status)
    blank = Image.open(io.BytesIO(screen.screenshot_png()))
    assert blank.size == (360, 640)  # before the first frame: black, never an error
    screen.show(frame(screen.size))
    shot = png(screen.screenshot_png())
    assert shot.size == (360, 640)
    assert shot.getpixel((180, 10)) == RED and shot.getpixel((180, 600)) == BLUE


def test_a_screenshot_from_another_thread_is_read_back_by_the_render_thread(status):
    wake = threading.Event()
    screen = Screen.open((320, 180), 0, status, wake=wake)
    screen.show(frame(screen.size))
    answer = []
    asking = threading.Thread(target=lambda: answer.append(screen.screenshot_png()))
    asking.start()
    assert wake.wait(5)  # the render loop is woken, and serves the request at its next pump
    while asking.is_alive():
        screen.pump()
        asking.join(0.01)
    assert png(answer[0]).getpixel((160, 10)) == RED and png(answer[0]).getpixel((160, 170)) == BLUE


def test_a_screenshot_while_the_render_thread_is_busy_shows_the_last_frame(status, monkeypatch):
    monkeypatch.setattr("kiosk.screen.display.SHOT_WAIT_SECONDS", 0.05)
    screen = Screen.open((320, 180), 0, status)
    on_screen = frame(screen.size)  # a caller that still holds the frame it shows
    screen.show(on_screen)
    answer = []
    asking = threading.Thread(target=lambda: answer.append(screen.screenshot_png()))
    asking.start()
    asking.join(5)  # nobody pumps: the frame last shown, never an error
    assert png(answer[0]).getpixel((160, 10)) == RED
    assert screen.pump() and not screen._shots  # a request given up on is not served later
    del on_screen  # the player lets go of a frame once it is on screen: only the screen has its pixels
    asking = threading.Thread(target=lambda: answer.append(screen.screenshot_png()))
    asking.start()
    asking.join(5)
    assert answer[1] is None  # no stale or black picture: the endpoint says to ask again (503, Retry-After)
    assert png(screen.screenshot_png()).getpixel((160, 10)) == RED  # read back by the render thread itself


def test_crossfade_ends_on_the_new_frame_and_uploads_nothing_per_frame(status):
    screen = Screen.open((320, 180), 0, status)
    old, new = frame((320, 180), RED, RED), frame((320, 180), BLUE, BLUE)
    screen.show(old)
    uploaded = screen.uploaded_bytes
    times = screen.crossfade(new, 120)
    assert len(times) >= 2 and all(t >= 0 for t in times)
    assert tuple(panel(screen).get_at((160, 90)))[:3] == BLUE
    assert png(screen.screenshot_png()).getpixel((160, 90)) == BLUE
    fade = screen.last_fade
    assert fade.frames == len(times) and len(fade.intervals_ms) == fade.frames - 1
    # SDL's software renderer: the frame is blitted into the window's surface as it is, never copied into
    # a texture (which would be a second full-screen copy in memory), before the fade or during it
    assert fade.uploaded_before == 0 and fade.uploaded_during == 0 and screen.uploaded_bytes == uploaded == 0
    assert new.get_alpha() == old.get_alpha() == frame((1, 1), RED, RED).get_alpha()  # left as it came
    screen.show(new)
    assert screen.uploaded_bytes == 0


@pytest.mark.parametrize("on_gpu", [False, True])
def test_crossfade_passes_through_a_blend(status, on_gpu):
    screen = Screen.open((320, 180), 0, status)
    screen.hardware = on_gpu  # two draws a frame (GPU) or one over the last frame (SDL's software target)
    seen = []
    render = screen._render

    def presented(layers):
        render(layers)
        seen.append(tuple(panel(screen).get_at((5, 5)))[:3])  # SDL's software target keeps what was presented

    screen._render = presented
    screen.crossfade(frame((320, 180), BLUE, BLUE), 200, old=frame((320, 180), RED, RED))
    assert seen[-1] == BLUE
    assert any(60 < r < 200 and 60 < b < 200 for r, _g, b in seen)  # halfway: both frames show
    reds = [r for r, _g, _b in seen]
    assert reds == sorted(reds, reverse=True)  # the old frame only ever fades out
    # every frame a mix of the two; SDL's software blend rounds down, so mid-fade sums dip a little
    assert all(0 <= 255 - (r + b) <= 16 for r, _g, b in seen)


def test_a_screenshot_during_a_crossfade_is_the_frame_being_faded(status):
    screen = Screen.open((320, 180), 0, status)
    answer = []
    asking = threading.Thread(target=lambda: answer.append(screen.screenshot_png()))
    old, new = frame((320, 180), RED, RED), frame((320, 180), BLUE, BLUE)
    screen.show(old)
    real_render = screen._render

    def render(layers):
        if not asking.is_alive() and not answer and 60 < layers[-1][1] < 200:  # a frame half-way through
            asking.start()
            while not screen._shots:  # the request is queued; these layers are drawn however long it took
                time.sleep(0.001)
        real_render(layers)

    screen._render = render
    screen.crossfade(new, 300)
    asking.join(5)
    r, _g, b = png(answer[0]).getpixel((160, 90))
    assert r > 0 and b > 0  # a blend of both, read back between two fade frames


def test_pump_reports_a_closed_display(status):
    screen = Screen.open((320, 180), 0, status)
    assert screen.pump() is True
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert screen.pump() is False
    assert status.snapshot()["display_ok"] is False
    assert screen.pump() is False  # and stays lost


def test_bad_rotation_is_refused():
    with pytest.raises(ValueError, match="rotation"):
        Screen.open((320, 180), 45)


def test_a_frame_of_another_size_is_scaled_to_the_screen(status):
    screen = Screen.open((320, 180), 0, status)
    screen.show(frame((160, 90)))
    assert panel(screen).get_size() == (320, 180)
    assert tuple(panel(screen).get_at((160, 170)))[:3] == BLUE and tuple(panel(screen).get_at((160, 5)))[:3] == RED


# --- which renderer --------------------------------------------------------------------------------

ALL = ["opengl", "opengles2", "opengles", "software"]


def test_the_gpu_renderer_only_where_a_gpu_is():
    assert gpu.order("kmsdrm", ALL, gpu=True) == ["opengles2", "opengl", "software"]
    assert gpu.order("x11", ALL, gpu=False) == ["software"]  # no Mesa software OpenGL for nothing
    assert gpu.order("x11", ALL, gpu=True, forced="software") == ["software"]
    assert gpu.order("x11", ALL, gpu=False, forced="opengl") == ["opengl"]
    assert gpu.order("x11", ALL, gpu=False, forced="metal") == []


def drm(tmp_path: Path, **nodes: str) -> Path:
    """A fake /sys/class/drm: render node name -> kernel driver."""
    root = tmp_path / "drm"
    for node, driver in nodes.items():
        (tmp_path / "drivers" / driver).mkdir(parents=True, exist_ok=True)
        (root / node / "device").mkdir(parents=True)
        (root / node / "device" / "driver").symlink_to(tmp_path / "drivers" / driver)
    root.mkdir(exist_ok=True)
    return root


def test_a_pi_has_a_gpu_and_a_machine_with_only_fake_render_nodes_has_none(tmp_path):
    pi = drm(tmp_path / "pi", renderD128="v3d")
    assert gpu.render_nodes(pi) == ["v3d"] and gpu.has_gpu("kmsdrm", pi) and gpu.has_gpu("wayland", pi)
    fake = drm(tmp_path / "vm", renderD128="vgem", renderD129="vkms")
    assert gpu.render_nodes(fake) == [] and not gpu.has_gpu("kmsdrm", fake)
    assert not gpu.has_gpu("kmsdrm", tmp_path / "nothing")
    assert not gpu.has_gpu("dummy", pi)


def test_under_x11_the_gpu_counts_only_if_the_x_server_shares_it(tmp_path, monkeypatch):
    pi = drm(tmp_path, renderD128="v3d")
    monkeypatch.setattr(gpu, "x_server_shares_gpu", lambda display=None: False)  # Xvfb, a VNC server
    assert not gpu.has_gpu("x11", pi)
    monkeypatch.setattr(gpu, "x_server_shares_gpu", lambda display=None: True)
    assert gpu.has_gpu("x11", pi)


def test_without_an_x_server_nothing_is_shared():
    assert gpu.x_server_shares_gpu(":4242") is False


def test_a_gpu_holds_the_texture_on_screen_and_the_next_one_uploaded_ahead_no_more(status):
    screen = Screen.open((320, 180), 0, status)
    screen.hardware = True  # the GPU's bookkeeping, on SDL's software renderer
    a, b, c = frame(screen.size, RED), frame(screen.size, BLUE), frame(screen.size, (0, 255, 0))
    screen.show(a)
    screen.prepare(b)  # before its slot, on the render thread
    uploaded = screen.uploaded_bytes
    screen.crossfade(b, 50)
    assert screen.uploaded_bytes == uploaded  # both textures were there already
    held = [t for t in (screen._shown, screen._ahead) if t is not None]
    assert [t.frame() for t in held] == [b]  # a's texture let go once b is on screen alone
    screen.prepare(c)
    screen.prepare(c)  # once only
    assert screen.uploaded_bytes == uploaded + 4 * 320 * 180


def test_sdls_software_renderer_keeps_no_second_copy_of_the_frame_on_screen(status):
    screen = Screen.open((320, 180), 0, status)
    a, b = frame(screen.size, RED), frame(screen.size, BLUE)
    screen.show(a)
    screen.prepare(b)  # no upload ahead: a texture here is one more full-screen copy in memory
    assert screen._shown is None and screen._ahead is None
    screen.crossfade(b, 50)
    assert screen._shown is None and screen._ahead is None
    pygame.event.post(pygame.event.Event(pygame.WINDOWEXPOSED))
    assert screen.pump()  # exposed: presented again from the window's own surface
    assert tuple(panel(screen).get_at((5, 5)))[:3] == BLUE and png(screen.screenshot_png()).getpixel((5, 5)) == BLUE


def test_a_renderer_that_does_not_cover_the_screen_is_refused():
    from kiosk.screen import display

    class Corner:  # draws into a drawable of the wrong size: the far corner stays black
        draw_color = (0, 0, 0, 255)

        def clear(self):
            self.cleared = self.draw_color

        def to_surface(self, area):
            pixel = pygame.Surface((1, 1))
            pixel.fill(self.cleared if area.x == 0 else (0, 0, 0))
            return pixel

    assert display._draws_everywhere(Corner(), (640, 360)) is False
    pygame.display.init()
    screen = Screen.offscreen((64, 36))
    assert display._draws_everywhere(screen.renderer, (64, 36)) is True


@pytest.mark.parametrize("on_gpu", [False, True])
def test_a_fade_starts_from_the_frame_on_screen_whose_surface_is_gone(status, on_gpu):
    """The player lets go of a frame once it is on screen: the fade starts from the screen's own pixels
    (the window's surface, or the GPU's texture)."""
    import gc

    screen = Screen.open((320, 180), 0, status)
    screen.hardware = on_gpu
    screen.show(frame((320, 180), RED, RED))  # nobody keeps it
    gc.collect()
    seen, render = [], screen._render

    def presented(layers):
        render(layers)
        seen.append(tuple(panel(screen).get_at((5, 5)))[:3])

    screen._render = presented
    new = frame((320, 180), BLUE, BLUE)
    screen.prepare(new)
    screen.crossfade(new, 200)
    assert seen[-1] == BLUE and any(60 < r < 200 and 60 < b < 200 for r, _g, b in seen)


def test_opening_a_screen_closes_one_left_open_so_collecting_it_later_frees_nothing_twice(status):
    """SDL frees every window when its video restarts; a pygame Window left behind would destroy whatever
    window sits at its address when collected (seen in CI: "Renderer's window has been destroyed")."""
    import gc

    left = Screen.open((320, 180), 0, status)
    left.show(frame((320, 180)))
    screen = Screen.open((320, 180), 0, status)
    assert left.renderer is None  # closed, textures and renderer before its window
    left.close()  # again: nothing
    del left
    gc.collect()
    new = frame((320, 180), BLUE, BLUE)
    screen.crossfade(new, 100)
    assert tuple(panel(screen).get_at((5, 5)))[:3] == BLUE
