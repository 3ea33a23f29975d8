"""Issue 10, a study (not the player's code): a picture slide's peak memory, decoded as the player does
against decoded straight into its frame.

    python bench/decode_into_frame.py [--rounds 3]

The player decodes a prepared JPEG with Pillow (4 bytes a pixel), takes its bytes (3), lets the image go,
and blits a Surface over those bytes into the slide's frame: two picture-sized buffers beside the frame at
the peak. Pillow's JPEG decoder can instead write into any image with `setimage`, and an image can be made
over a Surface's pixels (`Image.frombuffer`, mode RGBX): the frame is then the only full-screen buffer.
Two things keep that out of the player for now: `Image._getdecoder` is Pillow's private API, and Pillow's
decoder writes R,G,B,X while a 1080p frame on SDL's software renderer is B,G,R,X (an RGBX frame copies
into the window at the same speed but blends in a fade 6 times slower), so R and B are swapped in place
after the decode (`putband` of two 1-byte bands, private API too; a blit between two Surfaces over the
same pixels is refused by pygame, the buffer view locking the frame). Both ways make a B,G,R,X frame.
Each way runs in a fresh process; its own VmHWM is read; pixels are compared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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

    start = time.perf_counter()
    x0, y0 = (SIZE[0] - PICTURE[0]) // 2, (SIZE[1] - PICTURE[1]) // 2
    if way == "player":  # kiosk.screen.picture.surface_of, then the blit of slide._image_page
        image = Image.open(path)
        image.load()
        data, size = image.tobytes(), image.size
        image.close()
        picture = pygame.image.frombuffer(data, size, "RGB")
        frame = pygame.Surface(SIZE)  # B,G,R,X, as the window's surface
        frame.fill((0, 0, 0))
        frame.blit(picture, (x0, y0))
        del picture, data
    else:  # Pillow's decoder writing into the frame's pixels, then R and B swapped in place
        frame = pygame.Surface(SIZE)
        frame.fill((0, 0, 0))
        image = Image.open(path)
        (tile,) = image.tile
        view = frame.get_view("0")
        target = Image.frombuffer("RGBX", SIZE, view, "raw", "RGBX", frame.get_pitch(), 1)
        decoder = Image._getdecoder("RGBX", "jpeg", ("RGB", tile.args[1]))
        decoder.setimage(target.im, (x0, y0, x0 + PICTURE[0], y0 + PICTURE[1]))
        image.fp.seek(tile.offset)
        decoder.decode(image.fp.read())
        decoder.cleanup()
        image.close()
        red, blue = target.getchannel(0), target.getchannel(2)  # 2 MB each
        target.im.putband(blue.im, 0)
        target.im.putband(red.im, 2)
        del target, view, red, blue
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
        runs: dict[str, list[tuple[float, float]]] = {"player": [], "into-frame": []}
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
