"""A 200 MB file over loopback: the sync client's throughput against curl's, same server, same run.

    python bench/sync_throughput.py [--runs 5]

Each run is one curl download and one kiosk download of the same file from the same nginx, back to
back (which goes first alternates), and its figure is the ratio of the two. Both write the file to
the same disk folder (not a tmpfs); the client also hashes it (SHA-256) and makes it durable (the
.part file written back to the disk as it grows, fdatasync, rename), as it does on a board, where
curl leaves its file in the page cache. The issue's target: >= 85 % in every run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from synclab import authoring, loadavg, serve

from kiosk.source import client as clientmod
from kiosk.source import publish
from kiosk.source.cache import Cache
from kiosk.source.client import Client

SIZE = 200 * 1024 * 1024


class DiskWait:
    """Time the client spends waiting for the disk (waits for written-back ranges, the final fdatasync)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        real_range, real_sync = getattr(clientmod, "_sync_file_range", None), clientmod.os.fdatasync

        def timed_range(fd, offset, length, flags):
            t0 = time.perf_counter()
            try:
                return real_range(fd, offset, length, flags)
            finally:
                self.seconds += time.perf_counter() - t0

        def timed_sync(fd):
            t0 = time.perf_counter()
            try:
                return real_sync(fd)
            finally:
                self.seconds += time.perf_counter() - t0

        if real_range is not None:
            clientmod._sync_file_range = timed_range
        clientmod.os.fdatasync = timed_sync


def sha_seconds(path: Path) -> float:
    import hashlib

    digest, start = hashlib.sha256(), time.perf_counter()
    with open(path, "rb") as f:
        while chunk := f.read(clientmod.CHUNK):
            digest.update(chunk)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # on the working disk, not a tmpfs
        tmp = Path(tmp)
        src = authoring(tmp / "src", {"big.png": (10, 200, 10)}, junk={"big.png": SIZE})
        publish.publish(src, tmp / "out", None)
        shutil.rmtree(src)
        entry = json.loads((tmp / "out" / "manifest.json").read_bytes())["media"]["images/big.png"]
        sha, size = entry["sha256"], entry["size"]
        server, kind = serve(tmp / "out", tmp)
        url = server.url + f"media/{sha}"

        def curl() -> float:
            target = tmp / "curl.out"
            start = time.perf_counter()
            subprocess.run(["curl", "-s", "-f", "-o", str(target), url], check=True)
            rate = size / (time.perf_counter() - start) / 1e6
            target.unlink()
            return rate

        disk = DiskWait()

        def kiosk() -> float:
            client = Client(server.url)
            disk.seconds = 0.0
            start = time.perf_counter()
            client.download(f"media/{sha}", sha, size, Cache(tmp / "cache"))
            rate = size / (time.perf_counter() - start) / 1e6
            client.close()
            shutil.rmtree(tmp / "cache")
            return rate

        print(f"server: {kind}; file {size} bytes; {runs} runs; load before: {loadavg()}")
        ratios, hashing = [], []
        try:
            kiosk(), curl()  # warm-up: the file in the page cache for both, the disk awake
            for n in range(runs):
                if n % 2:
                    k, c = kiosk(), curl()
                else:
                    c, k = curl(), kiosk()
                ratios.append(k / c)
                hashing.append(sha_seconds(tmp / "out" / "media" / sha))
                print(f"run {n + 1}: curl {c:6.0f} MB/s, kiosk {k:6.0f} MB/s: {k / c:4.0%} of curl "
                      f"(of its {size / k / 1e3:.0f} ms, {disk.seconds * 1000:.0f} waiting for the disk)   "
                      f"load {loadavg()}")
        finally:
            server.close()
        print(f"kiosk / curl: min {min(ratios):.0%}, max {max(ratios):.0%}; "
              f"{sum(r >= 0.85 for r in ratios)} of {runs} runs at >= 85 %")
        # What the client does that curl does not, alone: the SHA-256 of the same bytes (from the page cache,
        # one thread). On two cores shared with nginx, that CPU time is what a download can lose to curl.
        print(f"SHA-256 of the {size / 1e6:.0f} MB alone, one core: {1000 * min(hashing):.0f}-"
              f"{1000 * max(hashing):.0f} ms ({size / min(hashing) / 1e6:.0f} MB/s at best)")


if __name__ == "__main__":
    main()
