"""Font resolution: Vietnamese coverage is checked on the real font files."""

import os
import shutil
from pathlib import Path

import pygame
import pytest

from kiosk.screen import fonts

PYGAME_DEFAULT = Path(os.path.dirname(pygame.__file__)) / "freesansbold.ttf"


def installed() -> fonts.FontFiles:
    files = fonts.find_family("DejaVu Sans") or fonts.find_family("Noto Sans")
    if files is None:
        pytest.skip("needs fonts-dejavu-core or fonts-noto-core")
    return files


def test_vietnamese_alphabet_is_complete():
    for letter in "ảạằẵặễộợựỹđĐẲỄỘ":
        assert letter in fonts.VIETNAMESE


def test_pygame_default_font_lacks_vietnamese_and_is_refused(tmp_path, caplog):
    assert "ẵ" in fonts.missing_glyphs(PYGAME_DEFAULT, fonts.VIETNAMESE)
    copy = tmp_path / "FreeSansBold.ttf"
    shutil.copy(PYGAME_DEFAULT, copy)
    chosen = fonts.load(str(copy))  # refused, with a message, and the next candidate used
    assert chosen.files.regular != copy
    assert not fonts.missing_glyphs(chosen.files.regular, fonts.VIETNAMESE)
    assert any("lacks Vietnamese" in r.getMessage() and "FreeSansBold.ttf" in r.getMessage() for r in caplog.records)


def test_nothing_usable_names_the_font_and_what_to_install(tmp_path, monkeypatch):
    copy = tmp_path / "FreeSansBold.ttf"
    shutil.copy(PYGAME_DEFAULT, copy)
    monkeypatch.setattr(fonts, "AUTO_FAMILIES", ())
    with pytest.raises(fonts.FontError) as err:
        fonts.load(str(copy))
    message = str(err.value)
    assert "FreeSansBold.ttf" in message and "fonts-dejavu-core" in message and "fonts-noto-core" in message


def test_not_a_font_is_refused_clearly(tmp_path, monkeypatch):
    bogus = tmp_path / "broken.ttf"
    bogus.write_bytes(b"this is not a font")
    monkeypatch.setattr(fonts, "AUTO_FAMILIES", ())
    with pytest.raises(fonts.FontError, match="broken.ttf"):
        fonts.load(str(bogus))


def test_family_name_path_and_auto_resolve_to_regular_and_bold():
    files = installed()
    assert files.bold is not None and files.bold != files.regular
    for spec in ("auto", files.name, str(files.regular)):
        chosen = fonts.load(spec)
        assert not fonts.missing_glyphs(chosen.files.regular, fonts.VIETNAMESE)
        assert chosen.files.bold is not None


def test_unknown_family_falls_back_with_a_warning(caplog):
    installed()
    chosen = fonts.load("No Such Family Sans")
    assert chosen.files.regular.is_file()
    assert any("No Such Family Sans" in r.getMessage() for r in caplog.records)


def test_scan_without_fontconfig_finds_files_by_name(tmp_path):
    files = installed()
    shutil.copy(files.regular, tmp_path / "DejaVuSans.ttf")
    shutil.copy(files.bold, tmp_path / "DejaVuSans-Bold.ttf")
    found = fonts._by_scan("DejaVu Sans", (tmp_path,))
    assert found.regular.name == "DejaVuSans.ttf" and found.bold.name == "DejaVuSans-Bold.ttf"


def test_slide_text_outside_the_font_is_detected():
    files = installed()
    assert fonts.missing_glyphs(files.regular, "Thông báo 中文") == "中文"


def test_each_slide_text_gets_a_font_that_covers_it():
    good = installed()
    weak = fonts.FontFiles("FreeSansBold", PYGAME_DEFAULT, None)
    chosen = fonts.FontSet(weak, [good])
    assert chosen.for_text("Hello 2026") == weak
    assert chosen.for_text("Thông báo: bão số 9 sắp đổ bộ, ẵ") == good


def test_only_the_sizes_used_lately_keep_a_font_object():
    """Fitting text tries a dozen sizes a slide, and each Font once drawn with holds ~200 kB: the 12 most
    recently used stay (the sizes of a slide and its bands), the rest are let go."""
    chosen = fonts.FontSet(installed(), [])
    header = chosen.font(60, True)
    for size in range(20, 40):
        chosen.font(size).size("Thông báo")
        assert chosen.font(60, True) is header  # used every time: never let go
    assert len(chosen._fonts) == fonts.FONTS_KEPT
    assert chosen.font(20) is not chosen.font(39)
