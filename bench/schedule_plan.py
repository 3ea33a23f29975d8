"""Time schedule.plan() for a programme of 1,000 slides at random instants; prints p50/p99 in ms.

Run from the project root: python bench/schedule_plan.py [--slides 1000] [--runs 2000]
The programme mixes what editors write: a third without a window, a quarter with a date range,
the rest with weekdays and hours (some past midnight), a day of the month or a single `once` span;
one slide in fifty is an emergency, one in ten a priority.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.content import windows  # noqa: E402
from kiosk.content.programme import Programme, Slide  # noqa: E402
from kiosk.content.schedule import plan  # noqa: E402


def random_window(rng: random.Random) -> windows.Window:
    kind = rng.random()
    day0 = dt.datetime(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
    if kind < 0.33:
        return windows.ALWAYS
    if kind < 0.58:
        return windows.Window(valid_from=day0, valid_until=day0 + dt.timedelta(days=rng.randrange(1, 60)))
    if kind < 0.85:
        start = dt.time(rng.randrange(24), rng.choice((0, 30)))
        end = dt.time(rng.randrange(24), rng.choice((0, 30)))
        if start == end:
            end = dt.time((start.hour + 1) % 24, start.minute)
        days = frozenset(rng.sample(range(7), rng.randrange(1, 8)))
        return windows.Window(valid_from=day0, days=days, hours=(start, end))
    if kind < 0.93:
        return windows.Window(monthdays=frozenset(rng.sample([1, 10, 15, 20, 28, 31, windows.LAST], 2)),
                             hours=(dt.time(7), dt.time(17)))
    return windows.Window(once=(day0 + dt.timedelta(hours=19), day0 + dt.timedelta(hours=21, minutes=30)))


def programme(count: int, rng: random.Random) -> Programme:
    slides = []
    for i in range(count):
        roll = rng.random()
        priority = "emergency" if roll < 0.02 else "priority" if roll < 0.12 else "normal"
        slides.append(Slide(id=f"s{i}", type="text", title="x", priority=priority, window=random_window(rng)))
    return Programme(slides=tuple(slides), version="bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slides", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(39)
    prog = programme(args.slides, rng)
    instants = [dt.datetime(2026, 1, 1) + dt.timedelta(seconds=rng.randrange(366 * 86400)) for _ in range(args.runs)]
    for at in instants[:50]:  # warm up
        plan(prog, at)
    times = []
    for at in instants:
        for slide in prog.slides:  # cold: no answer remembered from a previous plan
            object.__setattr__(slide.window, "memo", None)
        start = time.perf_counter()
        plan(prog, at)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"plan(): {args.slides} slides, {len(times)} instants: p50 {statistics.median(times):.2f} ms, "
          f"p99 {p99:.2f} ms, max {times[-1]:.2f} ms")
    # As the player does: re-plan at each next_change, moving forward through a year.
    fresh = programme(args.slides, random.Random(39))
    at, times = dt.datetime(2026, 1, 1), []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = plan(fresh, at)
        times.append((time.perf_counter() - start) * 1000)
        if result.next_change is None:
            break
        at = result.next_change
    times.sort()
    print(f"re-planning at each next_change ({len(times)} plans, up to {at:%Y-%m-%d}): "
          f"p50 {statistics.median(times):.2f} ms, p99 {times[int(len(times) * 0.99) - 1]:.2f} ms")
    start = time.perf_counter()
    for at in instants[:200]:
        plan(prog, at, dates_trusted=False)
    print(f"plan(dates_trusted=False): mean {(time.perf_counter() - start) * 1000 / 200:.2f} ms")
    # Worst case: every slide a rare rule ("the 29th/30th/31st that is a Monday"), all different.
    rare = Programme(slides=tuple(
        Slide(id=f"r{i}", type="text", title="x", window=windows.Window(
            monthdays=frozenset(rng.sample([29, 30, 31], rng.randrange(1, 3))),
            days=frozenset(rng.sample(range(7), rng.randrange(1, 3))), hours=(dt.time(7), dt.time(17))))
        for i in range(args.slides)), version="rare")
    times = []
    for at in instants[:200]:
        windows._next_monthday.cache_clear()
        for slide in rare.slides:
            object.__setattr__(slide.window, "memo", None)
        start = time.perf_counter()
        plan(rare, at)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"worst case, {args.slides} rare day-of-month+weekday rules, cache cleared: "
          f"p50 {statistics.median(times):.2f} ms, max {times[-1]:.2f} ms")


if __name__ == "__main__":
    main()
