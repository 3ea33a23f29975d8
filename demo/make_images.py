"""Draws the demo pictures (our own work, nothing copied): `python demo/make_images.py`.

canh-dong-lua.jpg        a terraced rice-field landscape at harvest time (1920x1080)
ngay-hoi-dai-doan-ket.png a poster for the commune's solidarity festival (portrait, 1080x1350)
hoa-sen.jpg              a lotus pond at dawn (1600x1200, 4:3: letterboxed with fit)
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent / "images"


def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    style = "Bold" if bold else "Book"
    try:
        path = subprocess.run(["fc-match", "-f", "%{file}", f"DejaVu Sans:style={style}"],
                              capture_output=True, text=True, check=True).stdout.strip()
        return ImageFont.truetype(path, size)
    except (OSError, subprocess.CalledProcessError):
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        return ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{name}", size)


def lerp(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def gradient(size, top, bottom) -> Image.Image:
    w, h = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(h):
        draw.line([(0, y), (w, y)], fill=lerp(top, bottom, y / (h - 1)))
    return image


def ridge(w, base, amplitude, seed, step=8):
    rnd = random.Random(seed)
    waves = [(rnd.uniform(0.002, 0.012), rnd.uniform(0, 6.3), rnd.uniform(0.3, 1.0)) for _ in range(4)]
    points = []
    for x in range(0, w + step, step):
        y = sum(a * math.sin(f * x + p) for f, p, a in waves) / sum(a for _f, _p, a in waves)
        points.append((x, base - amplitude * (0.5 + 0.5 * y)))
    return points


def rice_fields() -> Image.Image:
    w, h = 1920, 1080
    image = gradient((w, h), (70, 140, 215), (255, 205, 150))
    glow = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    g = ImageDraw.Draw(glow)
    for r, a in ((260, 40), (180, 70), (120, 120)):
        g.ellipse((1400 - r, 360 - r, 1400 + r, 360 + r), fill=(255, 240, 200, a))
    glow = glow.filter(ImageFilter.GaussianBlur(30))
    image.paste(glow, (0, 0), glow)
    d = ImageDraw.Draw(image)
    d.ellipse((1340, 300, 1460, 420), fill=(255, 248, 225))
    for (base, amp, color, seed) in ((600, 260, (150, 168, 200), 1), (640, 200, (112, 140, 165), 2),
                                     (675, 150, (78, 112, 112), 3)):
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).polygon(ridge(w, base, amp, seed) + [(w, h), (0, h)], fill=255)
        if seed == 1:
            mask = mask.filter(ImageFilter.GaussianBlur(2))  # the far range, softened by the haze
        image.paste(color, (0, 0, w, h), mask)
    d = ImageDraw.Draw(image)
    greens = [(196, 178, 60), (214, 190, 72), (170, 168, 58), (128, 160, 60), (226, 200, 90), (150, 176, 66)]
    y, band, i = 680, 14.0, 0
    while y < h + 40:  # terraces: curved bands, thicker towards the viewer
        top = [(x, y + 18 * math.sin(x / 260 + i * 0.7)) for x in range(0, w + 20, 20)]
        bottom = [(x, y + band + 18 * math.sin(x / 260 + (i + 1) * 0.7)) for x in range(w, -20, -20)]
        color = greens[i % len(greens)]
        if i % 5 == 2:
            color = (150, 190, 215)  # a flooded paddy mirroring the sky
        d.polygon(top + bottom, fill=color)
        d.line(top, fill=(96, 110, 40), width=max(2, int(band / 10)))
        y += band
        band *= 1.22
        i += 1
    rnd = random.Random(7)
    for _ in range(900):  # rice tufts
        x, yy = rnd.uniform(0, w), rnd.uniform(720, h)
        s = (yy - 680) / 40
        d.line([(x, yy), (x + rnd.uniform(-1, 1) * s, yy - 2.5 * s)], fill=(120, 130, 40), width=max(1, int(s / 3)))
    # a stilt house on the left
    d.rectangle((210, 640, 390, 700), fill=(120, 80, 50))
    d.polygon([(180, 645), (300, 560), (420, 645)], fill=(170, 120, 60))
    for x in (225, 300, 375):
        d.rectangle((x - 5, 700, x + 5, 740), fill=(90, 60, 40))
    d.rectangle((280, 660, 320, 700), fill=(60, 40, 30))
    # farmers in conical hats
    for x, y0, s in ((820, 900, 1.0), (960, 930, 1.15), (1560, 860, 0.85)):
        d.polygon([(x - 40 * s, y0 - 70 * s), (x, y0 - 110 * s), (x + 40 * s, y0 - 70 * s)], fill=(238, 222, 170))
        d.rectangle((x - 16 * s, y0 - 70 * s, x + 16 * s, y0), fill=(60, 80, 120))
        d.line([(x + 16 * s, y0 - 50 * s), (x + 45 * s, y0 - 20 * s)], fill=(60, 80, 120), width=int(8 * s))
    for bx, by in ((600, 220), (640, 240), (690, 210), (1000, 160), (1040, 175)):  # birds
        d.arc((bx - 18, by - 8, bx, by + 8), 200, 340, fill=(50, 60, 80), width=3)
        d.arc((bx, by - 8, bx + 18, by + 8), 200, 340, fill=(50, 60, 80), width=3)
    return image


def star(cx, cy, r_out, r_in, rotation=-math.pi / 2):
    pts = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        a = rotation + k * math.pi / 5
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def centred(draw, y, text, f, fill, w):
    box = draw.textbbox((0, 0), text, font=f)
    draw.text(((w - (box[2] - box[0])) / 2 - box[0], y), text, font=f, fill=fill)
    return y + (box[3] - box[1])


def festival_poster() -> Image.Image:
    w, h = 1080, 1350
    image = Image.new("RGB", (w, h), (150, 12, 22))
    glow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(glow).ellipse((-200, 150, w + 200, h - 150), fill=255)
    glow = glow.filter(ImageFilter.GaussianBlur(160))
    image.paste(Image.new("RGB", (w, h), (214, 38, 38)), (0, 0), glow)
    d = ImageDraw.Draw(image)
    gold, pale = (250, 204, 70), (255, 236, 170)
    d.rectangle((28, 28, w - 28, h - 28), outline=gold, width=6)
    d.rectangle((44, 44, w - 44, h - 44), outline=gold, width=2)
    for cx, cy in ((44, 44), (w - 44, 44), (44, h - 44), (w - 44, h - 44)):
        d.polygon(star(cx, cy, 26, 11), fill=gold)
    for i, x in enumerate((170, 360, 720, 910)):  # lanterns
        drop = 150 + (i % 2) * 60
        d.line([(x, 44), (x, drop - 50)], fill=gold, width=3)
        d.ellipse((x - 55, drop - 55, x + 55, drop + 55), fill=(232, 70, 30), outline=gold, width=4)
        for k in (0.3, 0.65):  # the ribs
            d.ellipse((x - 55 * k, drop - 55, x + 55 * k, drop + 55), outline=(255, 160, 60), width=2)
        d.rectangle((x - 28, drop - 64, x + 28, drop - 52), fill=gold)
        d.rectangle((x - 28, drop + 52, x + 28, drop + 64), fill=gold)
        d.line([(x, drop + 64), (x, drop + 120)], fill=gold, width=4)
    d.polygon(star(w / 2, 330, 95, 38), fill=gold)
    y = centred(d, 440, "NGÀY HỘI", font(92), pale, w) + 30
    y = centred(d, y, "ĐẠI ĐOÀN KẾT", font(104), (255, 255, 255), w) + 30
    y = centred(d, y, "TOÀN DÂN TỘC", font(92), pale, w) + 50
    d.line([(w / 2 - 240, y), (w / 2 + 240, y)], fill=gold, width=4)
    y = centred(d, y + 40, "Thôn Phú Hòa · xã An Khương", font(46, False), (255, 255, 255), w) + 28
    y = centred(d, y, "Chủ nhật, 15/11/2026 · 7 giờ 30", font(46), gold, w) + 28
    centred(d, y, "Văn nghệ · Thể thao · Ẩm thực quê hương", font(40, False), (255, 232, 220), w)
    base = h - 80  # a row of lotus blossoms along the bottom
    for cx in range(140, w - 100, 200):
        for a, r in ((-50, 55), (50, 55), (-25, 66), (25, 66), (0, 74)):
            rad = math.radians(a - 90)
            tip = (cx + r * math.cos(rad), base + r * math.sin(rad))
            left = (cx + 20 * math.cos(rad - 1.2), base + 20 * math.sin(rad - 1.2))
            right = (cx + 20 * math.cos(rad + 1.2), base + 20 * math.sin(rad + 1.2))
            d.polygon([left, tip, right, (cx, base + 10)], fill=(255, 170, 190) if a else (255, 200, 214),
                      outline=(200, 80, 110))
    return image


def lotus_pond() -> Image.Image:
    w, h = 1600, 1200
    image = gradient((w, h), (255, 214, 170), (120, 150, 190))
    d = ImageDraw.Draw(image)
    water = gradient((w, h - 520), (110, 150, 185), (40, 80, 110))
    image.paste(water, (0, 520))
    d.ellipse((1080, 230, 1240, 390), fill=(255, 238, 200))
    trees = random.Random(5)
    for x in range(-40, w + 40, 34):  # the village's bamboo and trees on the far bank
        r = trees.uniform(22, 48)
        d.ellipse((x - r, 522 - 2 * r, x + r, 530), fill=(74, 104, 92))
    for x in range(0, w, 4):  # the sun's path on the water
        if abs(x - 1160) < 90:
            for y in range(530, 900, 14):
                if (x * 7 + y * 3) % 11 < 4:
                    d.line([(x, y), (x + 10, y)], fill=(255, 226, 180), width=2)
    rnd = random.Random(3)
    pads = [(rnd.uniform(0, w), rnd.uniform(600, h), rnd.uniform(50, 140)) for _ in range(26)]
    for x, y, r in sorted(pads, key=lambda p: p[1]):
        s = (y - 520) / 680
        rx, ry = r * (0.6 + s), r * (0.25 + 0.35 * s)
        d.ellipse((x - rx, y - ry, x + rx, y + ry), fill=(46, 120, 60), outline=(30, 90, 45), width=3)
        d.pieslice((x - rx, y - ry, x + rx, y + ry), 80, 100, fill=(40, 80, 100))
    for x, y, r in ((430, 820, 120), (900, 700, 80), (1320, 960, 140)):
        d.line([(x, y), (x + 10, y + 160)], fill=(50, 110, 55), width=8)
        for a, rr in ((-60, 0.8), (60, 0.8), (-30, 1.0), (30, 1.0), (0, 1.1)):
            rad = math.radians(a - 90)
            tip = (x + r * rr * math.cos(rad), y + r * rr * math.sin(rad))
            left = (x + r * 0.35 * math.cos(rad - 1.1), y + r * 0.35 * math.sin(rad - 1.1))
            right = (x + r * 0.35 * math.cos(rad + 1.1), y + r * 0.35 * math.sin(rad + 1.1))
            d.polygon([left, tip, right, (x, y + r * 0.15)], fill=(250, 150, 180) if a else (255, 190, 205),
                      outline=(190, 70, 110))
    return image.filter(ImageFilter.SMOOTH)


def main() -> int:
    HERE.mkdir(parents=True, exist_ok=True)
    rice_fields().save(HERE / "canh-dong-lua.jpg", quality=88, optimize=True, progressive=True)
    festival_poster().save(HERE / "ngay-hoi-dai-doan-ket.png", optimize=True)
    lotus_pond().save(HERE / "hoa-sen.jpg", quality=88, optimize=True, progressive=True)
    for path in sorted(HERE.iterdir()):
        print(path, path.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
