"""An accelerated soak of proof of play and reporting: does the board's memory grow?

Everything on the board side is real and runs on its own threads as in `kiosk run`: a "player" thread
records plays at a high rate into a PlayQueue (SQLite WAL on disk), and Reporter.run() flushes,
heartbeats and uploads against a report server on 127.0.0.1. The server runs in a child process (so
its memory is not counted) and fails now and then (503 for 3 s every 30 s) so the backoff, retry and
requeue paths run too; every 50th heartbeat answer asks for a screenshot (a 1920x1080 PNG) and a sync.

Time is compressed: the heartbeat period is 0.2 s instead of 60 s (300x) and plays arrive at ~300/s
instead of one per 10 s (3000x). RSS (VmRSS from /proc/self/status) is sampled every 5 s; the baseline
is taken after a 30 s warm-up.

    python bench/reports_soak.py [--seconds 600] [--rate 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import logging
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_server import ReportServer, write_config  # noqa: E402

from kiosk.report.plays import Play, PlayQueue  # noqa: E402
from kiosk.report.reporter import Reporter  # noqa: E402
from kiosk.status import Status  # noqa: E402


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def serve(url_out, stop, results) -> None:
    """The child process: a report server that fails for 3 s every 30 s."""
    count = {"n": 0}

    def answer() -> bytes:
        count["n"] += 1
        if count["n"] % 50 == 0:
            return b'{"commands": [{"name": "upload_screenshot", "id": "s"}, {"name": "sync_now"}]}'
        return b"{}"

    server = ReportServer(answer=answer).start()
    url_out.put(server.url)
    started = time.monotonic()
    while not stop.wait(0.5):
        server.mode = "503" if (time.monotonic() - started) % 30 < 3 else "up"
    server.mode = "up"
    results.put({
        "received": sorted(server.received), "heartbeats": server.heartbeats, "duplicates": server.duplicates,
        "screenshots": server.screenshots, "attempts": server.attempts, "plays_posts": server.plays_posts,
    })
    server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=300.0, help="plays recorded per second")
    parser.add_argument("--tracemalloc", action="store_true", help="also show where Python allocations grew")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    ctx = mp.get_context("fork")
    url_q, stop_server, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    child = ctx.Process(target=serve, args=(url_q, stop_server, results), daemon=True)
    child.start()
    url = url_q.get(timeout=30)

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1920, 1080), (0, 70, 140)).save(buf, "PNG")
    png = buf.getvalue()

    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp), url, heartbeat_seconds=60)
        cfg = dataclasses.replace(cfg, health=dataclasses.replace(cfg.health, heartbeat_seconds=0.2))
        queue = PlayQueue(Path(tmp) / "plays.sqlite3")
        syncs = []
        reporter = Reporter(cfg, Status(), queue, lambda name, a: syncs.append(name), lambda: png,
                            flush_seconds=0.5, max_backoff=0.2)
        stop, stop_player = threading.Event(), threading.Event()
        counts = {"recorded": 0}  # a count, not a list of ids: the benchmark's bookkeeping must not grow

        def player() -> None:
            nonlocal_count = 0
            rng = random.Random(1)
            start = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
            period = 1 / args.rate
            next_at = time.monotonic()
            while not stop_player.is_set():
                shown = 8 + 7 * rng.random()
                ended = start + dt.timedelta(seconds=nonlocal_count * 10)
                p = Play.create(f"slide-{rng.randrange(40)}", ended - dt.timedelta(seconds=shown), ended,
                                cut_short=rng.random() < 0.05, content_version="v42", duration_s=shown)
                queue.record(p)
                nonlocal_count += 1
                next_at += period
                delay = next_at - time.monotonic()
                if delay > 0:
                    stop_player.wait(delay)
            counts["recorded"] = nonlocal_count

        threads = [threading.Thread(target=player, name="player"),
                   threading.Thread(target=reporter.run, args=(stop,), name="reports")]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        samples: list[tuple[float, int]] = []
        traced = None
        if args.tracemalloc:
            import tracemalloc

            tracemalloc.start(8)
        while (elapsed := time.monotonic() - t0) < args.seconds:
            samples.append((elapsed, rss_kib()))
            if args.tracemalloc and traced is None and elapsed >= 30:
                traced = tracemalloc.take_snapshot()
            time.sleep(min(5.0, max(0.0, args.seconds - elapsed)))
        samples.append((time.monotonic() - t0, rss_kib()))
        if traced is not None:
            growth = tracemalloc.take_snapshot().compare_to(traced, "traceback")
            print("Python allocations that grew most after warm-up:")
            for stat in growth[:5]:
                where = stat.traceback.format()[-1].strip()
                print(f"  {stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks at {where}")
            print(f"  Python heap now {tracemalloc.get_traced_memory()[0] / 1024 / 1024:.2f} MiB")
        stop_player.set()
        threads[0].join()
        drain_from = time.monotonic()
        while queue.count() and time.monotonic() - drain_from < 60:
            time.sleep(0.1)
        stop.set()
        threads[1].join()
        left = queue.count()
        queue.close()
    stop_server.set()
    got = results.get(timeout=30)
    child.join(timeout=10)

    warm = [kib for s, kib in samples if s >= 30] or [samples[-1][1]]
    base, final, peak = warm[0], samples[-1][1], max(warm)
    recorded = counts["recorded"]
    lost = recorded - len(got["received"])  # ids are uuid4: unique
    compressed_h = args.seconds * 300 / 3600
    print(f"soak: {args.seconds:.0f} s real; heartbeat period 0.2 s (300x: {compressed_h:.0f} h of heartbeats),"
          f" {recorded} plays ({recorded * 10 / 86400:.0f} board-days at one play per 10 s)")
    print(f"heartbeats answered: {got['heartbeats']}; plays uploads: {got['plays_posts']};"
          f" screenshots: {got['screenshots']}; sync_now: {syncs.count('sync_now')}; requests incl. failed:"
          f" {got['attempts']}")
    print(f"plays lost: {lost}; left in queue: {left}; duplicate uploads: {got['duplicates']}")
    print(f"RSS: start {samples[0][1] / 1024:.1f} MiB, after warm-up {base / 1024:.1f} MiB,"
          f" end {final / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB")
    print(f"RSS growth after warm-up: {(final - base) / 1024:+.2f} MiB (peak {(peak - base) / 1024:+.2f} MiB)")
    print("samples (s, MiB): " + " ".join(f"{s:.0f}:{k / 1024:.1f}" for s, k in samples[:: max(1, len(samples) // 12)]))
    return 0 if lost == 0 and (final - base) <= 5 * 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
