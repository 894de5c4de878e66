"""``ballback check`` and ``ballback backup``."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot import ops
from bot.config import Settings
from storage.db import Database
from storage.migrations import LATEST
from tests.conftest import TOKEN
from tests.dbtools import writing
from tests.fakeapi import FakeBotAPI
from tests.subproc import bot_env, run_cli

# About the SQLite file itself (its snapshots, its processes): PostgreSQL has its own tests.
pytestmark = pytest.mark.sqlite_only


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- check ----------------------------------------------------------------------------------------


async def test_check_passes_with_one_line_per_check(api: FakeBotAPI, tmp_path: Path) -> None:
    code, out, err = await run_cli("check", env=bot_env(api, tmp_path / "b.db"), cwd=tmp_path)
    assert code == 0, (out, err)
    verdicts = lines(out)
    assert [line.split(":")[0] for line in verdicts] == [
        "ok    config",
        "ok    database",
        "ok    telegram",
    ]
    assert "long polling" in verdicts[0]
    assert f"schema version {LATEST}, 0 update(s) waiting in the inbox" in verdicts[1]
    assert "@ballback_test_bot" in verdicts[2]
    assert [r.method for r in api.requests] == ["getMe"]
    assert TOKEN not in out + err
    # The database was created and migrated.
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST


async def test_check_fails_when_telegram_refuses_the_token(api: FakeBotAPI, tmp_path: Path) -> None:
    api.fail_next("getMe", status=401, description="Unauthorized")
    code, out, err = await run_cli("check", env=bot_env(api, tmp_path / "b.db"), cwd=tmp_path)
    assert code == 1
    verdicts = lines(out)
    assert verdicts[0].startswith("ok    config")
    assert verdicts[1].startswith("ok    database")
    assert verdicts[2].startswith("FAIL  telegram: the Bot API refused the token")
    assert "BALLBACK_TOKEN" in verdicts[2]
    assert len(verdicts) == 3
    assert TOKEN not in out + err


async def test_check_offline_never_calls_telegram(api: FakeBotAPI, tmp_path: Path) -> None:
    code, out, _ = await run_cli(
        "check", "--offline", env=bot_env(api, tmp_path / "b.db"), cwd=tmp_path
    )
    assert code == 0
    assert lines(out)[-1] == "skip  telegram: not asked (--offline)"
    assert api.requests == []


async def test_check_stops_at_a_bad_setting(api: FakeBotAPI, tmp_path: Path) -> None:
    env = bot_env(api, tmp_path / "b.db", BALLBACK_TIMEZONE="Mars/Olympus")
    code, out, _ = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 1
    assert lines(out) == [
        "FAIL  config: BALLBACK_TIMEZONE unknown time zone 'Mars/Olympus' (use an IANA name)"
    ]
    assert not (tmp_path / "b.db").exists()
    assert api.requests == []


async def test_check_stops_at_a_database_it_cannot_use(api: FakeBotAPI, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"this is not a database, just some notes\n" * 100)
    settings = Settings(token=TOKEN, database=bad, api_url=api.base_url)  # type: ignore[arg-type]
    out: list[str] = []
    assert await ops.check(settings, out=out.append) == 1
    assert out[1].startswith("FAIL  database: ")
    assert "not a database" in out[1]
    assert len(out) == 2
    assert api.requests == []


async def test_check_refuses_a_database_from_a_newer_ballback(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    path = tmp_path / "b.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    settings = Settings(token=TOKEN, database=path, api_url=api.base_url)  # type: ignore[arg-type]
    out: list[str] = []
    assert await ops.check(settings, out=out.append) == 1
    assert out[1].startswith("FAIL  database: the database has schema version")


async def test_check_reports_an_unreachable_api(tmp_path: Path) -> None:
    async with FakeBotAPI() as gone:
        url = gone.base_url  # a port that nobody listens on once the server stopped
    settings = Settings(token=TOKEN, database=tmp_path / "b.db", api_url=url)  # type: ignore[arg-type]
    out: list[str] = []
    assert await ops.check(settings, out=out.append) == 1
    assert out[2].startswith(f"FAIL  telegram: could not reach the Bot API at {url}")
    assert TOKEN not in "".join(out)


# -- backup ---------------------------------------------------------------------------------------


async def make_db(path: Path, users: int) -> Database:
    db = Database(path)
    await db.open()
    async with writing(db) as conn:
        await conn.executemany(
            "INSERT INTO users (id, first_name, started_at, updated_at) VALUES (?, ?, 0, 0)",
            [(i, f"Rep {i}") for i in range(1, users + 1)],
        )
    return db


def user_rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, first_name FROM users ORDER BY id").fetchall()


async def test_backup_copies_every_row_into_one_checked_file(tmp_path: Path) -> None:
    db = await make_db(tmp_path / "live.db", 300)
    try:
        result = await ops.backup(tmp_path / "live.db", tmp_path / "copies" / "b.db")
    finally:
        await db.close()
    copy = tmp_path / "copies" / "b.db"
    assert result.path == copy and result.schema_version == LATEST
    assert result.size == copy.stat().st_size > 0
    assert user_rows(copy) == user_rows(tmp_path / "live.db")
    assert not (tmp_path / "copies" / "b.db.partial").exists()
    with sqlite3.connect(copy) as conn:  # a plain single file, not a WAL database
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_backup_is_a_consistent_snapshot_while_the_bot_writes(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    db = await make_db(live, 2000)
    written = 2000
    stop, going = asyncio.Event(), asyncio.Event()

    async def keep_writing() -> None:
        nonlocal written
        while not stop.is_set():
            async with writing(db) as conn:  # each transaction adds two rows, or none
                for _ in range(2):
                    written += 1
                    await conn.execute(
                        "INSERT INTO users (id, first_name, started_at, updated_at) "
                        "VALUES (?, ?, 0, 0)",
                        (written, f"Rep {written}"),
                    )
            if written >= 2200:
                going.set()

    writer = asyncio.create_task(keep_writing())
    try:
        await going.wait()  # the writer is in full swing
        result = await ops.backup(live, tmp_path / "b.db")
    finally:
        stop.set()
        await writer
        await db.close()
    copied = user_rows(result.path)
    source = user_rows(live)
    assert len(source) == written
    # A prefix of the live rows, never half a transaction.
    assert 2200 <= len(copied) <= written
    assert len(copied) % 2 == 0
    assert copied == source[: len(copied)]


async def test_backup_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(ops.BackupError, match="no database"):
        ops.backup_database(tmp_path / "missing.db", tmp_path / "b.db")
    assert not (tmp_path / "missing.db").exists()
    db = await make_db(tmp_path / "live.db", 1)
    await db.close()
    with pytest.raises(ops.BackupError, match="must not be the database itself"):
        ops.backup_database(tmp_path / "live.db", tmp_path / "live.db")
    with pytest.raises(ops.BackupError, match="is a directory"):
        ops.backup_database(tmp_path / "live.db", tmp_path)


async def test_backup_command(api: FakeBotAPI, tmp_path: Path) -> None:
    db = await make_db(tmp_path / "live.db", 5)
    await db.close()
    env = bot_env(api, tmp_path / "live.db")
    code, out, err = await run_cli("backup", str(tmp_path / "b.db"), env=env, cwd=tmp_path)
    assert code == 0, err
    assert out.startswith(f"ok    backup: {tmp_path / 'b.db'} (")
    assert user_rows(tmp_path / "b.db") == user_rows(tmp_path / "live.db")
    code, _, err = await run_cli(
        "backup", str(tmp_path / "c.db"), env=bot_env(api, tmp_path / "none.db"), cwd=tmp_path
    )
    assert code == 1
    assert "backup failed: there is no database at" in err
    assert api.requests == []
