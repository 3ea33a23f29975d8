"""What a poll costs: an unchanged one, and one slide changed in a big programme.

    python bench/sync_delta.py [--slides 1000] [--polls 20]

A programme of 1,000 image slides (small JPEGs, distinct) is published and served by nginx (gzip on for
JSON, as docs/deploy.md asks of a province's server); a board syncs it cold, then polls unchanged
(requests, media bytes, the CPU time of the sync thread per poll), then one picture is replaced and
republished and the board syncs again (requests, bytes on the wire: nginx's access log).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from synclab import authoring, board_config, loadavg, serve

from kiosk.source import publish, sync
from kiosk.status import Status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slides", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        colours = {f"{i:04d}.jpg": (i % 256, (7 * i) % 256, (13 * i // 256) % 256) for i in range(args.slides)}
        src = authoring(tmp / "src", colours)
        publish.publish(src, tmp / "out", None)
        manifest_size = (tmp / "out" / "manifest.v2.json").stat().st_size
        server, kind = serve(tmp / "out", tmp)
        try:
            cfg = board_config(tmp / "board", server.url)
            ready = []
            syncer = sync.Syncer(cfg, Status(), ready.append, sync.probe_only)
            first = syncer.cycle()
            n0 = len(server.log())
            print(f"server: {kind}; {args.slides} slides; manifest.v2.json {manifest_size} bytes; load {loadavg()}")
            print(f"cold sync: {first.files} files, {first.bytes} bytes, {n0} requests")

            syncer.cycle()  # the first poll after a change reads the new state/ and looks at its media once
            cpu = []
            for _ in range(args.polls):
                t0 = time.thread_time()
                result = syncer.cycle()
                cpu.append((time.thread_time() - t0) * 1000)
                assert result.ok and not result.changed
            rows = server.log()[n0 + 1:]
            media = sum(r[3] for r in rows if r[1].startswith("/media/"))
            statuses = sorted({(r[1], r[2]) for r in rows})
            print(f"unchanged poll ({args.polls} polls): CPU of the sync thread median "
                  f"{statistics.median(cpu):.2f} ms, max {max(cpu):.2f} ms; "
                  f"{len(rows) / args.polls:.0f} request a poll {statuses}, {media} media bytes")

            authoring(src, {**colours, "0042.jpg": (255, 255, 255)})
            publish.publish(src, tmp / "out", None)
            n1 = len(server.log())
            third = syncer.cycle()
            rows = server.log()[n1:]
            media_rows = [r for r in rows if r[1].startswith("/media/")]
            size = (src / "images" / "0042.jpg").stat().st_size
            manifest_bytes = sum(r[3] for r in rows if r[1] == "/manifest.v2.json")
            print(f"one of {args.slides} changed: {len(rows)} requests, {len(media_rows)} media file(s), "
                  f"{sum(r[3] for r in media_rows)} media bytes (the changed file is {size} bytes), manifest "
                  f"{manifest_bytes} bytes on the wire ({manifest_size} uncompressed): {manifest_bytes + size} "
                  f"bytes in all; changed={third.changed}")
        finally:
            server.close()


if __name__ == "__main__":
    main()
