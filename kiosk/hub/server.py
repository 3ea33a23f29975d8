"""`kiosk hub -c hub.yaml`: the hub's process. Opens and migrates the database, serves the app with uvicorn
behind nginx, and prunes raw plays past `database.retention_days` once an hour.

One process, one event loop; the database work runs in uvicorn's worker threads. SIGTERM (systemd)
finishes the requests under way and stops; a board whose request was cut sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

from kiosk.hub.config import HubConfig
from kiosk.hub.database import Database, DatabaseError
from kiosk.hub.migrations import migrate
from kiosk.hub.store import Store

log = logging.getLogger("kiosk.hub")

PRUNE_SECONDS = 3600.0


def open_store(cfg: HubConfig) -> Store:
    """The database of hub.yaml, migrated to this program's schema (DatabaseError with one line otherwise)."""
    db = Database.open(cfg.database.url)
    try:
        migrate(db)
    except Exception as exc:
        db.close()
        if isinstance(exc, DatabaseError) or type(exc).__module__.split(".")[0] not in ("sqlite3", "psycopg"):
            raise
        raise DatabaseError(f"database {db.description}: {exc}") from None  # read-only file, no rights, …
    return Store(db, cfg.zone, cfg.boards.heartbeat_seconds, cfg.database.retention_days)


def serve(cfg: HubConfig) -> int:
    import uvicorn

    from kiosk.hub.app import Hub

    try:
        sock = _listen(cfg.host, cfg.port)
    except OSError as exc:
        log.critical("listen %s:%d: %s", cfg.host, cfg.port, exc.strerror or exc)
        return 1
    store = open_store(cfg)
    hub = Hub(cfg, store)
    app = hub.app()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        task = asyncio.create_task(_prune_forever(store))
        log.info("kiosk hub: listening on %s:%d, database %s", cfg.host, cfg.port, store.db.description)
        try:
            yield
        finally:
            task.cancel()

    app.router.lifespan_context = lifespan
    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            # uvicorn re-raises the signal once stopped; a stop asked by systemd is a clean exit (0), as for kiosk run
            getattr(self, "_captured_signals", []).clear()

    server = Server(uvicorn.Config(
        app, log_config=None, access_log=False, server_header=False, date_header=True,
        proxy_headers=True, forwarded_allow_ips="127.0.0.1", timeout_keep_alive=30,
        timeout_graceful_shutdown=10, lifespan="on",
    ))
    try:
        server.run(sockets=[sock])
    finally:
        store.db.close()
        log.info("kiosk hub: stopped")
    return 0


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: an answer written in two parts (head, body) is not held back by
    # Nagle until the client's delayed ACK (40 ms per page on a keep-alive connection).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


async def _prune_forever(store: Store) -> None:
    while True:
        try:
            removed = await asyncio.to_thread(store.prune, time.time())
            if removed:
                log.info("kiosk hub: %d raw plays past retention removed (their daily totals stay)", removed)
        except Exception as exc:  # noqa: BLE001 - housekeeping: say it, try again in an hour
            log.error("kiosk hub: pruning failed: %s", exc)
        await asyncio.sleep(PRUNE_SECONDS)
