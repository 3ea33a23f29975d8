"""Real hubs for tests and benchmarks: a database (SQLite file, or a fresh schema in the PostgreSQL that
.ci/postgres starts), a hub served by uvicorn on 127.0.0.1 in a thread, or a real `kiosk hub` process."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("KIOSK_TEST_POSTGRES", "postgresql://kiosk_test:kiosk_test@127.0.0.1:5432/kiosk_test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_reachable() -> str | None:
    """None when the test database answers; else why not (the reason a test is skipped). Under CI
    (KIOSK_REQUIRE_POSTGRES=1, set by .ci/run) an unreachable database fails instead: never a silent skip."""
    why = None
    try:
        import psycopg
    except ImportError:
        why = "psycopg is not installed"
    else:
        try:
            psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
        except psycopg.Error as exc:
            why = f"no PostgreSQL at {POSTGRES_URL} ({str(exc).strip().splitlines()[0]}); .ci/postgres starts one"
    if why and os.environ.get("KIOSK_REQUIRE_POSTGRES") == "1":
        raise RuntimeError(why)
    return why


@contextlib.contextmanager
def postgres_schema():
    """A URL whose connections live in a new, empty schema, dropped afterwards."""
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield POSTGRES_URL + sep + "options=" + urllib.parse.quote(f"-csearch_path={schema}")
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def write_hub_yaml(folder: Path, port: int, database_url: str | None = None, extra: str = "") -> Path:
    path = folder / "hub.yaml"
    db = f"database:\n  url: {database_url}\n" if database_url else ""
    path.write_text(f"listen: 127.0.0.1:{port}\n{db}{extra}", encoding="utf-8")
    return path


class ThreadHub:
    """A hub app under uvicorn in this process (fast to start); `url` ends with '/'."""

    def __init__(self, cfg, clock=time.time):
        import uvicorn

        from kiosk.hub.app import Hub
        from kiosk.hub.server import open_store

        self.store = open_store(cfg)
        self.hub = Hub(cfg, self.store, clock=clock)
        self.port = cfg.port
        self.url = f"http://127.0.0.1:{cfg.port}/"
        self.server = uvicorn.Server(uvicorn.Config(self.hub.app(), host="127.0.0.1", port=cfg.port, log_config=None,
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the hub did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.store.db.close()


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


class HubProcess:
    """A real `kiosk hub -c hub.yaml` process."""

    def __init__(self, config: Path, port: int):
        self.url = f"http://127.0.0.1:{port}/"
        self.log = config.parent / "hub.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", "hub", "-c", str(config)], stdout=self._out,
                                     stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("kiosk hub did not start:\n" + self.log.read_text(errors="replace")) from None
                time.sleep(0.05)

    def stop(self, sig: int = 15) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        return self.proc.returncode, self.log.read_text(errors="replace")


def heartbeat_body(board: str, **fields) -> bytes:
    body = {"device_id": board, "sent_at": "2026-11-26T08:30:00+07:00", "version": "0.1.0", "uptime_s": 10.0,
            "content_version": "v1", "current_slide": "lich-tiep-cong-dan",
            "last_sync": {"at": "2026-11-26T08:29:02+07:00", "ok": True, "error": None},
            "disk_free_bytes": 24e9, "cpu_temp_c": 51.2, "display_ok": True, "errors": {}, **fields}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def play(pid: str, slide: str = "lich-tiep-cong-dan", start: str = "2026-11-26T08:30:00+07:00",
         duration: float = 15.0) -> dict:
    import datetime as dt

    begin = dt.datetime.fromisoformat(start)
    end = begin + dt.timedelta(seconds=duration)
    return {"id": pid, "slide_id": slide, "started_at": begin.isoformat(), "ended_at": end.isoformat(),
            "duration_s": duration, "cut_short": False, "content_version": "v1"}
