"""The inline storage path: one unit of work per transaction, committed or not at all."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import db as db_module
from storage.db import Database, SqliteDatabase
from storage.sql import Conn


async def opened(path: Path) -> SqliteDatabase:
    db = Database(path)
    assert isinstance(db, SqliteDatabase)
    await db.open()
    return db


async def add_user(conn: Conn, user_id: int, fail: bool = False) -> int:
    await conn.run(
        "INSERT INTO users (id, first_name, started_at, updated_at) VALUES (?, 'Rep', 0, 0)",
        (user_id,),
    )
    if fail:
        raise ValueError("half-way")
    return user_id


async def count_users(conn: Conn) -> int:
    return int((await conn.one("SELECT count(*) FROM users"))[0])


def users_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


async def test_a_unit_of_work_commits_or_leaves_nothing(tmp_path: Path) -> None:
    db = await opened(tmp_path / "b.db")
    try:
        assert await db.transaction(add_user, 1) == 1
        with pytest.raises(ValueError, match="half-way"):
            await db.transaction(add_user, 2, fail=True)
        assert await db.read(count_users) == 1
        # Committed: another connection (another process) sees it at once.
        assert users_in(tmp_path / "b.db") == 1
        # The inline path and the writer thread's (bulk) take turns, never interleave.
        assert await db.bulk(add_user, 3) == 3
        assert await db.transaction(add_user, 4) == 4
        assert await db.read(count_users) == 3
    finally:
        await db.close()


async def test_waits_off_the_loop_when_another_process_writes(tmp_path: Path) -> None:
    db = await opened(tmp_path / "b.db")
    other = sqlite3.connect(tmp_path / "b.db", isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        pending = asyncio.create_task(db.transaction(add_user, 7))
        for _ in range(20):
            await asyncio.sleep(0)  # the event loop is not blocked meanwhile
        assert not pending.done()
        await asyncio.to_thread(other.execute, "COMMIT")
        assert await pending == 7
        assert await db.read(count_users) == 1
    finally:
        other.close()
        await db.close()


async def test_the_wal_is_checkpointed_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY", 10)
    db = await opened(tmp_path / "b.db")
    try:
        for user_id in range(1, 31):
            await db.transaction(add_user, user_id)
        await asyncio.sleep(0)
        assert db._checkpoint is not None
        await db._checkpoint
        assert db._checkpoint.exception() is None
        # The inline connection itself never checkpoints (that would fsync on the loop).
        assert tuple(await db.one("PRAGMA wal_autocheckpoint")) == (0,)
        busy, wal_frames, copied = tuple(await db.one("PRAGMA wal_checkpoint(PASSIVE)"))
        assert busy == 0 and copied == wal_frames  # nothing was left behind
    finally:
        await db.close()
    assert users_in(tmp_path / "b.db") == 30


async def test_closed_database_refuses_work(tmp_path: Path) -> None:
    db = await opened(tmp_path / "b.db")
    await db.close()
    with pytest.raises(RuntimeError, match="not open"):
        await db.transaction(add_user, 1)
    with pytest.raises(RuntimeError, match="not open"):
        await db.read(count_users)
    with pytest.raises(RuntimeError, match="not open"):
        await db.bulk(add_user, 1)


class Note:
    """A rider: one row in ``users``, and whether its transaction committed."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.commits = 0

    async def write(self, conn: Conn) -> None:
        await add_user(conn, self.user_id)

    def committed(self) -> None:
        self.commits += 1


async def test_a_rider_goes_with_the_next_transaction(tmp_path: Path) -> None:
    db = await opened(tmp_path / "b.db")
    try:
        note = Note(7)
        db.ride(note)
        before = db._commits
        assert await db.transaction(add_user, 1) == 1  # carries the rider: one commit for both
        assert db._commits == before + 1
        assert (note.commits, db.riding) == (1, 0)
        assert await db.read(count_users) == 2
    finally:
        await db.close()


async def test_a_rider_whose_carrier_rolls_back_waits_for_the_next(tmp_path: Path) -> None:
    db = await opened(tmp_path / "b.db")
    try:
        note = Note(7)
        db.ride(note)
        with pytest.raises(ValueError):
            await db.transaction(add_user, 2, fail=True)
        assert (note.commits, db.riding, await db.read(count_users)) == (0, 1, 0)
        await db.bulk(add_user, 3)  # the writer thread's transactions carry riders too
        assert (note.commits, db.riding, await db.read(count_users)) == (1, 0, 2)
    finally:
        await db.close()


async def test_a_rider_goes_alone_if_nothing_comes_and_close_takes_the_rest(
    tmp_path: Path,
) -> None:
    db = await opened(tmp_path / "b.db")
    alone, last = Note(1), Note(2)
    try:
        db.ride(alone)
        for _ in range(200):  # a few milliseconds: the window, then its own transaction
            if alone.commits:
                break
            await asyncio.sleep(db_module.RIDE_WINDOW / 10)
        assert alone.commits == 1
        db.ride(last)
    finally:
        await db.close()  # a clean stop leaves nothing behind
    assert last.commits == 1
    assert users_in(tmp_path / "b.db") == 2


async def _suspends(conn: Conn) -> None:
    await asyncio.sleep(0)


async def test_a_unit_that_awaits_anything_but_its_connection_is_refused(tmp_path: Path) -> None:
    """On SQLite a unit of work runs to its end without giving the event loop away; one that
    would suspend is a programming error, said at once, and its transaction rolls back."""
    db = await opened(tmp_path / "b.db")
    try:
        with pytest.raises(RuntimeError, match="awaited something other"):
            await db.transaction(_suspends)
        assert await db.transaction(add_user, 1) == 1
    finally:
        await db.close()
