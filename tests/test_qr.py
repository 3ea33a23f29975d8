"""The feedback QR code and a slide's `link:`: drawn where text never goes, read back by a real decoder."""

import os
import shutil
import subprocess
import sys

import pytest

from kiosk import config
from kiosk.content import programme
from kiosk.screen import qr

URL = "https://thongtinnguon.binhphuoc.gov.vn/gopy/an-khuong"
zbar = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")


def render(tmp_path, size: str, slides: str, feedback: str = f"feedback: {{url: '{URL}'}}\n"):
    folder = tmp_path / "content"
    folder.mkdir(exist_ok=True)
    (folder / "programme.yaml").write_text(f"slides:\n{slides}", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"device: {{id: t, name: UBND xã Thử}}\nsource: {{path: {folder}}}\ncache: {{path: {tmp_path / 'c'}}}\n"
        + feedback, encoding="utf-8")
    out = tmp_path / f"out-{size}"
    done = subprocess.run([sys.executable, "-m", "kiosk", "render", "-c", str(tmp_path / "config.yaml"), "--out",
                           str(out), "--size", size, "--at", "2026-12-01T10:05"], capture_output=True, text=True,
                          check=True)
    return out, done.stderr


def decoded(path) -> list[str]:
    done = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, check=False)
    return done.stdout.split()


@zbar
@pytest.mark.parametrize("size", ["1920x1080", "1080x1920", "1366x768"])
def test_the_feedback_code_in_a_rendered_png_decodes(tmp_path, size):
    out, _ = render(tmp_path, size, "  - {id: a, title: Thông báo, body: Nội dung của thông báo.}\n")
    assert decoded(out / "01-a.png") == [URL]


@zbar
def test_a_slides_own_link_is_shown_instead_of_the_feedback_address(tmp_path):
    link = "https://ankhuong.gov.vn/van-ban/qd-123"
    out, _ = render(tmp_path, "1920x1080", f"  - {{id: a, title: Quyết định, body: Tóm tắt., link: '{link}'}}\n")
    assert decoded(out / "01-a.png") == [link]


def test_a_panel_too_small_for_a_scannable_code_hides_it_and_render_says_so(tmp_path):
    _out, said = render(tmp_path, "512x256", "  - {id: a, title: Thông báo}\n")
    assert "QR code of " + URL + " is hidden" in said and "512x256" in said
    assert qr.side_for(URL, (1920, 1080)) >= 3 * qr.modules(URL) and qr.side_for(URL, (768, 384)) == 0


def test_the_code_never_covers_the_text(tmp_path):
    from types import SimpleNamespace

    from kiosk.screen.slide import Renderer

    cfg = SimpleNamespace(url=URL, label="Quét mã để góp ý")
    for size in ((1920, 1080), (1080, 1920)):
        r = Renderer(size, SimpleNamespace(font="auto", fit="fit", header=True, ticker=True), tmp_path, "X",
                     feedback=cfg)
        s = programme.Slide(id="a", type="text", title="T", body="Nội dung " * 200)
        geo = r.geometry(s)
        box = r._text_box(False, geo)
        qx, qy = size[0] - r.margin_x - geo.qr_side, None
        assert geo.qr_side and (box.right <= qx if size[0] > size[1] else box.bottom < size[1] - geo.qr_side - 40)
        del qy


@pytest.mark.parametrize("link, message", [
    ("ftp://x.vn/a", "not an http"),
    ("https://x.vn/" + "a" * 300, "too long for a QR code"),
])
def test_a_bad_link_names_the_slide_and_the_key(tmp_path, link, message):
    (tmp_path / "programme.yaml").write_text(
        f"slides:\n  - {{id: a, title: T, link: '{link}'}}\n  - {{id: b, title: U}}\n", encoding="utf-8")
    prog = programme.load_folder(tmp_path)
    assert [s.id for s in prog.slides] == ["b"]
    assert "slides[0] (a).link" in str(prog.warnings[0]) and message in str(prog.warnings[0])


def test_feedback_url_is_checked_in_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"device: {{id: t, name: X}}\nsource: {{path: {tmp_path}}}\nfeedback: {{url: 'not a url'}}\n",
                    encoding="utf-8")
    with pytest.raises(config.InvalidInput) as exc:
        config.load(path)
    assert "feedback.url" in str(exc.value.problems[0])


def test_segno_is_loaded_only_when_a_code_is_drawn():
    """Its tables are 3 MB resident: a board that shows no code never imports it."""
    probe = ("import sys, kiosk.screen.slide, kiosk.cli.run; assert 'segno' not in sys.modules; "
             "from kiosk.screen import qr; qr.modules('https://xa.example.vn'); assert 'segno' in sys.modules")
    subprocess.run([sys.executable, "-c", probe], check=True, env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
