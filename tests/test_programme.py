"""The authoring folder (programme.yaml) as an editor writes it."""

from pathlib import Path

import pytest
from PIL import Image

from kiosk.content import programme
from kiosk.problems import InvalidInput

ROOT = Path(__file__).resolve().parent.parent


def folder(tmp_path: Path, yaml_text: str) -> Path:
    (tmp_path / "programme.yaml").write_text(yaml_text, encoding="utf-8")
    return tmp_path


def test_demo_folder_loads_without_warnings():
    prog = programme.load_folder(ROOT / "demo")
    assert prog.slides and not prog.warnings
    assert all(programme.SLIDE_ID.match(s.id) for s in prog.slides)


def test_text_is_nfc_normalised(tmp_path):
    decomposed = "Thông báo".replace("ô", "o\u0302")
    prog = programme.load_folder(folder(tmp_path, f"slides:\n  - id: a\n    title: {decomposed}\n"))
    assert prog.slides[0].title == "Thông báo"


def test_spec_example_parses(tmp_path):
    text = """slides:
  - id: lich-tiep-cong-dan
    type: text
    title: Lịch tiếp công dân
    body: |
      Chủ tịch UBND xã tiếp công dân vào sáng thứ Năm hằng tuần.
    duration: 15
    priority: normal
    valid_from: 2026-12-01T00:00
    valid_until: 2026-12-31T23:59
    days: [mon, tue, wed, thu, fri]
    hours: "07:00-11:30"
    speak: false
"""
    slide = programme.load_folder(folder(tmp_path, text)).slides[0]
    assert slide.duration == 15 and slide.priority == "normal"
    assert slide.window.valid_from.isoformat() == "2026-12-01T00:00:00"
    assert slide.window.days == frozenset({0, 1, 2, 3, 4})


def test_bad_slides_are_skipped_with_file_and_line_the_rest_plays(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (64, 48), "red").save(tmp_path / "images" / "ok.png")
    (tmp_path / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "notes.txt").write_text("hello")
    text = """slides:
  - id: good
    title: Tốt
  - id: Bad_Id
    title: x
  - id: missing
    file: images/none.jpg
  - id: broken
    file: images/broken.jpg
  - id: escape
    file: ../outside.jpg
  - id: textfile
    file: notes.txt
  - id: photo
    file: images/ok.png
    duration: 0
  - id: photo2
    file: images/ok.png
  - id: good
    title: again
  - id: typo
    title: x
    priorty: emergency
"""
    prog = programme.load_folder(folder(tmp_path, text))
    assert [s.id for s in prog.slides] == ["good", "photo2"]
    messages = [str(p) for p in prog.warnings]
    yaml_path = tmp_path / "programme.yaml"
    assert f"{yaml_path}:4: slides[1].id: 'Bad_Id' must use only a-z, 0-9 and '-'" in messages
    missing = f"{yaml_path}:7: slides[2] (missing).file: file 'images/none.jpg' not found"
    assert any(m.startswith(missing) for m in messages)
    assert any(m.startswith(f"{yaml_path}:9: slides[3] (broken).file: images/broken.jpg: not a readable image")
               for m in messages)
    assert any(":11: slides[4] (escape).file:" in m and "inside the folder" in m for m in messages)
    assert any(":13: slides[5] (textfile).file: notes.txt: not an image file" in m for m in messages)
    assert any(":16: slides[6] (photo).duration: must be a number of seconds from 1" in m for m in messages)
    assert any(":19: slides[8].id: 'good' is already used by slides[0]" in m for m in messages)
    assert any(":23: slides[9] (typo).priorty: unknown key; did you mean 'priority'?" in m for m in messages)


def test_whole_file_problems_raise(tmp_path):
    with pytest.raises(InvalidInput) as info:
        programme.load_folder(tmp_path)
    assert "cannot read" in str(info.value)
    with pytest.raises(InvalidInput) as info:
        programme.load_folder(folder(tmp_path, "slides: {a: 1}\n"))
    assert "programme.yaml:1: slides: must be a list" in str(info.value)
    with pytest.raises(InvalidInput) as info:
        programme.load_folder(folder(tmp_path, "- just\n- a list\n"))
    assert "must have slides:" in str(info.value)


def test_bomb_image_is_refused(tmp_path):
    # A PNG header claiming 60000x60000 pixels: refused from the header, never decoded.
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(png)
    prog = programme.load_folder(folder(tmp_path, "slides:\n  - id: bomb\n    file: bomb.png\n"))
    assert not prog.slides
    assert "too large" in str(prog.warnings[0]) or "bomb" in str(prog.warnings[0])


def test_version_changes_with_content(tmp_path):
    a = programme.load_folder(folder(tmp_path, "slides:\n  - id: a\n    title: Một\n")).version
    b = programme.load_folder(folder(tmp_path, "slides:\n  - id: a\n    title: Hai\n")).version
    assert a != b


def test_invisible_pasted_characters_are_removed(tmp_path):
    text = (
        'slides:\n  - id: zw\n    title: "\\u200bHọp dân\\ufeff"\n'
        '    body: "Kính mời.\\n\\u200b\\nThời gian:\\u0000 8 giờ."\n'
    )
    slide = programme.load_folder(folder(tmp_path, text)).slides[0]
    assert slide.title == "Họp dân"
    assert slide.body == "Kính mời.\n\nThời gian: 8 giờ."
    only_invisible = 'slides:\n  - id: rong\n    title: "\\u200b"\n'
    prog = programme.load_folder(folder(tmp_path, only_invisible))
    assert not prog.slides and "needs a title or a body" in str(prog.warnings[0])


def test_ids_are_short_and_numbers_get_a_hint(tmp_path):
    text = f"slides:\n  - id: {'a' * 65}\n    title: x\n  - id: 123\n    title: y\n"
    prog = programme.load_folder(folder(tmp_path, text))
    messages = [str(w) for w in prog.warnings]
    assert "at most 64 characters" in messages[0]
    assert "YAML read it as a number" in messages[1]


def test_a_text_slide_with_a_file_is_a_mistake(tmp_path):
    text = "slides:\n  - id: a\n    type: text\n    title: x\n    file: a.jpg\n"
    prog = programme.load_folder(folder(tmp_path, text))
    assert "file: is for image and video slides" in str(prog.warnings[0])


def test_a_slide_id_with_a_final_newline_is_refused(tmp_path):
    (tmp_path / "programme.yaml").write_text('slides:\n  - id: "tin\\n"\n    title: T\n', encoding="utf-8")
    loaded = programme.load_folder(tmp_path)
    assert loaded.slides == () and "must use only a-z" in str(loaded.warnings[0])


def test_a_body_beyond_200000_characters_is_refused_with_a_reason(tmp_path):
    import json

    slides = [{"id": "dai", "title": "T", "body": "chữ " * 50_001},
              {"id": "vua", "title": "T", "body": "chữ " * 40_000}]
    (tmp_path / "programme.yaml").write_text(json.dumps({"slides": slides}, ensure_ascii=False), encoding="utf-8")
    loaded = programme.load_folder(tmp_path)
    assert [s.id for s in loaded.slides] == ["vua"]
    assert "(dai).body: has 200,003 characters, at most 200,000" in str(loaded.warnings[0])


def test_a_ticker_is_a_text_or_a_list_of_texts_and_changes_the_version(tmp_path):
    one = programme.load_folder(folder(tmp_path, "ticker: Lịch cắt điện thôn Phú Lộc\n"
                                                 "slides:\n  - {id: a, title: T}\n"))
    assert one.ticker == ("Lịch cắt điện thôn Phú Lộc",) and not one.warnings
    many = programme.load_folder(folder(tmp_path, "ticker:\n  - 'Một  hai'\n  - Ba\nslides:\n  - {id: a, title: T}\n"))
    assert many.ticker == ("Một hai", "Ba")
    none = programme.load_folder(folder(tmp_path, "slides:\n  - {id: a, title: T}\n"))
    assert none.ticker == () and len({one.version, many.version, none.version}) == 3


@pytest.mark.parametrize("ticker, message", [
    ("'" + "x" * 50_000 + "'", "50,000 characters, at most 2,000"),
    ("{a: 1}", "expected text"),
    ("[" + ", ".join(["x"] * 60) + "]", "60 items"),
])
def test_a_wrong_ticker_is_left_out_with_its_reason_and_the_slides_play(tmp_path, ticker, message):
    prog = programme.load_folder(folder(tmp_path, f"ticker: {ticker}\nslides:\n  - {{id: a, title: T}}\n"))
    assert prog.ticker == () and [s.id for s in prog.slides] == ["a"]
    assert len(prog.warnings) == 1 and message in str(prog.warnings[0]) and "programme.yaml:1: ticker" in \
        str(prog.warnings[0]).replace(str(tmp_path) + "/", "")


def test_a_body_too_long_for_its_duration_is_warned_of_at_the_border_and_still_plays(tmp_path):
    import json

    decree = "Điều 1. Các thôn, ấp tổ chức trực ban 24/24 giờ trong mùa mưa lũ. "
    slides = [{"id": "nghi-dinh", "title": "Nghị định", "body": decree * 1500},  # 100 kB pasted whole
              {"id": "song-ngu", "title": "Thông báo", "body": "Họp dân lúc 8 giờ.",
               "translations": {"km": {"title": "សេចក្តីជូនដំណឹង", "body": "ប្រជុំ " * 2000}}},
              {"id": "doc-to", "title": "Nghị định", "body": decree * 1500, "speak": True},  # its slot is the voice's
              {"id": "vua", "title": "Thông báo", "body": decree * 20, "duration": 30}]
    (tmp_path / "programme.yaml").write_text(json.dumps({"slides": slides}, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
    checked = programme.check_folder(tmp_path)
    assert not checked.errors and [s.id for s in checked.programme.slides] == [s["id"] for s in slides]
    body, translation = checked.warnings
    assert (body.line, body.path) == (6, "slides (nghi-dinh).body")
    assert body.message == ("about 165 pages of text share its 10 s (0.1 s a page): too fast to read; give it "
                            "duration: 660 or more, or split the text into several slides")
    assert translation.path == "slides (song-ngu).translations.km" and translation.line == 12
    assert "about 24 pages" in translation.message
