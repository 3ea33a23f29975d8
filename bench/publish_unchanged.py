"""Republishing 1,000 unchanged pictures: how long `kiosk publish` takes when nothing changed.

    python bench/publish_unchanged.py [--pictures 1000] [--rounds 3]

An authoring folder of 1,000 distinct 1280x720 JPEG photos-like pictures (each ~100 kB) is published
once (cold: every picture hashed and decoded), then republished unchanged, each round both with the
memo of what was learnt about the pictures (the normal case) and without one (a fresh cache home:
every picture read again, as before the memo). The content trees are compared byte for byte.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from kiosk.source import publish  # noqa: E402


def authoring(folder: Path, pictures: int) -> Path:
    (folder / "images").mkdir(parents=True)
    lines = ["slides:"]
    rng = random.Random(10)
    for n in range(pictures):
        image = Image.new("RGB", (1280, 720), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x, y = rng.randrange(1280), rng.randrange(720)
            draw.ellipse((x, y, x + rng.randrange(40, 400), y + rng.randrange(40, 300)),
                         fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        image.save(folder / "images" / f"{n:04d}.jpg", quality=85)
        lines += [f"  - id: anh-{n:04d}", f"    file: images/{n:04d}.jpg", "    duration: 10"]
    (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    old = time.time() - 3600  # copied in an hour ago, like pictures an editor collected
    for path in (folder / "images").iterdir():
        os.utime(path, (old, old))
    return folder


NOW = 1_796_000_000.0  # one publication time for every tree: generated_at is part of the bytes


def tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pictures", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        tmp = Path(tmp)
        src = authoring(tmp / "src", args.pictures)
        time.sleep(2.1)  # the folder's own ctime settles past the memo's "changed a moment ago" window
        os.environ["XDG_CACHE_HOME"] = str(tmp / "home-cache")
        t0 = time.perf_counter()
        publish.publish(src, tmp / "out", None, now=NOW)
        cold = time.perf_counter() - t0
        first = tree(tmp / "out")
        with_memo, without = [], []
        for n in range(args.rounds):
            os.environ["XDG_CACHE_HOME"] = str(tmp / "home-cache")
            t0 = time.perf_counter()
            line = publish.publish(src, tmp / "out", None, now=NOW)
            with_memo.append(time.perf_counter() - t0)
            assert "unchanged" in line, line
            os.environ["XDG_CACHE_HOME"] = str(tmp / f"empty-{n}")
            t0 = time.perf_counter()
            publish.publish(src, tmp / "out", None, now=NOW)
            without.append(time.perf_counter() - t0)
        same = tree(tmp / "out") == first
        shutil.rmtree(tmp / "home-cache", ignore_errors=True)
        os.environ["XDG_CACHE_HOME"] = str(tmp / "home-cache")
        publish.publish(src, tmp / "fresh", None, now=NOW)  # from scratch, no memo: the same tree
        identical = same and tree(tmp / "fresh") == first
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{args.pictures} pictures; first publish {cold:.2f} s; load {load}")
    print(f"republish unchanged, with the memo: median {statistics.median(with_memo):.3f} s "
          f"(min {min(with_memo):.3f}, max {max(with_memo):.3f}; {args.rounds} rounds)")
    print(f"republish unchanged, every picture read again (no memo): median {statistics.median(without):.2f} s")
    print(f"content trees byte-identical (with memo, without, from scratch): {identical}")


if __name__ == "__main__":
    main()
