"""Image files from outside: checked at the border before a slide may use them."""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from kiosk.i18n import _

FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"}
MAX_PIXELS = 120_000_000  # a JPEG this big is decoded in draft mode; anything larger is a bomb
MAX_PIXELS_OTHER = 50_000_000  # formats without draft mode are decoded in full
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, at our limit rather than its 89 MP
# A complete JPEG codes at least one bit per 8x8 block of luma: about 1.9 kB per megapixel (a uniform grey
# at quality 1 takes 3.9 kB). A file far smaller than its header's size lacks its data, and libjpeg fills
# what is missing with grey without an error: a grey frame on the board. One kB per megapixel: 4x margin.
MIN_JPEG_BYTES_PER_MEGAPIXEL = 1000


def check_complete(fmt: str, width: int, height: int, file_size: int) -> None:
    """ValueError when the file is too small to hold the picture its header declares."""
    if fmt == "JPEG" and file_size * 1_000_000 < width * height * MIN_JPEG_BYTES_PER_MEGAPIXEL:
        raise ValueError(_("the picture is damaged: its header says {width}x{height} pixels but the file holds "
                           "only {size} bytes of data").format(width=width, height=height, size=file_size))


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def probe(path: Path) -> ImageInfo:
    """Read an image's header; ValueError with a user-facing reason when unusable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                fmt, (width, height) = image.format or "?", image.size
    except FileNotFoundError:
        raise ValueError(_("file not found")) from None
    except IsADirectoryError:
        raise ValueError(_("is a folder, not an image file")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(_("image too large (over {megapixels} megapixels): resize it").format(
            megapixels=MAX_PIXELS // 1_000_000)) from None
    except Image.UnidentifiedImageError:
        empty = path.is_file() and path.stat().st_size == 0
        raise ValueError(_("the file is empty") if empty else _("not an image file (JPEG, PNG, WebP or GIF)")) \
            from None
    except OSError as exc:
        raise ValueError(_("not a readable image ({reason})").format(reason=exc)) from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on hostile files
        raise ValueError(_("not a readable image ({reason})").format(reason=exc)) from None
    if fmt not in FORMATS:
        raise ValueError(_("unsupported image format {format}; use JPEG, PNG, WebP or GIF").format(format=fmt))
    limit = MAX_PIXELS if fmt == "JPEG" else MAX_PIXELS_OTHER
    if width * height > limit:
        raise ValueError(_("image too large ({width}x{height} pixels, at most {megapixels} megapixels)").format(
            width=width, height=height, megapixels=limit // 1_000_000))
    if width < 1 or height < 1:
        raise ValueError(_("image has no pixels"))
    check_complete(fmt, width, height, path.stat().st_size)
    return ImageInfo(fmt, width, height)


MAX_AUDIO_BYTES = 200 * 1024 * 1024  # an hour of MP3 is some 60 MB; more is not an announcement
AUDIO_FORMATS = "WAV, OGG or MP3"


def _head(path: Path, count: int, what: str) -> tuple[int, bytes]:
    """A file's size and first `count` bytes, for telling its kind at the border; ValueError with a
    user-facing reason when it is missing, a folder, unreadable or empty."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(count)
    except FileNotFoundError:
        raise ValueError("file not found") from None
    except IsADirectoryError:
        raise ValueError(f"is a folder, not {what}") from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise ValueError("the file is empty")
    return size, head


def probe_audio(path: Path) -> str:
    """The format of a sound file (WAV, OGG, MP3) from its first bytes; ValueError with a user-facing reason.
    Whether it decodes is known when it is loaded, ahead of its slot (a slide whose sound does not load
    plays silent, and says so)."""
    size, head = _head(path, 12, "a sound file")
    if size > MAX_AUDIO_BYTES:
        raise ValueError(f"is {size // (1024 * 1024)} MB, at most {MAX_AUDIO_BYTES // (1024 * 1024)} MB of sound")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"OggS":
        return "OGG"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    raise ValueError(f"not a sound file ({AUDIO_FORMATS})")


def check_decodes(path: Path) -> None:
    """Decode the whole file (JPEGs at 1/8 scale: every byte is still read), so a truncated or corrupt
    picture is refused by `kiosk publish` instead of being skipped on every board."""
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on damaged files
        raise ValueError(_("the picture is damaged or truncated ({reason})").format(reason=exc)) from None


def decoded_whole(path: Path, size: tuple[int, int] | None = None) -> Image.Image:
    """A picture (a prepared frame, a document's page) decoded whole, as RGB, without a second copy.

    load() reads the file whole and closes it; the image is returned as it is (copying it out of a `with`
    block, as before, held two full-screen frames at once, 16 MB at 1080p, each time a slide was drawn).
    Raises what Pillow raises; ValueError when its size is not `size`."""
    image = Image.open(path)
    try:
        image.load()  # LOAD_TRUNCATED_IMAGES is off: a short file raises here; the file is closed once read
        if size is not None and image.size != tuple(size):
            raise ValueError(f"{image.size[0]}x{image.size[1]}, not {size[0]}x{size[1]}")
        if image.mode == "RGB":
            return image
        converted = image.convert("RGB")
    except BaseException:
        image.close()
        raise
    image.close()
    return converted


# Documents (PDF): what a board accepts. Their pages are rendered by source.document; only the cheap header
# check is here, at the border where a folder or a manifest names the file.
MAX_PDF_BYTES = 200 * 1024 * 1024  # a scanned 100-page decree is ~30 MB
MAX_PDF_PAGES = 500  # a plan with its annexes; 10,000 pages is not a notice, and would be prepared for hours
MAX_PDF_SHOWN_PAGES = 100  # pages one slide shows (`pages:` picks them from a longer document)
MAX_PDF_SIDE_MM = 1500  # A0 is 841 x 1189 mm; a 5 m page is a broken or hostile file


class PagesError(ValueError):
    """A document slide's `pages:` asks for what its PDF cannot give: the mistake is on the pages: line, not
    the file: line, and messages point there."""


def check_pdf(path: Path) -> None:
    """ValueError with a user-facing reason when `path` is plainly not a PDF a board can show (header, size).
    Opening it (passwords, page count, page sizes) is source.document's, at publish and preparation."""
    size, head = _head(path, 1024, "a PDF file")
    if b"%PDF-" not in head:
        raise ValueError("not a PDF file (it does not start with %PDF-)")
    if size > MAX_PDF_BYTES:
        raise ValueError(f"is {size / 1e6:.0f} MB, at most {MAX_PDF_BYTES // 1024 // 1024} MB: "
                         "split the document or reduce its images")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


RACY_SECONDS = 2.0  # a file changed this recently may change again within its timestamp's tick: not remembered


class Memo:
    """What was learnt about picture files (SHA-256, header, whether the whole file decodes), remembered
    against their identity on disk: size, modification and change times in ns, inode. Any edit changes
    at least one of them (ctime even when a tool puts mtime back), so a file whose identity is unchanged
    is not read again. A file changed in the last RACY_SECONDS is not remembered: a second edit in the
    same timestamp tick could keep its times. Files are named relative to `root` (an authoring folder:
    the names mean the same on another machine). `entries` is JSON-ready, for a caller that keeps it on
    disk; `changed` says whether anything was learnt since it was loaded.
    """

    def __init__(self, entries: dict | None = None, root: Path | None = None):
        self._prefix = str(Path(root).resolve()) + os.sep if root is not None else None
        self._known: dict[str, dict] = {}
        for name, entry in (entries or {}).items():
            if isinstance(name, str) and isinstance(entry, dict) and isinstance(entry.get("id"), list):
                self._known[name] = entry
        self.used: set[str] = set()
        self.changed = False

    @staticmethod
    def _identity(path: Path) -> tuple[list, float] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino], max(st.st_mtime, st.st_ctime)

    def _name(self, path: Path) -> str:
        """Relative to the root for a path inside it (callers pass resolved paths: no resolving here)."""
        name = str(path)
        if self._prefix is not None and name.startswith(self._prefix):
            return name[len(self._prefix):].replace(os.sep, "/")
        return name

    def _entry(self, path: Path) -> dict:
        name = self._name(path)
        self.used.add(name)
        identity = self._identity(path)
        entry = self._known.get(name)
        if identity is None:
            return {}
        if entry is None or entry.get("id") != identity[0]:
            entry = {"id": identity[0]}
            if time.time() - identity[1] >= RACY_SECONDS:
                self._known[name] = entry
            return entry
        return entry

    def _learnt(self, path: Path, entry: dict) -> None:
        if self._known.get(self._name(path)) is entry:
            self.changed = True

    def probe(self, path: Path) -> ImageInfo:
        entry = self._entry(path)
        known = entry.get("probe")
        if isinstance(known, list) and len(known) == 3:
            return ImageInfo(*known)
        info = probe(path)
        entry["probe"] = [info.format, info.width, info.height]
        self._learnt(path, entry)
        return info

    def sha256(self, path: Path) -> str:
        entry = self._entry(path)
        known = entry.get("sha256")
        if isinstance(known, str) and len(known) == 64:
            return known
        entry["sha256"] = digest = sha256_file(path)
        self._learnt(path, entry)
        return digest

    def check_decodes(self, path: Path) -> None:
        entry = self._entry(path)
        if entry.get("decodes") is True:
            return
        check_decodes(path)
        entry["decodes"] = True
        self._learnt(path, entry)

    def remember(self, path: Path, key: str, compute):
        """What `compute()` learns about `path` (JSON-ready), kept under `key` (another kind of file: a video's
        probe); its exceptions are not remembered."""
        entry = self._entry(path)
        if key in entry:
            return entry[key]
        entry[key] = value = compute()
        self._learnt(path, entry)
        return value

    def entries(self) -> dict:
        """What is known about the files used since this memo was made."""
        return {name: entry for name, entry in self._known.items() if name in self.used}
