"""The fuzzing's long run (issue 9): tests/test_fuzz.py with 100,000 examples per target. Prints, per target,
the examples run, the slowest example and the largest peak of memory of one example. Asserts nothing itself
(the tests it runs do: only the documented error escapes, and each example stays under 64 MB).

    python bench/fuzz.py [--examples 100000] [-k PATTERN]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("-k", default=None, help="only the tests matching this pytest expression")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.json"
        env = {**os.environ, "KIOSK_FUZZ_EXAMPLES": str(args.examples), "KIOSK_FUZZ_REPORT": str(report),
               "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"}
        print(f"load {Path('/proc/loadavg').read_text().split()[0]}; {args.examples:,} examples per target",
              flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py",
                               *(["-k", args.k] if args.k else [])], cwd=ROOT, env=env)
        figures = json.loads(report.read_text()) if report.exists() else {}
    print("\n| target | examples | escaped | slowest example | largest example |\n|---|---|---|---|---|")
    for target, f in figures.items():
        print(f"| {target} | {f['examples']:,} | {'none' if done.returncode == 0 else 'see above'} | "
              f"{f['max_s'] * 1000:.1f} ms | {f['max_mb']:.1f} MB |")
    print(f"\npytest exit status {done.returncode}; {time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
