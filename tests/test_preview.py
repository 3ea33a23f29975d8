"""`kiosk render`: PNG previews of what would play, named in play order."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pygame

ROOT = Path(__file__).resolve().parent.parent


def render(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "render", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy"},
    )


def test_render_demo(tmp_path):
    (tmp_path / "demo").symlink_to(ROOT / "demo")
    (tmp_path / "config.yaml").write_text(
        "device: {id: t, name: Xã Thử}\nsource: {path: demo}\ncache: {path: cache}\n", encoding="utf-8"
    )
    result = render("--out", str(tmp_path / "out"), "--at", "2026-12-03T09:00", "--size", "960x540", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.split()]
    assert paths and all(p.exists() for p in paths)
    assert [p.name[:3] for p in paths] == [f"{n:02d}-" for n in range(1, len(paths) + 1)]
    assert paths[0].name == "01-lich-tiep-cong-dan.png"  # priority goes first
    assert pygame.image.load(str(paths[0])).get_size() == (960, 540)
    assert "Traceback" not in result.stderr


def test_render_nothing_valid_exits_1(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "programme.yaml").write_text(
        "slides:\n  - id: cu\n    title: Cũ\n    valid_until: 2020-01-01T00:00\n", encoding="utf-8"
    )
    (tmp_path / "config.yaml").write_text("device: {id: t, name: X}\nsource: {path: src}\n", encoding="utf-8")
    result = render("--out", str(tmp_path / "out"), "--at", "2026-12-03T09:00+07:00", cwd=tmp_path)
    assert result.returncode == 1
    assert "nothing would play" in result.stderr


def test_render_bad_at(tmp_path):
    (tmp_path / "config.yaml").write_text(f"device: {{id: t, name: X}}\nsource: {{path: {ROOT / 'demo'}}}\n")
    result = render("--out", str(tmp_path / "o"), "--at", "tomorrow", cwd=tmp_path)
    assert result.returncode == 2 and "--at" in result.stderr


def test_render_out_not_writable_is_one_line(tmp_path):
    (tmp_path / "config.yaml").write_text(f"device: {{id: t, name: X}}\nsource: {{path: {ROOT / 'demo'}}}\n"
                                          f"cache: {{path: {tmp_path / 'cache'}}}\n")
    (tmp_path / "a-file").write_text("x")
    result = render("--out", str(tmp_path / "a-file"), cwd=tmp_path)
    assert result.returncode == 2 and "--out: cannot write there" in result.stderr
    assert "Traceback" not in result.stderr


def test_render_on_a_full_disk_says_so_and_leaves_no_empty_png(tmp_path, small_disk):
    """SDL writing the PNG itself did not notice a full disk: empty files, and exit 0."""
    (tmp_path / "config.yaml").write_text(f"device: {{id: t, name: X}}\nsource: {{path: {ROOT / 'demo'}}}\n"
                                          f"cache: {{path: {tmp_path / 'cache'}}}\n")
    out = small_disk.path / "out"
    out.mkdir()
    small_disk.fill(leave=60_000)  # room for a PNG or so, not for seven
    result = render("--out", str(out), "--at", "2026-12-03T09:00", "--size", "960x540", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--out: cannot write" in result.stderr and "Traceback" not in result.stderr
    written = sorted(out.rglob("*.png"))
    assert all(path.stat().st_size > 0 for path in written)
    assert all(pygame.image.load(str(path)).get_size() == (960, 540) for path in written)


def test_render_replaces_an_earlier_preview(tmp_path):
    (tmp_path / "config.yaml").write_text(f"device: {{id: t, name: X}}\nsource: {{path: {ROOT / 'demo'}}}\n"
                                          f"cache: {{path: {tmp_path / 'cache'}}}\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "09-old-slide.png").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    killed, busy = out / ".tmp-k1ll3d", out / ".tmp-bu5y"  # a render killed mid-write; one writing now
    killed.write_bytes(b"\x89PNG half")
    busy.write_bytes(b"\x89PNG")
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    result = render("--out", str(out), "--size", "320x180", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (out / "09-old-slide.png").exists() and (out / "notes.txt").exists()
    assert not killed.exists() and busy.exists()


def test_render_at_the_end_of_the_calendar_is_a_clear_error_not_a_traceback(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "programme.yaml").write_text('slides:\n  - id: dem\n    title: Đêm\n    hours: "22:00-05:00"\n',
                                        encoding="utf-8")
    (tmp_path / "config.yaml").write_text("device: {id: t, name: X}\nsource: {path: src}\n", encoding="utf-8")
    result = render("--out", str(tmp_path / "out"), "--at", "0001-01-01T00:00", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--at: '0001-01-01T00:00' is outside the years 1970-9998" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_instant_at_allows_can_be_planned():
    import datetime as dt

    import pytest

    from kiosk import clock
    from kiosk.content import programme, schedule

    slide = programme.parse_slide({"id": "dem", "title": "Đêm", "hours": "22:00-05:00", "days": ["mon"],
                                   "monthdays": ["last"]}, 1, None, programme.Problems("x"), 0)
    for text in ("1970-01-01T00:00", "9998-12-31T23:59"):
        at = clock.parse_instant(text, "Asia/Ho_Chi_Minh")
        schedule.plan(programme.Programme((slide,), "v"), at, dates_trusted=True)
    for text in ("1969-12-31T23:59", "9999-01-01T00:00"):
        with pytest.raises(ValueError, match="outside the years"):
            clock.parse_instant(text, "Asia/Ho_Chi_Minh")
    assert clock.parse_instant("2026-12-01T08:00+00:00", "Asia/Ho_Chi_Minh") == dt.datetime(2026, 12, 1, 15, 0)


def test_render_writes_what_the_screen_presents_pixel_for_pixel(tmp_path):
    """The PNGs are read back from SDL's renderer (a texture drawn, like on the panel), and equal the
    pages the renderer drew: presenting through textures changes no pixel."""
    import datetime as dt

    from PIL import Image, ImageChops

    from kiosk import config
    from kiosk.cli import render as rendermod
    from kiosk.screen.slide import Renderer

    (tmp_path / "config.yaml").write_text(f"device: {{id: t, name: Xã Thử}}\nsource: {{path: {ROOT / 'demo'}}}\n"
                                          f"cache: {{path: {tmp_path / 'cache'}}}\n"
                                          "display: {header: false, ticker: false}\n",  # the slides alone
                                          encoding="utf-8")
    cfg = config.load(tmp_path / "config.yaml")
    at = dt.datetime(2026, 12, 3, 9, 0)
    paths = rendermod.render_to_dir(cfg, tmp_path / "out", at, (480, 270))
    assert len(paths) >= 5
    renderer = Renderer((480, 270), cfg.display, tmp_path / "cache", cfg.device.name)
    by_id = {s.id: s for s in rendermod.load_programme(cfg).slides}
    for path in paths:
        page = renderer.pages(by_id[path.stem[3:]])[0]
        drawn = Image.frombytes("RGB", page.get_size(), pygame.image.tobytes(page, "RGB"))
        with Image.open(path) as written:
            assert ImageChops.difference(drawn, written.convert("RGB")).getbbox() is None, path.name
    pygame.display.quit()
