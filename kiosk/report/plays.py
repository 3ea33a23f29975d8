"""Proof of play: one record per slide shown, kept in a durable, bounded queue until the source system has it.

The render loop calls `record()`, which only appends to a list in memory: the loop never waits for the
SD card. The reporter's thread calls `flush()` about once a minute (or after 50 plays), which writes the
whole batch in one SQLite transaction. SQLite runs in WAL mode with synchronous=NORMAL: a commit is one
append to the write-ahead log, without an fsync; the log is fsynced at checkpoints. So:

- kill -9 (or a crash) loses only the plays still in memory: everything committed is in the WAL, which
  survives the process.
- a power cut loses the plays in memory (at most one flush interval, 60 s, or 50 plays) plus the commits
  the kernel had not yet written back (Linux writes dirty pages within ~30 s): roughly the last 1–2
  minutes of plays, a handful of records. The file is never corrupt: WAL frames carry checksums and a
  torn tail is discarded on the next open.

Why that trade: a slide changes every ~10 s; an fsync per play would be ~8,600 small synchronous writes a
day, each rewriting a flash page (and often a whole erase block) of a cheap SD card. One unsynced
append a minute is ~1,440 writes a day, coalesced by the kernel. Losing a minute of statistics in a
power cut is cheap; a worn-out card is a dead board.

The queue is bounded: beyond `max_rows` the OLDEST plays are dropped and counted in `dropped_total`
(persisted, reported in the heartbeat), so a board cut off from its server for months never fills
its card.

The card itself may fail: full at boot, read-only, the cache folder deleted while the player runs.
None of that stops proof of play. The queue opens its file when it can (at each flush, until it
works), keeps plays in memory meanwhile (at most MEMORY_CAP), and `pending()` hands the uploader the
plays in memory after those on disk, so a reachable server gets them even while the card refuses
every write. A file deleted while in use is noticed at the next flush and written again, with the
plays it held.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
import time
import uuid
import zoneinfo
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from kiosk.i18n import _

CHANNEL_SEPARATOR = ":"  # kiosk.content.layers.SEPARATOR (report imports no content module: docs/design.md)

log = logging.getLogger("kiosk.plays")

FLUSH_BATCH = 50  # plays in memory that make the reporter flush early
BUSY_TIMEOUT = 2.0  # seconds to wait at open if another process holds the file
MEMORY_CAP = 5_000  # plays held in memory at most if the disk refuses writes (then the oldest go)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plays (
    seq INTEGER PRIMARY KEY,  -- not AUTOINCREMENT: that costs a page write per commit
    id TEXT NOT NULL UNIQUE,
    slide_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    cut_short INTEGER NOT NULL,
    content_version TEXT
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_COLUMNS = "id, slide_id, started_at, ended_at, duration_s, cut_short, content_version"


@dataclass(frozen=True)
class Play:
    """One slide shown once. `id` is unique per play so the server can drop duplicate uploads."""

    id: str
    slide_id: str
    started_at: str  # ISO 8601 with offset, e.g. 2026-11-26T08:30:00+07:00
    ended_at: str
    duration_s: float
    cut_short: bool = False  # ended before its duration (emergency, new content, screen off, stop)
    content_version: str | None = None

    @classmethod
    def create(
        cls,
        slide_id: str,
        started_at: dt.datetime,
        ended_at: dt.datetime,
        *,
        cut_short: bool = False,
        content_version: str | None = None,
        timezone: str = "Asia/Ho_Chi_Minh",
        duration_s: float | None = None,
    ) -> Play:
        """A new play with a fresh id. Naive datetimes are local times in `timezone`.

        Pass `duration_s` measured on the monotonic clock when you have it: it stays right even if the
        wall clock is stepped (NTP) during the slide.
        """
        tz = zoneinfo.ZoneInfo(timezone)
        start = started_at if started_at.tzinfo else started_at.replace(tzinfo=tz)
        end = ended_at if ended_at.tzinfo else ended_at.replace(tzinfo=tz)
        if duration_s is None:
            duration_s = (end - start).total_seconds()
        return cls(
            id=uuid.uuid4().hex,
            slide_id=slide_id,
            started_at=start.isoformat(timespec="seconds"),
            ended_at=end.isoformat(timespec="seconds"),
            duration_s=round(max(0.0, float(duration_s)), 3),
            cut_short=bool(cut_short),
            content_version=content_version,
        )

    def to_json(self) -> dict:
        """The body of one play in `POST devices/<id>/plays` (docs/reports.md). A slide of a channel
        (`tinh:thong-bao`, kiosk.content.layers) also says its `channel`; the board's own slides do not."""
        body = {
            "id": self.id,
            "slide_id": self.slide_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "cut_short": self.cut_short,
            "content_version": self.content_version,
        }
        if CHANNEL_SEPARATOR in self.slide_id:
            body["channel"] = self.slide_id.split(CHANNEL_SEPARATOR, 1)[0]
        return body


class PlayQueue:
    """A durable FIFO of plays on SQLite. Thread-safe: the render loop records, the reporter flushes,
    uploads and acknowledges. Never raises at construction for a disk problem: see `disk_error`."""

    def __init__(self, path: Path, max_rows: int = 100_000):
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.path = Path(path)
        self.max_rows = max_rows
        self.wakeup = threading.Event()  # set when FLUSH_BATCH plays wait in memory
        self._buffer: deque[Play] = deque()
        self._buffer_lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._memory_dropped = 0
        self._rows = 0
        self._dropped = 0
        self._closed = False
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file the connection has open
        self.disk_error: str | None = None  # why plays are held in memory only (None: the file works)
        with self._db_lock:
            self._try_open()

    # --- opening -------------------------------------------------------------------------------------

    def _try_open(self) -> bool:
        """Open the file if it is not open (under _db_lock); False, with disk_error said once, if it cannot be."""
        if self._db is not None:
            return True
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            message = _("cannot open {path}: {reason}; plays are kept in memory (at most {most})").format(
                path=self.path, reason=_disk_trouble(self.path.parent) or exc, most=MEMORY_CAP)
            if message != self.disk_error:
                log.error(_("plays: {message}").format(message=message))
            self.disk_error = message
            return False
        self._identity = _identity(self.path)
        if self.disk_error is not None:
            log.info(_("plays: {path} can be written again").format(path=self.path))
        self.disk_error = None
        return True

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in _DAMAGED:
                raise  # e.g. locked by another kiosk process: not ours to move
            # A file that is not a database (or damaged beyond SQLite's recovery) must not stop the
            # player: keep it for inspection and start an empty queue.
            aside = self.path.with_name(f"{self.path.name}.broken-{int(time.time())}")
            log.error(_("plays queue {path} is unreadable ({reason}); moved aside to {aside}, starting empty").format(
                path=self.path, reason=exc, aside=aside))
            for suffix in ("", "-wal", "-shm"):
                part = Path(str(self.path) + suffix)
                if part.exists():
                    part.replace(Path(str(aside) + suffix))
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT)
        try:
            # One process owns the file: with an exclusive lock taken before WAL mode, the WAL index lives in
            # memory instead of a -shm file, which halves the bytes written per flush (bench/plays_cost.py).
            # To inspect the queue with the sqlite3 tool, stop kiosk first.
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-512")  # KiB; the queue only touches its head and tail
            db.executescript(_SCHEMA)
            (self._rows,) = db.execute("SELECT count(*) FROM plays").fetchone()
            row = db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
            self._dropped = row[0] if row else 0
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _follow_the_file(self) -> None:
        """The file was deleted (or replaced) while open: write its plays to a new one (under _db_lock).

        Writes to a deleted file succeed and vanish at the next start; a board whose cache folder was
        removed must not lose what it had not uploaded yet."""
        if self._db is None or _identity(self.path) == self._identity:
            return
        old = self._db
        try:
            rows = old.execute(f"SELECT {_COLUMNS} FROM plays ORDER BY seq").fetchall()
        except sqlite3.Error:
            rows = []
        dropped = self._dropped
        self._db, self._identity = None, None
        if not self._try_open():
            self._db, self._identity = old, _identity(self.path)  # keep writing where we can; try again later
            return
        log.warning(_("plays: {path} was deleted while in use; written again with the {count} plays not yet "
                      "uploaded").format(path=self.path, count=len(rows)))
        old.close()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.executemany(f"INSERT OR IGNORE INTO plays ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            extra = max(0, dropped - self._dropped)
            if extra:
                db.execute("INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                           "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (extra,))
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        self._rows += max(0, cur.rowcount)
        self._dropped += extra

    # --- the render loop's side ----------------------------------------------------------------------

    def record(self, play: Play) -> None:
        """Queue one play. Memory only, O(1): safe to call from the render loop."""
        with self._buffer_lock:
            if len(self._buffer) >= MEMORY_CAP:  # the disk has been refusing writes for a long time
                self._buffer.popleft()
                self._memory_dropped += 1
            self._buffer.append(play)
            if len(self._buffer) >= FLUSH_BATCH:
                self.wakeup.set()

    # --- the reporter's side -------------------------------------------------------------------------

    def buffered(self) -> int:
        """Plays in memory, not yet on disk."""
        with self._buffer_lock:
            return len(self._buffer)

    def flush(self) -> int:
        """Write the plays in memory to disk in one transaction; return how many.

        On a disk error (card full, read-only, the file cannot be opened) the plays stay in memory
        (bounded by MEMORY_CAP) and OSError is raised for the caller to report; the next flush tries
        again, opening the file first if need be."""
        with self._db_lock:
            if self._closed:
                return 0
            if not self._try_open():
                raise OSError(self.disk_error)
            try:
                self._follow_the_file()
            except sqlite3.Error as exc:
                raise OSError(f"cannot write plays to {self.path}: {exc}") from exc
            with self._buffer_lock:
                batch = list(self._buffer)
                self._buffer.clear()
                memory_dropped, self._memory_dropped = self._memory_dropped, 0
                self.wakeup.clear()
            if not batch and not memory_dropped:
                return 0
            try:
                self._write(batch, memory_dropped)
            except sqlite3.Error as exc:
                with self._buffer_lock:  # put them back in front of anything recorded meanwhile
                    self._buffer.extendleft(reversed(batch))
                    self._memory_dropped += memory_dropped
                    while len(self._buffer) > MEMORY_CAP:
                        self._buffer.popleft()
                        self._memory_dropped += 1
                raise OSError(f"cannot write plays to {self.path}: {exc}") from exc
        return len(batch)

    def _write(self, batch: list[Play], memory_dropped: int) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.executemany(
                f"INSERT OR IGNORE INTO plays ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.id, p.slide_id, p.started_at, p.ended_at, p.duration_s, int(p.cut_short), p.content_version)
                    for p in batch
                ],
            )
            rows = self._rows + max(0, cur.rowcount)  # no count(*) scan of a large queue every minute
            excess = max(0, rows - self.max_rows)
            if excess:
                db.execute(
                    "DELETE FROM plays WHERE seq IN (SELECT seq FROM plays ORDER BY seq LIMIT ?)",
                    (excess,),
                )
            dropped = excess + memory_dropped
            if dropped:
                db.execute(
                    "INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    (dropped,),
                )
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        if dropped:
            log.warning(_("plays queue full (at most {disk} on disk, {memory} in memory): dropped the {count} oldest "
                          "plays").format(disk=self.max_rows, memory=MEMORY_CAP, count=dropped))
        self._rows = rows - excess
        self._dropped += dropped

    def pending(self, limit: int = 500) -> list[Play]:
        """The oldest plays waiting for the server: those on disk, then those still in memory (so a board
        whose card refuses writes still uploads them). Call flush() first to write memory to disk."""
        rows = []
        with self._db_lock:
            if self._db is not None and not self._closed:
                try:
                    rows = self._db.execute(f"SELECT {_COLUMNS} FROM plays ORDER BY seq LIMIT ?", (limit,)).fetchall()
                except sqlite3.Error as exc:  # EIO on read: what is in memory can still go
                    log.warning(_("plays: cannot read {path}: {reason}").format(path=self.path, reason=exc))
            plays = [
                Play(id=r[0], slide_id=r[1], started_at=r[2], ended_at=r[3], duration_s=r[4], cut_short=bool(r[5]),
                     content_version=r[6])
                for r in rows
            ]
            if len(plays) < limit:
                with self._buffer_lock:
                    plays.extend(list(self._buffer)[: limit - len(plays)])
        return plays

    def ack(self, ids: list[str]) -> int:
        """The server has these plays (a 2xx): delete them, on disk or in memory. Unknown ids are ignored.
        Returns how many were removed; OSError when the disk refuses (those on disk are then sent again)."""
        ids = list(ids)
        if not ids:
            return 0
        deleted = 0
        failure = None
        with self._db_lock:
            wanted = set(ids)
            with self._buffer_lock:  # those in memory go whatever the disk does
                kept = deque(p for p in self._buffer if p.id not in wanted)
                deleted += len(self._buffer) - len(kept)
                self._buffer = kept
            if self._db is not None and not self._closed:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    try:
                        # One statement shape whatever the batch size: an IN (?, ?, …) list of varying length
                        # would fill the statement cache with up to 128 big prepared statements (megabytes).
                        cur = self._db.executemany("DELETE FROM plays WHERE id = ?", [(i,) for i in ids])
                        self._db.execute("COMMIT")
                    except BaseException:
                        _rollback(self._db)
                        raise
                    deleted += max(0, cur.rowcount)
                    self._rows -= max(0, cur.rowcount)
                except sqlite3.Error as exc:
                    # Only the message is kept: the exception's traceback holds this frame and its cursor, an
                    # unfinalized statement that would keep the file open (and locked) after close().
                    failure = str(exc)
        if failure is not None:  # they stay on disk and go again: the server drops them by id
            raise OSError(f"cannot remove acknowledged plays from {self.path}: {failure}")
        return deleted

    def count(self) -> int:
        """Plays waiting for the server: on disk and in memory."""
        with self._buffer_lock:
            buffered = len(self._buffer)
        with self._db_lock:
            return self._rows + buffered

    @property
    def dropped_total(self) -> int:
        """Plays dropped because the queue was full, ever (persisted across restarts)."""
        with self._buffer_lock:
            memory = self._memory_dropped
        with self._db_lock:
            return self._dropped + memory

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Flush what is in memory, checkpoint the WAL into the database and close. Idempotent."""
        if self._closed:
            return
        try:
            self.flush()
        except OSError as exc:
            log.error(_("plays: {message}").format(message=exc))
        with self._db_lock:
            if self._db is not None:
                try:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error as exc:
                    log.warning(_("plays queue checkpoint failed: {reason}").format(reason=exc))
                self._db.close()
                self._db = None
            self._closed = True

    def __enter__(self) -> PlayQueue:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _rollback(db: sqlite3.Connection) -> None:
    """Undo a transaction that failed; a ROLLBACK refused too (the disk is gone) changes nothing more."""
    try:
        db.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _disk_trouble(folder: Path) -> str | None:
    """What the file system says is wrong (SQLite only says "unable to open database file")."""
    for probe in (folder, *folder.parents):
        try:
            st = os.statvfs(probe)
        except OSError:
            continue
        if st.f_flag & os.ST_RDONLY:
            return "the disk is read-only"
        if st.f_bavail * st.f_frsize < 64 * 1024:
            return "the disk is full"
        return None
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def default_path(cache_path: Path) -> Path:
    """Where the queue lives by default: in cache.path, the one directory the service may write
    (ReadWritePaths). The media cache only manages files named by their SHA-256, so it leaves this alone."""
    return Path(cache_path) / "plays.sqlite"
