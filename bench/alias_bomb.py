"""An alias bomb ("billion laughs") in config.yaml (issue 9, "Measure"): peak RSS of `kiosk check-config` and the
time to its clear error. Prints its figures; asserts nothing.

    python bench/alias_bomb.py [--rounds 5] [--tree DIR] [--timeout 30]

Each round runs `kiosk check-config` as a real process on a config.yaml whose display.size is nine aliases of
nine aliases, nine levels deep (9**9 strings when written out), and reads the child's own peak RSS (its VmHWM
at exit) and wall time. --tree runs another checkout (e.g. /work/main, for the figure before the change;
--timeout stops it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]")
    return "\n".join(lines) + "\ndevice: {id: abc, name: x}\nsource: {path: .}\ndisplay: {size: *i}\n"


# `kiosk` as a child that writes its own peak RSS (VmHWM, kB) at exit to the file $KIOSK_BENCH_PEAK
MEASURED = ("import atexit, os, sys\nfrom kiosk.cli.main import main\n"
            "def peak():\n"
            "    with open(os.environ['KIOSK_BENCH_PEAK'], 'w') as out:\n"
            "        out.write(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
            "atexit.register(peak)\nsys.exit(main(sys.argv[1:]))")


def once(tree: Path, config: Path, timeout: float) -> tuple[float, float, int, str]:
    """(seconds, peak RSS MB, exit status, first line of stderr) of one check-config."""
    import threading

    err = config.with_name("stderr.txt")
    with open(err, "w") as sink:
        started = time.monotonic()
        peak_file = config.with_name("peak-kb")
        peak_file.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", MEASURED, "check-config", "-c", str(config)],
                                env={**os.environ, "PYTHONPATH": str(tree), "KIOSK_BENCH_PEAK": str(peak_file)},
                                stdout=subprocess.DEVNULL, stderr=sink,
                                cwd=config.parent)  # not this checkout: `python -m` puts the cwd first
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        took = time.monotonic() - started
        timer.cancel()
    text = err.read_text(errors="replace").strip()
    code = os.waitstatus_to_exitcode(status)
    message = text.splitlines()[0] if text else ""
    if code < 0:
        message = f"(killed after {timeout:g} s) {message}"
    # the child's own VmHWM, written at exit; killed, it wrote none: ru_maxrss then, an upper bound (Linux
    # carries the parent's high-water mark across vfork+exec into the child's)
    peak = int(peak_file.read_text()) if peak_file.exists() else usage.ru_maxrss
    return took, peak / 1024, code, message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(bomb(), encoding="utf-8")
        times, peaks = [], []
        for n in range(args.rounds):
            load = Path("/proc/loadavg").read_text().split()[0]
            took, rss, code, message = once(args.tree, config, args.timeout)
            times.append(took)
            peaks.append(rss)
            print(f"round {n + 1}: {took:.2f} s, peak RSS {rss:.1f} MB, exit {code} (load {load}): {message[:140]}")
    print(f"check-config on an alias bomb ({args.tree}): {min(times):.2f}-{max(times):.2f} s, "
          f"peak RSS {min(peaks):.1f}-{max(peaks):.1f} MB over {args.rounds} rounds")


if __name__ == "__main__":
    main()
