"""Other scripts: runs by Unicode script, each drawn with a font that covers it (fontconfig; Noto Sans Khmer
from fonts-noto-core) and shaped with its HarfBuzz script; line breaks at ZWSP and between clusters;
translations shown side by side or in turn. Real fonts, real renders."""

from __future__ import annotations

import logging
from pathlib import Path

import pygame
import pytest

from kiosk import config
from kiosk.content import programme
from kiosk.screen import fallback, scripts, text
from kiosk.screen.slide import Renderer

KHMER_FONT = Path("/usr/share/fonts/truetype/noto/NotoSansKhmer-Regular.ttf")
KINGDOM = "ព្រះរាជាណាចក្រកម្ពុជា"  # "Kingdom of Cambodia": four subscript consonants
HEALTH = "ក្រសួង\u200bសុខាភិបាល"  # "Ministry of Health", with the ZWSP Khmer writers put between words
VITHKUQI = "\U00010570\U00010571\U00010572"  # an Albanian script of Unicode 14: no font in fonts-noto-core


class Display:
    font, fit = "auto", "fit"

    def __init__(self, languages=("vi",), layout="split"):
        self.languages, self.language_layout = languages, layout


def renderer(tmp_path, size=(1920, 1080), **kw) -> Renderer:
    return Renderer(size, Display(**kw), tmp_path / "cache", "UBND xã Lộc Ninh")


def test_text_is_split_into_runs_by_script_digits_and_punctuation_staying_in_their_run():
    assert scripts.runs("Xin chào ក្រសួង 123, ไทย") == [("Latn", "Xin chào "), ("Khmr", "ក្រសួង 123, "),
                                                        ("Thai", "ไทย")]
    assert scripts.runs("12: Ελληνικά") == [("Grek", "12: Ελληνικά")]
    assert scripts.runs("") == [] and scripts.runs("2026") == [("Zyyy", "2026")]
    assert not scripts.needs_runs("Ủy ban nhân dân xã — “Thông báo” 25°C") and scripts.needs_runs("ក")


def test_clusters_keep_a_khmer_subscript_with_its_base_and_marks_with_their_letter():
    assert scripts.clusters("ក្រសួង") == ["ក្រ", "សួ", "ង"]
    assert scripts.clusters("Nguye\u0302\u0303n") == ["N", "g", "u", "y", "e\u0302\u0303", "n"]


def test_zero_width_spaces_are_break_opportunities_kept_only_in_text_that_needs_them():
    assert scripts.words("ក្រសួង\u200bសុខាភិបាល ខេត្ត") == [("", "ក្រសួង"), ("", "សុខាភិបាល"), (" ", "ខេត្ត")]
    assert programme.clean_text("Xin\u200b chào") == "Xin chào"  # pasted from the web into Vietnamese: gone
    assert programme.clean_text(HEALTH) == HEALTH  # in Khmer: where a line may break


def test_a_line_never_breaks_inside_a_cluster_and_prefers_zwsp():
    width = text.Wrapper(lambda t, size, bold: 10 * len(t))
    for piece in width.wrap(KINGDOM * 3, 10, False, 55):  # one "word" wider than the box: broken by clusters
        assert piece[0] != "\u17d2" and not piece.startswith(("\u17b6", "\u17c6")) and piece[-1] != "\u17d2"
    assert width.wrap(HEALTH, 10, False, 100) == ["ក្រសួង", "សុខាភិបាល"]


def test_khmer_is_shaped_with_its_script_set_subscripts_attached_not_detached(tmp_path):
    pygame.font.init()
    plain = pygame.font.Font(str(KHMER_FONT), 64)
    shaped = pygame.font.Font(str(KHMER_FONT), 64)
    shaped.set_script("Khmr")
    # without the script HarfBuzz shapes the line as Latin: the COENG and subscripts are drawn beside
    # their base (wider, and only as tall as a line without marks below)
    assert plain.size(KINGDOM) != shaped.size(KINGDOM)
    assert plain.size(KINGDOM)[0] > shaped.size(KINGDOM)[0]
    r = renderer(tmp_path)
    (font, part), = r.scripts.pieces(KINGDOM, 64, False, r.fonts.files)
    assert part == KINGDOM and font.size(KINGDOM) == shaped.size(KINGDOM)
    ours = font.render(KINGDOM, True, (0, 0, 0), (255, 255, 255))
    theirs = shaped.render(KINGDOM, True, (0, 0, 0), (255, 255, 255))
    assert pygame.image.tobytes(ours, "RGB") == pygame.image.tobytes(theirs, "RGB")


def test_five_scripts_in_one_line_each_get_a_font_and_share_the_baseline(tmp_path, caplog):
    r = renderer(tmp_path)
    line = "Thông báo · ក្រសួងសុខាភិបាល · Ελληνικά · Русский · ไทย"
    assert {code for code, _p in scripts.runs(line)} == {"Latn", "Khmr", "Grek", "Cyrl", "Thai"}
    assert r.scripts.missing(line) == ""
    fonts_used = {font for font, _part in r.scripts.pieces(line, 60, False, r.fonts.files)}
    assert len(fonts_used) >= 3  # Noto Sans (Latin, Greek, Cyrillic), Noto Sans Khmer, Noto Sans Thai
    width, placed = r.scripts.place(line, 60, False, r.fonts.files, (255, 255, 255))
    assert width > 0 and len(placed) >= 3
    with caplog.at_level(logging.WARNING):
        slide = programme.Slide(id="nam-chu", type="text", title=line, body=line * 3)
        frame = r.pages(slide)[0]
    assert frame.get_size() == (1920, 1080)
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]


def test_what_no_installed_font_draws_is_left_out_with_a_warning_naming_the_slide(tmp_path, caplog):
    r = renderer(tmp_path, languages=("vi", "sq"))
    slide = programme.Slide(id="thong-bao", type="text", title="Thông báo", body="Họp dân lúc 8 giờ",
                            translations=(("sq", VITHKUQI, VITHKUQI),))
    with caplog.at_level(logging.WARNING):
        pages = r.pages(slide)
        frame = pages[0]
    messages = " ".join(rec.getMessage() for rec in caplog.records)
    assert "thong-bao" in messages and "sq" in messages and "fonts-noto-core" in messages
    assert len(pages) == 1 and not hasattr(pages, "durations")  # the Vietnamese text alone, as if untranslated
    assert frame.get_size() == (1920, 1080)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        r.pages(programme.Slide(id="lan", type="text", title="Thông báo " + VITHKUQI))[0]
    assert any("lan" in rec.getMessage() and "left out" in rec.getMessage() for rec in caplog.records)
    assert fallback.Fallback(r.fonts).missing(VITHKUQI) == "".join(sorted(VITHKUQI))


def test_translations_are_shown_side_by_side_or_in_turn(tmp_path):
    slide = programme.Slide(id="tiem-chung", type="text", title="Thông báo tiêm chủng",
                            body="Trạm y tế xã tổ chức tiêm vắc-xin cho trẻ em vào sáng thứ Bảy.", duration=12,
                            translations=(("km", "សេចក្តីជូនដំណឹង", HEALTH + " " + KINGDOM),))
    split = renderer(tmp_path, languages=("vi", "km")).pages(slide)
    assert len(split) == 1 and split.columns
    frame = split[0]
    tall = renderer(tmp_path, size=(1080, 1920), languages=("vi", "km")).pages(slide)
    assert len(tall) == 1 and not tall.columns  # a portrait screen: one above the other
    alternate = renderer(tmp_path, languages=("vi", "km"), layout="alternate").pages(slide)
    assert len(alternate) == 2 and alternate.durations == (12.0, 12.0)
    assert frame.get_size() == (1920, 1080)
    # a board showing Vietnamese only, or a language the slide has no translation for: the slide as written
    assert len(renderer(tmp_path).pages(slide)) == 1
    assert not hasattr(renderer(tmp_path, languages=("vi", "en")).pages(slide), "columns")


def test_translations_are_validated_naming_the_slide_and_field(tmp_path):
    (tmp_path / "programme.yaml").write_text(
        "slides:\n"
        "  - {id: tot, title: Thông báo, translations: {km: {title: សេចក្តីជូនដំណឹង, body: ក្រសួង}}}\n"
        "  - {id: ma-sai, title: Thông báo, translations: {Khmer: {title: ក}}}\n"
        "  - {id: khoa-sai, title: Thông báo, translations: {km: {tieu-de: ក}}}\n"
        "  - {id: rong, title: Thông báo, translations: {km: {}}}\n", encoding="utf-8")
    prog = programme.load_folder(tmp_path)
    assert [s.id for s in prog.slides] == ["tot"]
    assert prog.slides[0].translation("km") == ("សេចក្តីជូនដំណឹង", "ក្រសួង")
    text_ = "\n".join(str(w) for w in prog.warnings)
    assert "ma-sai).translations" in text_ and "not a language code" in text_
    assert "khoa-sai).translations" in text_ and "unknown key" in text_
    assert "rong).translations" in text_


def test_display_languages_and_layout_are_checked(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"device: {{id: a, name: b}}\nsource: {{path: {tmp_path}}}\n"
                    "display: {languages: [vi, km], language_layout: alternate}\n")
    cfg = config.load(path)
    assert cfg.display.languages == ("vi", "km") and cfg.display.language_layout == "alternate"
    for bad, message in (("[vi, Khmer]", "not a language code"), ("[vi, vi]", "twice"), ("[]", "a list"),
                         ("[vi, km, en, fr, th]", "at most 4")):
        path.write_text(f"device: {{id: a, name: b}}\nsource: {{path: {tmp_path}}}\ndisplay: {{languages: {bad}}}\n")
        with pytest.raises(Exception, match=message):
            config.load(path)
    path.write_text(f"device: {{id: a, name: b}}\nsource: {{path: {tmp_path}}}\ndisplay: {{language_layout: side}}\n")
    with pytest.raises(Exception, match="split, alternate"):
        config.load(path)


def test_translations_pass_through_publish_and_the_manifest(tmp_path):
    import json

    import jsonschema

    from kiosk.content import manifest
    from kiosk.source import publish

    src = tmp_path / "src"
    src.mkdir()
    (src / "programme.yaml").write_text(
        "slides:\n  - id: tiem-chung\n    title: Thông báo tiêm chủng\n    translations:\n"
        f"      km: {{title: សេចក្តីជូនដំណឹង, body: \"{HEALTH}\"}}\n", encoding="utf-8")
    publish.publish(src, tmp_path / "out", None)
    data = (tmp_path / "out" / manifest.FILENAME_V2).read_bytes()
    schema = json.loads((Path(__file__).parent.parent / "docs" / "manifest.schema.json").read_text())
    jsonschema.validate(json.loads(data), schema)
    slide, = manifest.decode(data, tmp_path / "out" / "media").slides
    assert not json.loads((tmp_path / "out" / manifest.FILENAME).read_bytes())["slides"]  # 0.1 boards: not theirs
    assert slide.translations == (("km", "សេចក្តីជូនដំណឹង", HEALTH),)


def test_a_translation_no_font_draws_is_a_warning_in_health_naming_the_slide(tmp_path):
    import concurrent.futures
    import datetime as dt
    import time

    from kiosk.player.frames import FrameBuilder
    from kiosk.report import health
    from kiosk.status import Status

    status = Status()
    builder = FrameBuilder(renderer(tmp_path, languages=("vi", "sq")), status, "UBND xã Lộc Ninh",
                           builder=concurrent.futures.ThreadPoolExecutor(1))
    slide = programme.Slide(id="thong-bao", type="text", title="Thông báo", translations=(("sq", VITHKUQI, ""),))
    frames = builder.get(slide, "v1", dt.datetime(2026, 12, 2, 8, 0), wait=30)
    assert len(frames.pages) == 1  # the slide plays, in Vietnamese
    assert "sq translation" in status.errors["fonts:thong-bao"]
    healthy, reasons = health.assess(status.snapshot(), time.monotonic())
    assert any("fonts:thong-bao" in reason for reason in reasons)
    fixed = programme.Slide(id="thong-bao", type="text", title="Thông báo")
    builder.get(fixed, "v2", dt.datetime(2026, 12, 2, 8, 0), wait=30)
    assert "fonts:thong-bao" not in status.errors
    builder.close()
