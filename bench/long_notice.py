"""A 100,000-character notice at 1920x1080 (issue 9, "Measure"): peak RSS and time to the first page, of
`kiosk run` and of `kiosk render`, as real processes. Prints its figures; asserts nothing.

    python bench/long_notice.py [run|render|all] [--rounds 3] [--chars 100000] [--seconds 60] [--tree DIR]

run: `kiosk run` (SDL dummy driver) plays the notice with a short duration so that its pages turn about
once a second; peak RSS is VmHWM after --seconds, the time to the first page is spawn to READY=1 (sent
when the first frame, the notice's first page, is on screen). render: `kiosk render --size 1920x1080`
writes every page; peak RSS is the child's own VmHWM, read by itself at exit (not ru_maxrss: Linux carries
the parent's high-water mark across vfork+exec into the child's), the time to the first page is spawn until its PNG
is complete. --tree runs another checkout (e.g. /work/main, for a figure before the change).
The 1-minute load average is printed with each run: figures from a busy machine are not comparable.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("Ủy ban nhân dân xã thông báo về việc tổ chức tiếp công dân định kỳ theo quy định của pháp luật hiện hành "
         "người dân cần mang theo giấy tờ tùy thân căn cước công dân khi đến làm thủ tục hành chính").split()


def notice(chars: int) -> str:
    """Paragraphs of Vietnamese words, `chars` characters in all (a decree pasted into a slide)."""
    rng = random.Random(9)
    paragraphs, total = [], 0
    while total < chars:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))) + "."
        paragraphs.append(text)
        total += len(text) + 2
    return "\n\n".join(paragraphs)[:chars]


def make_tree(root: Path, chars: int, duration: float) -> Path:
    import json

    folder = root / "noi-dung"
    folder.mkdir()
    slide = {"id": "nghi-dinh", "title": "Nghị định số 123/2026/NĐ-CP về tiếp công dân", "body": notice(chars),
             "duration": duration}
    (folder / "programme.yaml").write_text(json.dumps({"slides": [slide]}, ensure_ascii=False), encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = root / "config.yaml"
    config.write_text(f"device: {{id: bench, name: UBND xã Thử}}\nsource: {{path: {folder}}}\n"
                      f"display: {{size: 1920x1080, crossfade_ms: 600}}\ncache: {{path: {root / 'cache'}}}\n"
                      f"health: {{listen: '127.0.0.1:{port}'}}\n", encoding="utf-8")
    return config


def env_for(tree: Path, **extra: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(tree), "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
            "PYGAME_HIDE_SUPPORT_PROMPT": "1", **extra}


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# `kiosk` as a child that writes its own peak RSS (VmHWM, kB) at exit to the file $KIOSK_BENCH_PEAK
MEASURED = ("import atexit, os, sys\nfrom kiosk.cli.main import main\n"
            "def peak():\n"
            "    with open(os.environ['KIOSK_BENCH_PEAK'], 'w') as out:\n"
            "        out.write(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
            "atexit.register(peak)\nsys.exit(main(sys.argv[1:]))")


def vm_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def bench_run(tree: Path, chars: int, seconds: float) -> tuple[float, float]:
    """(seconds to the first page, peak RSS MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = make_tree(Path(tmp), chars, duration=180)
        name = f"kiosk-bench-{os.getpid()}-{time.monotonic_ns()}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind("\0" + name)
        sock.settimeout(120)
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "-c", str(config)],
                                env=env_for(tree, NOTIFY_SOCKET="@" + name), cwd=tmp,  # `-m` puts the cwd first
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while b"READY=1" not in sock.recv(4096):
                pass
            first = time.monotonic() - t0
            sock.close()
            time.sleep(seconds)
            peak = vm_kb(proc.pid, "VmHWM") / 1024
        finally:
            proc.terminate()
            proc.communicate(timeout=60)
        return first, peak


def bench_render(tree: Path, chars: int) -> tuple[float, float, float, int]:
    """(seconds to the first page, seconds for all, peak RSS MB, pages written)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = make_tree(Path(tmp), chars, duration=3600)
        out = Path(tmp) / "out"
        t0 = time.monotonic()
        peak_file = Path(tmp) / "peak-kb"
        proc = subprocess.Popen([sys.executable, "-c", MEASURED, "render", "-c", str(config), "--out", str(out),
                                 "--size", "1920x1080"], env=env_for(tree, KIOSK_BENCH_PEAK=str(peak_file)), cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first_png = out / "01-nghi-dinh.png"
        first = None
        while True:
            pid, _status, _usage = os.wait4(proc.pid, os.WNOHANG)
            if first is None and ((out / "pages").is_dir() or (pid and first_png.exists())):
                first = time.monotonic() - t0  # pages/ is made just before page 2: page 1 is written whole
            if pid:
                break
            time.sleep(0.005)
        total = time.monotonic() - t0
        pages = 1 + len(list((out / "pages").glob("*.png"))) if (out / "pages").is_dir() else int(first_png.exists())
        return first or total, total, int(peak_file.read_text()) / 1024, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="all", choices=("run", "render", "all"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--tree", type=Path, default=ROOT)
    args = parser.parse_args()
    print(f"tree {args.tree}; notice of {args.chars:,} characters at 1920x1080; {args.rounds} rounds")
    if args.what in ("run", "all"):
        firsts, peaks = [], []
        for n in range(args.rounds):
            before = load()
            first, peak = bench_run(args.tree, args.chars, args.seconds)
            firsts.append(first)
            peaks.append(peak)
            print(f"  kiosk run    round {n + 1}: first page {first:.2f} s, peak RSS {peak:.1f} MB after "
                  f"{args.seconds:g} s of pages turning (load {before})")
        print(f"kiosk run:    first page {min(firsts):.2f}-{max(firsts):.2f} s, peak RSS {min(peaks):.1f}-"
              f"{max(peaks):.1f} MB (median {statistics.median(peaks):.1f})")
    if args.what in ("render", "all"):
        firsts, peaks = [], []
        for n in range(args.rounds):
            before = load()
            first, total, peak, pages = bench_render(args.tree, args.chars)
            firsts.append(first)
            peaks.append(peak)
            print(f"  kiosk render round {n + 1}: first page {first:.2f} s, {pages} pages in {total:.1f} s, "
                  f"peak RSS {peak:.1f} MB (load {before})")
        print(f"kiosk render: first page {min(firsts):.2f}-{max(firsts):.2f} s, peak RSS {min(peaks):.1f}-"
              f"{max(peaks):.1f} MB (median {statistics.median(peaks):.1f})")


if __name__ == "__main__":
    main()
