"""Slides drawn to real PNG files, checked by their pixels, without any display."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pygame
import pytest
from PIL import Image

from kiosk.content import media
from kiosk.content.programme import MediaRef, Slide
from kiosk.screen import slide as slide_mod
from kiosk.screen.slide import Renderer

SIZE = (960, 540)
NOW = dt.datetime(2026, 11, 26, 8, 30)


@pytest.fixture(scope="module")
def renderer(tmp_path_factory):
    pygame.display.quit()  # the renderer needs no display: prove it
    cache = tmp_path_factory.mktemp("cache")
    return Renderer(SIZE, SimpleNamespace(font="auto", fit="fit"), cache, device_name="UBND xã An Khương")


def png(frame: pygame.Surface, path: Path) -> Image.Image:
    pygame.image.save(frame, str(path))
    return Image.open(path).convert("RGB")


def count(image: Image.Image, box, predicate) -> int:
    region = image.crop(box)
    pixels = region.get_flattened_data() if hasattr(region, "get_flattened_data") else region.getdata()
    return sum(1 for pixel in pixels if predicate(pixel))


def is_gold(p):
    return p[0] > 200 and p[1] > 150 and p[2] < 120


def is_white(p):
    return min(p) > 220


def test_text_slide_has_title_above_body(renderer, tmp_path):
    s = Slide(id="lich", type="text", title="Lịch tiếp công dân",
              body="Chủ tịch UBND xã tiếp công dân vào sáng thứ Năm hằng tuần, từ 7 giờ 30 đến 11 giờ.")
    frames = renderer.pages(s, NOW)
    assert len(frames) == 1 and frames[0].get_size() == SIZE
    image = png(frames[0], tmp_path / "lich.png")
    w, h = SIZE
    title_rows = [y for y in range(h) if count(image, (0, y, w, y + 1), is_gold) > 20]
    body_rows = [y for y in range(h - 40) if count(image, (0, y, w, y + 1), is_white) > 20]
    assert title_rows and body_rows
    assert max(title_rows) < min(r for r in body_rows if r > max(title_rows) - 5) + 5
    assert count(image, (0, h - 25, w // 2, h), lambda p: p[2] > 150) > 0  # footer: the device name


def test_long_notice_gives_pages_each_with_the_title(renderer, tmp_path):
    body = "Ủy ban nhân dân xã thông báo kế hoạch tổng vệ sinh môi trường, phòng chống dịch bệnh. " * 40
    s = Slide(id="dai", type="text", title="Thông báo", body=body)
    frames = renderer.pages(s, NOW)
    assert len(frames) > 1
    assert len(renderer.layout(s).pages) == len(frames)
    for i, frame in enumerate(frames):
        image = png(frame, tmp_path / f"dai-{i}.png")
        assert count(image, (0, 0, SIZE[0], SIZE[1] // 4), is_gold) > 100  # the title, repeated
        assert count(image, (0, SIZE[1] // 3, SIZE[0], SIZE[1] - 40), is_white) > 500


def test_stacked_marks_share_the_baseline_and_are_not_clipped(renderer, tmp_path):
    def ink_rows(title):
        image = png(renderer.pages(Slide(id="t", type="text", title=title, body="Nội dung."))[0], tmp_path / "t.png")
        rows = [y for y in range(15, SIZE[1] // 2) if count(image, (0, y, SIZE[0], y + 1), is_gold) > 0]
        return rows[0], rows[-1]

    plain_top, plain_bottom = ink_rows("EEEE OOOO")
    marked_top, marked_bottom = ink_rows("ỄỄỄỄ ỘỘỘỘ")
    assert marked_top < plain_top - 5  # the upper marks are drawn, above the capitals
    assert abs(marked_bottom - plain_bottom) <= 20  # the dot below Ộ (a fifth of the 92 px title); no jump


def test_emergency_is_unmistakable(renderer, tmp_path):
    s = Slide(id="bao", type="text", priority="emergency", title="Bão số 9",
              body="Đề nghị toàn dân không ra khỏi nhà từ 18 giờ.")
    image = png(renderer.pages(s, NOW)[0], tmp_path / "bao.png")
    band = (0, 0, SIZE[0], round(150 * SIZE[1] / 1080))
    red = count(image, band, lambda p: p[0] > 180 and p[1] < 60 and p[2] < 60)
    assert red > 0.6 * (band[2] * band[3])
    assert count(image, band, is_white) > 200  # "KHẨN CẤP"


def test_idle_shows_name_time_and_date(renderer, tmp_path):
    image = png(renderer.idle("UBND xã An Khương", NOW), tmp_path / "idle.png")
    w, h = SIZE
    assert count(image, (w // 4, h // 3, 3 * w // 4, 2 * h // 3), is_white) > 3000  # the big clock
    assert count(image, (0, 2 * h // 3, w, h), is_gold) > 200  # the date
    assert slide_mod.vietnamese_date(NOW) == "Thứ Năm, 26/11/2026"


def picture(tmp_path: Path) -> MediaRef:
    path = tmp_path / "le-hoi.png"
    image = Image.new("RGB", (400, 400), (0, 160, 0))
    image.save(path)
    return MediaRef(media.sha256_file(path), path.stat().st_size, path, "le-hoi.png")


def test_image_slide_fit_fill_and_caption(renderer, tmp_path):
    ref = picture(tmp_path)
    fit = png(renderer.pages(Slide(id="a", type="image", image=ref))[0], tmp_path / "fit.png")
    assert fit.getpixel((20, SIZE[1] // 2)) == (0, 0, 0)  # square picture on a wide screen: bars
    assert fit.getpixel((SIZE[0] // 2, SIZE[1] // 2))[1] > 120
    fill = png(renderer.pages(Slide(id="b", type="image", image=ref, fit="fill"))[0], tmp_path / "fill.png")
    assert fill.getpixel((20, SIZE[1] // 2))[1] > 120  # cropped to fill: no bars
    captioned = png(renderer.pages(Slide(id="c", type="image", image=ref, title="Lễ hội"))[0], tmp_path / "c.png")
    assert count(captioned, (0, SIZE[1] - 60, SIZE[0], SIZE[1]), is_white) > 50


def test_a_truncated_prepared_picture_is_drawn_whole_not_grey(renderer, tmp_path):
    from kiosk.source import prepare

    path = tmp_path / "own.png"
    Image.new("RGB", (300, 300), (0, 170, 0)).save(path)  # its own file: the renderer's cache is shared
    ref = MediaRef(media.sha256_file(path), path.stat().st_size, path, "own.png")
    renderer.pages(Slide(id="g", type="image", image=ref))  # prepared once
    path = prepare.prepared_path(ref, SIZE, "fit", renderer.cache_dir)
    path.write_bytes(path.read_bytes()[:400])  # cut short, as a power cut can leave it
    frame = png(renderer.pages(Slide(id="g", type="image", image=ref))[0], tmp_path / "g.png")
    assert frame.getpixel((SIZE[0] // 2, SIZE[1] - 40))[1] > 120  # green to the bottom, not grey


def test_a_picture_decoded_into_its_frame_is_the_same_as_drawn_the_ordinary_way(renderer, tmp_path, monkeypatch):
    from kiosk.screen import picture as picture_mod
    from kiosk.source import prepare

    path = tmp_path / "chi-tiet.png"
    image = Image.new("RGB", (640, 360))
    image.putdata([((x * 7) % 256, (y * 5) % 256, (x * y) % 256) for y in range(360) for x in range(640)])
    image.save(path)  # every channel different: a swapped R and B would show
    ref = MediaRef(media.sha256_file(path), path.stat().st_size, path, "chi-tiet.png")
    slides = [Slide(id="d", type="image", image=ref), Slide(id="e", type="image", image=ref, fit="fill",
                                                              title="Chợ phiên")]
    used = []
    real = picture_mod.decode_into
    monkeypatch.setattr(slide_mod, "decode_into", lambda *a: used.append(real(*a)) or used[-1])
    fast = [pygame.image.tobytes(renderer.pages(s)[0], "RGB") for s in slides]
    assert used == [True, True]
    monkeypatch.setattr(slide_mod, "decode_into", lambda *a: False)
    ordinary = [pygame.image.tobytes(renderer.pages(s)[0], "RGB") for s in slides]
    assert fast == ordinary
    prepared = prepare.prepared_path(ref, SIZE, "fit", renderer.cache_dir)
    frame = pygame.Surface(SIZE)
    assert not real(frame, prepared, (0, 0), (SIZE[0] - 2, SIZE[1]))  # not the size it must be
    assert not real(frame, path, (0, 0), (640, 360))  # not a JPEG
    assert not real(frame, prepared, (5, 0), SIZE)  # would not fit in the frame


def test_image_slide_with_an_unreadable_picture_raises_a_clear_error(renderer, tmp_path):
    bad = tmp_path / "hong.jpg"
    bad.write_bytes(b"\xff\xd8 no")
    ref = MediaRef("0" * 64, 4, bad, "hong.jpg")
    with pytest.raises(ValueError, match="hong.jpg|usable"):
        renderer.pages(Slide(id="x", type="image", image=ref))


def test_portrait_renderer_lays_out_for_a_tall_screen(tmp_path):
    tall = Renderer((540, 960), SimpleNamespace(font="auto", fit="fit"), tmp_path)
    frames = tall.pages(Slide(id="p", type="text", title="Thông báo", body="Họp dân tối nay lúc 19 giờ."))
    assert frames[0].get_size() == (540, 960)


def test_real_font_lines_stay_inside_the_text_box(renderer):
    body = "Thực hiện Kế hoạch của Ủy ban nhân dân huyện về tổng vệ sinh môi trường, phòng chống dịch bệnh. " * 12
    s = Slide(id="hop", type="text", title="Thông báo khẩn về lịch họp dân các thôn", body=body)
    layout = renderer.layout(s)
    box = renderer._text_box(False)
    words = []
    for page in layout.pages:
        for line in page.lines:
            assert renderer.fonts.font(line.size, line.bold).size(line.text)[0] <= box.width
            if not line.bold:
                words += line.text.split()
        assert page.height <= box.height
    assert words == body.split()


def test_an_emergency_picture_gets_the_red_band(renderer, tmp_path):
    ref = picture(tmp_path)
    image = png(renderer.pages(Slide(id="e", type="image", image=ref, priority="emergency"))[0], tmp_path / "e.png")
    band = (0, 0, SIZE[0], round(150 * SIZE[1] / 1080))
    assert count(image, band, lambda p: p[0] > 180 and p[1] < 60 and p[2] < 60) > 0.6 * band[2] * band[3]


def test_a_notice_is_fitted_once_and_drawn_the_same_when_it_comes_round_again(tmp_path, monkeypatch):
    """Fitting tries a dozen sizes (half of what drawing a notice costs): remembered, not done each loop."""
    renderer = Renderer((960, 540), SimpleNamespace(font="auto", fit="fit"), tmp_path / "cache")
    fitted = []
    fit = renderer._fit
    monkeypatch.setattr(renderer, "_fit", lambda *args: fitted.append(args) or fit(*args))
    notice = Slide(id="n", type="text", title="Lịch tiếp công dân", body="Sáng thứ Năm hằng tuần. " * 8)
    first = pygame.image.tobytes(renderer.pages(notice)[0], "RGB")
    assert pygame.image.tobytes(renderer.pages(notice)[0], "RGB") == first and len(fitted) == 1
    renderer.pages(Slide(id="n", type="text", title="Lịch tiếp công dân", body="Chiều thứ Sáu."))
    assert len(fitted) == 2  # another text: fitted on its own
    for n in range(slide_mod.LAYOUTS_KEPT + 5):
        renderer._layout(f"Thông báo {n}", "", (400, 200), renderer.fonts.for_text("Thông báo"))
    assert len(renderer._layouts) == slide_mod.LAYOUTS_KEPT  # bounded: the oldest let go
    long = Slide(id="l", type="text", title="Dài", body="Bà con lưu ý. " * (slide_mod.LAYOUT_KEPT_CHARS // 10))
    renderer.pages(long)
    assert all(len(key[1]) <= slide_mod.LAYOUT_KEPT_CHARS for key in renderer._layouts)  # too big to keep
