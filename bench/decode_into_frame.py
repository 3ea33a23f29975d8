"""Issue 10: a picture slide's peak memory, decoded the ordinary way against decoded into its frame.

    python bench/decode_into_frame.py [--rounds 3]

The ordinary way (`kiosk.screen.picture.surface_of`, the player's fallback) decodes a prepared JPEG with
Pillow (4 bytes a pixel), takes its bytes (3), lets the image go, and blits a Surface over those bytes
into the slide's frame: two picture-sized buffers beside the frame at the peak. `decode_into` (what the
player does now) has Pillow's JPEG decoder write into an image made over the frame's pixels, then swaps
R and B in place (Pillow writes R,G,B,X; the frame is B,G,R,X, as the window's surface: an R,G,B,X frame
blends 6 times slower in a fade). Each way runs in a fresh process; its own VmHWM is read; pixels are
compared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (1920, 1080)
PICTURE = (1920, 993)  # a prepared picture between a header and a ticker


def make_picture(path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", PICTURE, (40, 120, 60))
    draw = ImageDraw.Draw(image)
    for i in range(0, PICTURE[0], 40):
        draw.line([(i, 0), (PICTURE[0] - i, PICTURE[1])], fill=(200, (i * 7) % 255, 90), width=7)
    image.save(path, "JPEG", quality=92, subsampling=0)  # as source.prepare stores it


def child(way: str, path: str, out: str) -> None:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame
    from PIL import Image

    from kiosk.screen.picture import decode_into  # in both ways: the same modules loaded

    start = time.perf_counter()
    x0, y0 = (SIZE[0] - PICTURE[0]) // 2, (SIZE[1] - PICTURE[1]) // 2
    if way == "ordinary":  # kiosk.screen.picture.surface_of, then the blit of slide._place_picture
        image = Image.open(path)
        image.load()
        data, size = image.tobytes(), image.size
        image.close()
        picture = pygame.image.frombuffer(data, size, "RGB")
        frame = pygame.Surface(SIZE)  # B,G,R,X, as the window's surface
        frame.fill((0, 0, 0))
        frame.blit(picture, (x0, y0))
        del picture, data
    else:
        frame = pygame.Surface(SIZE)
        if not decode_into(frame, Path(path), (x0, y0), PICTURE):
            raise SystemExit("decode_into refused the picture")
    ms = (time.perf_counter() - start) * 1000
    hwm = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:"))  # before the PNG is written (its encoder's buffers)
    pygame.image.save(frame, out)
    print(f"{ms:.1f} {hwm / 1024:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory() as tmp:
        picture = Path(tmp) / "prepared.jpg"
        make_picture(picture)
        runs: dict[str, list[tuple[float, float]]] = {"ordinary": [], "into-frame": []}
        for _ in range(args.rounds):
            for way in runs:
                out = subprocess.run([sys.executable, __file__, "--child", way, str(picture), f"{tmp}/{way}.png"],
                                     capture_output=True, text=True, check=True).stdout.split()
                runs[way].append((float(out[0]), float(out[1])))
        a, b = (Image.open(f"{tmp}/{way}.png").convert("RGB") for way in runs)
        same = ImageChops.difference(a, b).getbbox() is None
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    for way, values in runs.items():
        ms, mb = [v[0] for v in values], [v[1] for v in values]
        print(f"{way}: decode and place {min(ms):.0f}-{max(ms):.0f} ms, process peak {min(mb):.1f}-{max(mb):.1f} MB "
              f"({len(values)} runs)")
    print(f"frames identical: {same} (load {load})")


if __name__ == "__main__":
    main()
