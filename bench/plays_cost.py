"""What proof of play costs the render loop and the SD card.

- record(): the render loop's call, timed over many plays (memory only).
- flush(): one transaction of a minute's plays (6) and of a full batch (50), timed.
- bytes written to storage per day at one play every 10 s, from /proc/self/io (write_bytes: what the
  process sent to the block layer), with the batching used (a flush a minute) and, for comparison,
  with a commit per play.

    python bench/plays_cost.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.report.plays import Play, PlayQueue  # noqa: E402


def play() -> Play:
    return Play(uuid.uuid4().hex, "lich-tiep-cong-dan", "2026-11-26T08:30:00+07:00", "2026-11-26T08:30:15+07:00",
                15.0, False, "3f2a9c0d1e2f")


def written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # on the real disk, not a tmpfs
        queue = PlayQueue(Path(tmp) / "plays.sqlite")
        plays = [play() for _ in range(20_000)]
        t = time.perf_counter_ns()
        for p in plays[:4_000]:
            queue.record(p)
        per_record_us = (time.perf_counter_ns() - t) / 4_000 / 1000
        queue.flush()

        def timed_flush(n: int) -> float:
            for p in [play() for _ in range(n)]:
                queue.record(p)
            t = time.perf_counter()
            queue.flush()
            return (time.perf_counter() - t) * 1000

        f6 = statistics.median(timed_flush(6) for _ in range(50))
        f50 = statistics.median(timed_flush(50) for _ in range(50))
        queue.close()

        def per_day(plays_per_commit: int, commits: int) -> float:
            q = PlayQueue(Path(tmp) / f"io-{plays_per_commit}.sqlite")
            import os

            before = written()
            for _ in range(commits):
                for _ in range(plays_per_commit):
                    q.record(play())
                q.flush()
                os.sync()  # let the kernel write back now, so write_bytes sees it
            after = written()
            q.close()
            return (after - before) / (commits * plays_per_commit) * 8640  # bytes per play x plays per day

        batched = per_day(6, 60)
        single = per_day(1, 360)
    print(f"record() on the render loop: {per_record_us:.2f} µs per play (memory only)")
    print(f"flush of 6 plays (one minute): median {f6:.2f} ms; of 50 plays: {f50:.2f} ms (reporting thread)")
    print(f"written to storage per day at one play / 10 s: batched (a flush a minute) {batched / 1e6:.1f} MB,"
          f" a commit per play {single / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
