"""Benchmarks of the hall's zones (issue 11). Prints its figures and the machine's load; asserts nothing.

    python bench/hall.py [cpu|smooth|sound|all] [--runs N] [--seconds S] [--x11]

cpu: `kiosk run` as a real process at 1920x1080, utime+stime from /proc over S seconds (default 60), for
  header + clock + ticker, header + clock alone, and neither; N runs each (default 3), min-max.
smooth: the real Player loop and Screen in this process with header and ticker; every zone frame is
  timed: the distribution of per-frame scroll steps (pixels) and of frame intervals (p50, p99, max).
sound: the real loop with real espeak-ng speech (new text each run) and a WAV announcement: whether each
  slide's sound was ready at its slot and how long before, and the loop's longest turn.
Under SDL's dummy driver by default; with --x11 under a fresh Xvfb (no GPU: SDL's software renderer).
"""

from __future__ import annotations

import collections
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import player as playerbench  # noqa: E402 - sets SDL's drivers before pygame is imported
import xlab  # noqa: E402
from xlab import loadavg  # noqa: E402

TICKER = ("Ủy ban nhân dân xã An Khương tiếp công dân sáng thứ Năm hằng tuần, từ 7 giờ 30 đến 11 giờ.",
          "Lịch cắt điện: thôn Phú Lộc, 8 giờ đến 11 giờ ngày 03/12/2026.",
          "Đường dây nóng phòng chống thiên tai: 0235 3 888 999.")


def option(name: str, default: float) -> float:
    if name in sys.argv:
        return float(sys.argv[sys.argv.index(name) + 1])
    return default


def folder_with_ticker(root: Path, ticker: bool) -> Path:
    folder = playerbench.make_folder(root, slides=6, images=3, duration=10)
    if ticker:
        text = (folder / "programme.yaml").read_text(encoding="utf-8")
        lines = "".join(f"  - \"{t}\"\n" for t in TICKER)
        (folder / "programme.yaml").write_text("ticker:\n" + lines + text, encoding="utf-8")
    return folder


def config_with(root: Path, folder: Path, header: bool) -> Path:
    path = playerbench.write_config(root, folder)
    text = path.read_text(encoding="utf-8").replace(
        "crossfade_ms: 600}", f"crossfade_ms: 600, header: {str(header).lower()}}}")
    path.write_text(text, encoding="utf-8")
    return path


def cpu_once(header: bool, ticker: bool, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = config_with(root, folder_with_ticker(root, ticker), header)
        proc, _ = playerbench.start(config)
        time.sleep(5)  # settle: first slides built, caches warm
        before, t0 = playerbench.cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        used, wall = playerbench.cpu_seconds(proc.pid) - before, time.monotonic() - t0
        playerbench.stop(proc)
    return 100 * used / wall


def bench_cpu() -> None:
    runs, seconds = int(option("--runs", 3)), option("--seconds", 60)
    for label, header, ticker in (("header + clock + ticker", True, True), ("header + clock, no ticker", True, False),
                                  ("neither (issue 10's board)", False, False)):
        figures = []
        for _ in range(runs):
            load = loadavg()
            figures.append(cpu_once(header, ticker, seconds))
            print(f"  cpu {label}: {figures[-1]:.2f} % of one core over {seconds:.0f} s (load before {load})",
                  flush=True)
        print(f"CPU, 1920x1080, 10 s slides with 600 ms crossfades, {label}: {min(figures):.2f}-{max(figures):.2f} % "
              f"of one core ({runs} runs of {seconds:.0f} s)", flush=True)


def bench_smooth() -> None:
    seconds = option("--seconds", 20)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = folder_with_ticker(root, True)
        player, _current, stop_event, screen = playerbench.in_process_player(folder, root)
        screen.zone_log = log = []
        timer = threading.Timer(seconds, stop_event.set)
        timer.start()
        load = loadavg()
        player.run()
        timer.cancel()
        ticker = next(z for z in frames_zones(player) if hasattr(z, "scroll"))
    times = [t for t, _mono in log]
    offsets = [ticker.scroll.offset(mono) for _t, mono in log]
    intervals = sorted((b - a) * 1000 for a, b in zip(times, times[1:], strict=False))
    steps = collections.Counter()
    for a, b in zip(offsets, offsets[1:], strict=False):
        step = b - a
        if step < -100:  # the loop came round
            continue
        steps[step] += 1
    p99 = intervals[int(0.99 * (len(intervals) - 1))]
    shown = ", ".join(f"{k} px: {v}" for k, v in sorted(steps.items()))
    print(f"ticker smoothness ({screen.renderer_name} renderer, {seconds:.0f} s, {len(times)} zone frames): "
          f"frame interval p50 {statistics.median(intervals):.1f} ms, p99 {p99:.1f} ms, max {intervals[-1]:.1f} ms "
          f"(every frame with the ticker, crossfades included); per-frame scroll steps {shown} (load before {load})")


def bench_sound() -> None:
    """Speech and audio made ahead: at each slot, was the slide's sound ready, and how long before."""
    import math as _math
    import struct
    import wave

    from kiosk import config as configmod
    from kiosk.content import programme
    from kiosk.content.current import Current
    from kiosk.player.frames import FrameBuilder, speech_voice
    from kiosk.player.loop import Player
    from kiosk.screen.display import Screen
    from kiosk.screen.slide import Renderer
    from kiosk.screen.sound import Speaker
    from kiosk.source import speech
    from kiosk.status import Status

    seconds = option("--seconds", 40)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "noi-dung"
        folder.mkdir()
        with wave.open(str(folder / "loa.wav"), "wb") as out:  # a 3-second announcement
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(22050)
            out.writeframes(b"".join(struct.pack("<h", int(6000 * _math.sin(i / 9))) for i in range(3 * 22050)))
        lines = ["slides:"]
        for n in range(4):  # new text every run: nothing comes from the speech cache
            lines += [f"  - id: noi-{n}", f"    title: Thông báo số {n + 1} lúc {time.time():.0f}", "    body: |",
                      f"      {playerbench.NOTICE}", "    speak: true", "    duration: 4"]
        lines += ["  - id: loa", "    title: Phát thanh", "    audio: loa.wav", "    duration: 2"]
        (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        cfg = configmod.load(playerbench.write_config(root, folder))
        status, stop_event = Status(), threading.Event()
        screen = Screen.open(cfg.display.size, cfg.display.rotation, status)
        renderer = Renderer(screen.size, cfg.display, cfg.cache.path, cfg.device.name)
        speaker = Speaker(1.0, chime=speech.chime_wav())
        frames = FrameBuilder(renderer, status, cfg.device.name,
                              voice=speech_voice(cfg.speech, cfg.cache.path, speaker, status))
        player = Player(cfg, screen, frames, Current(programme.load_folder(folder)), status, stop_event,
                        speaker=speaker)
        done_at: dict[int, float] = {}
        real_build = frames._build

        def build(slide, at, ticker=()):
            built = real_build(slide, at, ticker)
            if built.sound is not None:
                built.sound.add_done_callback(lambda f: done_at.setdefault(id(f), time.monotonic()))
            return built

        frames._build = build
        seen: list[tuple[str, bool, float]] = []
        real_speak = player._speak

        def speak(sound, slide=None, now=None):
            if sound is not None and slide is not None:
                ready = sound.done()
                lead = time.monotonic() - done_at.get(id(sound), time.monotonic())
                seen.append((slide.id, ready, lead))
            return real_speak(sound, slide, now)

        player._speak = speak
        started: list[tuple[str, float]] = []
        real_play = player._play

        def play(loaded, slide, now, emergency):
            showing = player.showing
            into = now.mono - showing.started_mono if showing is not None and showing.slide is slide else 0.0
            started.append((slide.id, max(0.0, into)))
            return real_play(loaded, slide, now, emergency)

        player._play = play
        turns: list[float] = []
        real_turn = player.turn

        def turn():
            t0 = time.perf_counter()
            result = real_turn()
            turns.append(time.perf_counter() - t0)
            return result

        player.turn = turn
        timer = threading.Timer(seconds, stop_event.set)
        timer.start()
        load = loadavg()
        player.run()
        timer.cancel()
    ready = [lead for _sid, ok, lead in seen if ok]
    late = [sid for sid, ok, _lead in seen if not ok]
    late_started = [f"{sid} {into:.2f} s into its slot" for sid, into in started if into > 0.05]
    print(f"speech and audio ({seconds:.0f} s, {len(seen)} slots with sound, new text each run): "
          f"{len(ready)} ready at their slot ({min(ready, default=0):.2f}-{max(ready, default=0):.2f} s ahead), "
          f"{len(late)} not ({', '.join(late) or 'none'}; started late: {', '.join(late_started) or 'none'}; the "
          f"loop never waits for a sound); the loop's longest turn {max(turns) * 1000:.1f} ms, a 600 ms crossfade "
          f"included (load before {load})")


def frames_zones(player) -> list:
    """The zones the renderer made (the ticker is one object for the whole run)."""
    renderer = player.frames.renderer
    return [z for z in (renderer._header, renderer._ticker) if z is not None]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--") and not a.replace(".", "").isdigit()]
    which = args[0] if args else "all"
    benches = {"cpu": bench_cpu, "smooth": bench_smooth, "sound": bench_sound}
    if which != "all" and which not in benches:
        raise SystemExit(f"unknown benchmark {which!r}; one of: {', '.join(benches)}, all")
    with contextlib.ExitStack() as stack:
        if "--x11" in sys.argv:
            os.environ["DISPLAY"] = stack.enter_context(xlab.xvfb())
            os.environ["SDL_VIDEODRIVER"] = "x11"
            stack.callback(lambda: "pygame" in sys.modules and sys.modules["pygame"].display.quit())
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SDL_VIDEODRIVER="
              f"{os.environ['SDL_VIDEODRIVER']}, load {loadavg()}", flush=True)
        for name, bench in benches.items():
            if which in (name, "all"):
                bench()


if __name__ == "__main__":
    main()
