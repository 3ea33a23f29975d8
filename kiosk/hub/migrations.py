"""The hub's schema, as numbered migrations applied in order, each in its own transaction.

`schema_version` holds the number of the last one applied. A migration is never edited once
released: a change is a new migration. A database newer than this program is refused, not
guessed at. Several hub processes starting together take turns (PostgreSQL: an advisory lock;
SQLite: the write lock of BEGIN IMMEDIATE).

Times are Unix seconds (float), days `YYYY-MM-DD` in the hub's time zone, JSON as text: the same
columns on both engines.
"""

from __future__ import annotations

import logging

from kiosk.hub.database import Database, DatabaseError

log = logging.getLogger("kiosk.hub")

ADVISORY_LOCK = 0x6B696F736B  # "kiosk"

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "boards, heartbeats per day, plays and their daily and monthly roll-ups, commands, screenshots, staff", [
        """CREATE TABLE boards (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            commune TEXT,
            token_hash TEXT,
            created_at {float} NOT NULL,
            revoked_at {float},
            first_seen {float},
            last_seen {float},
            heartbeats {bigint} NOT NULL DEFAULT 0,
            heartbeat TEXT
        )""",
        """CREATE TABLE board_days (
            board_id TEXT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            online_s {float} NOT NULL DEFAULT 0,
            heartbeats {bigint} NOT NULL DEFAULT 0,
            PRIMARY KEY (board_id, day)
        )""",
        """CREATE TABLE plays (
            board_id TEXT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            slide_id TEXT NOT NULL,
            started_at {float} NOT NULL,
            ended_at {float} NOT NULL,
            duration_s {float} NOT NULL,
            cut_short INTEGER NOT NULL DEFAULT 0,
            content_version TEXT,
            day TEXT NOT NULL,
            received_at {float} NOT NULL,
            PRIMARY KEY (board_id, id)
        )""",
        "CREATE INDEX plays_received ON plays (received_at)",
        """CREATE TABLE play_days (
            board_id TEXT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            slide_id TEXT NOT NULL,
            plays {bigint} NOT NULL DEFAULT 0,
            seconds {float} NOT NULL DEFAULT 0,
            PRIMARY KEY (board_id, day, slide_id)
        )""",
        "CREATE INDEX play_days_day ON play_days (day)",
        """CREATE TABLE play_months (
            board_id TEXT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
            month TEXT NOT NULL,
            slide_id TEXT NOT NULL,
            plays {bigint} NOT NULL DEFAULT 0,
            seconds {float} NOT NULL DEFAULT 0,
            PRIMARY KEY (board_id, month, slide_id)
        )""",
        "CREATE INDEX play_months_month ON play_months (month)",
        "CREATE INDEX board_days_day ON board_days (day)",
        """CREATE TABLE commands (
            id {serial},
            board_id TEXT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at {float} NOT NULL,
            created_by TEXT,
            sent_at {float},
            done_at {float},
            ok INTEGER,
            error TEXT
        )""",
        "CREATE INDEX commands_board ON commands (board_id, state)",
        """CREATE TABLE screenshots (
            board_id TEXT PRIMARY KEY REFERENCES boards (id) ON DELETE CASCADE,
            taken_at {float} NOT NULL,
            png {blob} NOT NULL
        )""",
        """CREATE TABLE events (
            id {serial},
            board_id TEXT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
            at {float} NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT
        )""",
        "CREATE INDEX events_board ON events (board_id, at)",
        """CREATE TABLE users (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at {float} NOT NULL
        )""",
        """CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            created_at {float} NOT NULL,
            expires_at {float} NOT NULL
        )""",
    ]),
]

LATEST = MIGRATIONS[-1][0]


class SchemaTooNew(DatabaseError):
    pass


def migrate(db: Database) -> int:
    """Apply what is missing; return the schema version now in force."""
    with db.tx() as tx:
        if db.postgres:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (ADVISORY_LOCK,))
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = tx.value("SELECT max(version) FROM schema_version", default=0)
    if current > LATEST:
        raise SchemaTooNew(f"database {db.description}: schema version {current} is newer than this kiosk "
                           f"knows ({LATEST}); upgrade kiosk")
    for version, what, statements in MIGRATIONS:
        with db.tx() as tx:
            if db.postgres:
                tx.execute("SELECT pg_advisory_xact_lock(?)", (ADVISORY_LOCK,))
            if tx.value("SELECT max(version) FROM schema_version", default=0) >= version:
                continue
            for statement in statements:
                tx.execute(statement.format(**db.types))
            tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        log.info("database %s: migration %d applied (%s)", db.description, version, what)
    return LATEST
