"""Document slides (PDF): real PDFs with Vietnamese text made by PDFium (tests/pdfs.py), prepared for a
screen, drawn by the screen's code; and the PDFs a board refuses, each with a message naming the slide."""

from __future__ import annotations

from pathlib import Path

import pdfs
import pytest

from kiosk.content import media, programme
from kiosk.problems import InvalidInput
from kiosk.source import document, prepare, publish

SIZE = (1920, 1080)


def folder(tmp_path: Path, yaml: str, **files: Path) -> Path:
    root = tmp_path / "folder"
    root.mkdir(exist_ok=True)
    (root / "programme.yaml").write_text(yaml, encoding="utf-8")
    return root


def doc_slide(path: Path, pages=(), auto=True, duration=10.0) -> programme.Slide:
    ref = programme.MediaRef(media.sha256_file(path), path.stat().st_size, path, path.name)
    return programme.Slide(id="quyet-dinh", type="document", image=ref, pages=pages, auto_duration=auto,
                           duration=duration)


# --- the pure decisions ---------------------------------------------------------------------------------


def test_pages_are_parsed_as_ranges_and_bad_ones_say_what_is_expected():
    assert programme.parse_pages("1-3") == ((1, 3),)
    assert programme.parse_pages(2) == ((2, 2),)
    assert programme.parse_pages("1-2, 5, 7 - 9") == ((1, 2), (5, 5), (7, 9))
    for bad in ("3-1", "0", "một", "1-", True, 1.5, "1-500"):
        with pytest.raises(ValueError):
            programme.parse_pages(bad)
    assert document.page_numbers((), 3) == [1, 2, 3]
    assert document.page_numbers(((2, 9), (1, 1)), 4) == [2, 3, 4, 1]
    with pytest.raises(ValueError, match="has 4 pages"):
        document.page_numbers(((5, 6),), 4)


def test_sections_end_between_lines_overlap_a_little_and_the_last_ends_with_the_page():
    # a page of 3000 rows: 40-row lines of ink with 20 blank rows between them
    blank = [(y % 60) >= 40 for y in range(3000)]
    sections = document.cuts(3000, 1000, blank)
    assert sections[0][0] == 0 and sections[-1][1] == 3000
    for top, bottom in sections:
        assert bottom - top <= 1000
        assert top == 0 or blank[top - 1] or blank[top]  # begins between two lines
        assert bottom == 3000 or blank[bottom - 1]  # ends between two lines, never through one
    for (_t1, b1), (t2, _b2) in zip(sections, sections[1:], strict=False):
        assert 0 < b1 - t2 <= 200  # a small overlap: a line or two seen twice
    assert document.cuts(800, 1000, [True] * 800) == [(0, 800)]


def test_a_page_a_little_taller_than_the_screen_is_shrunk_to_fit_whole_a_much_taller_one_fits_the_width():
    box = document.Area(0, 0, 1000, 500)
    assert document.fit_scale(100, 55, box) == pytest.approx(500 / 55)  # 550 rows: shrunk to 500
    assert document.fit_scale(100, 141, box) == 10  # A4 on a wide screen: the width, in sections


def test_reading_time_follows_the_text_with_a_minimum():
    assert document.seconds_of((0, 100), (0, 100), 0) == document.SCANNED_SECTION_SECONDS
    assert document.seconds_of((0, 100), (0, 100), 10) == document.MIN_SECTION_SECONDS
    assert document.seconds_of((0, 50), (0, 100), 600) == pytest.approx(300 / document.CHARS_PER_SECOND)


# --- programme.yaml ---------------------------------------------------------------------------------


def test_a_pdf_in_an_authoring_folder_becomes_a_document_slide(tmp_path):
    root = folder(tmp_path, 'slides:\n  - {id: qd, file: qd.pdf, pages: "1-2"}\n'
                            '  - {id: kh, type: document, file: qd.pdf, duration: 15}\n')
    pdfs.vietnamese_pdf(root / "qd.pdf", 3)
    prog = programme.load_folder(root)
    assert not prog.warnings
    qd, kh = prog.slides
    assert (qd.type, qd.pages, qd.auto_duration) == ("document", ((1, 2),), True)
    assert (kh.pages, kh.auto_duration, kh.duration) == ((), False, 15.0)


def test_bad_document_slides_are_named_and_the_rest_of_the_programme_plays(tmp_path):
    root = folder(tmp_path, "slides:\n"
                            "  - {id: khong-pdf, type: document, file: thu.pdf}\n"
                            "  - {id: trang-sai, type: document, file: qd.pdf, pages: 'ba'}\n"
                            "  - {id: anh, type: image, file: qd.pdf, pages: 2}\n"
                            "  - {id: tot, title: Thông báo, body: Họp lúc 8 giờ}\n")
    (root / "thu.pdf").write_text("<html>not a pdf</html>")
    pdfs.vietnamese_pdf(root / "qd.pdf")
    prog = programme.load_folder(root)
    assert [s.id for s in prog.slides] == ["tot"]
    text = "\n".join(str(w) for w in prog.warnings)
    assert "khong-pdf" in text and "not a PDF file" in text
    assert "trang-sai" in text and 'page numbers like "1-3"' in text
    assert "anh" in text and "pages" in text


# --- preparation ------------------------------------------------------------------------------------


def test_a_vietnamese_pdf_is_prepared_cropped_fitted_to_the_width_and_cut_into_sections(tmp_path):
    path = pdfs.vietnamese_pdf(tmp_path / "qd.pdf", 2)
    slide = doc_slide(path)
    document.prepare(slide.image, SIZE, (), tmp_path / "cache")
    prepared = document.load(slide.image, SIZE, (), tmp_path / "cache")
    box = document.area(SIZE)
    assert prepared.count == 2 and sorted(prepared.pages) == [1, 2]
    page = document.open_page(prepared.pages[1])
    assert page.width == box.width  # the text's width fills the screen: margins cropped, then scaled
    assert page.height > box.height  # an A4 page on a wide screen: read in sections
    first = [s for s in prepared.sections if s.page == 1]
    assert len(first) >= 2 and first[0].top == 0 and first[-1].bottom == page.height
    assert all(s.bottom - s.top <= box.height for s in first)
    assert all(document.MIN_SECTION_SECONDS <= s.seconds <= document.MAX_SECTION_SECONDS for s in first)
    # the paper's white margin is gone: ink starts within a few percent of the top
    grey = page.convert("L").crop((0, 0, page.width, round(page.height * 0.08)))
    assert grey.getextrema()[0] < 100
    # preparing again reads the cache, and pruning keeps every file of it
    files = document.files_of(slide.image, SIZE, (), tmp_path / "cache")
    assert len(files) == 3 and all(f.is_file() for f in files)
    assert files <= prepare.needed_files(programme.Programme((slide,), "v"), SIZE, "fit", tmp_path / "cache")


def test_the_screen_draws_each_section_with_its_marker_and_time(tmp_path):
    from kiosk.screen import document as screendoc
    from kiosk.screen.slide import Renderer

    path = pdfs.vietnamese_pdf(tmp_path / "qd.pdf", 3)
    cache = tmp_path / "cache"

    class Display:
        font, fit = "auto", "fit"

    renderer = Renderer(SIZE, Display(), cache)
    auto = doc_slide(path, pages=((2, 3),))
    frames = renderer.pages(auto)
    assert len(frames) >= 2 and len(frames.durations) == len(frames)
    assert all(d >= document.MIN_SECTION_SECONDS for d in frames.durations)
    frame = frames[len(frames) - 1]
    assert frame.get_size() == SIZE
    assert frame.get_at((SIZE[0] // 2, SIZE[1] // 3))[:3] != (0, 0, 0)  # paper, never black
    fixed = renderer.pages(doc_slide(path, pages=((2, 2),), auto=False, duration=15))
    assert set(fixed.durations) == {15.0}
    section = document.Section(page=3, top=0, bottom=10, seconds=8)
    assert screendoc.marker(section, 5, 1, 1) == "Trang 3/5"
    assert screendoc.marker(section, 5, 2, 3) == "Trang 3/5 · 2/3"


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b"PK\x03\x04 a zip file, named .pdf"), "not a PDF file"),
    (lambda p: p.write_bytes(b"%PDF-1.4\n" + b"\x00" * 200), "not a readable PDF"),
    (pdfs.encrypted_pdf, "password"),
    (lambda p: pdfs.blank_pdf(p, 10_000), "10,000 pages"),
    (lambda p: pdfs.blank_pdf(p, 1, (14173, 14173)), "5.00 m x 5.00 m"),
])
def test_absurd_pdfs_are_refused_with_a_reason_and_the_other_slides_still_play(tmp_path, make, reason):
    bad = tmp_path / "bad.pdf"
    make(bad)
    good = pdfs.vietnamese_pdf(tmp_path / "good.pdf")
    slides = (programme.Slide(id="xau", type="document", image=programme.MediaRef("0" * 64, 1, bad, "bad.pdf"),
                              auto_duration=True), doc_slide(good))
    prog = programme.Programme(slides, "v")
    problems = prepare.prepare_programme(prog, SIZE, "fit", tmp_path / "cache")
    assert list(problems) == ["xau"] and reason in problems["xau"] and "bad.pdf" in problems["xau"]
    kept = prepare.without_unpreparable(prog, problems)
    assert [s.id for s in kept.slides] == ["quyet-dinh"]
    assert any("xau" in str(w) for w in kept.warnings)


def test_publish_refuses_a_document_a_board_could_not_show_naming_the_slide(tmp_path):
    root = folder(tmp_path, "slides:\n  - {id: mat-khau, file: khoa.pdf}\n  - {id: qd, file: qd.pdf}\n")
    pdfs.encrypted_pdf(root / "khoa.pdf")
    pdfs.vietnamese_pdf(root / "qd.pdf")
    with pytest.raises(InvalidInput) as caught:
        publish.publish(root, tmp_path / "out", None)
    assert "mat-khau" in str(caught.value) and "password" in str(caught.value)
    (root / "programme.yaml").write_text("slides:\n  - {id: qd, file: qd.pdf, pages: '1'}\n")
    publish.publish(root, tmp_path / "out", None)
    from kiosk.content import manifest

    prog = manifest.decode((tmp_path / "out" / manifest.FILENAME_V2).read_bytes(), tmp_path / "out" / "media")
    assert prog.slides[0].type == "document" and prog.slides[0].pages == ((1, 1),)
    assert manifest.media_of(prog)  # the PDF is in the media table: boards sync it like a picture
    import json

    import jsonschema

    schema = json.loads((Path(__file__).parent.parent / "docs" / "manifest.schema.json").read_text())
    jsonschema.validate(json.loads((tmp_path / "out" / manifest.FILENAME_V2).read_bytes()), schema)
    assert not json.loads((tmp_path / "out" / manifest.FILENAME).read_bytes())["slides"]  # format 1: left out


def test_the_preparer_says_a_document_is_ready_once_its_pages_are_prepared(tmp_path):
    path = pdfs.vietnamese_pdf(tmp_path / "qd.pdf")
    slide = doc_slide(path)
    prog = programme.Programme((slide,), "v")
    woken = []
    preparer = prepare.Preparer(SIZE, "fit", tmp_path / "cache", None, prune=False, on_ready=lambda: woken.append(1))
    assert not preparer.slide_ready(slide) and not preparer.ready(prog)
    assert preparer.prepare(prog).slides == (slide,)
    assert preparer.slide_ready(slide) and woken == [1]
    fresh = prepare.Preparer(SIZE, "fit", tmp_path / "cache", None, prune=False)
    assert fresh.ready(prog)  # a restart: the index in the cache is enough


def test_a_document_passes_through_publish_and_sync_and_is_drawn_from_the_synced_file(tmp_path, served):
    from syncboard import Board

    from kiosk.screen.slide import Renderer

    root = folder(tmp_path, 'slides:\n  - {id: qd, file: van-ban/qd.pdf, pages: "2-3"}\n'
                            "  - {id: tin, title: Thông báo, body: Họp dân}\n")
    (root / "van-ban").mkdir()
    pdfs.vietnamese_pdf(root / "van-ban" / "qd.pdf", 3)
    publish.publish(root, tmp_path / "out", None)
    board = Board(tmp_path / "board", served.url)
    assert board.cycle().ok
    (prog,) = board.ready
    qd = prog.slides[0]
    assert qd.type == "document" and qd.pages == ((2, 3),)
    assert qd.image.path.read_bytes() == (root / "van-ban" / "qd.pdf").read_bytes()
    assert not prepare.prepare_programme(prog, SIZE, "fit", board.cache)

    class Display:
        font, fit = "auto", "fit"

    frames = Renderer(SIZE, Display(), board.cache).pages(qd)
    assert len(frames) >= 2 and frames[0].get_size() == SIZE


def test_a_damaged_prepared_page_is_prepared_again_never_shown_grey(tmp_path):
    from kiosk.screen.slide import Renderer

    class Display:
        font, fit = "auto", "fit"

    path = pdfs.vietnamese_pdf(tmp_path / "qd.pdf")
    slide = doc_slide(path)
    cache = tmp_path / "cache"
    prepared = document.load(slide.image, SIZE, (), cache)
    page = prepared.pages[1]
    page.write_bytes(page.read_bytes()[:2000])  # a power cut while the card wrote it
    frame = Renderer(SIZE, Display(), cache).pages(slide)[0]
    assert document.open_page(page).width == document.area(SIZE).width  # whole again
    assert frame.get_at((SIZE[0] // 2, SIZE[1] // 2))[:3] != (128, 128, 128)


# --- the border agrees with the board (check-config, render and publish refuse what a board would) ----------


def check(root: Path) -> programme.FolderCheck:
    return programme.check_folder(root, open_document=document.probe)


def test_more_than_100_pages_without_pages_is_refused_at_the_border_as_at_preparation(tmp_path):
    root = folder(tmp_path, "slides:\n  - id: ke-hoach\n    file: kh.pdf\n  - {id: tin, title: Họp dân}\n")
    pdfs.vietnamese_pdf(root / "kh.pdf", 120, lines=["Kế hoạch"])
    checked = check(root)
    (error,) = checked.errors
    assert str(error).endswith('programme.yaml:3: slides (ke-hoach).file: kh.pdf: has 120 pages, at most 100 are '
                               'shown on one slide: choose them with pages: (for example pages: "1-10")')
    assert checked.not_playing == ("ke-hoach",) and [s.id for s in checked.programme.slides] == ["tin"]
    with pytest.raises(InvalidInput) as caught:
        publish.publish(root, tmp_path / "out", None)
    assert "(ke-hoach).file: kh.pdf: has 120 pages" in str(caught.value)
    slide = doc_slide(root / "kh.pdf")  # a board meeting it (a manifest from an older publish) says the same
    problems = prepare.prepare_programme(programme.Programme((slide,), "v"), SIZE, "fit", tmp_path / "cache")
    assert problems["quyet-dinh"] == error.message
    (root / "programme.yaml").write_text("slides:\n  - id: ke-hoach\n    file: kh.pdf\n    pages: 1-100\n")
    assert not check(root).problems


@pytest.mark.parametrize("pages, message", [
    ('"7-9"', "kh.pdf: asks for page 7, but the document has 5 pages"),
    ('"1-3, 9"', "kh.pdf: asks for page 9, but the document has 5 pages"),
])
def test_a_pages_line_asking_for_what_the_pdf_lacks_is_named_at_its_own_line(tmp_path, pages, message):
    root = folder(tmp_path, f"slides:\n  - id: ke-hoach\n    file: kh.pdf\n    duration: 20\n    pages: {pages}\n")
    pdfs.vietnamese_pdf(root / "kh.pdf", 5, lines=["Kế hoạch"])
    (error,) = check(root).errors
    assert (error.line, error.path, error.message) == (5, "slides (ke-hoach).pages", message)


def test_pages_naming_more_than_100_pages_in_all_is_a_pages_mistake(tmp_path):
    root = folder(tmp_path, 'slides:\n  - id: ke-hoach\n    file: kh.pdf\n    pages: "1-100, 101-150"\n')
    pdfs.vietnamese_pdf(root / "kh.pdf", 150, lines=["Kế hoạch"])
    (error,) = check(root).errors
    assert (error.line, error.path) == (4, "slides (ke-hoach).pages")
    assert error.message == ("kh.pdf: names 150 pages, at most 100 on one slide: choose fewer, or make several "
                             "slides of the document")


def test_blank_pages_are_skipped_and_said_and_a_wholly_blank_pdf_is_refused(tmp_path, caplog):
    root = folder(tmp_path, "slides:\n  - id: qd\n    file: qd.pdf\n  - id: trang\n    file: trang.pdf\n")
    pdfs.vietnamese_pdf(root / "qd.pdf", 4, blank=(2, 3))  # the back sides of a two-sided scan
    pdfs.vietnamese_pdf(root / "trang.pdf", 2, blank=(1, 2))
    checked = check(root)
    (error,) = checked.errors
    assert (error.line, error.path) == (5, "slides (trang).file")
    assert "trang.pdf: every page shown (1-2) is blank" in error.message
    (warning,) = checked.warnings
    assert (warning.line, warning.message) == (3, "qd.pdf: blank pages are not shown: 2-3")
    assert checked.not_playing == ("trang",)

    slide = doc_slide(root / "qd.pdf")
    with caplog.at_level("INFO", logger="kiosk.prepare"):
        prepared = document.load(slide.image, SIZE, (), tmp_path / "cache")
    assert sorted(prepared.pages) == [1, 4] and {s.page for s in prepared.sections} == {1, 4}
    assert "document qd.pdf: blank pages not shown: 2-3" in caplog.text
    for section in prepared.sections:  # what is shown has ink: no white screen
        page = document.open_page(prepared.pages[section.page]).convert("L")
        assert page.crop((0, section.top, page.width, section.bottom)).getextrema()[0] < 100
    blank = doc_slide(root / "trang.pdf")
    problems = prepare.prepare_programme(programme.Programme((blank,), "v"), SIZE, "fit", tmp_path / "cache")
    assert "every page shown (1-2) is blank" in problems["quyet-dinh"]

    (root / "programme.yaml").write_text("slides:\n  - id: qd\n    file: qd.pdf\n    pages: 2-3\n")
    (error,) = check(root).errors  # the only pages asked for are blank: the mistake is in pages:
    assert error.line == 4 and "every page shown (2-3) is blank" in error.message


def test_publish_goes_on_with_a_warning_and_check_config_exits_0(tmp_path):
    import subprocess
    import sys

    root = folder(tmp_path, "slides:\n  - id: qd\n    file: qd.pdf\n")
    pdfs.vietnamese_pdf(root / "qd.pdf", 2, blank=(2,))
    done = subprocess.run([sys.executable, "-m", "kiosk", "publish", str(root), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent,
                          env={"PYTHONPATH": str(Path(__file__).parent.parent), "PATH": "/usr/bin:/bin",
                               "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr
    assert f"{root}/programme.yaml:3: slides (qd).file: warning: qd.pdf: blank pages are not shown: 2" in done.stderr


def test_a_board_meeting_a_wrong_pages_says_pages(tmp_path):
    slide = doc_slide(pdfs.vietnamese_pdf(tmp_path / "kh.pdf", 5, lines=["Kế hoạch"]), pages=((7, 9),))
    problems = prepare.prepare_programme(programme.Programme((slide,), "v"), SIZE, "fit", tmp_path / "cache")
    assert problems == {"quyet-dinh": "kh.pdf: pages: asks for page 7, but the document has 5 pages"}
