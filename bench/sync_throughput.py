"""A 200 MB file over loopback: the sync client's throughput against curl's, same server, same run.

Both write the file to the same disk folder; the client also hashes (SHA-256)
on the fly and fsyncs, as it does on a board. Runs alternate; medians reported.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from synclab import authoring, serve

from kiosk.source import publish
from kiosk.source.cache import Cache
from kiosk.source.client import Client

SIZE = 200 * 1024 * 1024
RUNS = 7


def main() -> None:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # on the working disk, not a tmpfs
        tmp = Path(tmp)
        src = authoring(tmp / "src", {"big.png": (10, 200, 10)}, junk={"big.png": SIZE})
        publish.publish(src, tmp / "out", None)
        shutil.rmtree(src)
        entry = json.loads((tmp / "out" / "manifest.json").read_bytes())["media"]["images/big.png"]
        sha, size = entry["sha256"], entry["size"]
        server, kind = serve(tmp / "out", tmp)
        curl_rates, ours = [], []
        try:
            for _ in range(RUNS):
                target = tmp / "curl.out"
                start = time.perf_counter()
                subprocess.run(["curl", "-s", "-f", "-o", str(target), server.url + f"media/{sha}"], check=True)
                curl_rates.append(size / (time.perf_counter() - start) / 1e6)
                target.unlink()

                store = Cache(tmp / "cache")
                client = Client(server.url)
                start = time.perf_counter()
                client.download(f"media/{sha}", sha, size, store)
                ours.append(size / (time.perf_counter() - start) / 1e6)
                client.close()
                shutil.rmtree(tmp / "cache")
        finally:
            server.close()
        c, o = statistics.median(curl_rates), statistics.median(ours)
        print(f"server: {kind}; file {size} bytes; {RUNS} alternating runs")
        print(f"curl -o FILE:            median {c:7.1f} MB/s  runs {[round(x) for x in curl_rates]}")
        print(f"kiosk (hash+fsync+write): median {o:7.1f} MB/s  runs {[round(x) for x in ours]}")
        print(f"ratio: {o / c:.0%} of curl")


if __name__ == "__main__":
    main()
