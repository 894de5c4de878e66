"""Schema migrations, tracked in ``PRAGMA user_version``.

``MIGRATIONS[i]`` upgrades a database from version ``i`` to ``i + 1``. The list is append-only:
a migration that has been released is never edited, a change is a new entry. Opening an older
file upgrades it in place, each step in its own transaction; opening a file written by a newer
Ballback refuses to touch it.

Times are stored as integer Unix seconds in UTC; every "day" is computed by the caller in the
rep's own time zone and turned into a UTC range.
"""

from __future__ import annotations

import logging

import aiosqlite

log = logging.getLogger(__name__)


class SchemaTooNewError(RuntimeError):
    pass


MIGRATIONS: list[tuple[str, ...]] = [
    # 1: users, contacts, calls, Next Steps and the state of guided flows.
    (
        """
        CREATE TABLE users (
            id            INTEGER PRIMARY KEY,          -- Telegram user id
            first_name    TEXT NOT NULL,
            last_name     TEXT,
            username      TEXT,
            language_code TEXT,
            lang          TEXT,                         -- explicit choice: 'ru' | 'en' | NULL
            tz            TEXT,                         -- personal IANA zone override
            started_at    INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE contacts (
            id          INTEGER PRIMARY KEY,
            owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name        TEXT NOT NULL,
            name_key    TEXT NOT NULL,                  -- casefolded name, for lookups
            company     TEXT,
            phone       TEXT,                           -- E.164
            note        TEXT,
            callback_at INTEGER,                        -- "call me later" date
            archived    INTEGER NOT NULL DEFAULT 0,
            created_at  INTEGER NOT NULL,
            UNIQUE (owner_id, name_key)
        ) STRICT
        """,
        "CREATE INDEX contacts_owner_phone ON contacts(owner_id, phone)",
        """
        CREATE TABLE calls (
            id          INTEGER PRIMARY KEY,
            owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            at          INTEGER NOT NULL,
            outcome     TEXT,                           -- NULL until the rep picks one
            note        TEXT,
            src_chat    INTEGER,                        -- the Telegram message that logged it:
            src_message INTEGER,                        -- a redelivered update stores nothing new
            UNIQUE (src_chat, src_message)
        ) STRICT
        """,
        "CREATE INDEX calls_owner_at ON calls(owner_id, at)",
        "CREATE INDEX calls_contact_at ON calls(contact_id, at)",
        """
        CREATE TABLE next_steps (
            id          INTEGER PRIMARY KEY,
            owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            call_id     INTEGER REFERENCES calls(id) ON DELETE CASCADE,
            action      TEXT NOT NULL,
            due_at      INTEGER NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('ball', 'reminder')),
            status      TEXT NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'done', 'dropped', 'rescheduled')),
            created_at  INTEGER NOT NULL,
            src_chat    INTEGER,
            src_message INTEGER,
            UNIQUE (src_chat, src_message)
        ) STRICT
        """,
        "CREATE INDEX next_steps_owner_created ON next_steps(owner_id, created_at)",
        "CREATE INDEX next_steps_owner_due ON next_steps(owner_id, due_at)",
        "CREATE INDEX next_steps_contact ON next_steps(contact_id, status)",
        """
        CREATE TABLE flows (
            user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            kind        TEXT NOT NULL,
            data        TEXT NOT NULL,                  -- JSON
            message_id  INTEGER,                        -- the prompt whose buttons belong to it
            updated_at  INTEGER NOT NULL
        ) STRICT
        """,
    ),
]

LATEST = len(MIGRATIONS)


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the database to :data:`LATEST`; returns the version it started at."""
    start = await schema_version(conn)
    if start > LATEST:
        raise SchemaTooNewError(
            f"the database has schema version {start}, but this Ballback knows only up to "
            f"{LATEST}: upgrade Ballback, or point BALLBACK_DATABASE at another file"
        )
    for version in range(start, LATEST):
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if await schema_version(conn) > version:
                # Another process (a health check, a second instance) migrated it meanwhile.
                await conn.rollback()
                continue
            for statement in MIGRATIONS[version]:
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
        log.info("database migrated to schema version %d", version + 1)
    return start
