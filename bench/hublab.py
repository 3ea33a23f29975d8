"""Shared set-up for the hub's benchmarks: a database (SQLite or the test PostgreSQL), boards registered in
bulk, a real `kiosk hub` process, and a small asyncio HTTP/1.1 client with keep-alive (the load comes from
another process than the hub's, as it would from boards).

Run from the repository root, e.g. `python bench/hub.py heartbeat`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hubs import HubProcess, free_port, postgres_reachable, postgres_schema, write_hub_yaml  # noqa: E402

from kiosk.hub import auth  # noqa: E402
from kiosk.hub import config as hubconfig  # noqa: E402
from kiosk.hub.server import open_store  # noqa: E402


def load() -> str:
    return open("/proc/loadavg").read().split(" ", 3)[:3].__str__()


@contextlib.contextmanager
def database(engine: str):
    """A fresh database URL of `engine` ("sqlite" or "postgresql")."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kiosk-hub-bench-") as folder:
            yield f"sqlite://{Path(folder) / 'hub.sqlite'}"
        return
    why = postgres_reachable()
    if why:
        raise SystemExit(why)
    with postgres_schema() as url:
        yield url


@contextlib.contextmanager
def hub(url: str, extra: str = "limits:\n  requests_per_minute: 100000\n"):
    """A running `kiosk hub` on `url`, with its config and an open store for set-up: (process, cfg, store)."""
    with tempfile.TemporaryDirectory(prefix="kiosk-hub-bench-") as folder:
        port = free_port()
        cfg = hubconfig.load(write_hub_yaml(Path(folder), port, url, extra))
        store = open_store(cfg)
        process = HubProcess(cfg.file, port)
        try:
            yield process, cfg, store
        finally:
            process.stop()
            store.db.close()


def register(store, count: int, prefix: str = "xa") -> dict[str, str]:
    """`count` boards at once (one transaction): {id: token}."""
    tokens = {f"{prefix}-{i:04d}": auth.new_token() for i in range(count)}
    with store.db.tx() as tx:
        tx.executemany("INSERT INTO boards (id, name, commune, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                       [(bid, f"UBND xã {bid}", f"Huyện {i % 12}", auth.token_hash(tok), time.time())
                        for i, (bid, tok) in enumerate(tokens.items())])
    return tokens


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def request(self, path: str, body: bytes, token: str, content_type: str = "application/json"
                      ) -> tuple[int, bytes]:
        for attempt in (0, 1):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                self.writer.write(head + body)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionError("closed")
                status = int(status_line.split()[1])
                length = 0
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                return status, await self.reader.readexactly(length)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                self.close()
                if attempt:
                    raise
        raise AssertionError

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def heartbeat(board: str, uptime: float) -> bytes:
    return json.dumps({
        "device_id": board, "device_name": f"UBND xã {board}", "sent_at": "2026-11-26T08:30:00+07:00",
        "version": "0.1.0", "uptime_s": uptime, "content_version": "3f2a9c", "current_slide": "lich-tiep-cong-dan",
        "last_sync": {"at": "2026-11-26T08:29:02+07:00", "ok": True, "error": None}, "disk_free_bytes": 24e9,
        "cpu_temp_c": 51.2, "display_ok": True, "power": "on", "emergency": False, "clock_synced": True,
        "errors": {}, "plays_queued": 3, "plays_dropped_total": 0,
        "device": {"throttled": {"raw": 0}, "load": [0.21, 0.2, 0.18], "memory_total_bytes": 4e9},
    }, ensure_ascii=False).encode()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms, "
            f"max {max(values) * 1000:.1f} ms, mean {statistics.fmean(values) * 1000:.1f} ms")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
