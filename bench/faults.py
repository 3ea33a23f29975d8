"""The fault suite's long run (issue 9): prints the table of docs/RELIABILITY.md. Asserts nothing.

    python bench/faults.py [--kills 40] [--seed 9] [--only kill|inject|hostile]

kill: `--kills` trials of each kind (sync, eviction, publish, plays-queue writes, report uploads; 40 each
is the issue's 200), each a real process killed with SIGKILL at a random instant, then checked as the
next start would see it. inject: every create, write, fsync, rename and remove of a sync (cache and
prepared pictures included) and of the plays queue, made to fail in turn with ENOSPC, EIO and EROFS.
hostile: every misbehaving server against every client of the board. The trials are tests/faultlab.py's,
the same as the fast part in tests/test_faults.py.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import faultlab  # noqa: E402


def row(fault: str, trials: list[faultlab.Trial], started: float) -> str:
    survived = sum(t.survived for t in trials)
    lost = sum(t.lost for t in trials)
    failed = [t.note for t in trials if not t.survived]
    outcomes = {}
    for t in trials:
        if t.outcome:
            outcomes[t.outcome] = outcomes.get(t.outcome, 0) + 1
    split = "; ".join(f"{what} {n}" for what, n in sorted(outcomes.items()))
    line = f"| {fault} | {len(trials)} | {survived} | {lost} | {time.monotonic() - started:.0f} s |"
    if split:
        line += f" {split} |"
    for note in failed[:5]:
        line += f"\n|   ↳ FAILED: {note} | | | | |"
    return line


def kills(work: Path, count: int, seed: int) -> list[str]:
    rows = []
    for evict in (False, True):
        started = time.monotonic()
        world = faultlab.SyncWorld(work / f"sync-{evict}", evict=evict)
        try:
            trials = faultlab.run_trials("sync", world.trial, count, seed)
        finally:
            world.close()
        kind = "eviction (a sync that must evict)" if evict else "a sync"
        rows.append(row(f"kill -9 during {kind}", trials, started))
        print(rows[-1], flush=True)
    started = time.monotonic()
    world = faultlab.PublishWorld(work / "publish")
    rows.append(row("kill -9 during `kiosk publish`", faultlab.run_trials("publish", world.trial, count, seed),
                    started))
    print(rows[-1], flush=True)
    started = time.monotonic()
    (work / "plays").mkdir()
    trials = faultlab.run_trials("plays", lambda rng, n: faultlab.plays_trial(work / "plays", rng, n), count, seed)
    rows.append(row("kill -9 during plays-queue writes", trials, started))
    print(rows[-1], flush=True)
    started = time.monotonic()
    server = faultlab.ReportServer()
    (work / "reports").mkdir()
    try:
        trials = faultlab.run_trials("reports", lambda rng, n: faultlab.reports_trial(work / "reports", server, rng,
                                                                                      n), count, seed)
    finally:
        server.close()
    rows.append(row("kill -9 during report uploads", trials, started))
    print(rows[-1], flush=True)
    return rows


def injections(work: Path) -> list[str]:
    rows = []
    world = faultlab.InjectSyncWorld(work / "inject")
    try:
        for name, error in faultlab.ERRNOS.items():
            started = time.monotonic()
            trials = [world.trial(i, error) for i in range(len(world.operations))]
            rows.append(row(f"{name} on each of the {len(world.operations)} file operations of a sync",
                            trials, started))
            print(rows[-1], flush=True)
    finally:
        world.close()
    count = faultlab.count_queue_operations(work / "queue")
    for name, error in faultlab.ERRNOS.items():
        started = time.monotonic()
        trials = [faultlab.queue_trial(work / "queue", i, error) for i in range(count)]
        rows.append(row(f"{name} on each of the {count} writes of the plays queue", trials, started))
        print(rows[-1], flush=True)
    return rows


def hostiles(work: Path) -> list[str]:
    rows = []
    for n, (name, target) in enumerate(faultlab.hostile_cases()):
        started = time.monotonic()
        trial = faultlab.hostile_trial(work / f"hostile-{n}", name, target)
        rows.append(row(f"{name} → {target}", [trial], started) + f" {trial.note} |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=40, help="kill -9 trials per kind (5 kinds)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--only", choices=("kill", "inject", "hostile"))
    args = parser.parse_args()
    logging.getLogger("kiosk").setLevel(logging.CRITICAL)
    random.seed(args.seed)
    print(f"load {Path('/proc/loadavg').read_text().split()[0]}; seed {args.seed}")
    print("| fault | trials | survived | data lost | took |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only in (None, "kill"):
            kills(work / "kill", args.kills, args.seed)
        if args.only in (None, "inject"):
            injections(work)
        if args.only in (None, "hostile"):
            hostiles(work / "hostile")


if __name__ == "__main__":
    main()
