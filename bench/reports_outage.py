"""A 30-minute outage of the report server, on a simulated clock: are plays lost, how fast does the queue drain?

The board side is real: a PlayQueue on disk (SQLite WAL) and a Reporter talking HTTP to a real server on
127.0.0.1. Only time is simulated: the Reporter's decisions are driven through `tick(now)` with an
injected clock, and the "player" records a play every 10 s of simulated time. The server answers 503
for the first half of the outage and drops connections for the second half.

    python bench/reports_outage.py [--seeds 20] [--outage 1800]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_server import ReportServer, write_config  # noqa: E402

from kiosk.report.plays import Play, PlayQueue  # noqa: E402
from kiosk.report.reporter import Reporter  # noqa: E402
from kiosk.status import Status  # noqa: E402

TZ = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 11, 26, 7, 0, tzinfo=TZ)


class SimClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def simulate(seed: int, outage_start: float, outage: float, after: float, play_every: float) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        server = ReportServer().start()
        cfg = write_config(Path(tmp), server.url, heartbeat_seconds=60)
        queue = PlayQueue(Path(tmp) / "plays.sqlite3")
        clock = SimClock()
        reporter = Reporter(
            cfg, Status(), queue, lambda name, args: None,
            clock=clock, wall=lambda: START + dt.timedelta(seconds=clock.t), rng=random.Random(seed),
        )
        commits = 0
        real_flush = queue.flush

        def counting_flush() -> int:
            nonlocal commits
            written = real_flush()
            commits += bool(written)
            return written

        queue.flush = counting_flush

        outage_end = outage_start + outage
        end = outage_end + after
        recorded: list[str] = []
        before_end: set[str] = set()
        next_tick, next_play = 0.0, play_every * rng.random()
        drained_at = None
        attempts_in_outage = 0
        last_failed_tick = None
        gaps: list[float] = []
        last_tick = None
        while clock.t < end:
            clock.t = min(next_tick, next_play)
            if next_play <= next_tick:
                shown = 8 + 7 * rng.random()
                started = START + dt.timedelta(seconds=clock.t - shown)
                p = Play(uuid.uuid4().hex, "lich-tiep-cong-dan", started.isoformat(timespec="seconds"),
                         (started + dt.timedelta(seconds=shown)).isoformat(timespec="seconds"), round(shown, 3))
                queue.record(p)
                recorded.append(p.id)
                if clock.t < outage_end:
                    before_end.add(p.id)
                next_play += play_every
                continue
            in_outage = outage_start <= clock.t < outage_end
            server.mode = ("503" if clock.t < outage_start + outage / 2 else "drop") if in_outage else "up"
            before = server.attempts
            delay = reporter.tick(clock.t)
            if in_outage:
                attempts_in_outage += server.attempts - before
                if server.attempts > before:
                    if last_tick is not None:
                        gaps.append(clock.t - last_tick)
                    last_tick = clock.t
                last_failed_tick = clock.t
            next_tick = clock.t + delay
            if drained_at is None and clock.t >= outage_end and before_end <= server.received:
                drained_at = clock.t
        # the end of the run: one last cycle so every play recorded so far is uploaded
        reporter.next_report = clock.t
        reporter.tick(clock.t)
        lost = len(set(recorded) - server.received)
        result = {
            "recorded": len(recorded),
            "received": len(server.received & set(recorded)),
            "lost": lost,
            "duplicates": server.duplicates,
            "queued_at_outage_end": len(before_end - server.received) if drained_at is None else None,
            "drain_s": None if drained_at is None else drained_at - outage_end,
            "attempts_in_outage": attempts_in_outage,
            "max_gap_in_outage_s": max(gaps) if gaps else None,
            "last_failed_tick": last_failed_tick,
            "commits_per_hour": commits / (end / 3600),
            "queue_left": queue.count(),
        }
        queue.close()
        server.stop()
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--outage", type=float, default=1800.0, help="seconds (simulated)")
    parser.add_argument("--play-every", type=float, default=10.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    runs = [simulate(seed, 300.0, args.outage, 900.0, args.play_every) for seed in range(args.seeds)]
    drains = [r["drain_s"] for r in runs]
    print(f"outage: {args.outage / 60:.0f} min (simulated), heartbeat_seconds=60, one play every {args.play_every:g} s,"
          f" {args.seeds} runs (jitter seeds)")
    print(f"plays recorded per run:        {runs[0]['recorded']}")
    print(f"plays lost (all runs):         {sum(r['lost'] for r in runs)}")
    print(f"plays left in queue at end:    {sum(r['queue_left'] for r in runs)}")
    print(f"duplicate uploads (all runs):  {sum(r['duplicates'] for r in runs)}")
    print(f"drain after the outage:        median {statistics.median(drains):.1f} s, max {max(drains):.1f} s")
    print(f"requests during the outage:    median {statistics.median(r['attempts_in_outage'] for r in runs):.0f}"
          f" (a healthy board sends {args.outage / 60:.0f} heartbeats in that time)")
    print(f"longest gap between attempts:  {max(r['max_gap_in_outage_s'] for r in runs):.1f} s")
    print(f"SQLite commits per hour:       {statistics.median(r['commits_per_hour'] for r in runs):.0f}"
          f" (one per play would be {3600 / args.play_every:.0f})")
    return 0 if all(r["lost"] == 0 for r in runs) and max(drains) <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
