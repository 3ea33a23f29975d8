"""Everything the hub keeps, as plain calls over one Database: boards, heartbeats, plays, commands, staff.

Each call is one transaction, committed before the caller answers the board (a board deletes its plays
after the 2xx). Plays are deduplicated by (board, id) and rolled up into `play_days` and `play_months` in
the same transaction, counting only the rows that were new, so statistics never scan raw plays and a replayed
batch changes nothing. Uptime is accounted the same way, per day in `board_days`, from the hub's own
clock (a board's clock may be wrong): the time between two heartbeats counts as online when the gap is
under three heartbeat periods. Time is a parameter (`now`, Unix seconds) everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

from kiosk.hub import auth
from kiosk.hub.database import Database
from kiosk.hub.protocol import Heartbeat, Play

SILENT_AFTER = 3  # heartbeat periods without a heartbeat: the board is silent
COMMAND_NAMES = ("sync_now", "upload_screenshot")


class BoardExists(Exception):
    pass


class UnknownBoard(Exception):
    pass


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    commune: str | None
    revoked: bool
    created_at: float
    first_seen: float | None
    last_seen: float | None
    heartbeats: int
    heartbeat: dict  # the last heartbeat as checked by kiosk.hub.protocol; {} when never seen


@dataclass(frozen=True)
class Command:
    id: int
    name: str
    state: str  # queued, sent, done
    created_at: float
    created_by: str | None
    sent_at: float | None
    done_at: float | None
    ok: bool | None
    error: str | None


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str


def day_of(epoch: float, zone: zoneinfo.ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(epoch, zone).date().isoformat()


def split_by_day(start: float, end: float, zone: zoneinfo.ZoneInfo) -> list[tuple[str, float]]:
    """[start, end) cut at local midnights: [(day, seconds)], so an interval over midnight counts for both days."""
    out: list[tuple[str, float]] = []
    while end > start:
        local = dt.datetime.fromtimestamp(start, zone)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), zone).timestamp()
        stop = min(end, midnight)
        out.append((local.date().isoformat(), stop - start))
        start = stop
    return out


def command_ref(command_id: int) -> str:
    """A command's id on the wire (echoed back by the board in `command_results`)."""
    return f"c-{command_id}"


def _command_id(ref: str | None) -> int | None:
    if ref and ref.startswith("c-") and ref[2:].isdigit():
        return int(ref[2:])
    return None


class Store:
    def __init__(self, db: Database, zone: zoneinfo.ZoneInfo, heartbeat_seconds: float, retention_days: int):
        self.db = db
        self.zone = zone
        self.heartbeat_seconds = heartbeat_seconds
        self.retention_days = retention_days

    # --- boards ---------------------------------------------------------------------------------------

    def add_board(self, board_id: str, name: str, commune: str | None, now: float) -> str:
        """Register a board (or re-admit a revoked one, keeping its history); return its token, shown once."""
        token = auth.new_token()
        with self.db.tx() as tx:
            row = tx.one("SELECT revoked_at FROM boards WHERE id = ?", (board_id,))
            if row is not None and row[0] is None:
                raise BoardExists(board_id)
            if row is None:
                tx.execute("INSERT INTO boards (id, name, commune, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                           (board_id, name, commune, auth.token_hash(token), now))
            else:
                tx.execute("UPDATE boards SET name = ?, commune = ?, token_hash = ?, revoked_at = NULL WHERE id = ?",
                           (name, commune, auth.token_hash(token), board_id))
            self._event(tx, board_id, now, "registered" if row is None else "readmitted", None)
        return token

    def revoke_board(self, board_id: str, now: float) -> None:
        with self.db.tx() as tx:
            row = tx.one("SELECT revoked_at FROM boards WHERE id = ?", (board_id,))
            if row is None:
                raise UnknownBoard(board_id)
            if row[0] is None:
                tx.execute("UPDATE boards SET token_hash = NULL, revoked_at = ? WHERE id = ?", (now, board_id))
                self._event(tx, board_id, now, "revoked", None)

    def authenticate(self, board_id: str, token: str | None) -> bool:
        """True when `token` is the board's own and the board is not revoked."""
        if not token:
            return False
        with self.db.tx(write=False) as tx:
            stored = tx.value("SELECT token_hash FROM boards WHERE id = ?", (board_id,))
        return auth.token_matches(token, stored)

    def boards(self) -> list[Board]:
        with self.db.tx(write=False) as tx:
            rows = tx.execute("SELECT id, name, commune, revoked_at, created_at, first_seen, last_seen, heartbeats, "
                              "heartbeat FROM boards ORDER BY id")
        return [_board(row) for row in rows]

    def board_count(self) -> int:
        with self.db.tx(write=False) as tx:
            return int(tx.value("SELECT count(*) FROM boards", default=0))

    def board(self, board_id: str) -> Board | None:
        with self.db.tx(write=False) as tx:
            row = tx.one("SELECT id, name, commune, revoked_at, created_at, first_seen, last_seen, heartbeats, "
                         "heartbeat FROM boards WHERE id = ?", (board_id,))
        return _board(row) if row else None

    # --- heartbeats -----------------------------------------------------------------------------------

    def record_heartbeat(self, board_id: str, hb: Heartbeat, now: float) -> list[dict]:
        """Store the heartbeat, account uptime, take the command results; return the commands to send."""
        interval = hb.heartbeat_seconds or self.heartbeat_seconds
        with self.db.tx() as tx:
            # PostgreSQL: two heartbeats of one board at once (a retry crossing its original) count the time once
            lock = " FOR UPDATE" if self.db.postgres else ""
            row = tx.one("SELECT last_seen, heartbeat FROM boards WHERE id = ?" + lock, (board_id,))
            if row is None:
                raise UnknownBoard(board_id)
            last_seen, previous = row[0], json.loads(row[1]) if row[1] else {}
            if last_seen is None:
                self._event(tx, board_id, now, "first_heartbeat", hb.body.get("version"))
            elif now - last_seen > SILENT_AFTER * interval:
                self._event(tx, board_id, now, "back", f"{now - last_seen:.0f}")
            online = split_by_day(last_seen, now, self.zone) if (
                last_seen is not None and 0 < now - last_seen <= SILENT_AFTER * interval) else []
            if not online:
                online = [(day_of(now, self.zone), 0.0)]
            for i, (day, seconds) in enumerate(online):
                tx.execute(
                    "INSERT INTO board_days (board_id, day, online_s, heartbeats) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (board_id, day) DO UPDATE SET online_s = board_days.online_s + excluded.online_s, "
                    "heartbeats = board_days.heartbeats + excluded.heartbeats",
                    (board_id, day, seconds, 1 if i == len(online) - 1 else 0))
            self._history(tx, board_id, now, previous, hb)
            tx.execute("UPDATE boards SET last_seen = ?, first_seen = COALESCE(first_seen, ?), "
                       "heartbeats = heartbeats + 1, heartbeat = ? WHERE id = ?",
                       (now, now, json.dumps(hb.body, ensure_ascii=False), board_id))
            for result in hb.command_results:
                cid = _command_id(result.id)
                if cid is not None:
                    tx.execute("UPDATE commands SET state = 'done', ok = ?, error = ?, done_at = ? "
                               "WHERE board_id = ? AND id = ? AND state <> 'done'",
                               (int(result.ok), result.error, now, board_id, cid))
            sent = tx.execute("UPDATE commands SET state = 'sent', sent_at = ? WHERE board_id = ? AND state = 'queued' "
                              "RETURNING id, name", (now, board_id))
        return [{"name": name, "id": command_ref(cid)} for cid, name in sorted(sent)]

    def _history(self, tx, board_id: str, now: float, previous: dict, hb: Heartbeat) -> None:
        """Events worth a line on the board's page: restarts, errors appearing and clearing."""
        before = previous.get("uptime_s")
        if before is not None and hb.uptime_s is not None and hb.uptime_s + 1 < before:
            self._event(tx, board_id, now, "restarted", f"{before:.0f}")
        old = previous.get("errors") or {}
        for part, message in hb.errors.items():
            if old.get(part) != message:
                self._event(tx, board_id, now, "error", f"{part}: {message}")
        for part in old:
            if part not in hb.errors:
                self._event(tx, board_id, now, "error_cleared", part)

    @staticmethod
    def _event(tx, board_id: str, now: float, kind: str, detail: str | None) -> None:
        tx.execute("INSERT INTO events (board_id, at, kind, detail) VALUES (?, ?, ?, ?)", (board_id, now, kind, detail))

    def events(self, board_id: str, limit: int = 50) -> list[tuple[float, str, str | None]]:
        with self.db.tx(write=False) as tx:
            return [tuple(r) for r in tx.execute(
                "SELECT at, kind, detail FROM events WHERE board_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                (board_id, limit))]

    def days(self, board_id: str, since_day: str) -> list[tuple[str, float, int]]:
        """(day, online seconds, heartbeats) from `since_day` on."""
        with self.db.tx(write=False) as tx:
            return [tuple(r) for r in tx.execute(
                "SELECT day, online_s, heartbeats FROM board_days WHERE board_id = ? AND day >= ? ORDER BY day",
                (board_id, since_day))]

    # --- plays ----------------------------------------------------------------------------------------

    def add_plays(self, board_id: str, plays: list[Play], now: float) -> tuple[int, int]:
        """Store the new plays and roll them up; return (new, dropped as duplicates or older than retention)."""
        horizon = now - self.retention_days * 86400
        unique: dict[str, Play] = {}
        for play in plays:
            if play.started_at >= horizon:  # older: its twin may be pruned already, so it cannot be deduplicated
                unique.setdefault(play.id, play)
        rows = [(p.id, p.slide_id, p.started_at, p.ended_at, p.duration_s, int(p.cut_short), p.content_version,
                 day_of(p.started_at, self.zone)) for p in unique.values()]
        with self.db.tx() as tx:
            if not rows:
                return 0, len(plays)
            if self.db.postgres:
                columns = list(zip(*rows, strict=True))
                inserted = {r[0] for r in tx.execute(
                    "INSERT INTO plays (board_id, id, slide_id, started_at, ended_at, duration_s, cut_short, "
                    "content_version, day, received_at) SELECT ?, u.* , ? FROM unnest(?::text[], ?::text[], "
                    "?::float8[], ?::float8[], ?::float8[], ?::int[], ?::text[], ?::text[]) AS u "
                    "ON CONFLICT DO NOTHING RETURNING id",
                    (board_id, now, *[list(c) for c in columns]))}
                new = [r for r in rows if r[0] in inserted]
            else:  # one writer at a time (Database's lock): look, then insert, with nobody in between
                ids = [r[0] for r in rows]
                marks = ",".join("?" * len(ids))
                seen = {r[0] for r in tx.execute(
                    f"SELECT id FROM plays WHERE board_id = ? AND id IN ({marks})", (board_id, *ids))}
                new = [r for r in rows if r[0] not in seen]
                tx.executemany("INSERT INTO plays (board_id, id, slide_id, started_at, ended_at, duration_s, "
                               "cut_short, content_version, day, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               [(board_id, *r, now) for r in new])
            self._roll_up(tx, board_id, new)
        return len(new), len(plays) - len(new)

    @staticmethod
    def _roll_up(tx, board_id: str, rows: list[tuple]) -> None:
        """The new plays into the day's and the month's totals (a year per month then reads 12 rows a slide)."""
        for table, period, cut in (("play_days", "day", 10), ("play_months", "month", 7)):
            totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0.0])
            for _pid, slide, _s, _e, duration, _c, _v, day in rows:
                total = totals[(day[:cut], slide)]
                total[0] += 1
                total[1] += duration
            tx.executemany(
                f"INSERT INTO {table} (board_id, {period}, slide_id, plays, seconds) VALUES (?, ?, ?, ?, ?) "
                f"ON CONFLICT (board_id, {period}, slide_id) DO UPDATE SET plays = {table}.plays + excluded.plays, "
                f"seconds = {table}.seconds + excluded.seconds",
                [(board_id, key, slide, n, seconds) for (key, slide), (n, seconds) in sorted(totals.items())])

    def plays_count(self, board_id: str | None = None) -> int:
        with self.db.tx(write=False) as tx:
            if board_id is None:
                return int(tx.value("SELECT count(*) FROM plays", default=0))
            return int(tx.value("SELECT count(*) FROM plays WHERE board_id = ?", (board_id,), default=0))

    # --- screenshots ----------------------------------------------------------------------------------

    def save_screenshot(self, board_id: str, png: bytes, now: float) -> None:
        """Keep the latest screenshot; it answers the board's pending upload_screenshot command."""
        with self.db.tx() as tx:
            tx.execute("INSERT INTO screenshots (board_id, taken_at, png) VALUES (?, ?, ?) ON CONFLICT (board_id) "
                       "DO UPDATE SET taken_at = excluded.taken_at, png = excluded.png", (board_id, now, png))
            tx.execute("UPDATE commands SET state = 'done', ok = 1, error = NULL, done_at = ? "
                       "WHERE board_id = ? AND name = 'upload_screenshot' AND state = 'sent'", (now, board_id))

    def screenshot(self, board_id: str) -> tuple[float, bytes] | None:
        with self.db.tx(write=False) as tx:
            row = tx.one("SELECT taken_at, png FROM screenshots WHERE board_id = ?", (board_id,))
        return (row[0], bytes(row[1])) if row else None

    def screenshot_time(self, board_id: str) -> float | None:
        with self.db.tx(write=False) as tx:
            return tx.value("SELECT taken_at FROM screenshots WHERE board_id = ?", (board_id,))

    # --- commands -------------------------------------------------------------------------------------

    def queue_command(self, board_id: str, name: str, by: str | None, now: float) -> int:
        """Queue a command for the board's next heartbeat answer; one of each kind waits at a time."""
        if name not in COMMAND_NAMES:
            raise ValueError(f"unknown command {name!r}")
        with self.db.tx() as tx:
            if tx.one("SELECT 1 FROM boards WHERE id = ?", (board_id,)) is None:
                raise UnknownBoard(board_id)
            waiting = tx.value("SELECT id FROM commands WHERE board_id = ? AND name = ? AND state = 'queued'",
                               (board_id, name))
            if waiting is not None:
                return int(waiting)
            return int(tx.value("INSERT INTO commands (board_id, name, state, created_at, created_by) "
                                "VALUES (?, ?, 'queued', ?, ?) RETURNING id", (board_id, name, now, by)))

    def commands(self, board_id: str, limit: int = 20) -> list[Command]:
        with self.db.tx(write=False) as tx:
            rows = tx.execute("SELECT id, name, state, created_at, created_by, sent_at, done_at, ok, error "
                              "FROM commands WHERE board_id = ? ORDER BY id DESC LIMIT ?", (board_id, limit))
        return [Command(r[0], r[1], r[2], r[3], r[4], r[5], r[6], None if r[7] is None else bool(r[7]), r[8])
                for r in rows]

    # --- staff ----------------------------------------------------------------------------------------

    def set_user(self, name: str, password: str, role: str, now: float) -> bool:
        """Add a user or reset an existing one's password and role; True when the user is new."""
        hashed = auth.hash_password(password)
        with self.db.tx() as tx:
            exists = tx.one("SELECT 1 FROM users WHERE name = ?", (name,)) is not None
            if exists:
                tx.execute("UPDATE users SET password_hash = ?, role = ? WHERE name = ?", (hashed, role, name))
                tx.execute("DELETE FROM sessions WHERE user_name = ?", (name,))
            else:
                tx.execute("INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                           (name, hashed, role, now))
        return not exists

    def remove_user(self, name: str) -> bool:
        with self.db.tx() as tx:
            tx.execute("DELETE FROM sessions WHERE user_name = ?", (name,))
            tx.execute("DELETE FROM users WHERE name = ?", (name,))
            return tx.rowcount > 0

    def users(self) -> list[tuple[str, str]]:
        with self.db.tx(write=False) as tx:
            return [tuple(r) for r in tx.execute("SELECT name, role FROM users ORDER BY name")]

    def sign_in(self, name: str, password: str, now: float, hours: float) -> str | None:
        """A new session's cookie value, or None (unknown user or wrong password: the same answer, the same time)."""
        with self.db.tx(write=False) as tx:
            row = tx.one("SELECT password_hash FROM users WHERE name = ?", (name,))
        if not auth.check_password(password, row[0] if row else auth.DUMMY_HASH) or row is None:
            return None
        token = secrets.token_urlsafe(32)
        with self.db.tx() as tx:
            tx.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            tx.execute("INSERT INTO sessions (token_hash, user_name, csrf, created_at, expires_at) "
                       "VALUES (?, ?, ?, ?, ?)", (auth.token_hash(token), name, secrets.token_urlsafe(24), now,
                                                  now + hours * 3600))
        return token

    def session(self, token: str | None, now: float) -> Session | None:
        if not token:
            return None
        with self.db.tx(write=False) as tx:
            row = tx.one("SELECT s.user_name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user_name "
                         "WHERE s.token_hash = ? AND s.expires_at > ?", (auth.token_hash(token), now))
        return Session(*row) if row else None

    def sign_out(self, token: str) -> None:
        with self.db.tx() as tx:
            tx.execute("DELETE FROM sessions WHERE token_hash = ?", (auth.token_hash(token),))

    # --- housekeeping ---------------------------------------------------------------------------------

    def prune(self, now: float, batch: int = 10_000) -> int:
        """Raw plays older than retention_days go (their roll-ups stay); so do old events and sessions.
        In batches, so a first prune of a large table never holds the writer for long."""
        horizon = now - self.retention_days * 86400
        removed = 0
        while True:
            with self.db.tx() as tx:
                tx.execute("DELETE FROM plays WHERE (board_id, id) IN (SELECT board_id, id FROM plays "
                           "WHERE started_at < ? LIMIT ?)", (horizon, batch))
                count = tx.rowcount
            removed += max(count, 0)
            if count < batch:
                break
        with self.db.tx() as tx:
            tx.execute("DELETE FROM events WHERE at < ?", (horizon,))
            tx.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            tx.execute("DELETE FROM commands WHERE created_at < ? AND state = 'done'", (horizon,))
        return removed


def _board(row: tuple) -> Board:
    return Board(id=row[0], name=row[1], commune=row[2], revoked=row[3] is not None, created_at=row[4],
                 first_seen=row[5], last_seen=row[6], heartbeats=int(row[7] or 0),
                 heartbeat=json.loads(row[8]) if row[8] else {})
