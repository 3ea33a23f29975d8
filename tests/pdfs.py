"""Real PDF files for tests: Vietnamese text set in Noto Sans by PDFium itself (pypdfium2's page-object API),
and the hostile kinds (a password, 10,000 pages, a page of 5 m x 5 m) written by hand, a few hundred bytes."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as raw

A4 = (595.0, 842.0)  # points
NOTO = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

DECREE = [
    "ỦY BAN NHÂN DÂN XÃ TÂN LẬP",
    "QUYẾT ĐỊNH",
    "Về việc phòng, chống lụt, bão và giảm nhẹ thiên tai năm 2026",
    "Điều 1. Thành lập Ban chỉ huy phòng chống thiên tai của xã.",
    "Điều 2. Các thôn, ấp tổ chức trực ban 24/24 giờ trong mùa mưa lũ.",
    "Điều 3. Người dân chuẩn bị lương thực, nước uống, thuốc men dự phòng.",
    "Điều 4. Quyết định này có hiệu lực kể từ ngày ký.",
]


def _font_file() -> Path:
    return NOTO if NOTO.is_file() else DEJAVU


def vietnamese_pdf(path: Path, pages: int = 1, size: tuple[float, float] = A4, lines: list[str] | None = None,
                   font_size: float = 14.0, lines_per_page: int = 40, blank: tuple[int, ...] = ()) -> Path:
    """A PDF of `pages` pages of Vietnamese text, the font embedded (what a commune office exports from Word);
    the pages numbered in `blank` (from 1) are left empty, as a scanner's back sides are."""
    pdf = pdfium.PdfDocument.new()
    data = _font_file().read_bytes()
    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    font = raw.FPDFText_LoadFont(pdf, buffer, len(data), raw.FPDF_FONT_TRUETYPE, True)
    text = lines or DECREE
    width, height = size
    for number in range(1, pages + 1):
        page = pdf.new_page(width, height)
        y = height - 72
        for i in range(0 if number in blank else lines_per_page if lines is None else len(text)):
            line = text[i % len(text)] if i else f"{text[0]} — Trang {number}"
            if y < 72:
                break
            _text(pdf, page, font, line, font_size, 60, y)
            y -= font_size * 1.6
        raw.FPDFPage_GenerateContent(page)
    pdf.save(str(path))
    pdf.close()
    return Path(path)


def _text(pdf, page, font, line: str, size: float, x: float, y: float) -> None:
    obj = raw.FPDFPageObj_CreateTextObj(pdf, font, size)
    utf16 = ctypes.create_string_buffer((line + "\0").encode("utf-16-le"))
    raw.FPDFText_SetText(obj, ctypes.cast(utf16, ctypes.POINTER(raw.FPDF_WCHAR)))
    raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
    raw.FPDFPage_InsertObject(page, obj)


def _written(path: Path, objects: list[bytes], trailer_extra: bytes = b"") -> Path:
    """A PDF file from numbered object bodies, with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    Path(path).write_bytes(bytes(out))
    return Path(path)


def blank_pdf(path: Path, pages: int = 1, size: tuple[float, float] = A4) -> Path:
    """`pages` empty pages sharing one page object's size: 10,000 of them are ~0.5 MB."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count %d /Kids [%s] /MediaBox [0 0 %g %g] >>" % (pages, kids, *size)]
    objects += [b"<< /Type /Page /Parent 2 0 R >>"] * pages
    return _written(path, objects)


def encrypted_pdf(path: Path) -> Path:
    """A PDF under the standard security handler whose user password is not empty: it cannot be opened."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
               b"<< /Filter /Standard /V 1 /R 2 /P -44 /O <%s> /U <%s> >>" % (b"ab" * 32, b"cd" * 32)]
    return _written(path, objects, b"/Encrypt 4 0 R /ID [<%s> <%s>] " % (b"01" * 16, b"01" * 16))
