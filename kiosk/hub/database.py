"""The hub's database: SQLite (WAL) by default, PostgreSQL (psycopg 3) for a province. One way to talk to both.

Every query is written once with `?` placeholders; `Database.tx()` hands out a transaction whose
`execute` speaks the engine's own placeholders. SQLite: one writer connection behind a lock (writers
never wait in SQLite's busy loop, which sleeps in steps of up to 100 ms and would show in the heartbeat
latency) and one reader connection per thread (WAL readers never block the writer). PostgreSQL: a small
psycopg_pool. The DDL differences (binary, serial, float types) are named in `types`.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

log = logging.getLogger("kiosk.hub")

BUSY_MS = 10_000  # another process (kiosk hub add-board while the hub runs) holds the SQLite file


class DatabaseError(Exception):
    """The database cannot be opened or used; the message says which and why, in one line."""


class Tx:
    """One transaction: `execute(sql, params)` → rows, `executemany`, `one`, `value`."""

    def __init__(self, cursor, postgres: bool):
        self._cur = cursor
        self._pg = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg else sql

    def execute(self, sql: str, params: Sequence = ()) -> list[tuple]:
        self._cur.execute(self._sql(sql), tuple(params))
        return self._cur.fetchall() if self._cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        if rows:
            self._cur.executemany(self._sql(sql), rows)

    def one(self, sql: str, params: Sequence = ()) -> tuple | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def value(self, sql: str, params: Sequence = (), default=None):
        row = self.one(sql, params)
        return default if row is None or row[0] is None else row[0]

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


class Database:
    """Opened once per process; `tx(write=True)` for every unit of work."""

    postgres = False
    types = {"blob": "BLOB", "float": "REAL", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "bigint": "INTEGER"}

    @staticmethod
    def open(url: str) -> Database:
        if url.startswith(("postgresql://", "postgres://")):
            return PostgresDatabase(url)
        return SqliteDatabase(Path(url.removeprefix("sqlite://")))

    def tx(self, write: bool = True) -> contextlib.AbstractContextManager[Tx]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def description(self) -> str:
        raise NotImplementedError


class SqliteDatabase(Database):
    def __init__(self, path: Path):
        self.path = path
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        try:
            self._writer = self._connect()
            mode = self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.Error as exc:
            raise DatabaseError(f"database {path}: {exc}") from None
        if mode != "wal":
            log.warning("database %s: journal mode %s (WAL refused): readers will wait for writers", path, mode)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        # FULL: a play acknowledged to a board is on disk before the 2xx (the board deletes it then).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def description(self) -> str:
        return f"SQLite {self.path}"

    @contextlib.contextmanager
    def tx(self, write: bool = True) -> Iterator[Tx]:
        if write:
            with self._write_lock:
                yield from self._run(self._writer, "BEGIN IMMEDIATE")
        else:
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self._connect()
            yield from self._run(conn, "BEGIN")

    @staticmethod
    def _run(conn: sqlite3.Connection, begin: str) -> Iterator[Tx]:
        try:
            conn.execute(begin)
        except sqlite3.Error as exc:
            raise DatabaseError(f"database: {exc}") from None
        cur = conn.cursor()
        try:
            yield Tx(cur, postgres=False)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            cur.close()

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()


class PostgresDatabase(Database):
    postgres = True
    types = {"blob": "BYTEA", "float": "DOUBLE PRECISION", "serial": "BIGSERIAL PRIMARY KEY", "bigint": "BIGINT"}

    def __init__(self, url: str, max_size: int = 8):
        try:
            import psycopg  # noqa: F401
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise DatabaseError(
                "database.url is PostgreSQL, which needs psycopg: pip install 'kiosk[hub]'") from None
        self.url = url
        self._pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, timeout=10,
                                    kwargs={"application_name": "kiosk-hub"})
        try:
            self._pool.open(wait=True, timeout=10)
        except Exception as exc:  # noqa: BLE001 - psycopg_pool.PoolTimeout hides the reason in the log
            self._pool.close()
            raise DatabaseError(f"database {self.description}: cannot connect ({_pg_reason(url, exc)})") from None

    @property
    def description(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(self.url)
        except Exception:  # noqa: BLE001 - a description, never a reason to fail
            return "PostgreSQL"
        return f"PostgreSQL {info.get('user', '')}@{info.get('host', 'localhost')}/{info.get('dbname', '')}"

    @contextlib.contextmanager
    def tx(self, write: bool = True) -> Iterator[Tx]:
        import psycopg

        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield Tx(cur, postgres=True)
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"database: {exc}".strip()) from None

    def close(self) -> None:
        self._pool.close()


def _pg_reason(url: str, exc: Exception) -> str:
    """The pool only says "timeout": one direct attempt tells the technician why."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as direct:
        return str(direct).strip().splitlines()[0]
    return str(exc) or type(exc).__name__
