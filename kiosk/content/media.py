"""Image files from outside: checked at the border before a slide may use them."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

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
        raise ValueError(f"the picture is damaged: its header says {width}x{height} pixels but the file holds "
                         f"only {file_size} bytes of data")


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
        raise ValueError("file not found") from None
    except IsADirectoryError:
        raise ValueError("is a folder, not an image file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"image too large (over {MAX_PIXELS // 1_000_000} megapixels): resize it") from None
    except Image.UnidentifiedImageError:
        empty = path.is_file() and path.stat().st_size == 0
        raise ValueError("the file is empty" if empty else "not an image file (JPEG, PNG, WebP or GIF)") from None
    except OSError as exc:
        raise ValueError(f"not a readable image ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on hostile files
        raise ValueError(f"not a readable image ({exc})") from None
    if fmt not in FORMATS:
        raise ValueError(f"unsupported image format {fmt}; use JPEG, PNG, WebP or GIF")
    limit = MAX_PIXELS if fmt == "JPEG" else MAX_PIXELS_OTHER
    if width * height > limit:
        raise ValueError(f"image too large ({width}x{height} pixels, at most {limit // 1_000_000} megapixels)")
    if width < 1 or height < 1:
        raise ValueError("image has no pixels")
    check_complete(fmt, width, height, path.stat().st_size)
    return ImageInfo(fmt, width, height)


def check_decodes(path: Path) -> None:
    """Decode the whole file (JPEGs at 1/8 scale: every byte is still read), so a truncated or corrupt
    picture is refused by `kiosk publish` instead of being skipped on every board."""
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on damaged files
        raise ValueError(f"the picture is damaged or truncated ({exc})") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
