"""Document slides (PDF): pages rendered once per screen size, white margins cropped, fitted to the width.

pypdfium2 (PDFium) renders, off the render loop, like pictures are prepared (source.prepare). A page taller
than the screen is cut into sections with a small overlap, the cuts put in the blank rows between lines
of text; each section is held for the slide's `duration`, or for as long as its text takes to read. What
the screen needs is written to the cache beside the pages' JPEGs, in a small index (JSON):

    prepared/<sha256>-<w>x<h>-doc2-<pages>.json  the pages shown, their sections and how much text each holds
    prepared/<sha256>-<w>x<h>-p<n>.jpg           page n, cropped and scaled to the document area's width

Refused with a reason (ValueError): what is not a PDF, a password, more than media.MAX_PDF_PAGES pages, more
than media.MAX_PDF_SHOWN_PAGES shown on one slide, a page side over media.MAX_PDF_SIDE_MM, a page whose
rendering would exceed MAX_PAGE_PIXELS, a document whose pages shown are all blank. A blank page (no ink: a
scanner's empty back side, a page left for notes) is skipped: shown, it is a white screen that tells nobody
anything. What `pages:` asks for and the PDF cannot give is a media.PagesError (its own line in messages).
probe() makes the same checks as prepare() without rendering at full size: what `kiosk publish` and
`kiosk check-config` accept, a board prepares. PDFium is not thread-safe: every call is made under one lock.
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from kiosk.content import media
from kiosk.content.programme import page_list
from kiosk.durable import write_atomic
from kiosk.i18n import _, ngettext

log = logging.getLogger("kiosk.prepare")

PREPARED_DIR = "prepared"
MM_PER_POINT = 25.4 / 72
MAX_PAGE_PIXELS = 16_000_000  # one rendered page (1920 x 8300): 64 MB while PDFium draws it, then JPEG
JPEG_QUALITY = 90
OVERLAP = 0.06  # of the section height: the last lines of a section are the first of the next
FIT_WHOLE = 1.2  # a page up to this much taller than the area is shrunk to fit whole rather than cut in two
MIN_WIDTH_SHARE = 0.6  # after cropping, at least this share of the page's width is shown: a page with one
# short line is not blown up to letters a hand high
WHITE_LEVEL = 235  # greys above this are paper, not ink (scans are rarely pure white)
CHARS_PER_SECOND = 12  # reading a notice on a wall, standing: slower than at a desk
MIN_SECTION_SECONDS = 8.0
MAX_SECTION_SECONDS = 90.0
SCANNED_SECTION_SECONDS = 20.0  # a scan has no text layer to count: a section of it is held this long
INDEX_VERSION = 2  # in the index's name: a board that updates prepares its documents again ahead of their
# slots (version 2 skips blank pages), and the old indexes are pruned as unused

_lock = threading.Lock()  # PDFium keeps global state: one call at a time, from any thread


@dataclass(frozen=True)
class Area:
    """Where a document's page goes on the screen (pixels): below it the footer with the page marker."""

    x: int
    y: int
    width: int
    height: int


def area(size: tuple[int, int]) -> Area:
    """The document area of a screen: nearly all of it (paper is its own margin), above the footer."""
    w, h = size
    unit = min(w, h) / 1080
    footer = round(58 * unit)  # the footer of every slide (screen.slide.Renderer.footer_h)
    pad = round(16 * unit)
    return Area(pad, pad, w - 2 * pad, h - footer - 2 * pad)


@dataclass(frozen=True)
class Section:
    page: int  # the document's page number, from 1
    top: int  # rows of the prepared page image
    bottom: int
    seconds: float  # how long to read it


@dataclass(frozen=True)
class Prepared:
    count: int  # pages of the whole document
    pages: dict[int, Path]  # page number -> prepared image
    sections: tuple[Section, ...]


# --- the pure decisions -------------------------------------------------------------------------------


def page_numbers(spec: tuple[tuple[int, int], ...], count: int) -> list[int]:
    """The page numbers a slide shows (`pages:` as parsed by content.programme; () is every page), in order,
    each once, at most media.MAX_PDF_SHOWN_PAGES of them. media.PagesError when `pages:` asks for a page the
    document does not have, or for too many; ValueError when a document without `pages:` has too many."""
    wanted: list[int] = []
    for first, last in spec or ((1, count),):
        if first > count:
            raise media.PagesError(ngettext("asks for page {first}, but the document has {count} page",
                                            "asks for page {first}, but the document has {count} pages", count)
                                   .format(first=first, count=count))
        seen = set(wanted)
        wanted.extend(n for n in range(first, min(last, count) + 1) if n not in seen)
    if len(wanted) > media.MAX_PDF_SHOWN_PAGES:
        if spec:
            raise media.PagesError(_("names {count} pages, at most {most} on one slide: choose fewer, or make "
                                     "several slides of the document").format(count=len(wanted),
                                                                              most=media.MAX_PDF_SHOWN_PAGES))
        raise ValueError(_("has {count} pages, at most {most} are shown on one slide: choose them with pages: "
                           "(for example pages: \"1-10\")").format(count=len(wanted), most=media.MAX_PDF_SHOWN_PAGES))
    return wanted


def blank_refusal(blank: list[int], spec: tuple[tuple[int, int], ...]) -> ValueError:
    """Why a document whose every page shown is blank cannot be a slide: it would be white screens. When
    `pages:` chose them, that is the line to mend (media.PagesError)."""
    kind = media.PagesError if spec else ValueError
    return kind(_("every page shown ({pages}) is blank (no ink after its white margin): is it the right file, "
                  "or an empty scan?").format(pages=page_list(blank)))


def fit_scale(content_w: float, content_h: float, box: Area) -> float:
    """Pixels per point: the page's width fills the area's; a page only a little taller is shrunk to fit."""
    scale = box.width / content_w
    if content_h * scale > box.height and content_h * scale <= box.height * FIT_WHOLE:
        scale = box.height / content_h
    return scale


def cuts(height: int, window: int, blank: list[bool]) -> list[tuple[int, int]]:
    """Sections (top, bottom) of a page image `height` rows tall for a screen `window` rows tall.

    Each section ends in the lowest blank row of its last quarter (between two lines of text, never
    through one) and the next begins in a blank row about OVERLAP of a window above that, so a reader
    keeps their place; the last one ends with the page (shorter: the page's end is seen to be one).
    `blank[y]` says whether row y holds no ink."""
    if height <= window:
        return [(0, height)]
    overlap = max(1, round(window * OVERLAP))
    sections = []
    top = 0
    while top + window < height:
        bottom = next((y + 1 for y in range(top + window - 1, top + (3 * window) // 4, -1) if blank[y]),
                      top + window)
        sections.append((top, bottom))
        start = bottom - overlap  # the next section begins between lines, a line or two above this one's end
        top = next((_gap_middle(blank, y, top + 1) for y in range(start, max(top + 1, start - 3 * overlap), -1)
                    if blank[y]), start)
    sections.append((top, height))
    return sections


def _gap_middle(blank: list[bool], y: int, least: int) -> int:
    """The middle of the blank rows above row y (a section starts with a little paper above its first line)."""
    first = y
    while first > least and blank[first - 1] and y - first < 40:
        first -= 1
    return (first + y + 1) // 2


def reading_seconds(chars: float) -> float:
    return min(MAX_SECTION_SECONDS, max(MIN_SECTION_SECONDS, chars / CHARS_PER_SECOND))


def seconds_of(rows: tuple[int, int], content: tuple[int, int], chars: int) -> float:
    """How long a section takes to read: its share of the page's text (by its rows of ink) at a wall's pace."""
    if chars == 0:
        return SCANNED_SECTION_SECONDS
    first, last = content
    top, bottom = rows
    share = max(0, min(bottom, last) - max(top, first)) / max(1, last - first)
    return reading_seconds(chars * share)


# --- preparation ----------------------------------------------------------------------------------------


def index_path(ref, size: tuple[int, int], spec: tuple[tuple[int, int], ...], cache_dir: Path) -> Path:
    w, h = size
    pages = "-".join(f"{a}.{b}" for a, b in spec) or "all"
    return Path(cache_dir) / PREPARED_DIR / f"{ref.sha256}-{w}x{h}-doc{INDEX_VERSION}-{pages}.json"


def page_path(ref, size: tuple[int, int], number: int, cache_dir: Path) -> Path:
    w, h = size
    return Path(cache_dir) / PREPARED_DIR / f"{ref.sha256}-{w}x{h}-p{number}.jpg"


def _pdfium():
    import pypdfium2  # only where documents are prepared: a board without document slides never loads PDFium

    return pypdfium2


def _open(path: Path):
    """The PdfDocument, or ValueError saying why it cannot be shown (call under _lock)."""
    media.check_pdf(Path(path))
    pdfium = _pdfium()
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise ValueError(_("the PDF is protected by a password: export it again without one")) from None
        if "format" in text or "file" in text:
            raise ValueError(_("not a readable PDF file (damaged or truncated)")) from None
        raise ValueError(_("not a readable PDF file ({reason})").format(reason=exc)) from None


def _check_sizes(pdf, count: int) -> None:
    if count == 0:
        raise ValueError(_("the PDF has no pages"))
    if count > media.MAX_PDF_PAGES:
        raise ValueError(_("the PDF has {count} pages, at most {most}: publish the pages to show as a document of "
                           "their own").format(count=f"{count:,}", most=media.MAX_PDF_PAGES))


def _check_page(pdf, number: int) -> tuple[float, float]:
    width, height = pdf.get_page_size(number - 1)
    longest = max(width, height) * MM_PER_POINT
    if longest > media.MAX_PDF_SIDE_MM or min(width, height) < 1:
        raise ValueError(_("page {number} is {width} m x {height} m; pages up to {most} m a side are shown").format(
            number=number, width=f"{width * MM_PER_POINT / 1000:.2f}", height=f"{height * MM_PER_POINT / 1000:.2f}",
            most=f"{media.MAX_PDF_SIDE_MM / 1000:g}"))
    return width, height


@dataclass(frozen=True)
class Probed:
    count: int  # pages of the whole document
    blank: tuple[int, ...]  # the pages the slide would show that hold no ink: skipped


def probe(path: Path, spec: tuple[tuple[int, int], ...] = ()) -> Probed:
    """The document after every check a board makes (what `kiosk publish` and `kiosk check-config` ask):
    its page count and the blank pages the slide skips. Each page shown is rendered small (about 1 ms a
    page), as prepare() does to find its ink, so both call the same page blank."""
    with _lock:
        pdf = _open(path)
        try:
            count, numbers = _checked(pdf, spec)
            blank = []
            for number in numbers:
                page = pdf[number - 1]
                try:
                    if _ink(page)[2] is None:
                        blank.append(number)
                finally:
                    page.close()
            if len(blank) == len(numbers):
                raise blank_refusal(blank, spec)
            return Probed(count, tuple(blank))
        finally:
            pdf.close()


def _checked(pdf, spec: tuple[tuple[int, int], ...]) -> tuple[int, list[int]]:
    """The document's page count and the pages the slide shows, after the checks a board makes (sizes of the
    whole document, `pages:`, each page shown); ValueError when one fails."""
    count = len(pdf)
    _check_sizes(pdf, count)
    numbers = page_numbers(spec, count)
    for number in numbers:
        _check_page(pdf, number)
    return count, numbers


def _ink(page) -> tuple[float, Image.Image, tuple[int, int, int, int] | None]:
    """A small grey rendering of a page (its scale, the image) and the box of its ink in it; None: blank."""
    width, height = page.get_size()
    scale = min(400 / width, 4000 / height)
    small = page.render(scale=scale, grayscale=True).to_pil().convert("L")
    return scale, small, small.point(lambda v: 255 if v < WHITE_LEVEL else 0).getbbox()


def prepare(ref, size: tuple[int, int], spec: tuple[tuple[int, int], ...], cache_dir: Path) -> Path:
    """The index of a document slide's prepared pages for this screen size, made now unless in the cache."""
    target = index_path(ref, size, spec, cache_dir)
    if target.is_file():
        return target
    box = area(size)
    entries = []
    with _lock:
        pdf = _open(Path(ref.path))
        try:
            count, numbers = _checked(pdf, spec)
            blank = []
            for number in numbers:
                entry = _render_page(pdf, ref, size, number, box, cache_dir)
                if entry is None:
                    blank.append(number)
                else:
                    entries.append(entry)
        finally:
            pdf.close()
    if not entries:
        raise blank_refusal(blank, spec)
    if blank:
        log.info(_("document {file}: blank pages not shown: {pages}").format(file=ref.name, pages=page_list(blank)))
    document = {"version": INDEX_VERSION, "count": count, "pages": entries, "blank": blank}
    write_atomic(target, json.dumps(document).encode())
    return target


def _render_page(pdf, ref, size, number: int, box: Area, cache_dir: Path) -> dict | None:
    """Page `number` prepared (its JPEG written), and its index entry; None for a blank page (not shown)."""
    page = pdf[number - 1]
    try:
        width, height = page.get_size()
        chars = page.get_textpage().count_chars()
        # a small grey rendering finds the ink; the page is then rendered once at its final scale, cropped
        probe_scale, small, ink = _ink(page)
        if ink is None:
            return None
        left, top, right, bottom = _content_box(ink, small.size, probe_scale, width, height)
        content_w, content_h = right - left, bottom - top
        scale = fit_scale(content_w, content_h, box)
        pixels = round(content_w * scale) * round(content_h * scale)
        if pixels > MAX_PAGE_PIXELS:
            raise ValueError(_("page {number} is too tall for its width to be shown ({width} x {height} mm)").format(
                number=number, width=f"{width * MM_PER_POINT:.0f}", height=f"{height * MM_PER_POINT:.0f}"))
        crop = (left, height - bottom, width - right, top)  # PDFium's crop: points cut from left, bottom, right, top
        image = page.render(scale=scale, crop=crop, may_draw_forms=True).to_pil().convert("RGB")
    finally:
        page.close()
    # a row with any ink (a diacritic's dot too) is not blank: Pillow's projection says which rows have some
    ink = image.convert("L").point(lambda v: 255 if v < WHITE_LEVEL else 0)
    blank = [not inked for inked in ink.getprojection()[1]]
    inked = [y for y, b in enumerate(blank) if not b]
    content = (inked[0], inked[-1] + 1) if inked else (0, image.height)
    sections = [[a, b, seconds_of((a, b), content, chars)] for a, b in cuts(image.height, box.height, blank)]
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    target = page_path(ref, size, number, cache_dir)
    write_atomic(target, buffer.getvalue())
    return {"number": number, "file": target.name, "width": image.width, "height": image.height,
            "chars": chars, "sections": sections}


def _content_box(ink, small_size, scale: float, width: float, height: float) -> tuple[float, float, float, float]:
    """The inked part of the page in points (left, top, right, bottom from the top-left), with a little paper
    around it, and never narrower than MIN_WIDTH_SHARE of the page."""
    pad = 0.02 * width
    left = max(0.0, ink[0] / scale - pad)
    right = min(width, ink[2] / scale + pad)
    top = max(0.0, ink[1] / scale - pad)
    bottom = min(height, ink[3] / scale + pad)
    least = MIN_WIDTH_SHARE * width
    if right - left < least:
        middle = (left + right) / 2
        left = min(max(0.0, middle - least / 2), width - least)
        right = left + least
    return left, top, right, bottom


def load(ref, size: tuple[int, int], spec: tuple[tuple[int, int], ...], cache_dir: Path) -> Prepared:
    """The prepared document (made again when its index or a page is missing or damaged); ValueError if it
    cannot be."""
    for attempt in range(2):
        path = prepare(ref, size, spec, cache_dir)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("version") != INDEX_VERSION:
                raise ValueError("an index of another version")
            pages, sections = {}, []
            for entry in document["pages"]:
                number = int(entry["number"])
                pages[number] = path.parent / str(entry["file"])
                if not pages[number].is_file():
                    raise ValueError(f"page {number} is missing")
                sections += [Section(number, int(a), int(b), float(s)) for a, b, s in entry["sections"]]
            return Prepared(int(document["count"]), pages, tuple(sections))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            path.unlink(missing_ok=True)
            if attempt:
                raise ValueError(_("prepared document cannot be read ({reason})").format(reason=exc)) from None
    raise AssertionError("unreachable")


def files_of(ref, size: tuple[int, int], spec: tuple[tuple[int, int], ...], cache_dir: Path) -> set[Path]:
    """The cache files of a prepared document (its index and its pages), for pruning."""
    index = index_path(ref, size, spec, cache_dir)
    found = {index}
    try:
        document = json.loads(index.read_text(encoding="utf-8"))
        found |= {index.parent / str(entry["file"]) for entry in document["pages"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return found


def open_page(path: Path) -> Image.Image:
    """A prepared page, decoded whole (RGB); ValueError when damaged."""
    try:
        return media.decoded_whole(path)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on damaged files
        raise ValueError(f"{path.name}: {exc}") from None


def sections_total(sections: tuple[Section, ...]) -> float:
    return math.fsum(s.seconds for s in sections)
