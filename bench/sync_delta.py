"""Unchanged poll = one request and no media bytes; one of 100 slides changed = that file's bytes only."""

from __future__ import annotations

import tempfile
from pathlib import Path

from synclab import authoring, board_config, serve

from kiosk.source import publish, sync
from kiosk.status import Status


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        colours = {f"{i:03d}.jpg": (i, (7 * i) % 256, (13 * i) % 256) for i in range(100)}
        src = authoring(tmp / "src", colours)
        publish.publish(src, tmp / "out", None)
        server, kind = serve(tmp / "out", tmp)
        try:
            cfg = board_config(tmp / "board", server.url)
            ready = []
            syncer = sync.Syncer(cfg, Status(), ready.append, sync.probe_only)
            first = syncer.cycle()
            n0 = len(server.log())
            print(f"server: {kind}")
            print(f"cold sync: {first.files} files, {first.bytes} bytes, {n0} requests")

            second = syncer.cycle()
            rows = server.log()[n0:]
            media = sum(r[3] for r in rows if r[1].startswith("/media/"))
            print(f"unchanged poll: {len(rows)} request(s) {[(r[1], r[2]) for r in rows]}, "
                  f"{media} media bytes, changed={second.changed}")

            authoring(src, {**colours, "042.jpg": (255, 255, 255)})
            publish.publish(src, tmp / "out", None)
            n1 = len(server.log())
            third = syncer.cycle()
            rows = server.log()[n1:]
            media_rows = [r for r in rows if r[1].startswith("/media/")]
            size = (src / "images" / "042.jpg").stat().st_size
            manifest_bytes = sum(r[3] for r in rows if r[1] == "/manifest.json")
            print(f"one of 100 changed: {len(rows)} requests, {len(media_rows)} media file(s), "
                  f"{sum(r[3] for r in media_rows)} media bytes (the changed file is {size} bytes), "
                  f"manifest {manifest_bytes} bytes, changed={third.changed}")
        finally:
            server.close()


if __name__ == "__main__":
    main()
