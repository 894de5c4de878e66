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
from collections.abc import Sequence

import aiosqlite

from storage.errors import SchemaTooNewError

__all__ = ["LATEST", "MIGRATIONS", "SchemaTooNewError", "migrate", "schema_version"]

log = logging.getLogger(__name__)


# The outcome codes of the polite no's when migration 6 was written ("I'll think about it", "call
# me later", "I must ask my boss", "send me info"). Frozen with it: a new polite no needs a new
# migration that redefines the day_counts triggers (a test compares this with the domain's).
_POLITE_NOS = "('bo', 'cl', 'si', 'th')"

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
    # 2: teams (one per Telegram group), who is in which, a rep's own calling block.
    (
        """
        CREATE TABLE teams (
            id          INTEGER PRIMARY KEY,
            chat_id     INTEGER NOT NULL UNIQUE,        -- the group; follows a supergroup upgrade
            title       TEXT NOT NULL,
            active      INTEGER NOT NULL DEFAULT 1,     -- 0 while the bot is out of the group
            tz          TEXT NOT NULL,                  -- IANA zone
            quota       INTEGER NOT NULL DEFAULT 20,    -- calls per working day
            goal        INTEGER NOT NULL DEFAULT 1,     -- balls per day
            cycle_days  INTEGER NOT NULL DEFAULT 30,
            block_start INTEGER,                        -- calling block, minutes after midnight
            block_end   INTEGER,
            summary_at  INTEGER DEFAULT 1080,           -- daily summary, minutes; NULL: none
            workdays    INTEGER NOT NULL DEFAULT 31,    -- bit n set: weekday n works (Mon = 0)
            lang        TEXT NOT NULL DEFAULT 'auto' CHECK (lang IN ('ru', 'en', 'auto')),
            setup_lang  TEXT NOT NULL DEFAULT 'en',     -- what 'auto' posts in when nobody asked
            created_by  INTEGER,                        -- the admin who ran /setup
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE memberships (
            team_id     INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
            user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            active      INTEGER NOT NULL DEFAULT 1,     -- 0 after /leave; the history stays
            joined_at   INTEGER NOT NULL,               -- the latest /join
            left_at     INTEGER,
            PRIMARY KEY (team_id, user_id)
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE INDEX memberships_user ON memberships(user_id, active, joined_at)",
        # A rep's own calling block, minutes after their local midnight (NULL: the team's).
        "ALTER TABLE users ADD COLUMN block_start INTEGER",
        "ALTER TABLE users ADD COLUMN block_end INTEGER",
    ),
    # 3: a rep's live contacts by call-back date: "due for a call" in /pipeline and the call
    # sheet (call-backs by date, never-called ones in creation order) without a scan of all of
    # the rep's contacts.
    ("CREATE INDEX contacts_owner_callback ON contacts(owner_id, archived, callback_at)",),
    # 4: the daily rhythm. The outbox is the scheduler's memory: one row per scheduled send,
    # unique per (kind, recipient, key), so however many ticks, restarts or instances see a send
    # due, it is recorded once and sent once. Who may be written to in private, reminders on or
    # off, a snooze, days away, and a team's own days off and extra working days.
    (
        """
        CREATE TABLE outbox (
            id          INTEGER PRIMARY KEY,
            kind        TEXT NOT NULL,                  -- nudge, pace, quota, lapsed, summary
            recipient   INTEGER NOT NULL,               -- a user id; the team id for a summary
            key         TEXT NOT NULL,                  -- the local date, or s<Next Step id>
            day         TEXT NOT NULL,                  -- the recipient's local date, ISO
            ref         INTEGER NOT NULL DEFAULT 0,     -- Next Step id; a summary's chat id
            state       TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
            attempts    INTEGER NOT NULL DEFAULT 0,     -- sends tried (429 waits not counted)
            due_at      INTEGER NOT NULL,               -- when it became due
            until_at    INTEGER NOT NULL,               -- not worth sending from then on
            next_try_at INTEGER NOT NULL,
            claimed_at  INTEGER,                        -- taken for sending (the lease)
            parts_sent  INTEGER NOT NULL DEFAULT 0,     -- messages of a long summary delivered
            message_id  INTEGER,                        -- the (last) message Telegram accepted
            created_at  INTEGER NOT NULL,
            sent_at     INTEGER,
            error       TEXT,
            UNIQUE (kind, recipient, key)
        ) STRICT
        """,
        "CREATE INDEX outbox_pending ON outbox(next_try_at) WHERE state = 'pending'",
        "CREATE INDEX outbox_sending ON outbox(claimed_at) WHERE state = 'sending'",
        "CREATE INDEX outbox_created ON outbox(created_at)",
        # The bot may write to a user in private once they have written to it there; Telegram
        # refusing a message (403: blocked, deactivated) stops that until they write again.
        "ALTER TABLE users ADD COLUMN opened_at INTEGER",
        "ALTER TABLE users ADD COLUMN unreachable_at INTEGER",
        "ALTER TABLE users ADD COLUMN nudges INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE users ADD COLUMN snoozed_on TEXT",  # the local date, ISO
        # Users who logged anything have used the private chat; the others are known to have
        # done so when they next write to the bot there.
        """
        UPDATE users SET opened_at = started_at
        WHERE EXISTS (SELECT 1 FROM contacts WHERE owner_id = users.id)
           OR EXISTS (SELECT 1 FROM flows WHERE user_id = users.id)
        """,
        """
        CREATE TABLE away (
            id          INTEGER PRIMARY KEY,
            user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            first_day   TEXT NOT NULL,                  -- ISO dates, both included
            last_day    TEXT NOT NULL,
            created_at  INTEGER NOT NULL,
            CHECK (first_day <= last_day)
        ) STRICT
        """,
        "CREATE INDEX away_user ON away(user_id, last_day)",
        "CREATE INDEX away_last ON away(last_day)",
        """
        CREATE TABLE team_days (
            team_id     INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
            day         TEXT NOT NULL,                  -- ISO date
            working     INTEGER NOT NULL CHECK (working IN (0, 1)),
            PRIMARY KEY (team_id, day)
        ) STRICT, WITHOUT ROWID
        """,
        # /forget: what was scheduled for a user goes with them.
        """
        CREATE TRIGGER users_forget_outbox AFTER DELETE ON users BEGIN
            DELETE FROM outbox WHERE recipient = OLD.id AND kind != 'summary';
        END
        """,
    ),
    # 5: the outcome joins the calls' (owner, time) index, so a rep's day (/today, the team
    # summary's polite no's) is counted from the index alone, without reading the table.
    (
        "CREATE INDEX calls_owner_at_outcome ON calls(owner_id, at, outcome)",
        "DROP INDEX calls_owner_at",
    ),
    # 6: calls, polite no's, calls in the calling block and balls counted per rep per local day
    # as they are logged, so a team's reports read one row per rep-day instead of counting every
    # call again. A call and a Next Step carry the rep's local date (its ordinal) when they were
    # logged, and a call whether it was inside the rep's calling block then; triggers keep
    # day_counts in step with every insert, outcome and delete, whatever deletes (/undo,
    # /forget, a cascade). Rows from before this migration have no date: day_counts_since is
    # the first instant after them, and a day that starts earlier is counted from the calls.
    (
        "ALTER TABLE calls ADD COLUMN day INTEGER",
        "ALTER TABLE calls ADD COLUMN in_block INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE next_steps ADD COLUMN day INTEGER",
        """
        CREATE TABLE day_counts (
            owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            day         INTEGER NOT NULL,               -- the rep's local date, as an ordinal
            calls       INTEGER NOT NULL DEFAULT 0,
            polite_nos  INTEGER NOT NULL DEFAULT 0,     -- calls whose outcome is a polite no
            in_block    INTEGER NOT NULL DEFAULT 0,     -- calls inside the calling block
            balls       INTEGER NOT NULL DEFAULT 0,     -- ball-type Next Steps set that day
            PRIMARY KEY (owner_id, day)
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE TABLE day_counts_since (at INTEGER NOT NULL) STRICT",
        """
        INSERT INTO day_counts_since (at)
        SELECT coalesce(max(at), -1) + 1 FROM (
            SELECT max(at) AS at FROM calls UNION ALL SELECT max(created_at) FROM next_steps)
        """,
        f"""
        CREATE TRIGGER calls_count_day AFTER INSERT ON calls WHEN NEW.day IS NOT NULL BEGIN
            INSERT INTO day_counts (owner_id, day, calls, polite_nos, in_block)
            VALUES (NEW.owner_id, NEW.day, 1, coalesce(NEW.outcome, '') IN {_POLITE_NOS},
                    NEW.in_block)
            ON CONFLICT (owner_id, day) DO UPDATE
            SET calls = calls + 1, polite_nos = polite_nos + excluded.polite_nos,
                in_block = in_block + excluded.in_block;
        END
        """,
        f"""
        CREATE TRIGGER calls_recount_day AFTER UPDATE OF outcome ON calls
        WHEN NEW.day IS NOT NULL BEGIN
            UPDATE day_counts
            SET polite_nos = polite_nos + (coalesce(NEW.outcome, '') IN {_POLITE_NOS})
                                        - (coalesce(OLD.outcome, '') IN {_POLITE_NOS})
            WHERE owner_id = NEW.owner_id AND day = NEW.day;
        END
        """,
        f"""
        CREATE TRIGGER calls_uncount_day AFTER DELETE ON calls WHEN OLD.day IS NOT NULL BEGIN
            UPDATE day_counts
            SET calls = calls - 1,
                polite_nos = polite_nos - (coalesce(OLD.outcome, '') IN {_POLITE_NOS}),
                in_block = in_block - OLD.in_block
            WHERE owner_id = OLD.owner_id AND day = OLD.day;
        END
        """,
        """
        CREATE TRIGGER balls_count_day AFTER INSERT ON next_steps
        WHEN NEW.day IS NOT NULL AND NEW.kind = 'ball' BEGIN
            INSERT INTO day_counts (owner_id, day, balls) VALUES (NEW.owner_id, NEW.day, 1)
            ON CONFLICT (owner_id, day) DO UPDATE SET balls = balls + 1;
        END
        """,
        """
        CREATE TRIGGER balls_uncount_day AFTER DELETE ON next_steps
        WHEN OLD.day IS NOT NULL AND OLD.kind = 'ball' BEGIN
            UPDATE day_counts SET balls = balls - 1
            WHERE owner_id = OLD.owner_id AND day = OLD.day;
        END
        """,
    ),
    # 7: the durable inbox: every update Telegram delivered, stored before Telegram is told it
    # arrived, until its handling has finished (bot/inbox.py); and the results of the units of
    # work an update committed, so that handling it again after a crash applies nothing twice
    # (storage/effects.py). Both are short-lived: done rows are pruned after a day.
    (
        """
        CREATE TABLE inbox (
            update_id   INTEGER PRIMARY KEY,          -- Telegram's update_id
            chat_id     INTEGER,                      -- whose order it keeps (chat, or user)
            user_id     INTEGER,                      -- who sent it: /forget takes it along
            payload     TEXT,                         -- the update's JSON; NULL once done
            received_at INTEGER NOT NULL,
            attempts    INTEGER NOT NULL DEFAULT 0,   -- handlings cut short by a crash
            done_at     INTEGER,                      -- NULL while pending
            outcome     TEXT                          -- 'ok' | 'given_up'
        ) STRICT
        """,
        """
        CREATE TABLE inbox_effects (
            update_id INTEGER NOT NULL,
            seq       INTEGER NOT NULL,                -- the n-th unit of work of the update
            name      TEXT NOT NULL,
            result    BLOB NOT NULL,
            PRIMARY KEY (update_id, seq)
        ) STRICT, WITHOUT ROWID
        """,
    ),
    # 8: which column is which in a rep's table whose header the import did not recognise, as
    # the rep answered with buttons: used again, without asking, for the next file whose header
    # row is the same (its normalised cells' key). /import reset forgets them; /forget too.
    (
        """
        CREATE TABLE import_mappings (
            user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            header_key  TEXT NOT NULL,                  -- bot.domain.transfer.header_signature
            mapping     TEXT NOT NULL,                  -- JSON: ColumnChoice.to_json()
            created_at  INTEGER NOT NULL,
            PRIMARY KEY (user_id, header_key)
        ) STRICT, WITHOUT ROWID
        """,
    ),
    # 9: several instances on one database (PostgreSQL). A chat's waiting updates are found
    # through an index of the pending ones (a chat's turn looks for those another instance
    # stored), and a flood-control pause Telegram imposed on one instance holds for all.
    (
        "CREATE INDEX inbox_pending ON inbox(update_id) WHERE done_at IS NULL",
        """
        CREATE TABLE flood (
            id          INTEGER PRIMARY KEY CHECK (id = 1),
            until_ms    INTEGER NOT NULL              -- Unix milliseconds: nothing sent before
        ) STRICT
        """,
    ),
]

LATEST = len(MIGRATIONS)


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(
    conn: aiosqlite.Connection, migrations: Sequence[tuple[str, ...]] = MIGRATIONS
) -> int:
    """Bring the database to the latest version; returns the version it started at.

    Each step runs in its own ``BEGIN IMMEDIATE`` transaction together with the bump of
    ``user_version``, so a step that fails leaves the file at the previous version, untouched.
    """
    latest = len(migrations)
    start = await schema_version(conn)
    if start > latest:
        raise SchemaTooNewError(
            f"the database has schema version {start}, but this Ballback knows only up to "
            f"{latest}: upgrade Ballback, or point BALLBACK_DATABASE at another file"
        )
    for version in range(start, latest):
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if await schema_version(conn) > version:
                # Another process (a health check, a second instance) migrated it meanwhile.
                await conn.rollback()
                continue
            for statement in migrations[version]:
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
        log.info("database migrated to schema version %d", version + 1)
    return start
