"""Image preparation figures (prints, asserts nothing).

    python bench/bench_prepare.py

1. cold prepare of a 24-megapixel JPEG (6000x4000, made here) for 1920x1080;
2. warm load of the prepared frame with pygame, for three stored formats:
   JPEG q=92 4:4:4 (chosen), PNG compress_level=1, and raw pixels (BMP) -
   the figures behind the choice documented in kiosk/prepare.py.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pygame  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from kiosk.content import media  # noqa: E402
from kiosk.content.programme import MediaRef  # noqa: E402
from kiosk.source import prepare  # noqa: E402

SCREEN = (1920, 1080)


def photo_like(size: tuple[int, int]) -> Image.Image:
    """Detail everywhere, like a photo: noise over shapes, so JPEG sizes are realistic."""
    w, h = size
    small = Image.effect_noise((w // 8, h // 8), 64).convert("RGB").resize(size, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(small)
    for i in range(40):
        x, y = (i * 997) % w, (i * 613) % h
        draw.ellipse((x, y, x + w // 6, y + h // 6), fill=((i * 40) % 256, (i * 90) % 256, (i * 150) % 256))
    return small.filter(ImageFilter.GaussianBlur(1))


def evict(path: Path) -> None:
    """Drop the file from the page cache, so the next read comes from the disk (a restart's first frame)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    pygame.display.init()
    pygame.display.set_mode((64, 64))
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        big = tmp_path / "big.jpg"
        photo_like((6000, 4000)).save(big, "JPEG", quality=90)
        ref = MediaRef(media.sha256_file(big), big.stat().st_size, big, "big.jpg")
        cold = []
        for i in range(3):
            cache = tmp_path / f"cache{i}"
            t0 = time.perf_counter()
            prepare.prepare_image(ref, SCREEN, "fit", cache)
            cold.append((time.perf_counter() - t0) * 1000)
        print(f"cold prepare of a 24 MP JPEG ({big.stat().st_size // 1024} KiB) to {SCREEN[0]}x{SCREEN[1]}: "
              f"median {statistics.median(cold):.0f} ms (runs: {', '.join(f'{c:.0f}' for c in cold)})")
        t0 = time.perf_counter()
        prepare.prepare_image(ref, SCREEN, "fit", tmp_path / "cache0")
        print(f"prepare again (already cached): {(time.perf_counter() - t0) * 1000:.2f} ms")

        frame = photo_like(SCREEN)  # a full-bleed frame: the worst case for file size
        candidates = {
            "JPEG q=92 4:4:4 (chosen)": ("f.jpg", dict(format="JPEG", quality=92, subsampling=0)),
            "PNG compress_level=1": ("f.png", dict(format="PNG", compress_level=1)),
            "raw pixels (BMP)": ("f.bmp", dict(format="BMP")),
        }
        for label, (name, options) in candidates.items():
            path = tmp_path / name
            t0 = time.perf_counter()
            frame.save(path, **options)
            write_ms = (time.perf_counter() - t0) * 1000
            loads = timed(lambda p=path: pygame.image.load(str(p)).convert(), 15)
            colds = timed(lambda p=path: (evict(p), pygame.image.load(str(p)).convert()), 5)
            print(f"load, {label}: warm median {statistics.median(loads):.1f} ms, "
                  f"evicted from page cache median {statistics.median(colds):.1f} ms, "
                  f"file {path.stat().st_size / 1e6:.2f} MB, encode {write_ms:.0f} ms")
    pygame.display.quit()


if __name__ == "__main__":
    main()
