"""Storage: PRAGMAs, migrations, the single writer, idempotent logging, undo."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.rules import Moment
from storage.db import Database, SchemaTooNewError, StorageError
from storage.migrations import LATEST, MIGRATIONS, migrate, schema_version
from storage.models import UserIn
from storage.repo import Store, UndoResult
from storage.sql import Conn
from tests.conftest import IVAN, START, BotHarness, Person, texts
from tests.dbtools import writing

TABLES = {"users", "contacts", "calls", "next_steps", "flows"}
# A released migration is never edited: a schema change is a new entry in MIGRATIONS.
# Every migration that has shipped, frozen: a schema change is a new entry, never an edit.
RELEASED = {
    1: "f5242e48064221b9824f1dd7265cf278f2059224965fb109e23d72adc014c01f",
    2: "1a1762cb183a45d693e4e34178621f805a52882d6aa7ad8014b0094e7e8481b5",
    3: "af2ddcc08ab242d79e678cb13a9c932531b79f38783dc3321c0178319ad78412",
    4: "46c22f6a346502a62c59a1789c304ccdcc75a136e18b2e505a012f6430d03ea3",
    5: "530fdb0cabf4fb8b00533545ee562e367204a5ca74979d8abaf3c5d29be8bbfe",
    6: "396e40e2ed252abe606994084146c895b9f1ce2f42ff96844072ddb8e033e5cb",
}
REP = UserIn(id=7, first_name="Rep", language_code="en")
OTHER = UserIn(id=8, first_name="Other", language_code="en")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "store.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


def sqlite_file(path: Path, *statements: str) -> None:
    """Write a database file with plain sqlite3, the way an older or newer Ballback might."""
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def exists(path: Path) -> bool:
    return path.exists()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {name for (name,) in rows}
    finally:
        conn.close()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


# -- connection settings -------------------------------------------------------------------------


async def _pragmas(conn: Conn) -> tuple[int, int]:
    return (await conn.one("PRAGMA foreign_keys"))[0], (await conn.one("PRAGMA busy_timeout"))[0]


async def test_both_connections_use_wal_foreign_keys_and_a_busy_timeout(db: Database) -> None:
    assert await db.bulk(_pragmas) == (1, 5000)  # the writer's connection
    assert await db.transaction(_pragmas) == (1, 0)  # the inline one never waits for a lock
    reader = {
        pragma: (await db.fetchone(f"PRAGMA {pragma}"))[0]  # type: ignore[index]
        for pragma in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
    }
    assert reader == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,
    }
    assert exists(Path(f"{db.path}-wal"))


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with writing(db) as conn:
            await conn.execute("INSERT INTO calls (owner_id, contact_id, at) VALUES (999, 999, 0)")
    assert await db.fetchall("SELECT * FROM calls") == []


# -- migrations ----------------------------------------------------------------------------------


async def test_a_new_file_gets_every_table(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "new.db"  # the folder is created too
    database = Database(path)
    await database.open()
    await database.close()
    assert tables(path) >= TABLES
    assert user_version(path) == LATEST


async def test_an_older_file_is_upgraded_in_place_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite_file(path, "CREATE TABLE keepsake (note TEXT)", "INSERT INTO keepsake VALUES ('hi')")
    assert user_version(path) == 0
    database = Database(path)
    await database.open()
    assert await database.fetchall("SELECT note FROM keepsake") != []
    await database.close()
    assert TABLES | {"keepsake"} <= tables(path)
    assert user_version(path) == LATEST


@pytest.mark.parametrize("version", range(LATEST))
async def test_every_version_upgrades_to_the_latest(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(conn, MIGRATIONS[:version]) == 0
        assert await schema_version(conn) == version
    database = Database(path)
    await database.open()
    await database.close()
    assert user_version(path) == LATEST
    assert tables(path) >= TABLES


async def test_a_failing_step_leaves_the_previous_version_untouched(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    steps = [*MIGRATIONS, ("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL")]
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn, steps)
        assert await schema_version(conn) == LATEST
    assert "half_done" not in tables(path)


async def test_a_newer_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    sqlite_file(path, f"PRAGMA user_version = {LATEST + 1}")
    database = Database(path)
    with pytest.raises(SchemaTooNewError) as caught:
        await database.open()
    message = str(caught.value)
    assert f"schema version {LATEST + 1}" in message and "upgrade Ballback" in message
    assert "\n" not in message
    assert not database.is_open
    assert user_version(path) == LATEST + 1
    assert tables(path) == set()


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not a database, just some text " * 100)
    with pytest.raises(StorageError, match=r"notes\.txt"):
        await Database(path).open()


def test_released_migrations_are_never_edited() -> None:
    for number, digest in RELEASED.items():
        text = "\n".join(" ".join(s.split()) for s in MIGRATIONS[number - 1])
        assert hashlib.sha256(text.encode()).hexdigest() == digest, (
            f"migration {number} was edited: add a new migration instead"
        )


# -- one writer ----------------------------------------------------------------------------------


async def _scratch(conn: Conn, n: int, bulk: bool) -> None:
    await conn.run("INSERT INTO scratch VALUES (?)", (n,))
    await conn.run("INSERT INTO scratch VALUES (?)", (n + 1000,))
    if n % 3 == 0:
        raise ValueError(n)


async def test_many_writers_some_failing_keep_exactly_the_good_ones(db: Database) -> None:
    """Units of work on the event loop and on the writer's thread, some failing half-way,
    all at once: each is committed whole or not at all, none commits another's half."""
    async with writing(db) as conn:
        await conn.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY)")

    async def writer(n: int) -> None:
        if n % 2:
            await db.bulk(_scratch, n, True)
        else:
            await db.transaction(_scratch, n, False)

    outcome = await asyncio.gather(*(writer(n) for n in range(30)), return_exceptions=True)
    assert sum(isinstance(o, ValueError) for o in outcome) == 10
    stored = {r[0] for r in await db.fetchall("SELECT id FROM scratch")}
    good = {n for n in range(30) if n % 3}
    assert stored == good | {n + 1000 for n in good}


async def test_fifty_concurrent_calls_store_fifty_rows(bot: BotHarness) -> None:
    reps = [Person(3000 + i, f"Rep {i}", "en") for i in range(10)]
    sent = await asyncio.gather(*(bot.send(f"/call Prospect {n}", reps[n % 10]) for n in range(50)))
    assert len(sent) == 50
    assert await bot.rows("SELECT count(*), count(DISTINCT src_message) FROM calls") == [(50, 50)]
    per_rep = await bot.rows("SELECT owner_id, count(*) FROM calls GROUP BY owner_id")
    assert sorted(per_rep) == [(rep.id, 5) for rep in reps]
    replies = [t for t in texts(bot.sent("sendMessage")) if "How did it go?" in t]
    assert len(replies) == 50
    assert {f"Prospect {n}" for n in range(50)} == {
        name for (name,) in await bot.rows("SELECT name FROM contacts")
    }


# -- the repository ------------------------------------------------------------------------------


async def log(store: Store, message: int, name: str = "Ivan Petrov", user: UserIn = REP) -> int:
    logged = await store.log_call(
        user,
        name=name,
        name_key=name.casefold(),
        company=None,
        phone=None,
        note=None,
        when=Moment(START, START.date()),
        src_chat=user.id,
        src_message=message,
    )
    return logged.call.id


async def test_the_same_message_logs_one_call(db: Database) -> None:
    store = Store(db)
    first = await store.log_call(
        REP,
        name="Ivan",
        name_key="ivan",
        company=None,
        phone="+79123456789",
        note=None,
        when=Moment(START, START.date()),
        src_chat=7,
        src_message=42,
    )
    again = await store.log_call(
        REP,
        name="Ivan",
        name_key="ivan",
        company=None,
        phone="+79123456789",
        note=None,
        when=Moment(START + timedelta(seconds=5), START.date()),
        src_chat=7,
        src_message=42,
    )
    assert first.created and not again.created
    assert again.call.id == first.call.id
    assert len(list(await db.fetchall("SELECT * FROM calls"))) == 1
    # Another chat may reuse the message id: that is another call.
    await log(store, 42, user=OTHER)
    assert len(list(await db.fetchall("SELECT * FROM calls"))) == 2


async def test_undo_checks_owner_and_window_and_takes_the_call_s_next_step(db: Database) -> None:
    store = Store(db)
    call_id = await log(store, 1)
    call = await store.get_call(call_id)
    assert call is not None
    step = await store.save_next_step(
        REP.id,
        contact_id=call.contact_id,
        call_id=call_id,
        action="Demo",
        due_at=START + timedelta(days=1),
        kind="ball",
        when=Moment(START, START.date()),
        src_chat=7,
        src_message=2,
    )
    assert step is not None
    since = START - timedelta(minutes=15)
    assert await store.undo(OTHER.id, "call", call_id, since) is UndoResult.NOT_OWNER
    later = START + timedelta(minutes=1)
    assert await store.undo(REP.id, "call", call_id, later) is UndoResult.TOO_OLD
    assert len(list(await db.fetchall("SELECT * FROM next_steps"))) == 1
    assert await store.undo(REP.id, "call", call_id, since) is UndoResult.DONE
    assert list(await db.fetchall("SELECT * FROM calls")) == []
    assert list(await db.fetchall("SELECT * FROM next_steps")) == []
    assert list(await db.fetchall("SELECT * FROM contacts")) == []  # it came with the call
    assert await store.undo(REP.id, "call", call_id, since) is UndoResult.GONE


async def test_undoing_a_ball_reopens_its_call(db: Database) -> None:
    store = Store(db)
    call_id = await log(store, 1)
    call = await store.get_call(call_id)
    assert call is not None
    step = await store.save_next_step(
        REP.id,
        contact_id=call.contact_id,
        call_id=call_id,
        action="Demo",
        due_at=START + timedelta(days=1),
        kind="ball",
        when=Moment(START, START.date()),
        src_chat=7,
        src_message=2,
    )
    assert step is not None
    assert (await store.get_call(call_id)).outcome == "ns"  # type: ignore[union-attr]
    target = await store.last_undoable(REP.id, START - timedelta(minutes=15))
    assert target is not None and (target.kind, target.id, target.owner_id) == (
        "step",
        step.id,
        REP.id,
    )
    result = await store.undo(REP.id, "step", step.id, START - timedelta(minutes=15))
    assert result is UndoResult.DONE
    assert (await store.get_call(call_id)).outcome is None  # type: ignore[union-attr]
    assert len(list(await db.fetchall("SELECT * FROM contacts"))) == 1  # the call still has it


async def test_a_contact_with_older_history_survives_an_undo(db: Database) -> None:
    store = Store(db)
    await log(store, 1)
    second = await log(store, 2)
    assert await store.undo(REP.id, "call", second, START) is UndoResult.DONE
    assert len(list(await db.fetchall("SELECT * FROM contacts"))) == 1


async def test_a_rep_s_own_time_zone_is_stored(db: Database) -> None:
    store = Store(db)
    assert not await store.set_user_tz(REP.id, "Asia/Vladivostok")  # not registered yet
    await store.register_user(REP, START)
    assert await store.set_user_tz(REP.id, "Asia/Vladivostok")
    user = await store.get_user(REP.id)
    assert user is not None and user.tz == "Asia/Vladivostok"


async def test_a_contact_first_logged_by_number_gets_its_real_name(bot: BotHarness) -> None:
    await bot.send("/call +7 912 345-67-89", IVAN)
    assert await bot.rows("SELECT name FROM contacts") == [("+7 912 345-67-89",)]
    await bot.send("/call Анна Петрова 8 912 345 67 89", IVAN)
    assert await bot.rows("SELECT name, name_key, phone FROM contacts") == [
        ("Анна Петрова", "анна петрова", "+79123456789")
    ]
    assert await bot.rows("SELECT count(*) FROM calls") == [(2,)]


async def test_a_next_step_whose_call_was_undone_meanwhile_stands_alone(db: Database) -> None:
    store = Store(db)
    call_id = await log(store, 1)
    call = await store.get_call(call_id)
    assert call is not None
    async with writing(db) as conn:
        await conn.execute("DELETE FROM calls WHERE id = ?", (call_id,))
    step = await store.save_next_step(
        REP.id,
        contact_id=call.contact_id,
        call_id=call_id,
        action="Demo",
        due_at=START + timedelta(days=1),
        kind="ball",
        when=Moment(START, START.date()),
        src_chat=REP.id,
        src_message=2,
    )
    assert step is not None and step.call_id is None
