"""Shared set-up for the sync benchmarks: authoring folders, a served tree, a board config.

Run the benchmarks from the repository root, e.g. `python bench/sync_delta.py`.
They use nginx when installed (what a province runs), else the test suite's Python server.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from PIL import Image  # noqa: E402
from servers import Nginx, StaticServer  # noqa: E402

from kiosk import config  # noqa: E402


def authoring(folder: Path, images: dict[str, tuple[int, int, int]], junk: dict[str, int] | None = None) -> Path:
    """One image slide per name; `junk` appends random bytes (a big file that still reads as an image)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = ["slides:"]
    for name, colour in images.items():
        path = folder / "images" / name
        Image.new("RGB", (320, 240), colour).save(path, quality=90)
        if junk and name in junk:
            with open(path, "ab") as f:
                left = junk[name]
                while left:
                    n = min(left, 1 << 24)
                    f.write(os.urandom(n))
                    left -= n
        lines += [f"  - id: anh-{Path(name).stem}", f"    file: images/{name}"]
    (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def loadavg() -> str:
    """The 1-, 5- and 15-minute load of the machine, noted with every figure (other jobs share it)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def serve(root: Path, work: Path, limit_rate: str | None = None):
    if Nginx.available():
        return Nginx(root, work / "nginx", limit_rate=limit_rate), "nginx"
    return StaticServer(root), "python"


def board_config(folder: Path, url: str, max_mb: int = 2048) -> config.Config:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(
        f"device: {{id: bench, name: Bench}}\nsource: {{url: '{url}', poll_seconds: 60}}\n"
        f"cache: {{path: cache, max_mb: {max_mb}}}\n", encoding="utf-8")
    return config.load(folder / "config.yaml")
