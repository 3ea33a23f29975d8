"""Zones that change while a slide stands: the arithmetic (pure), the bands drawn, the display composing them,
and `kiosk render` showing them."""

import datetime as dt
import math
import subprocess
import sys
import time
from types import SimpleNamespace

import pygame
import pytest
from PIL import Image

from kiosk.content.programme import Slide
from kiosk.screen import bands, zones
from kiosk.screen.display import Screen
from kiosk.screen.slide import Renderer

NOW = dt.datetime(2026, 12, 1, 10, 5, 42, 500_000)


def pixels(image):
    return image.get_flattened_data() if hasattr(image, "get_flattened_data") else image.getdata()


def test_the_clock_turns_exactly_at_the_next_minute():
    assert zones.next_minute(100.0, NOW) == pytest.approx(117.5)
    assert zones.next_minute(5.0, NOW.replace(second=0, microsecond=0)) == 65.0


def test_a_scroll_moves_at_a_constant_speed_whatever_the_frame_rate():
    scroll = zones.Scroll([300, 500], (0, 1000, 1920, 60), speed=120, fps=60, gap=200)
    assert scroll.offset(10.0) == 0 and scroll.origin == 10.0
    steps = [scroll.offset(10.0 + n / 60) for n in range(61)]
    assert steps[-1] == 120  # 120 px in one second
    assert {b - a for a, b in zip(steps, steps[1:], strict=False)} == {2}  # smooth: two pixels a frame at 60 Hz
    assert scroll.offset(10.0 + 1.5) == 180  # a late frame shows where the text is now: no drift
    assert scroll.period == 1920  # a short text crosses the whole strip before it comes again
    assert scroll.offset(10.0 + 16.0) == (16 * 120) % 1920


def test_a_scroll_asks_for_frames_on_its_grid():
    scroll = zones.Scroll([300], (0, 0, 800, 40), speed=100, fps=50, gap=100)
    scroll.offset(2.0)
    assert scroll.due(2.0) == pytest.approx(2.02)
    assert scroll.due(2.031) == pytest.approx(2.04)
    assert zones.Scroll([], (0, 0, 800, 40), 100, 50, 100).due(1.0) == math.inf  # no text: no frames


def test_segments_are_placed_inside_the_strip_and_clipped_to_it():
    scroll = zones.Scroll([400, 400], (100, 500, 1000, 50), speed=100, fps=60, gap=300)
    scroll.origin = 0.0
    # a loop: text, then a gap; at the origin the loop is as it always is (the end of the text leaving)
    assert scroll.period == 1100
    assert scroll.placed(0.0)[-1] == zones.Placed(1, (400, 500, 400, 50), (0, 0, 400, 50))
    first = scroll.placed(1.5)  # moved 150 px: the first 150 px of segment 0 are in, at the right edge
    assert first[-1] == zones.Placed(0, (950, 500, 150, 50), (0, 0, 150, 50))
    later = scroll.placed(10.5)  # moved 1050: segment 0 left of the strip's edge is cut, segment 1 whole
    for p in later:
        assert p.dst[0] >= 100 and p.dst[0] + p.dst[2] <= 1100 and p.dst[2] == p.src[2]
    assert {p.index for p in later} == {0, 1}


def test_band_geometry_stays_legible_on_a_small_led_panel():
    small = bands.geometry((512, 256), True, True)
    assert small.header_font >= bands.MIN_TEXT_PX and small.ticker_font >= bands.MIN_TEXT_PX
    assert small.header_h + small.ticker_h < 256 * 0.3
    assert bands.geometry((1920, 1080), False, False).header_h == 0


@pytest.fixture(scope="module")
def renderer(tmp_path_factory):
    return Renderer((960, 540), SimpleNamespace(font="auto", fit="fit", header=True, ticker=True, ticker_speed=120),
                    tmp_path_factory.mktemp("cache"), device_name="UBND xã An Khương")


def slide(priority="normal"):
    return Slide(id="a", type="text", title="Lịch tiếp công dân", body="Sáng thứ Năm hằng tuần.", priority=priority)


def test_an_emergency_takes_the_whole_screen_and_a_slide_without_ticker_has_no_strip(renderer):
    ticker = ("Lịch cắt điện thôn Phú Lộc",)
    assert [type(z) for z in renderer.zones(slide(), ticker)] == [bands.Header, bands.Ticker]
    assert [type(z) for z in renderer.zones(slide())] == [bands.Header]
    assert renderer.zones(slide("emergency"), ticker) == []
    # the ticker is the same object from slide to slide: it never starts again at each slide
    assert renderer.zones(slide(), ticker)[1] is renderer.zones(slide(), ticker)[1]


def test_the_display_composes_the_zones_over_the_slide_and_uploads_each_surface_once(renderer):
    screen = Screen.offscreen((960, 540))
    try:
        ticker = ("Đường dây nóng phòng chống thiên tai: 0235 3 888 999. " * 3,)
        shown = renderer.zones(slide(), ticker)
        screen.set_zones(shown, 50.0, NOW)
        screen.show(renderer.pages(slide(), ticker=ticker)[0])
        assert 50.0 < screen.refresh(50.0, NOW) <= 50.0 + 1 / 60 + 1e-9  # the ticker's next frame
        uploaded = screen.uploaded_bytes
        for n in range(1, 30):  # half a second of ticker: the text only moves
            screen.refresh(50.0 + n / 60, NOW)
        assert screen.uploaded_bytes - uploaded < 4 * 1024 * 54 * 2  # at most a new segment came in
        frame = screen.snapshot()
        header = frame.get_at((480, 1))[:3]
        strip = frame.get_at((5, 539))[:3]
        assert header == bands.HEADER_BG and strip == bands.TICKER_BG
        # the clock at the minute: a new header surface, drawn once
        assert shown[0].due(50.0, NOW) == pytest.approx(67.5)  # the clock: exactly at the next minute
    finally:
        screen.close()


def test_a_still_screen_draws_the_zones_at_the_instant_given_however_long_drawing_takes(renderer):
    """`kiosk render` is a preview of one instant: a ticker drawn a few milliseconds later (an upload
    more or less) moved a pixel, so the same render differed between two versions of the code."""
    ticker = ("Đường dây nóng phòng chống thiên tai: 0235 3 888 999. " * 3,)
    shown = renderer.zones(slide(), ticker)
    page = renderer.pages(slide(), ticker=ticker)[0]
    strips = []
    for still, pause in ((True, 0.0), (True, 0.25), (False, 0.25)):
        screen = Screen.offscreen((960, 540))
        try:
            screen.still = still
            screen.set_zones(shown, 50.0, NOW)
            time.sleep(pause)  # drawing took that long
            screen.show(page)
            strips.append(pygame.image.tobytes(screen.snapshot().subsurface((0, 500, 960, 40)), "RGB"))
        finally:
            screen.close()
    assert strips[0] == strips[1]  # still: the same pixels
    assert strips[2] != strips[0]  # a playing screen: the ticker moved on meanwhile (120 px/s: 30 px)


def test_kiosk_render_shows_the_header_clock_and_the_ticker(tmp_path):
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "programme.yaml").write_text(
        "ticker: [\"Lịch cắt điện thôn Phú Lộc, 8 giờ đến 11 giờ\"]\n"
        "slides:\n  - {id: a, title: Thông báo, body: Nội dung.}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"device: {{id: t, name: UBND xã Thử}}\nsource: {{path: {folder}}}\ncache: {{path: {tmp_path / 'c'}}}\n",
        encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "kiosk", "render", "-c", str(tmp_path / "config.yaml"), "--out", str(out),
                    "--size", "960x540", "--at", "2026-12-01T10:05"], check=True, capture_output=True)
    image = Image.open(out / "01-a.png").convert("RGB")
    geo = bands.geometry((960, 540), True, True)
    assert image.getpixel((480, geo.header_h // 3)) == bands.HEADER_BG
    strip = image.crop((0, 540 - geo.ticker_h + 4, 960, 538))
    assert sum(1 for p in pixels(strip) if min(p) > 220) > 200  # the ticker's white text, mid-way
    header = image.crop((480, 0, 960, geo.header_h - 6))
    assert sum(1 for p in pixels(header) if p[0] > 200 and p[1] > 150 and p[2] < 120) > 30  # the gold time


def test_a_logo_that_is_not_an_image_leaves_the_header_without_it(tmp_path, caplog):
    bad = tmp_path / "logo.png"
    bad.write_text("not a picture")
    geo = bands.geometry((960, 540), True, False)
    files = Renderer((960, 540), SimpleNamespace(font="auto", fit="fit"), tmp_path).fonts.files
    header = bands.Header(geo, files, "UBND xã Thử", bad)
    assert header.draw(NOW).get_size() == (960, geo.header_h)
    assert "display.logo" in caplog.text


def test_a_logo_is_drawn_beside_the_name(tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (200, 200), (255, 0, 0, 255)).save(logo)
    geo = bands.geometry((960, 540), True, False)
    files = Renderer((960, 540), SimpleNamespace(font="auto", fit="fit"), tmp_path).fonts.files
    band = bands.Header(geo, files, "UBND xã Thử", logo).draw(NOW)
    red = band.get_at((30, geo.header_h // 2))
    assert red[0] > 240 and red[1] < 10 and red[2] < 10
    pygame.display.quit()


def test_a_logo_that_is_not_an_image_is_refused_by_check_config_and_played_without_at_start(tmp_path):
    from kiosk import config

    bad = tmp_path / "logo.png"
    bad.write_text("not a picture")
    path = tmp_path / "config.yaml"
    path.write_text(f"device: {{id: t, name: X}}\nsource: {{path: {tmp_path}}}\ndisplay: {{logo: {bad}}}\n",
                    encoding="utf-8")
    with pytest.raises(config.InvalidInput) as exc:
        config.load(path)
    assert "display.logo" in str(exc.value.problems[0]) and "not an image" in str(exc.value.problems[0])
    degraded = config.load(path, degrade=True)  # how `kiosk run` boots: the board plays, says why
    assert degraded.display.logo == bad and "display.logo" in str(degraded.degraded[0])


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_zones_land_in_their_place_on_a_rotated_panel(renderer, rotation):
    physical = (540, 960) if rotation in (90, 270) else (960, 540)
    screen = Screen.offscreen(physical, rotation)
    try:
        assert screen.size == (960, 540)
        shown = renderer.zones(slide(), ("Lịch cắt điện",))
        screen.set_zones(shown, 10.0, NOW)
        screen.show(renderer.pages(slide(), ticker=("Lịch cắt điện",))[0])
        frame = screen.snapshot()  # read back and turned to the logical frame, as the audience sees it
        assert frame.get_size() == (960, 540)
        assert frame.get_at((480, 1))[:3] == bands.HEADER_BG and frame.get_at((5, 539))[:3] == bands.TICKER_BG
        assert frame.get_at((480, 270))[:3] != bands.HEADER_BG  # the slide between them
    finally:
        screen.close()
