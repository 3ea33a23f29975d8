"""500 simulated light boards for 10 minutes against a real `kiosk hub`, restarted (SIGTERM) and killed
(SIGKILL) in between: zero plays lost, duplicates dropped.

    python bench/hub_soak.py [--boards 500] [--minutes 10] [--engine sqlite|postgresql]

Each light board does what kiosk.report.reporter does, without a player: a play every ~10 s into its own
queue, every heartbeat period (30 s here, jittered) a heartbeat, then its queue in batches of 500; a play
leaves the queue only after a 2xx, a failure is retried after a jittered backoff (2.5-5 s, doubling,
capped at the period). One batch in twenty is sent twice (a 2xx lost on the way). At the end every board
flushes its queue; the hub's database must hold exactly the plays generated, each once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import signal
import time

import hublab
from hubs import HubProcess


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--boards", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--period", type=float, default=30.0)
    args = parser.parse_args()
    seconds = args.minutes * 60
    with hublab.database(args.engine) as url, hublab.hub(url) as (first, cfg, store):
        tokens = list(hublab.register(store, args.boards).items())
        state = {"process": first, "restarts": 0, "kills": 0, "errors": 0, "sent_twice": 0}
        generated: set[tuple[str, str]] = set()
        acked_new = {"n": 0, "dup": 0}

        async def board(board_id: str, token: str, stop_at: float) -> None:
            rng = random.Random(board_id)
            conn = hublab.Connection(cfg.port)
            queue: list[dict] = []
            next_play = time.monotonic() + rng.uniform(0, 10)
            next_report = time.monotonic() + rng.uniform(0, args.period)
            failures = 0
            draining = False
            while True:
                now = time.monotonic()
                while now >= next_play and now < stop_at:
                    start = time.time()
                    play = {"id": secrets.token_hex(16), "slide_id": f"tin-{rng.randrange(12)}",
                            "started_at": _iso(start - 10), "ended_at": _iso(start), "duration_s": 10.0,
                            "cut_short": False, "content_version": "3f2a9c"}
                    queue.append(play)
                    generated.add((board_id, play["id"]))
                    next_play += rng.uniform(9, 11)
                if now >= stop_at and not draining:
                    draining, next_report = True, now
                if draining and not queue:
                    conn.close()
                    return
                if now >= next_report:
                    try:
                        status, _ = await conn.request(f"/devices/{board_id}/heartbeat",
                                                       hublab.heartbeat(board_id, now), token)
                        if status != 200:
                            raise ConnectionError(status)
                        while queue:
                            batch = queue[:500]
                            body = json.dumps({"device_id": board_id, "plays": batch}).encode()
                            for _ in range(2 if rng.random() < 0.05 else 1):
                                status, answer = await conn.request(f"/devices/{board_id}/plays", body, token)
                                if status != 200:
                                    raise ConnectionError(status)
                                result = json.loads(answer)
                                acked_new["n"] += result["accepted"]
                                acked_new["dup"] += result["duplicates"]
                            del queue[:len(batch)]
                        failures = 0
                        next_report = now + args.period * rng.uniform(0.9, 1.1)
                    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                        conn.close()
                        failures += 1
                        state["errors"] += 1
                        ceiling = min(args.period, 5 * 2 ** (failures - 1))
                        next_report = time.monotonic() + ceiling * rng.uniform(0.5, 1.0)
                await asyncio.sleep(max(0.05, min(next_play, next_report) - time.monotonic()))

        async def chaos(stop_at: float) -> None:
            """Every ~2 minutes the hub goes: SIGTERM (a restart by systemd) or SIGKILL (a crash); back in 3 s."""
            n = 0
            while time.monotonic() + 150 < stop_at:
                await asyncio.sleep(120)
                sig = signal.SIGTERM if n % 2 == 0 else signal.SIGKILL
                await asyncio.to_thread(state["process"].stop, sig)
                state["restarts" if sig == signal.SIGTERM else "kills"] += 1
                await asyncio.sleep(3)
                state["process"] = await asyncio.to_thread(HubProcess, cfg.file, cfg.port)
                n += 1

        async def run() -> None:
            stop_at = time.monotonic() + seconds
            await asyncio.gather(chaos(stop_at), *(board(b, t, stop_at) for b, t in tokens))

        began = time.monotonic()
        asyncio.run(run())
        took = time.monotonic() - began
        state["process"].stop()
        with store.db.tx(write=False) as tx:
            stored = {(b, p) for b, p in tx.execute("SELECT board_id, id FROM plays")}
            rolled = tx.value("SELECT sum(plays) FROM play_days", default=0)
        lost = generated - stored
        extra = stored - generated
        print(f"soak {args.engine}: {args.boards} boards for {took / 60:.1f} min, hub restarted {state['restarts']}x "
              f"(SIGTERM) and killed {state['kills']}x (SIGKILL); {len(generated)} plays generated, {len(stored)} "
              f"stored, {len(lost)} lost, {len(extra)} unknown, daily totals {rolled}; {acked_new['dup']} duplicates "
              f"dropped; {state['errors']} failed board cycles (retried); load {hublab.load()}")
        hub_first = first  # keep the first process object referenced for hublab.hub's own stop
        del hub_first
        if lost or extra or rolled != len(generated):
            raise SystemExit(1)


def _iso(epoch: float) -> str:
    import datetime as dt
    import zoneinfo

    return dt.datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")).isoformat()


if __name__ == "__main__":
    main()
