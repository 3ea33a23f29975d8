"""Benchmarks of `kiosk hub` (docs/PERFORMANCE.md, "The hub"). One command each, from the repository root:

    python bench/hub.py heartbeat [--engine sqlite|postgresql] [--rate 200] [--seconds 30]
    python bench/hub.py plays     [--engine …]     plays ingested per second, batches of 500
    python bench/hub.py fleet [--boards 3500]      the fleet page with 3,500 boards: server time, weight
    python bench/hub.py stats     [--engine …]     a year of 100 boards summarised per month, from the roll-ups
    python bench/hub.py           everything above, on both engines (PostgreSQL: .ci/postgres)

The hub is a real `kiosk hub` process; the load comes from this one (asyncio, keep-alive connections).
Every figure is printed with /proc/loadavg.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import secrets
import time

import hublab
import requests


def bench_heartbeat(engine: str, rate: float, seconds: float, boards: int = 1000, connections: int = 64) -> None:
    with hublab.database(engine) as url, hublab.hub(url) as (process, cfg, store):
        tokens = list(hublab.register(store, boards).items())
        bodies = {board: hublab.heartbeat(board, 1000.0) for board, _ in tokens}
        latencies: list[float] = []
        errors: dict[int, int] = {}

        async def run() -> None:
            pool: asyncio.Queue = asyncio.Queue()
            for _ in range(connections):
                pool.put_nowait(hublab.Connection(cfg.port))
            start = time.perf_counter()
            tasks = []
            total = int(rate * seconds)

            async def one(i: int, due: float) -> None:
                board, token = tokens[i % len(tokens)]
                conn = await pool.get()
                try:
                    status, _ = await conn.request(f"/devices/{board}/heartbeat", bodies[board], token)
                finally:
                    pool.put_nowait(conn)
                latencies.append(time.perf_counter() - due)  # from when it was due: no coordinated omission
                if status != 200:
                    errors[status] = errors.get(status, 0) + 1

            for i in range(total):  # open loop: a heartbeat every 1/rate s, whatever the answers do
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i, due)))
            await asyncio.gather(*tasks)

        before = hublab.cpu_seconds(process.proc.pid)
        began = time.perf_counter()
        asyncio.run(run())
        took = time.perf_counter() - began
        cpu = hublab.cpu_seconds(process.proc.pid) - before
        print(f"heartbeat {engine}: {len(latencies)} heartbeats at {rate:.0f}/s over {boards} boards "
              f"({len(latencies) / took:.0f}/s achieved): {hublab.summary(latencies)}; errors {errors or 0}; "
              f"hub CPU {100 * cpu / took:.0f} % of one core; load {hublab.load()}")


def bench_plays(engine: str, seconds: float = 20, boards: int = 20, concurrency: int = 4) -> None:
    with hublab.database(engine) as url, hublab.hub(url) as (_process, cfg, store):
        tokens = list(hublab.register(store, boards).items())
        base = time.time() - 86400

        def batch(board: str, n: int) -> bytes:
            plays = []
            for _ in range(500):
                start = base + n * 5 + random.random()
                plays.append({"id": secrets.token_hex(16), "slide_id": f"tin-{random.randrange(20)}",
                              "started_at": _iso(start), "ended_at": _iso(start + 10), "duration_s": 10.0,
                              "cut_short": False, "content_version": "3f2a9c"})
            return json.dumps({"device_id": board, "plays": plays}).encode()

        prepared = [(b, t, batch(b, i)) for i, (b, t) in enumerate(tokens * 10)]
        counts = {"new": 0, "dup": 0, "requests": 0}
        latencies: list[float] = []

        async def run(replay: bool) -> float:
            deadline = time.perf_counter() + seconds
            queue = list(prepared)

            async def worker() -> None:
                conn = hublab.Connection(cfg.port)
                while time.perf_counter() < deadline and queue:
                    board, token, body = queue.pop() if not replay else random.choice(prepared)
                    t0 = time.perf_counter()
                    status, answer = await conn.request(f"/devices/{board}/plays", body, token)
                    latencies.append(time.perf_counter() - t0)
                    assert status == 200, answer
                    result = json.loads(answer)
                    counts["new"] += result["accepted"]
                    counts["dup"] += result["duplicates"]
                    counts["requests"] += 1
                conn.close()

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - began

        took = asyncio.run(run(False))
        print(f"plays {engine}: {counts['new']} new plays in {counts['requests']} batches of 500 in {took:.1f} s: "
              f"{counts['new'] / took:.0f} plays/s; per batch {hublab.summary(latencies)}; load {hublab.load()}")
        counts.update(new=0, dup=0, requests=0)
        latencies.clear()
        took = asyncio.run(run(True))
        print(f"plays {engine}, replayed batches: {counts['dup']} duplicates dropped, {counts['new']} stored, "
              f"{counts['dup'] / took:.0f} plays/s; load {hublab.load()}")


def _iso(epoch: float) -> str:
    import datetime as dt
    import zoneinfo

    return dt.datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")).isoformat()


def bench_fleet(engine: str = "sqlite", boards: int = 3500) -> None:
    from kiosk.hub import protocol

    with hublab.database(engine) as url, hublab.hub(url) as (_process, cfg, store):
        tokens = hublab.register(store, boards)
        now = time.time()
        for i, board in enumerate(tokens):
            hb = protocol.parse_heartbeat(hublab.heartbeat(board, 86400.0 + i), board)
            if i % 7:  # most speak, some are silent
                store.record_heartbeat(board, hb, now - (i % 50))
        store.set_user("bench", "mat-khau-dai", "viewer", now)
        cookie = store.sign_in("bench", "mat-khau-dai", now, 1)
        session = requests.Session()
        session.cookies.set("kiosk_hub_session", cookie)
        times, size = [], 0
        for _ in range(10):
            t0 = time.perf_counter()
            answer = session.get(f"http://127.0.0.1:{cfg.port}/", timeout=60)
            times.append(time.perf_counter() - t0)
            assert answer.status_code == 200 and answer.text.count("data-board=") == boards
            size = len(answer.content)
        filtered = []
        for _ in range(10):
            t0 = time.perf_counter()
            session.get(f"http://127.0.0.1:{cfg.port}/", params={"state": "silent"}, timeout=60)
            filtered.append(time.perf_counter() - t0)
        print(f"fleet page {engine}, {boards} boards: server time {hublab.summary(times)}; "
              f"{size / 1e6:.2f} MB of HTML, {len(gzip.compress(answer.content, 6)) / 1e3:.0f} kB gzipped (nginx "
              f"gzip on); filtered to the silent ones: p50 {hublab.percentile(filtered, 50) * 1000:.0f} ms; "
              f"load {hublab.load()}")


def bench_stats(engine: str, boards: int = 100, slides: int = 20, days: int = 365) -> None:
    import datetime as dt

    from kiosk.hub import statistics

    with hublab.database(engine) as url, hublab.hub(url) as (_process, cfg, store):
        ids = list(hublab.register(store, boards))
        first = dt.date(2026, 1, 1)
        # A year of roll-ups as the ingest writes them (a slide every ~10 s all day: 8,640 plays a day a board).
        t0 = time.perf_counter()
        rows, months, uptime = [], {}, []
        for board in ids:
            for d in range(days):
                day = (first + dt.timedelta(days=d)).isoformat()
                uptime.append((board, day, 86400.0 * random.uniform(0.9, 1.0), 1440))
                for s in range(slides):
                    rows.append((board, day, f"tin-{s:02d}", 432, 4320.0))
                    key = (board, day[:7], f"tin-{s:02d}")
                    n, secs = months.get(key, (0, 0.0))
                    months[key] = (n + 432, secs + 4320.0)
        with store.db.tx() as tx:
            tx.executemany("INSERT INTO play_days (board_id, day, slide_id, plays, seconds) VALUES (?, ?, ?, ?, ?)",
                           rows)
            tx.executemany("INSERT INTO play_months (board_id, month, slide_id, plays, seconds) "
                           "VALUES (?, ?, ?, ?, ?)", [(*k, *v) for k, v in months.items()])
            tx.executemany("INSERT INTO board_days (board_id, day, online_s, heartbeats) VALUES (?, ?, ?, ?)",
                           uptime)
            tx.execute("UPDATE boards SET first_seen = ?",
                       (dt.datetime(2026, 1, 1, tzinfo=cfg.zone).timestamp(),))
        if engine == "postgresql":
            with store.db.tx() as tx:
                tx.execute("ANALYZE")
        setup = time.perf_counter() - t0
        print(f"stats {engine}: {len(rows)} daily roll-up rows ({boards} boards x {slides} slides x {days} days, "
              f"{len(rows) * 432 / 1e6:.0f} M plays) written in {setup:.1f} s")
        auth = ("bench", "mat-khau-dai")
        store.set_user(*auth, "viewer", time.time())
        for group in ("board_slide", "board", "slide"):
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                answer = requests.get(f"http://127.0.0.1:{cfg.port}/stats/plays.json", auth=auth, timeout=60,
                                      params={"period": "month", "from": "2026-01", "to": "2026-12", "group": group})
                times.append(time.perf_counter() - t0)
            n = len(answer.json()["rows"])
            print(f"stats {engine}: a year per month, group {group}: {n} rows in "
                  f"{min(times):.2f}-{max(times):.2f} s (HTTP, JSON, incl. ~0.05 s Basic-auth scrypt); "
                  f"load {hublab.load()}")
        t0 = time.perf_counter()
        q = statistics.Query("month", "2026-01-01", "2026-12-31")
        up = statistics.uptime(store, q, time.time(), cfg.zone)
        print(f"stats {engine}: uptime per board and month: {len(up)} rows in {time.perf_counter() - t0:.2f} s "
              f"(in process); load {hublab.load()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="?", default="all", choices=("all", "heartbeat", "plays", "fleet", "stats"))
    parser.add_argument("--engine", choices=("sqlite", "postgresql"))
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--boards", type=int, default=3500, help="fleet page: how many boards")
    args = parser.parse_args()
    engines = [args.engine] if args.engine else ["sqlite", "postgresql"]
    if not args.engine and hublab.postgres_reachable():
        print(f"hub bench: PostgreSQL skipped: {hublab.postgres_reachable()}")
        engines = ["sqlite"]
    for engine in engines:
        if args.what in ("all", "heartbeat"):
            bench_heartbeat(engine, args.rate, args.seconds)
        if args.what in ("all", "plays"):
            bench_plays(engine)
        if args.what in ("all", "fleet"):
            bench_fleet(engine, args.boards)
        if args.what in ("all", "stats"):
            bench_stats(engine)


if __name__ == "__main__":
    main()
