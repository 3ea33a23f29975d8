"""Do slides look the same through the texture presenter? `kiosk render` PNGs compared pixel by pixel.

    python bench/render_compare.py [--before ROOT] [--size 1920x1080]

Renders the demo and a folder of awkward slides (a long paged notice, a priority warning, a picture with a
caption, a tall picture cropped to fill, stacked Vietnamese marks) at one instant, and compares, page by page:
- the new code path (each page uploaded as a texture, drawn by SDL's renderer, read back: what
  `kiosk render` and /screenshot.png now give) with the old one (the page's Surface written as it is,
  what `kiosk render` wrote before), in this process;
- with --before ROOT, also the PNGs of another checkout's `kiosk render` (e.g. main before the change),
  run as its own process.
Prints, per file, equal or the number of differing pixels and the largest channel difference.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from PIL import Image, ImageChops  # noqa: E402

AT = "2026-12-03T09:00"
LONG = ("Ủy ban nhân dân xã thông báo lịch tổng vệ sinh môi trường: các thôn ra quân từ 6 giờ sáng, "
        "thu gom rác thải, phát quang bụi rậm, khơi thông cống rãnh; mỗi hộ cử một người tham gia. ") * 12


def awkward(folder: Path) -> Path:
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (1600, 1200), (30, 120, 60)).save(folder / "images" / "dong-lua.jpg", quality=90)
    Image.new("RGBA", (900, 1400), (200, 40, 40, 128)).save(folder / "images" / "ban-do.png")
    (folder / "programme.yaml").write_text(f"""slides:
  - id: thong-bao-dai
    title: Thông báo về việc tổng vệ sinh môi trường
    body: "{LONG.strip()}"
    duration: 60
  - id: canh-bao
    title: Cảnh báo bão số 9
    body: Bà con không ra khơi; tàu thuyền vào nơi trú ẩn an toàn trước 17 giờ.
    priority: priority
  - id: dau-thanh
    title: ỄỆỖỘỞỢ ẵặẳ Ữ ỹ
    body: "Nguyễn Thị Ngọc Ánh — Hội Liên hiệp Phụ nữ xã; Trưởng thôn Đông: Lữ Văn Dũng."
  - id: anh-chu-thich
    file: images/dong-lua.jpg
    title: Cánh đồng lúa thôn Đông vào vụ gặt
  - id: anh-doc
    file: images/ban-do.png
    fit: fill
""", encoding="utf-8")
    return folder


def config(root: Path, folder: Path, name: str) -> Path:
    path = root / f"{name}.yaml"
    path.write_text(f"device: {{id: so-sanh, name: UBND xã An Khương}}\nsource: {{path: {folder}}}\n"
                    f"cache: {{path: {root / ('cache-' + name)}}}\n", encoding="utf-8")
    return path


def old_path(cfg_path: Path, out: Path, size: tuple[int, int]) -> None:
    """What `kiosk render` wrote before the screen drew its pages: each page's Surface saved as it is, with
    the zones (header, ticker: drawn by the screen since) blitted over it by pygame."""
    import datetime as dt

    from kiosk import config as configmod
    from kiosk.cli import render
    from kiosk.content import schedule
    from kiosk.screen.slide import Renderer, save_png
    from kiosk.source import prepare

    cfg = configmod.load(cfg_path)
    programme = render.load_programme(cfg)
    problems = prepare.prepare_programme(programme, size, cfg.display.fit, cfg.cache.path)
    programme = prepare.without_unpreparable(programme, problems)
    plan = schedule.plan(programme, dt.datetime.fromisoformat(AT), dates_trusted=True)
    renderer = Renderer(size, cfg.display, cfg.cache.path, cfg.device.name)
    out.mkdir(parents=True)
    (out / "pages").mkdir()
    at, mono = dt.datetime.fromisoformat(AT), 1000.0

    def composed(page, shown):
        """The page with the zones (header, ticker) blitted over it, where the screen draws them."""
        page = page.copy()
        for zone in shown:
            preview = getattr(zone, "preview", None)
            if preview is not None:
                preview(mono)  # as kiosk render shows a ticker: mid-way
            for piece in zone.pieces(mono, at):
                page.blit(piece.surface, piece.dst[:2], area=piece.src)
        return page

    for number, slide in enumerate(plan.emergency or plan.loop, start=1):
        pages = renderer.pages(slide, ticker=programme.ticker)
        shown = renderer.zones(slide, programme.ticker)
        save_png(composed(pages[0], shown), out / f"{number:02d}-{slide.id}.png")
        for index in range(1, len(pages)):
            save_png(composed(pages[index], shown), out / "pages" / f"{number:02d}-{slide.id}-{index + 1:02d}.png")


def kiosk_render(tree: Path, cfg: Path, out: Path, size: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "SDL_VIDEODRIVER": "dummy"}
    # run from the config's folder: `python -m kiosk` puts the cwd first on sys.path, before PYTHONPATH, so
    # run from this checkout every tree would be this one
    subprocess.run([sys.executable, "-m", "kiosk", "render", "-c", str(cfg), "--out", str(out), "--at", AT,
                    "--size", size], env=env, check=True, capture_output=True, text=True, cwd=cfg.parent)


def compare(a: Path, b: Path) -> tuple[int, int]:
    """(files, files that differ), printing a line per file."""
    names = sorted({p.relative_to(a) for p in a.rglob("*.png")} | {p.relative_to(b) for p in b.rglob("*.png")})
    differ = 0
    for name in names:
        if not (a / name).exists() or not (b / name).exists():
            print(f"  {name}: only in {'the first' if (a / name).exists() else 'the second'}")
            differ += 1
            continue
        with Image.open(a / name) as x, Image.open(b / name) as y:
            x, y = x.convert("RGB"), y.convert("RGB")
            if x.size != y.size:
                print(f"  {name}: sizes differ {x.size} {y.size}")
                differ += 1
                continue
            diff = ImageChops.difference(x, y)
            if diff.getbbox() is None:
                print(f"  {name}: equal")
                continue
            data = diff.get_flattened_data() if hasattr(diff, "get_flattened_data") else diff.getdata()
            count = sum(1 for pixel in data if pixel != (0, 0, 0))
            print(f"  {name}: {count} pixels differ, by up to {max(high for _low, high in diff.getextrema())}")
            differ += 1
    return len(names), differ


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, help="another checkout whose kiosk render to compare with")
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    size = tuple(int(n) for n in args.size.split("x"))
    total = different = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, folder in (("demo", ROOT / "demo"), ("awkward", awkward(root / "awkward"))):
            cfg = config(root, folder, name)
            new = root / f"{name}-new"
            kiosk_render(ROOT, cfg, new, args.size)
            old = root / f"{name}-old"
            old_path(cfg, old, size)
            print(f"{name}: the texture presenter's read-back against the page Surfaces (the old code path)")
            files, differ = compare(new, old)
            total, different = total + files, different + differ
            if args.before:
                before = root / f"{name}-before"
                kiosk_render(args.before, config(root, folder, name + "-before"), before, args.size)
                print(f"{name}: this checkout's kiosk render against {args.before}'s")
                files, differ = compare(new, before)
                total, different = total + files, different + differ
    print(f"{total - different} of {total} compared files equal")


if __name__ == "__main__":
    main()
