"""A 100 MB download killed with kill -9 half-way and restarted: total bytes served ≤ 1.05 × size?

The board runs as a real `kiosk sync --once` subprocess; nginx is rate-limited
(limit_rate) only so that the kill lands in the middle of the file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synclab import ROOT, authoring, board_config, serve

from kiosk.source import publish

SIZE = 100 * 1024 * 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = authoring(tmp / "src", {"big.png": (200, 10, 10)}, junk={"big.png": SIZE})
        publish.publish(src, tmp / "out", None)
        entry = json.loads((tmp / "out" / "manifest.json").read_bytes())["media"]["images/big.png"]
        sha, size = entry["sha256"], entry["size"]
        server, kind = serve(tmp / "out", tmp, limit_rate="40m")
        if kind == "python":
            server.throttle = 40e6
        try:
            cfg = board_config(tmp / "board", server.url)
            part = cfg.cache.path / "media" / f"{sha}.part"
            cmd = [sys.executable, "-m", "kiosk", "sync", "--once", "-c", str(cfg.file)]
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            while not part.exists() or part.stat().st_size < size // 2:
                if proc.poll() is not None:
                    raise SystemExit(f"finished before the kill: {proc.communicate()}")
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kept = part.stat().st_size
            served_before = server.bytes_served("/media/")
            start = time.monotonic()
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            elapsed = time.monotonic() - start
            served = server.bytes_served("/media/")
            ok = (cfg.cache.path / "media" / sha).is_file()
            ranges = [r[4] for r in server.log() if r[1] == f"/media/{sha}"]
            print(f"server: {kind} (rate-limited to 40 MB/s)")
            print(f"file: {size} bytes; killed (SIGKILL) with {kept} bytes in the .part file "
                  f"({served_before} served so far)")
            print(f"restart: exit {done.returncode} in {elapsed:.1f} s: {done.stdout.strip()}")
            print(f"requests for the file (Range headers): {ranges}")
            print(f"total media bytes served: {served} = {served / size:.4f} x size; verified file present: {ok}")
        finally:
            server.close()


if __name__ == "__main__":
    main()
