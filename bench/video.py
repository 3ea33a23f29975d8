"""Video slides: CPU of the whole player, dropped and late pictures, sound/picture offset, and the switches.

    python bench/video.py [decode|1080|720|switch|all] [--seconds 60] [--runs 3] [--x11]

decode: FFmpeg's H.264 decoder alone on the same files: CPU seconds per second of video.

1080 / 720: one video slide (H.264 30 fps with an AAC track, 20 s, looped for the slot) played by the
real Player loop in this process on a 1920x1080 screen, for --seconds, --runs times. Prints per run: the
CPU of the whole process (every thread: loop, decoder, SDL's audio) as a share of one core, pictures
dropped and late per minute, and the picture's time minus the sound clock when each picture went on
screen (p50, p95, max of |offset|), with /proc/loadavg.

switch: video -> text -> video with 600 ms crossfades; every frame a crossfade presents is read back at
five points: a frame where all are black is a black frame. Prints the fades' frames and intervals.

Under SDL's dummy driver (SDL's software renderer does the YUV conversion and the composition on the CPU)
unless --x11 (a fresh Xvfb, still no GPU). On a Pi the GPU's renderer converts YUV in its shader: the
figures here are an upper bound of the render side, the decoder's share is the same. Sound goes to SDL's
disk driver (tmp-video/heard.raw), which takes it at the real rate (a clock like a sound card's).
The test videos are made once, with PyAV, under tmp-video/.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
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
os.environ["SDL_AUDIODRIVER"] = "disk"
os.environ["SDL_DISKAUDIOFILE"] = str(ROOT / "tmp-video" / "heard.raw")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import xlab  # noqa: E402
from xlab import loadavg  # noqa: E402

SCRATCH = ROOT / "tmp-video"
SCRATCH.mkdir(parents=True, exist_ok=True)
SIZES = {"1080": (1920, 1080), "720": (1280, 720)}


def clip_file(height: str, seconds: float = 20.0) -> Path:
    """FFmpeg's moving test pattern with a little film grain, H.264 at a broadcaster's bitrate (CRF 23, at
    most 8 Mbit/s for 1080p, 5 for 720p), and a tone in AAC: what a health campaign's clip costs to decode."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    path = SCRATCH / f"h264-{height}p30-{seconds:g}s.mp4"
    if path.exists():
        return path
    import math
    from fractions import Fraction

    import av

    print(f"making {path.name} (once) …", file=sys.stderr)
    width, lines = SIZES[height]
    graph = av.filter.Graph()
    chain = [graph.add("testsrc2", f"size={width}x{lines}:rate=30:duration={seconds:g}"),
             graph.add("noise", "alls=3:allf=t"), graph.add("format", "yuv420p"), graph.add("buffersink")]
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)
    graph.configure()
    part = path.with_suffix(".part.mp4")
    with av.open(str(part), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = width, lines, "yuv420p"
        rate = "8M" if height == "1080" else "5M"
        video.options = {"preset": "veryfast", "crf": "23", "maxrate": rate, "bufsize": rate, "g": "60"}
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "stereo"
        n = 0
        while True:
            try:
                frame = chain[-1].pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
            frame.pts, frame.time_base = n, Fraction(1, 30)
            n += 1
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        for start in range(0, round(seconds * 48000), 1024):
            samples = b"".join(int(8000 * math.sin(2 * math.pi * 440 * (start + k) / 48000)).to_bytes(
                2, "little", signed=True) * 2 for k in range(1024))
            frame = av.AudioFrame(format="s16", layout="stereo", samples=1024)
            frame.planes[0].update(samples + bytes(frame.planes[0].buffer_size - len(samples)))
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    part.rename(path)
    return path


def folder_with(root: Path, slides: list[str], files: dict[str, Path]) -> Path:
    folder = root / "noi-dung"
    folder.mkdir()
    for name, path in files.items():
        shutil.copyfile(path, folder / name)  # a link would point outside the folder: refused
    (folder / "programme.yaml").write_text("slides:\n" + "".join(slides), encoding="utf-8")
    return folder


def player_for(folder: Path, root: Path, crossfade: int = 600):
    from kiosk import config as configmod
    from kiosk.content import programme
    from kiosk.content.current import Current
    from kiosk.player.frames import FrameBuilder
    from kiosk.player.loop import Player
    from kiosk.screen.display import Screen
    from kiosk.screen.slide import Renderer
    from kiosk.source import prepare as preparemod
    from kiosk.status import Status

    path = root / "config.yaml"
    path.write_text(f"device: {{id: bench, name: UBND xã Thử}}\nsource: {{path: {folder}}}\n"
                    f"display: {{size: 1920x1080, crossfade_ms: {crossfade}}}\ncache: {{path: {root / 'cache'}}}\n",
                    encoding="utf-8")
    cfg = configmod.load(path)
    status, stop_event = Status(), threading.Event()
    current = Current(programme.load_folder(folder))
    for problem in current.get().warnings:
        print(f"warning: {problem}", file=sys.stderr)
    screen = Screen.open(cfg.display.size, cfg.display.rotation, status, wake=current.changed)
    renderer = Renderer(screen.size, cfg.display, cfg.cache.path, cfg.device.name)
    preparemod.prepare_programme(current.get(), screen.size, cfg.display.fit, cfg.cache.path)
    frames = FrameBuilder(renderer, status, cfg.device.name)
    return Player(cfg, screen, frames, current, status, stop_event), stop_event, screen


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_playing(height: str, seconds: float) -> None:
    source = clip_file(height)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        slide = f"  - id: video\n    file: v.mp4\n    duration: {seconds + 30:g}\n"
        player, stop_event, screen = player_for(folder_with(root, [slide], {"v.mp4": source}), root)
        warm = 2.0  # the first picture, the decoder's threads starting
        marks = {}

        def begin():
            marks["cpu"], marks["t"] = cpu(), time.monotonic()
            stats = screen.last_clip.stats
            marks["stats"] = (stats.shown, stats.dropped, stats.late, len(stats.offsets_ms))

        threading.Timer(warm, begin).start()
        threading.Timer(warm + seconds, stop_event.set).start()
        player.run()
        used, wall = cpu() - marks["cpu"], time.monotonic() - marks["t"]
        stats = screen.last_clip.stats
        shown0, dropped0, late0, offsets0 = marks["stats"]
        per_minute = 60 / wall
        offsets = sorted(abs(o) for o in stats.offsets_ms[offsets0:])
        screen.close()
    print(f"{height}p30 H.264+AAC on {screen.size[0]}x{screen.size[1]} ({screen.renderer_name} renderer), "
          f"{wall:.0f} s: CPU {100 * used / wall:.0f} % of a core; "
          f"{(stats.shown - shown0) * per_minute / 60:.1f} pictures/s shown, "
          f"{(stats.dropped - dropped0) * per_minute:.1f} dropped/min, "
          f"{(stats.late - late0) * per_minute:.1f} late/min; "
          f"|picture - sound| p50 {statistics.median(offsets):.1f} ms, "
          f"p95 {offsets[int(0.95 * (len(offsets) - 1))]:.1f} ms, max {offsets[-1]:.1f} ms "
          f"(sound clock: {stats.audio}; load {loadavg()})")


def bench_decode(height: str) -> None:
    """The decoder alone, as fast as it goes: CPU seconds per second of video is the share of one core it
    needs to keep up, whatever else the machine is doing (the wall time is not: it waits for the CPU)."""
    import av

    source = clip_file(height)
    t0, c0 = time.monotonic(), cpu()
    pictures = 0
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _frame in container.decode(stream):
            pictures += 1
    used, wall = cpu() - c0, time.monotonic() - t0
    seconds = pictures / 30
    print(f"decode only, {height}p30 H.264 ({pictures} pictures, {seconds:.0f} s of video): "
          f"{100 * used / seconds:.0f} % of a core to keep up; {seconds / wall:.1f}x real time here "
          f"(load {loadavg()})")


def bench_switch(rounds: int = 3) -> None:
    import pygame

    source = clip_file("720", 20.0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        slides = ["  - id: video\n    file: v.mp4\n    duration: 3\n",
                  "  - id: tin\n    title: Tiêm chủng mở rộng\n    body: Sáng thứ Bảy tại trạm y tế xã.\n"
                  "    duration: 3\n"]
        player, stop_event, screen = player_for(folder_with(root, slides, {"v.mp4": source}), root)
        points = [(960, 540), (100, 100), (1820, 100), (100, 980), (1820, 980)]
        black_frames = fades = presented = 0
        fades_seen = []
        real_render, real_fade = screen._render, screen.crossfade
        fading = {"on": False}

        def render(layers):
            nonlocal black_frames, presented
            real_render(layers)
            if fading["on"]:
                presented += 1
                colours = [tuple(screen.renderer.to_surface(area=pygame.Rect(x, y, 1, 1)).get_at((0, 0)))[:3]
                           for x, y in points]
                if all(c == (0, 0, 0) for c in colours):
                    black_frames += 1

        def crossfade(new, duration_ms, old=None):
            nonlocal fades
            fading["on"] = True
            try:
                return real_fade(new, duration_ms, old)
            finally:
                fading["on"] = False
                fades += 1
                fades_seen.append(screen.last_fade)
                if fades >= 2 * rounds:
                    stop_event.set()

        screen._render, screen.crossfade = render, crossfade
        player.run()
        screen.close()
    intervals = sorted(i for fade in fades_seen for i in fade.intervals_ms)
    print(f"video -> text -> video, {fades} crossfades of 600 ms ({presented} frames read back): "
          f"{black_frames} black frames; {statistics.mean(f.frames for f in fades_seen):.0f} frames a fade, "
          f"intervals p50 {statistics.median(intervals):.1f} ms, max {intervals[-1]:.1f} ms (load {loadavg()})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="?", default="all", choices=["1080", "720", "decode", "switch", "all"])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--x11", action="store_true")
    args = parser.parse_args()
    with (xlab.xvfb() if args.x11 else _nothing()):
        for what in (["decode", "1080", "720", "switch"] if args.what == "all" else [args.what]):
            for _ in range(args.runs):
                if what == "decode":
                    bench_decode("1080")
                    bench_decode("720")
                elif what == "switch":
                    bench_switch()
                else:
                    bench_playing(what, args.seconds)


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
