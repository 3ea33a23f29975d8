"""Bench: /healthz (and /metrics) latency at a steady request rate, while a fake render loop runs.

The player's process is imitated: a HealthServer and a 60 fps "render loop" thread that does a few
milliseconds of Python work per frame, beats the Status and changes slide every few seconds. The
client runs in another process (like a real prober) and sends requests on a fixed schedule (open
loop): latency counts from the moment a request was due, so a stalled server cannot hide behind a
slow client. A new TCP connection per request, like most probes.

Prints p50/p90/p99/max latency and whether the fake loop ever slipped a frame.

    python bench/health_latency.py [--rate 50] [--seconds 25] [--path /healthz] [--work-ms 4]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk import config  # noqa: E402
from kiosk.report.endpoint import HealthServer  # noqa: E402
from kiosk.status import Status  # noqa: E402

FRAME_S = 1 / 60


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def client(port: int, path: str, rate: float, seconds: float, out) -> None:
    start = time.monotonic() + 0.2
    latencies, statuses = [], {}
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
        except OSError as exc:
            statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
        finally:
            conn.close()
        latencies.append(time.monotonic() - due)
    out.send((latencies, statuses))


class FakeLoop(threading.Thread):
    """Turns every frame: some Python work, a beat, a wait for the next frame; counts late frames."""

    def __init__(self, status: Status, work_ms: float):
        super().__init__(daemon=True, name="fake-render-loop")
        self.status, self.work_s = status, work_ms / 1000
        self.stop = threading.Event()
        self.lateness: list[float] = []

    def run(self) -> None:
        next_frame = time.monotonic()
        frame = 0
        while not self.stop.is_set():
            busy_until = time.monotonic() + self.work_s
            x = 0
            while time.monotonic() < busy_until:  # stands for drawing and blitting
                x += 1
            if frame % 300 == 0:
                self.status.slide_started(f"slide-{frame // 300 % 7}")
            next_frame += FRAME_S
            self.status.beat(next_frame + 1.0)
            delay = next_frame - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.lateness.append(time.monotonic() - next_frame)
            frame += 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--work-ms", type=float, default=4.0, help="Python work per fake frame")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cfg_file = Path(tmp) / "config.yaml"
        cfg_file.write_text(
            f"device: {{id: bench, name: 'UBND xã Bench'}}\nsource: {{path: '{tmp}'}}\n"
            f"cache: {{path: '{tmp}/cache'}}\nhealth: {{listen: '127.0.0.1:0'}}\n",
            encoding="utf-8",
        )
        cfg = config.load(cfg_file)
        status = Status()
        status.update(display_ok=True, display_driver="kmsdrm", slide_count=7, content_version="bench")
        status.sync_finished(True, changed=True, bytes_downloaded=1 << 20)
        server = HealthServer(cfg, status, lambda: None)
        server.start()
        loop = FakeLoop(status, args.work_ms)
        loop.start()
        time.sleep(0.5)
        loop.lateness.clear()
        rss_before = rss_mb()

        ours, theirs = multiprocessing.Pipe()
        proc = multiprocessing.get_context("spawn").Process(
            target=client, args=(server.port, args.path, args.rate, args.seconds, theirs)
        )
        proc.start()
        latencies, statuses = ours.recv()
        proc.join()
        rss_after = rss_mb()
        loop.stop.set()
        loop.join()
        server.stop()

    ms = [x * 1000 for x in latencies]
    late = [x * 1000 for x in loop.lateness]
    slipped = sum(1 for x in late if x > FRAME_S * 1000)
    print(f"{args.path}: {len(ms)} requests at {args.rate:g}/s for {args.seconds:g} s, answers {statuses}")
    print(
        f"latency ms: p50 {pct(ms, 0.5):.2f}  p90 {pct(ms, 0.9):.2f}  p99 {pct(ms, 0.99):.2f}  "
        f"max {max(ms):.2f}  mean {statistics.fmean(ms):.2f}"
    )
    print(
        f"fake loop: {len(late)} frames at 60 fps with {args.work_ms:g} ms work; wake-up lateness ms "
        f"p50 {pct(late, 0.5):.2f}  p99 {pct(late, 0.99):.2f}  max {max(late):.2f}; "
        f"slipped (late > 1 frame): {slipped}"
    )
    grew = rss_after - rss_before
    print(f"server process RSS: {rss_before:.1f} MB before, {rss_after:.1f} MB after ({grew:+.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
