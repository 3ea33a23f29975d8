"""Benchmarks of the player as a whole. Prints its figures (and the machine's load); asserts nothing.

    python bench/player.py [first-frame|cold-start|cpu|rss|rss-warm|fade|flips|emergency|download|health|all] [--x11]

first-frame, cold-start, cpu, rss run `kiosk run` as a real process (1920x1080) and read /proc; fade,
flips and emergency run the real Player loop in this process, so they can see each frame. Under SDL's
dummy driver by default; with --x11 under a fresh Xvfb (Debian's xvfb: an X server with no GPU).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
if "--x11" not in sys.argv:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import xlab  # noqa: E402
from xlab import loadavg  # noqa: E402

from kiosk.screen.display import FADE_FPS  # noqa: E402

NOTICE = (
    "Ủy ban nhân dân xã thông báo: từ ngày 01/12/2026, bộ phận tiếp nhận và trả kết quả thủ tục hành chính "
    "làm việc cả sáng thứ Bảy. Bà con mang theo căn cước công dân khi đến làm thủ tục."
)


def make_folder(root: Path, slides: int, images: int, duration: float, big_jpeg: bool = False) -> Path:
    from PIL import Image, ImageDraw

    folder = root / "noi-dung"
    (folder / "images").mkdir(parents=True)
    lines = ["slides:"]
    if big_jpeg:  # a 24-megapixel camera photo, first in the loop
        image = Image.new("RGB", (6000, 4000), (40, 120, 60))
        draw = ImageDraw.Draw(image)
        for i in range(0, 6000, 50):
            draw.line([(i, 0), (6000 - i, 4000)], fill=(200, (i * 7) % 255, 90), width=9)
        image.save(folder / "images" / "big.jpg", quality=92)
        lines += ["  - id: anh-lon", "    file: images/big.jpg", f"    duration: {duration}"]
    for n in range(images):
        image = Image.new("RGB", (1600, 1200), ((n * 37) % 255, 90, (n * 53) % 255))
        ImageDraw.Draw(image).ellipse((200, 200, 1400, 1000), fill=(250, 220, 120))
        image.save(folder / "images" / f"anh-{n}.jpg", quality=90)
        lines += [f"  - id: anh-{n}", f"    file: images/anh-{n}.jpg", f"    duration: {duration}"]
    for n in range(slides):
        lines += [f"  - id: thong-bao-{n}", f"    title: Thông báo số {n + 1}", "    body: |",
                  f"      {NOTICE}", f"    duration: {duration}"]
    (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_config(root: Path, folder: Path, crossfade: int = 600) -> Path:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = root / "config.yaml"
    path.write_text(
        f"device: {{id: bench, name: UBND xã Thử}}\nsource: {{path: {folder}}}\n"
        f"display: {{size: 1920x1080, crossfade_ms: {crossfade}}}\ncache: {{path: {root / 'cache'}}}\n"
        f"health: {{listen: '127.0.0.1:{port}'}}\n",
        encoding="utf-8",
    )
    return path


def start(config: Path) -> tuple[subprocess.Popen, float]:
    """Start `kiosk run`; returns the process and seconds from spawn to READY=1."""
    name = f"kiosk-bench-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(60)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": "@" + name}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "-c", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while b"READY=1" not in sock.recv(4096):
        pass
    ready = time.monotonic() - t0
    sock.close()
    return proc, ready


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def wait_for_slide(config: Path, t0: float) -> float:
    """Seconds from t0 until /healthz names a slide on screen."""
    import json
    import re
    import urllib.request

    port = re.search(r"127.0.0.1:(\d+)", config.read_text()).group(1)
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
        except OSError:
            body = {}
        if body.get("current_slide"):
            return time.monotonic() - t0
        time.sleep(0.01)


def bench_first_frame() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_config(root, make_folder(root, slides=10, images=3, duration=10, big_jpeg=True))
        t0 = time.monotonic()
        proc, cold = start(config)
        content = wait_for_slide(config, t0)
        stop(proc)
        warm = []
        for _ in range(5):
            proc, seconds = start(config)
            warm.append(seconds)
            stop(proc)
    print(f"first frame, cold cache, 24-megapixel JPEG first: {cold:.2f} s (spawn to READY=1, the idle screen "
          f"while pictures are prepared); the first slide itself: {content:.2f} s")
    print(f"first frame, warm cache: median {statistics.median(warm):.2f} s, max {max(warm):.2f} s (5 starts)")


def bench_cold_start(pictures: int = 500) -> None:
    """Issue 10: an empty cache and 500 pictures; the first slide shows as soon as its own picture is ready."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_config(root, make_folder(root, slides=0, images=pictures, duration=10))
        t0 = time.monotonic()
        proc, ready = start(config)
        first = wait_for_slide(config, t0)
        stop(proc)
    # /healthz names a slide once it is wholly on screen: after its 600 ms crossfade from the idle screen,
    # which follows the clock (never longer), so the slide began to show 0.6 s before
    print(f"cold start, {pictures} pictures to prepare: first frame (READY=1) {ready:.2f} s, "
          f"the first slide wholly on screen {first:.2f} s (its crossfade from the idle screen began at "
          f"{first - 0.6:.2f} s) (load {loadavg()})")


def bench_cpu(seconds: float = 60.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_config(root, make_folder(root, slides=6, images=3, duration=10))
        proc, _ = start(config)
        time.sleep(5)  # settle: first slides built, caches warm
        before, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        used, wall = cpu_seconds(proc.pid) - before, time.monotonic() - t0
        stop(proc)
    print(f"CPU while 10-second slides play (crossfade 600 ms), {wall:.0f} s: {100 * used / wall:.2f} % of one core "
          f"(load {loadavg()})")


def bench_rss(seconds: float = 110.0, warm: bool = False) -> None:
    """Peak RSS on a cold cache (the 50 pictures prepared while slides play); `warm`: a second start on the
    cache the first one filled (a board's ordinary restart)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_config(root, make_folder(root, slides=50, images=50, duration=1), crossfade=300)
        if warm:
            proc, _ = start(config)
            time.sleep(30)  # every picture prepared
            stop(proc)
        proc, _ = start(config)
        time.sleep(seconds)  # every one of the 100 slides is shown at least once
        peak, now = status_kb(proc.pid, "VmHWM"), status_kb(proc.pid, "VmRSS")
        stop(proc)
    print(f"RSS with 100 slides (50 text, 50 images) at 1920x1080, {'warm' if warm else 'cold'} cache, after "
          f"{seconds:.0f} s: peak {peak / 1024:.1f} MB, now {now / 1024:.1f} MB (load {loadavg()})")


def in_process_player(folder: Path, root: Path, crossfade: int = 600):
    from kiosk import config as configmod
    from kiosk.content import programme
    from kiosk.content.current import Current
    from kiosk.player.frames import FrameBuilder
    from kiosk.player.loop import Player
    from kiosk.screen.display import Screen
    from kiosk.screen.slide import Renderer
    from kiosk.source import prepare as preparemod
    from kiosk.status import Status

    cfg = configmod.load(write_config(root, folder, crossfade))
    status, stop_event = Status(), threading.Event()
    screen = Screen.open(cfg.display.size, cfg.display.rotation, status)
    renderer = Renderer(screen.size, cfg.display, cfg.cache.path, cfg.device.name)
    loaded = programme.load_folder(folder)
    preparemod.prepare_programme(loaded, screen.size, cfg.display.fit, cfg.cache.path,
                                 bands=preparemod.bands_of(cfg.display, loaded))
    current = Current(loaded)
    frames = FrameBuilder(renderer, status, cfg.device.name)
    return Player(cfg, screen, frames, current, status, stop_event), current, stop_event, screen


def bench_fade(fades: int = 12) -> None:
    """Issue 10: per crossfade, what our code uploads per frame, the frame intervals, frames dropped."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        player, _, stop_event, screen = in_process_player(make_folder(root, slides=6, images=3, duration=1.5), root)
        seen = []
        real = screen.crossfade

        def crossfade(new, duration_ms, old=None):
            times = real(new, duration_ms, old)
            seen.append(screen.last_fade)
            if len(seen) >= fades:
                stop_event.set()
            return times

        screen.crossfade = crossfade
        player.run()
    intervals = sorted(i for fade in seen for i in fade.intervals_ms)
    period = 1000 / FADE_FPS
    dropped = sum(round(i / period) - 1 for i in intervals if i > 1.5 * period)
    frames = sum(fade.frames for fade in seen)
    during = sum(fade.uploaded_during for fade in seen)
    before = statistics.mean(fade.uploaded_before for fade in seen)
    print(f"crossfades ({screen.renderer_name} renderer, {len(seen)} fades of 600 ms, {frames} frames): our code "
          f"uploaded {during / frames:.0f} bytes a frame (and {before / 1e6:.1f} MB once a fade: the new frame's "
          f"texture, unless uploaded ahead); frame intervals p50 {statistics.median(intervals):.1f} ms, "
          f"p95 {intervals[int(0.95 * (len(intervals) - 1))]:.1f} ms, max {intervals[-1]:.1f} ms; "
          f"{dropped} frames dropped at {FADE_FPS} fps (load {loadavg()})")


def bench_flips(seconds: float = 60.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        player, _, stop_event, _ = in_process_player(make_folder(root, slides=10, images=5, duration=2), root)
        timer = threading.Timer(seconds, stop_event.set)
        timer.start()
        player.run()
        timer.cancel()
    slips = sorted(s * 1000 for s in player.flip_slips)
    p99 = slips[int(0.99 * (len(slips) - 1))]
    print(f"slot deadline to first flip, {len(slips)} planned flips over {seconds:.0f} s: "
          f"p50 {statistics.median(slips):.1f} ms, p99 {p99:.1f} ms, max {slips[-1]:.1f} ms")


def bench_emergency() -> None:
    import datetime as dt
    from dataclasses import replace

    from kiosk.content import programme

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_folder(root, slides=5, images=0, duration=10)
        player, current, stop_event, screen = in_process_player(folder, root)
        shown: dict[str, float] = {}
        real_show = screen.show

        def show(frame):
            real_show(frame)
            shown.setdefault("any", time.monotonic())
            if player.plan and player.plan.emergency:
                shown.setdefault("emergency", time.monotonic())

        screen.show = show
        results = []

        def scenario():
            time.sleep(3)
            # 1. arrives by sync: a new programme with an emergency becomes current
            base = current.get()
            storm = programme.Slide(id="bao-so-9", type="text", title="Cảnh báo bão số 9",
                                    body="Bà con không ra khơi.", priority="emergency", duration=10)
            shown.pop("emergency", None)
            t0 = time.monotonic()
            current.replace(replace(base, slides=base.slides + (storm,), version="with-storm"))
            while "emergency" not in shown:
                time.sleep(0.001)
            results.append(("arrives by sync", shown["emergency"] - t0))
            current.replace(base)
            time.sleep(3)
            # 2. becomes valid at its valid_from, 2 s from now
            from kiosk.content.windows import Window

            start_at = (dt.datetime.now(player.tz).replace(tzinfo=None) + dt.timedelta(seconds=2))
            flood = replace(storm, id="lu-quet", window=Window(valid_from=start_at))
            shown.pop("emergency", None)
            current.replace(replace(base, slides=base.slides + (flood,), version="with-flood"))
            valid_mono = time.monotonic() + (start_at - dt.datetime.now(player.tz).replace(tzinfo=None)).total_seconds()
            while "emergency" not in shown:
                time.sleep(0.001)
            results.append(("valid_from reached", shown["emergency"] - valid_mono))
            stop_event.set()
            current.changed.set()

        threading.Thread(target=scenario, daemon=True).start()
        player.run()
    for what, seconds in results:
        print(f"emergency on screen after it {what}: {seconds * 1000:.0f} ms")



def bench_download(size_mb: int = 200) -> None:
    """Issue 3: while a 200 MB file downloads, the screen keeps time (largest slip of a planned flip)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from servers import Nginx, StaticServer

    from kiosk import config as configmod
    from kiosk.source import publish
    from kiosk.source.feed import Feed

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_folder(root, slides=6, images=2, duration=1)
        # The new programme adds one picture of `size_mb` MB: a real JPEG padded after its end marker.
        big = folder / "images" / "lon.jpg"
        big.write_bytes((folder / "images" / "anh-0.jpg").read_bytes() + os.urandom(size_mb * 1024 * 1024))
        text = (folder / "programme.yaml").read_text(encoding="utf-8")
        (folder / "programme.yaml").write_text(text + "  - id: anh-lon\n    file: images/lon.jpg\n", encoding="utf-8")
        tree = root / "www"
        publish.publish(folder, tree, None)
        # Served at 25 MB/s so the download spans many slots (unthrottled loopback takes about 2 s).
        server = Nginx(tree, root / "nginx", limit_rate="25m") if Nginx.available() else StaticServer(tree, 25e6)
        (folder / "programme.yaml").write_text(text, encoding="utf-8")  # the board starts with the old one
        player, current, stop_event, screen = in_process_player(folder, root, crossfade=0)
        cfg_path = root / "config.yaml"
        cfg_path.write_text(cfg_path.read_text(encoding="utf-8").replace(
            f"source: {{path: {folder}}}", f"source: {{url: '{server.url}', poll_seconds: 5}}"), encoding="utf-8")
        player.cfg = configmod.load(cfg_path)
        window: dict[str, float] = {}
        flips_before = []

        def on_ready(programme):
            window["end"] = time.monotonic()
            current.replace(programme)
            stop_event.set()
            current.changed.set()

        from kiosk.source.prepare import Preparer

        preparer = Preparer(screen.size, "fit", player.cfg.cache.path, player.cfg.speech, prune=False)
        source = Feed(player.cfg, current, player.status, preparer.prepare, preparer.ready)

        def start_sync():
            time.sleep(3)
            flips_before.append(len(player.flip_slips))
            window["start"] = time.monotonic()
            # what the feed delivers ends the measurement; what it reads is the programme on screen
            source.current = type("Sink", (), {"replace": staticmethod(on_ready), "get": staticmethod(current.get)})()
            source.start()

        threading.Thread(target=start_sync, daemon=True).start()
        timer = threading.Timer(600, stop_event.set)  # a download that never ends must not hang the bench
        timer.start()
        player.run()
        timer.cancel()  # the measurement is over: end now, not at the timer (it used to run 600 s)
        source.close()
        server.close()
    slips = [s * 1000 for s in list(player.flip_slips)[flips_before[0]:]]
    seconds = window.get("end", time.monotonic()) - window["start"]
    print(f"while {size_mb} MB downloaded and were verified ({seconds:.1f} s, {size_mb / seconds:.0f} MB/s): "
          f"{len(slips)} planned flips, largest slip {max(slips):.1f} ms, p50 {statistics.median(slips):.1f} ms")



CLIENT = """
import sys, time, urllib.request
url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
start = time.monotonic(); n = 0; out = []
while time.monotonic() - start < seconds:
    due = start + n / rate
    time.sleep(max(0.0, due - time.monotonic()))
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        exc.read()
    out.append((time.perf_counter() - t0) * 1000); n += 1
print(" ".join(f"{x:.3f}" for x in out))
"""


def bench_health(seconds: float = 30.0, rate: float = 50.0) -> None:
    """Issue 5: /healthz at 50 requests/s from another process while the real loop plays 1-second slides."""
    from kiosk.report.endpoint import HealthServer

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        player, _, stop_event, screen = in_process_player(make_folder(root, slides=8, images=4, duration=1), root)
        server = HealthServer(player.cfg, player.status, screen.screenshot_png)
        server.start()
        url = f"http://127.0.0.1:{server.port}/healthz"
        result: list[str] = []

        def load():
            time.sleep(2)
            mark.append(len(player.flip_slips))
            done = subprocess.run([sys.executable, "-c", CLIENT, url, str(rate), str(seconds)],
                                  capture_output=True, text=True, check=True)
            result.append(done.stdout)
            stop_event.set()
            player.wake.set()

        mark: list[int] = []
        threading.Thread(target=load, daemon=True).start()
        player.run()
        server.stop()
    latencies = sorted(float(x) for x in result[0].split())
    slips = [s * 1000 for s in list(player.flip_slips)[mark[0]:]]
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    print(f"/healthz at {rate:.0f}/s for {seconds:.0f} s while 1-second slides play: {len(latencies)} answers, "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms; {len(slips)} planned flips, "
          f"largest slip {max(slips):.1f} ms, {sum(s > 50 for s in slips)} slipped over 50 ms")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    which = args[0] if args else "all"
    benches = {"first-frame": bench_first_frame, "cold-start": bench_cold_start, "cpu": bench_cpu,
               "rss": bench_rss, "rss-warm": lambda: bench_rss(warm=True), "fade": bench_fade, "flips": bench_flips,
               "emergency": bench_emergency,
               "download": bench_download, "health": bench_health}
    if which != "all" and which not in benches:
        raise SystemExit(f"unknown benchmark {which!r}; one of: {', '.join(benches)}, all")
    with contextlib.ExitStack() as stack:
        if "--x11" in sys.argv:
            os.environ["DISPLAY"] = stack.enter_context(xlab.xvfb())
            os.environ["SDL_VIDEODRIVER"] = "x11"
            # the in-process benches' window goes before its X server does (else Xlib ends the process)
            stack.callback(lambda: "pygame" in sys.modules and sys.modules["pygame"].display.quit())
        where = f" (Xvfb {os.environ['DISPLAY']})" if "--x11" in sys.argv else ""
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SDL_VIDEODRIVER="
              f"{os.environ['SDL_VIDEODRIVER']}{where}, fonts: {shutil.which('fc-list') is not None and 'fontconfig'}, "
              f"load {loadavg()}")
        for name, bench in benches.items():
            if which in (name, "all"):
                bench()


if __name__ == "__main__":
    main()
