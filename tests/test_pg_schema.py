"""The PostgreSQL schema (``storage/pg_migrations.py``) against the SQLite one it mirrors, on a
real server (the ``pg_dsn`` fixture): same tables, columns, indexes; the same triggers' effects
for the same statements; migrations that refuse a newer database and survive racing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import pytest

from storage.errors import SchemaTooNewError
from storage.migrations import MIGRATIONS, migrate
from storage.pg_migrations import PG_MIGRATIONS, migrate_pg, pg_schema_version

LATEST = len(PG_MIGRATIONS)

# The columns that are INTEGER on PostgreSQL (the other SQLite integers are BIGINT): small
# counters, flags, minutes, ordinal dates; (table, column) or, for every table, a column name.
SMALL_INTEGERS = {
    "calls", "polite_nos", "in_block", "balls", "attempts", "parts_sent", "archived", "active",
    "quota", "goal", "cycle_days", "block_start", "block_end", "summary_at", "workdays",
    "nudges", "working", "seq", "day", ("flood", "id"),
}  # fmt: skip
IDENTITIES = {"contacts", "calls", "next_steps", "teams", "outbox", "away"}  # their id column


@asynccontextmanager
async def pg(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def sqlite(
    path: Path, migrations: Sequence[tuple[str, ...]] = MIGRATIONS
) -> AsyncIterator[aiosqlite.Connection]:
    """A SQLite file migrated by storage/migrations.py, opened as storage/db.py opens it."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute("PRAGMA foreign_keys=ON")
        await migrate(conn, migrations)
        yield conn
    finally:
        await conn.close()


async def sqlite_rows(conn: aiosqlite.Connection, sql: str) -> list[tuple[Any, ...]]:
    async with conn.execute(sql) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def pg_rows(conn: asyncpg.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await conn.fetch(sql)]


def test_one_postgres_step_per_sqlite_step() -> None:
    assert len(PG_MIGRATIONS) == len(MIGRATIONS)
    assert all(step for step in PG_MIGRATIONS)


# -- migrating -----------------------------------------------------------------------------------


async def test_migrate_an_empty_database(pg_dsn: str) -> None:
    async with pg(pg_dsn) as conn:
        assert await pg_schema_version(conn) == 0
        assert await migrate_pg(conn) == 0
        assert await pg_schema_version(conn) == LATEST
        assert await pg_rows(conn, "SELECT version FROM ballback_schema") == [(LATEST,)]
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        )
        # Again: nothing to do, nothing changed.
        assert await migrate_pg(conn) == LATEST
        assert await pg_rows(conn, "SELECT version FROM ballback_schema") == [(LATEST,)]
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            )
            == tables
        )


@pytest.mark.parametrize("attempt", range(3))  # a race: try it more than once
async def test_concurrent_migrations_both_succeed(pg_dsn: str, attempt: int) -> None:
    async with pg(pg_dsn) as one, pg(pg_dsn) as two, pg(pg_dsn) as three:
        started = await asyncio.gather(migrate_pg(one), migrate_pg(two), migrate_pg(three))
        assert set(started) <= {0, LATEST}
        assert 0 in started
        for conn in (one, two, three):
            assert await pg_schema_version(conn) == LATEST
        assert await pg_rows(one, "SELECT version FROM ballback_schema") == [(LATEST,)]


async def test_a_newer_database_is_refused(pg_dsn: str) -> None:
    async with pg(pg_dsn) as conn:
        await migrate_pg(conn)
        # A Ballback that knows fewer steps than the database has.
        with pytest.raises(SchemaTooNewError, match=f"schema version {LATEST}, but .* up to 3"):
            await migrate_pg(conn, PG_MIGRATIONS[:3])
        await conn.execute("UPDATE ballback_schema SET version = $1", LATEST + 1)
        with pytest.raises(SchemaTooNewError, match=f"schema version {LATEST + 1}"):
            await migrate_pg(conn)
        assert await pg_schema_version(conn) == LATEST + 1  # untouched


async def test_a_failing_step_leaves_the_previous_version(pg_dsn: str) -> None:
    steps = [("CREATE TABLE a (x INTEGER)",), ("CREATE TABLE b (x INTEGER)", "SELECT 1 / 0")]
    async with pg(pg_dsn) as conn:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate_pg(conn, steps)
        assert await pg_schema_version(conn) == 1
        assert await conn.fetchval("SELECT to_regclass('a') IS NOT NULL")
        assert await conn.fetchval("SELECT to_regclass('b') IS NULL")


async def test_data_migrations_on_an_older_database(pg_dsn: str, tmp_path: Path) -> None:
    """Steps 4 (users.opened_at) and 6 (day_counts_since) on rows from before them."""
    rows = [
        "INSERT INTO users (id, first_name, started_at, updated_at) VALUES "
        "(1, 'A', 1000, 1001), (2, 'B', 2000, 2001), (3, 'C', 3000, 3001)",
        "INSERT INTO contacts (id, owner_id, name, name_key, created_at) "
        "VALUES (1, 1, 'x', 'x', 5)",
        "INSERT INTO flows (user_id, kind, data, updated_at) VALUES (2, 'add', '{}', 6)",
        "INSERT INTO calls (id, owner_id, contact_id, at) VALUES (1, 1, 1, 7000), (2, 1, 1, 7500)",
        "INSERT INTO next_steps (owner_id, contact_id, action, due_at, kind, created_at) "
        "VALUES (1, 1, 'send', 9000, 'ball', 8000)",
    ]
    checks = [
        "SELECT id, opened_at FROM users ORDER BY id",
        "SELECT at FROM day_counts_since",
        "SELECT count(*) FROM day_counts",
    ]
    async with sqlite(tmp_path / "old.db", MIGRATIONS[:3]) as lite, pg(pg_dsn) as conn:
        await migrate_pg(conn, PG_MIGRATIONS[:3])
        for statement in rows:
            await lite.execute(statement)
            await conn.execute(statement)
        assert await migrate(lite) == 3
        assert await migrate_pg(conn) == 3
        expected = [[(1, 1000), (2, 2000), (3, None)], [(8001,)], [(0,)]]
        assert [await sqlite_rows(lite, sql) for sql in checks] == expected
        assert [await pg_rows(conn, sql) for sql in checks] == expected


async def test_day_counts_since_on_a_new_database(pg_dsn: str) -> None:
    async with pg(pg_dsn) as conn:
        await migrate_pg(conn)
        assert await pg_rows(conn, "SELECT at FROM day_counts_since") == [(0,)]


# -- the same schema as SQLite ------------------------------------------------------------------


async def test_tables_and_columns_match_sqlite(pg_dsn: str, tmp_path: Path) -> None:
    async with sqlite(tmp_path / "schema.db") as lite:
        lite_tables = await sqlite_rows(
            lite,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' "
            "ORDER BY name",
        )
        sqlite_columns: dict[str, list[tuple[str, str, bool, str | None]]] = {}
        for (table,) in lite_tables:
            info = await sqlite_rows(lite, f"PRAGMA table_info({table})")
            # cid, name, type, notnull, dflt_value, pk: a key column cannot be NULL
            sqlite_columns[table] = [
                (name, kind, bool(notnull or pk), default)
                for _, name, kind, notnull, default, pk in sorted(info)
            ]
        lite_indexes = await sqlite_rows(
            lite,
            "SELECT name, tbl_name FROM sqlite_master "
            "WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name",
        )
        lite_triggers = await sqlite_rows(
            lite, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        )

    async with pg(pg_dsn) as conn:
        await migrate_pg(conn)
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name <> 'ballback_schema' "
            "ORDER BY table_name, ordinal_position"
        )
        # Indexes of their own (not those behind a primary key or a UNIQUE constraint).
        pg_indexes = await pg_rows(
            conn,
            "SELECT i.relname, t.relname FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "ORDER BY i.relname",
        )
        pg_triggers = await pg_rows(
            conn,
            "SELECT tgname::text, tgrelid::regclass::text FROM pg_trigger "
            "WHERE NOT tgisinternal ORDER BY tgname",
        )

    pg_columns: dict[str, list[tuple[str, str, bool, str | None]]] = {}
    for row in columns:
        table, name = row["table_name"], row["column_name"]
        sqlite_type = {"bigint": "INTEGER", "integer": "INTEGER", "text": "TEXT"}.get(
            row["data_type"], "BLOB" if row["data_type"] == "bytea" else row["data_type"]
        )
        default = row["column_default"]
        if default is not None:
            default = default.removesuffix("::text")
        pg_columns.setdefault(table, []).append(
            (name, sqlite_type, row["is_nullable"] == "NO", default)
        )
        # The integer widths of the rules in storage/pg_migrations.py.
        if row["data_type"] in ("integer", "bigint"):
            small = name in SMALL_INTEGERS or (table, name) in SMALL_INTEGERS
            assert row["data_type"] == ("integer" if small else "bigint"), (table, name)
        identity = table in IDENTITIES and name == "id"
        assert (row["is_identity"] == "YES") == identity, (table, name)

    assert pg_columns == sqlite_columns
    assert pg_indexes == lite_indexes
    assert pg_triggers == lite_triggers


# -- the triggers: the same effects for the same statements --------------------------------------

_USERS = [
    "INSERT INTO users (id, first_name, started_at, updated_at) VALUES (1, 'A', 0, 0), "
    "(2, 'B', 0, 0)",
    "INSERT INTO contacts (id, owner_id, name, name_key, created_at) VALUES "
    "(1, 1, 'x', 'x', 0), (2, 2, 'y', 'y', 0), (3, 1, 'z', 'z', 0)",
]

_DAY_COUNTS_SCRIPT = [
    *_USERS,
    # One statement, several calls: a row trigger fires for each.
    "INSERT INTO calls (id, owner_id, contact_id, at, outcome, day, in_block) VALUES "
    "(1, 1, 1, 100, NULL, 700000, 1), (2, 1, 1, 110, 'th', 700000, 0), "
    "(3, 1, 1, 120, 'ok', 700000, 1), (4, 1, 1, 130, 'cl', 700001, 1), "
    "(5, 1, 1, 140, NULL, NULL, 1), (6, 2, 2, 150, 'si', 700000, 0)",
    "INSERT INTO calls (id, owner_id, contact_id, at, outcome, day) "
    "VALUES (7, 1, 3, 160, 'bo', 700001)",
    "UPDATE calls SET outcome = 'bo' WHERE id = 1",  # to a polite no
    "UPDATE calls SET outcome = 'no' WHERE id = 2",  # from a polite no
    "UPDATE calls SET outcome = NULL WHERE id = 7",  # from a polite no to none
    "UPDATE calls SET outcome = 'th' WHERE id = 5",  # a call from before day_counts
    "UPDATE calls SET note = 'n', in_block = 0 WHERE id = 4",  # not the outcome
    "UPDATE calls SET outcome = outcome WHERE id = 4",  # the same polite no again
    "UPDATE calls SET outcome = 'si' WHERE owner_id = 1 AND day = 700000",  # several at once
    "DELETE FROM calls WHERE id = 3",
    "INSERT INTO next_steps (id, owner_id, contact_id, action, due_at, kind, created_at, day) "
    "VALUES (1, 1, 1, 'a', 0, 'ball', 0, 700000), (2, 1, 1, 'b', 0, 'reminder', 0, 700000), "
    "(3, 1, 1, 'c', 0, 'ball', 0, NULL), (4, 1, 1, 'd', 0, 'ball', 0, 700002), "
    "(5, 1, 1, 'e', 0, 'ball', 0, 700000)",
    "DELETE FROM next_steps WHERE id IN (1, 2, 3)",
    "DELETE FROM contacts WHERE id = 3",  # cascades to call 7
    "DELETE FROM contacts WHERE id = 2",  # cascades to call 6: its day's row stays, zeros
]

_DAY_COUNTS = "SELECT owner_id, day, calls, polite_nos, in_block, balls FROM day_counts "
_DAY_COUNTS += "ORDER BY owner_id, day"


async def test_day_counts_triggers_match_sqlite(pg_dsn: str, tmp_path: Path) -> None:
    lite_states: list[list[tuple[Any, ...]]] = []
    pg_states: list[list[tuple[Any, ...]]] = []
    async with sqlite(tmp_path / "counts.db") as lite, pg(pg_dsn) as conn:
        await migrate_pg(conn)
        for statement in _DAY_COUNTS_SCRIPT:
            await lite.execute(statement)
            await conn.execute(statement)
            lite_states.append(await sqlite_rows(lite, _DAY_COUNTS))
            pg_states.append(await pg_rows(conn, _DAY_COUNTS))
        assert pg_states == lite_states
        # Worked out by hand, so that both cannot simply be wrong together.
        assert pg_states[-1] == [
            (1, 700000, 2, 2, 1, 1),  # calls 1 and 2, both 'si' now; call 1 in the block
            (1, 700001, 1, 1, 1, 0),  # call 4 ('cl'); call 7 went with its contact
            (1, 700002, 0, 0, 0, 1),
            (2, 700000, 0, 0, 0, 0),  # call 6 went with its contact
        ]
        # sum() over the INTEGER counters is a bigint (an int), not a numeric (a Decimal).
        total = await conn.fetchval("SELECT sum(calls) FROM day_counts")
        assert type(total) is int and total == 3


async def test_deleting_a_user_deletes_their_day_counts_and_outbox(
    pg_dsn: str, tmp_path: Path
) -> None:
    script = [
        *_USERS,
        "INSERT INTO calls (owner_id, contact_id, at, outcome, day) "
        "VALUES (1, 1, 100, 'th', 700000), (2, 2, 100, NULL, 700000)",
        "INSERT INTO outbox (kind, recipient, key, day, due_at, until_at, next_try_at, "
        "created_at) VALUES "
        "('nudge', 1, '2026-11-27', '2026-11-27', 0, 0, 0, 0), "
        "('pace', 1, '2026-11-27', '2026-11-27', 0, 0, 0, 0), "
        "('summary', 1, '2026-11-27', '2026-11-27', 0, 0, 0, 0), "
        "('nudge', 2, '2026-11-27', '2026-11-27', 0, 0, 0, 0)",
        "DELETE FROM users WHERE id = 1",
    ]
    checks = [
        "SELECT kind, recipient FROM outbox ORDER BY kind, recipient",
        _DAY_COUNTS,
        "SELECT count(*) FROM calls",
    ]
    async with sqlite(tmp_path / "forget.db") as lite, pg(pg_dsn) as conn:
        await migrate_pg(conn)
        for statement in script:
            await lite.execute(statement)
            await conn.execute(statement)
        expected = [
            [("nudge", 2), ("summary", 1)],  # a team's summary is not theirs
            [(2, 700000, 1, 0, 0, 0)],
            [(1,)],
        ]
        assert [await sqlite_rows(lite, sql) for sql in checks] == expected
        assert [await pg_rows(conn, sql) for sql in checks] == expected


async def test_identities_and_types(pg_dsn: str) -> None:
    async with pg(pg_dsn) as conn:
        await migrate_pg(conn)
        await conn.execute(_USERS[0])
        # A surrogate key is generated when not given; a Telegram id does not fit 32 bits.
        contact = await conn.fetchval(
            "INSERT INTO contacts (owner_id, name, name_key, created_at) "
            "VALUES (1, 'x', 'x', 0) RETURNING id"
        )
        assert contact == 1
        big = 7_000_000_000
        await conn.execute(
            "INSERT INTO users (id, first_name, started_at, updated_at) VALUES ($1, 'Z', 0, 0)",
            big,
        )
        await conn.execute("INSERT INTO flood (id, until_ms) VALUES (1, $1)", 1_800_000_000_000)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO flood (id, until_ms) VALUES (2, 0)")
        await conn.execute(
            "INSERT INTO inbox_effects (update_id, seq, name, result) VALUES ($1, 0, 'n', $2)",
            big,
            b"\x00\xff",
        )
        assert await conn.fetchval("SELECT result FROM inbox_effects") == b"\x00\xff"
