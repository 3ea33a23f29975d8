"""A 20-page PDF prepared for 1920x1080 (issue 12, "Measure"): time and peak RSS, each round a fresh process
with an empty cache, as the content thread of `kiosk run` does it (kiosk.source.prepare.prepare_programme).
Prints its figures; asserts nothing.

    python bench/document_prepare.py [--rounds 3] [--pages 20] [--size 1920x1080]

The PDF is A4 pages of Vietnamese text with Noto Sans embedded, made by tests/pdfs.py (as a commune office
exports a decree from Word). Time is the child's wall time from opening the PDF to the last section's index
written; peak RSS is the child's ru_maxrss, with its baseline (Python, Pillow, pypdfium2 imported) beside it.
The 1-minute load average is printed with each run: figures from a busy machine are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from kiosk.content import media, programme
from kiosk.source import prepare
import pypdfium2, PIL.Image  # imported before the baseline: what every preparation has loaded
pdf, cache, w, h = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ref = programme.MediaRef(media.sha256_file(pdf), pdf.stat().st_size, pdf, pdf.name)
slide = programme.Slide(id="quyet-dinh", type="document", image=ref, auto_duration=True)
start = time.perf_counter()
problems = prepare.prepare_programme(programme.Programme((slide,), "v"), (w, h), "fit", cache)
seconds = time.perf_counter() - start
assert not problems, problems
index = json.loads(next((cache / "prepared").glob("*.json")).read_text())
sections = sum(len(p["sections"]) for p in index["pages"])
print(json.dumps({"seconds": seconds, "sections": sections, "base_kb": base,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    sys.path.insert(0, str(ROOT / "tests"))
    import pdfs

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-doc-") as tmp:
        pdf = pdfs.vietnamese_pdf(Path(tmp) / "quyet-dinh.pdf", args.pages)
        print(f"{args.pages}-page PDF ({pdf.stat().st_size / 1e3:.0f} kB) prepared for {w}x{h}, "
              f"{args.rounds} rounds, each a fresh process and cache")
        results = []
        for round_ in range(1, args.rounds + 1):
            cache = Path(tmp) / f"cache-{round_}"
            load = loadavg()
            out = subprocess.run([sys.executable, "-c", CHILD, str(pdf), str(cache), str(w), str(h)], env=env,
                                 capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            results.append(result)
            print(f"  round {round_}: {result['seconds']:.2f} s, {result['sections']} sections, peak RSS "
                  f"{result['peak_kb'] / 1024:.0f} MB (baseline {result['base_kb'] / 1024:.0f} MB), "
                  f"load {load}")
        seconds = [r["seconds"] for r in results]
        peaks = [r["peak_kb"] / 1024 for r in results]
        print(f"time {min(seconds):.2f}-{max(seconds):.2f} s ({min(seconds) / args.pages * 1000:.0f} ms a page), "
              f"peak RSS {min(peaks):.0f}-{max(peaks):.0f} MB")


if __name__ == "__main__":
    main()
