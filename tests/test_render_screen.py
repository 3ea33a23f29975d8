"""The screen under the dummy driver: headless fallback, rotation, screenshots, fades, events."""

import io

import pygame
import pytest
from PIL import Image

from kiosk.screen.display import Screen
from kiosk.status import Status

RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.fixture
def status():
    return Status()


@pytest.fixture(autouse=True)
def _close_display():
    yield
    pygame.display.quit()


def frame(size, top_color=RED, rest=BLUE) -> pygame.Surface:
    surface = pygame.Surface(size)
    surface.fill(rest)
    surface.fill(top_color, (0, 0, size[0], size[1] // 4))
    return surface


def test_without_a_screen_it_runs_headless_and_says_so(status, caplog):
    screen = Screen.open(None, 0, status)
    assert screen.headless and screen.size == (1920, 1080)
    facts = status.snapshot()
    assert facts["headless"] is True and facts["display_ok"] is False and facts["display_size"] == (1920, 1080)
    assert any("running headless" in r.getMessage() for r in caplog.records)


def test_rotation_swaps_the_logical_size_and_turns_the_picture(status):
    screen = Screen.open((640, 360), 90, status)
    assert screen.size == (360, 640) and status.snapshot()["display_size"] == (360, 640)
    screen.show(frame(screen.size))
    physical = pygame.display.get_surface()
    assert physical.get_size() == (640, 360)
    assert tuple(physical.get_at((630, 180)))[:3] == RED  # clockwise: the logical top is on the panel's right
    assert tuple(physical.get_at((10, 180)))[:3] == BLUE


def test_screenshot_is_the_logical_frame_on_screen(status):
    screen = Screen.open((640, 360), 270, status)
    blank = Image.open(io.BytesIO(screen.screenshot_png()))
    assert blank.size == (360, 640)  # before the first frame: black, never an error
    screen.show(frame(screen.size))
    shot = Image.open(io.BytesIO(screen.screenshot_png())).convert("RGB")
    assert shot.size == (360, 640)
    assert shot.getpixel((180, 10)) == RED and shot.getpixel((180, 600)) == BLUE


def test_crossfade_ends_on_the_new_frame(status):
    screen = Screen.open((320, 180), 0, status)
    old, new = frame((320, 180), RED, RED), frame((320, 180), BLUE, BLUE)
    screen.show(old)
    times = screen.crossfade(old, new, 120)
    assert len(times) >= 2 and all(t >= 0 for t in times)
    assert tuple(pygame.display.get_surface().get_at((160, 90)))[:3] == BLUE
    assert new.get_alpha() is None  # the caller's frame is untouched
    shot = Image.open(io.BytesIO(screen.screenshot_png())).convert("RGB")
    assert shot.getpixel((160, 90)) == BLUE


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


def test_crossfade_passes_through_a_blend(status, monkeypatch):
    screen = Screen.open((320, 180), 0, status)
    seen = []
    flip = pygame.display.flip

    def record():
        seen.append(tuple(pygame.display.get_surface().get_at((5, 5)))[:3])
        flip()

    monkeypatch.setattr(pygame.display, "flip", record)
    screen.crossfade(frame((320, 180), RED, RED), frame((320, 180), BLUE, BLUE), 200)
    assert seen[-1] == BLUE
    assert any(60 < r < 200 and 60 < b < 200 for r, _g, b in seen)  # halfway: both frames show
    reds = [r for r, _g, _b in seen]
    assert reds == sorted(reds, reverse=True)  # the old frame only ever fades out
