"""A text slide with a picture (image:), and picture captions that wrap and shrink instead of being cut."""

import subprocess
import sys
from types import SimpleNamespace

import pygame
import pytest
from PIL import Image

from kiosk.content import manifest, programme
from kiosk.screen.slide import Renderer
from kiosk.source import prepare, publish

CFG = SimpleNamespace(font="auto", fit="fit", header=True, ticker=True)


def authoring(tmp_path, slides: str):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (800, 600), (220, 30, 30)).save(src / "images" / "red.jpg", quality=90)
    (src / "programme.yaml").write_text("slides:\n" + slides, encoding="utf-8")
    return src


def test_a_text_slide_carries_its_picture_through_publish_and_the_manifest(tmp_path):
    src = authoring(tmp_path, "  - {id: a, title: Mùa sen, body: Nội dung., image: images/red.jpg}\n")
    folder = programme.load_folder(src)
    assert folder.slides[0].type == "text" and folder.slides[0].image.name == "images/red.jpg"
    publish.publish(src, tmp_path / "out", None)
    decoded = manifest.decode((tmp_path / "out" / "manifest.v2.json").read_bytes(), tmp_path / "out" / "media")
    assert decoded.slides[0].image.sha256 == folder.slides[0].image.sha256 and decoded.version == folder.version
    assert manifest.media_of(decoded) == {folder.slides[0].image.sha256: folder.slides[0].image.size}


def test_a_missing_picture_names_the_slide_and_the_key(tmp_path):
    src = authoring(tmp_path, "  - {id: a, title: T, image: images/khong-co.jpg}\n  - {id: b, title: U}\n")
    prog = programme.load_folder(src)
    assert [s.id for s in prog.slides] == ["b"] and "slides[0] (a).image" in str(prog.warnings[0])


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (512, 256)])
def test_the_picture_is_beside_the_text_in_landscape_and_above_it_in_portrait(tmp_path, size):
    src = authoring(tmp_path, "  - {id: a, title: Mùa sen nở, body: Đầm sen mở cửa đón khách., "
                              "image: images/red.jpg}\n")
    prog = programme.load_folder(src)
    cache = tmp_path / "cache"
    assert prepare.prepare_programme(prog, size, "fit", cache) == {}
    renderer = Renderer(size, CFG, cache, "UBND xã Thử")
    slide = prog.slides[0]
    geo = renderer.geometry(slide)
    box = renderer._text_box(False, geo)
    x, y, w, h = geo.picture
    assert abs(w / h - 800 / 600) < 0.02  # its own aspect: no bars
    if size[0] > size[1]:
        assert box.right < x and w > size[0] * 0.3
    else:
        assert box.top > y + h and w > size[0] * 0.6
    frame = renderer.pages(slide)[0]
    r, g, b, _a = frame.get_at((x + w // 2, y + h // 2))
    assert r > 180 and g < 80 and b < 80  # the picture itself, where the geometry says
    pygame.display.quit()


def test_a_long_caption_wraps_and_shrinks_and_an_endless_one_is_said_to_be_cut(tmp_path):
    renderer = Renderer((1920, 1080), CFG, tmp_path, "X")
    short = renderer.caption_layout("Cánh đồng lúa chín ở thôn Phú Hòa", 900)
    assert len(short[1]) == 1 and not short[2]
    long = ("Lễ ra quân tổng vệ sinh môi trường của toàn thể nhân dân các thôn Phú Hòa, Phú Lộc và Đông Yên, "
            "sáng Chủ nhật ngày 29 tháng 11 năm 2026")
    font, lines, cut = renderer.caption_layout(long.strip(), 900)
    assert not cut and 2 <= len(lines) <= 3 and " ".join(lines) == " ".join(long.split())  # nothing lost
    assert font.get_height() <= short[0].get_height()  # never larger than a short one
    endless = programme.Slide(id="x", type="image", title="Chữ rất dài " * 80)
    assert "caption (title) is too long" in renderer.caption_warning(endless)


def test_kiosk_publish_warns_of_a_caption_too_long_for_small_screens(tmp_path):
    src = authoring(tmp_path, f"  - {{id: a, file: images/red.jpg, title: '{'Chữ rất dài ' * 20}'}}\n")
    done = subprocess.run([sys.executable, "-m", "kiosk", "publish", str(src), str(tmp_path / "out")],
                          capture_output=True, text=True, check=True)
    assert "slide a: its caption (title) has" in done.stderr
