"""The soak (issue 9): 24 hours of a board at accelerated time, content changing every hour, the report server
down 20 minutes of every two. Prints RSS, open files, threads and cache size every hour; asserts nothing.

    python bench/soak.py [--hours 24] [--size 1920x1080] [--slide-seconds 10] [--picture-kb 400]

The real Player loop, FrameBuilder and Renderer, Syncer over HTTP (a poll a minute), Preparer, PlayQueue and
Reporter run on one simulated clock (tests/faultlab.py `soak`); only the screen is a stand-in that holds the
frame it shows. At 10-second slides a day is 8,640 slides drawn at full size: a few minutes of real time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import faultlab  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--slide-seconds", type=float, default=10)
    parser.add_argument("--picture-kb", type=int, default=400)
    args = parser.parse_args()
    size = tuple(int(n) for n in args.size.split("x"))
    print(f"load {Path('/proc/loadavg').read_text().split()[0]}; {args.hours:g} h at {args.size}, "
          f"{args.slide_seconds:g} s slides, 3 new pictures of {args.picture_kb} kB an hour, cache.max_mb 16")
    print("| hour | RSS MB | open files | threads | cache MiB | font sizes held | plays recorded | at the server "
          "| queued | real s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    started = time.monotonic()

    def hour(n: int, f: dict) -> None:
        print(f"| {n} | {f['rss_mb']} | {f['open_files']} | {f['threads']} | {f['cache_mb']} | {f['fonts']} "
              f"| {f['plays_recorded']} "
              f"| {f['plays_at_server']} | {f['plays_queued']} | {time.monotonic() - started:.0f} |", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        result = faultlab.soak(Path(tmp), args.hours, args.slide_seconds, size, 3, args.picture_kb * 1024, hour)
    hours = result["hours"]
    warm = hours[len(hours) // 4:] or hours
    print(f"\nafter warm-up (hour {warm[0]['hour']} on): RSS {warm[0]['rss_mb']} → {warm[-1]['rss_mb']} MB, "
          f"open files {min(h['open_files'] for h in warm)}-{max(h['open_files'] for h in warm)}, "
          f"threads {min(h['threads'] for h in warm)}-{max(h['threads'] for h in warm)}, "
          f"cache {min(h['cache_mb'] for h in warm)}-{max(h['cache_mb'] for h in warm)} MiB")
    print(f"plays recorded {result['plays_recorded']}, lost {result['plays_lost']}; black frames "
          f"{result['black_frames']}; {time.monotonic() - started:.0f} s of real time")


if __name__ == "__main__":
    main()
