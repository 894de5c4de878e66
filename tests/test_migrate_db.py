"""``ballback migrate-db``: a whole database moved from SQLite to PostgreSQL and back, and
``check``/``backup`` on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, migrate_db
from bot.config import Settings
from storage import copy as copy_module
from storage.db import Database
from tests.conftest import IVAN, OLGA, TOKEN, BotHarness, group_chat, last_text, restart
from tests.dbtools import table_columns, writing
from tests.fakeapi import FakeBotAPI
from tests.subproc import bot_env, run_cli

pytestmark = pytest.mark.sqlite_only  # the bot starts on SQLite; the copies go to PostgreSQL


async def fill(bot: BotHarness) -> str:
    """A team, calls with outcomes, a Next Step, a flow left open; /today as the rep sees it."""
    group = group_chat()
    await bot.send("/setup", IVAN, chat=group)
    await bot.send("/join", OLGA, chat=group)
    for name in ("Anna <Co> & Partners", "Boris", "Vera"):
        await bot.send(f"/call {name}", IVAN)
    await bot.send("/call Gleb +7 912 000-00-01", OLGA)
    await bot.send("/nextstep Anna <Co> & Partners; 1.12 15:00; demo at their office", IVAN)
    await bot.send("/nextstep Boris", IVAN)  # leaves a guided flow open
    return last_text(await bot.send("/today", IVAN))


async def dump(target: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order, as plain values."""
    db = Database(target)
    await db.open()
    try:
        found = {}
        for table, columns in (await table_columns(db)).items():
            order = ", ".join(f'"{c}"' for c in columns)
            rows = await db.fetchall(f'SELECT {order} FROM "{table}" ORDER BY {order}')
            found[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows
            ]
        return found
    finally:
        await db.close()


async def test_a_team_moves_to_postgresql_and_back_with_every_row(
    bot: BotHarness, settings: Settings, pg_dsn: str, tmp_path: Path
) -> None:
    today = await fill(bot)
    await bot.app.shutdown()
    assert bot.app.post_shutdown is not None
    await bot.app.post_shutdown(bot.app)  # stopped, as the operations guide says
    before = await dump(settings.database)
    assert before["calls"] and before["next_steps"] and before["memberships"]

    out: list[str] = []
    assert await migrate_db(str(settings.database), pg_dsn, out.append) == EXIT_OK
    assert out[-1].startswith("ok    migrate-db: ")
    assert "row counts and" in out[-1] and "day counts verified" in out[-1]
    assert "calls: 4 rows" in out
    moved = await dump(pg_dsn)
    assert {t: r for t, r in moved.items() if t != "ballback_schema"} == before

    # The bot runs on PostgreSQL as it did on SQLite: the same /today, new rows get new ids.
    on_pg = settings.model_copy(update={"database": pg_dsn})
    await restart(bot, on_pg)
    assert last_text(await bot.send("/today", IVAN)) == today
    await bot.send("/call Dmitry", IVAN)
    rows = await bot.rows("SELECT id FROM calls ORDER BY id")
    assert len(rows) == 5 and rows[-1][0] > rows[-2][0]
    await bot.app.shutdown()
    assert bot.app.post_shutdown is not None
    await bot.app.post_shutdown(bot.app)

    back = tmp_path / "back.db"  # and a team can leave
    assert await migrate_db(pg_dsn, str(back), out.append) == EXIT_OK
    assert (await dump(back))["calls"] == (await dump(pg_dsn))["calls"]
    await restart(bot, settings.model_copy(update={"database": back}))


async def test_a_target_that_holds_data_is_refused_and_left_alone(
    bot: BotHarness, settings: Settings, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(bot)
    await bot.db.flush()
    assert await migrate_db(str(settings.database), pg_dsn, lambda line: None) == EXIT_OK
    target = await dump(pg_dsn)
    assert await migrate_db(str(settings.database), pg_dsn, lambda line: None) == EXIT_FAILED
    assert "already holds data" in capsys.readouterr().err
    assert await dump(pg_dsn) == target


async def test_a_failed_copy_writes_nothing(
    tmp_path: Path,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    bot: BotHarness,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await fill(bot)
    await bot.db.flush()

    # The last table cannot be read: everything copied before it goes back too.
    broken = (*copy_module.TABLES, ("no_such_table", ("id",)))
    monkeypatch.setattr(copy_module, "TABLES", broken)
    assert await migrate_db(str(settings.database), pg_dsn, lambda line: None) == EXIT_FAILED
    assert "no_such_table" in capsys.readouterr().err
    assert all(
        not rows
        for table, rows in (await dump(pg_dsn)).items()
        if table not in ("ballback_schema", "day_counts_since")
    )


async def test_large_tables_print_progress(
    bot: BotHarness, settings: Settings, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(25):
        await bot.send(f"/call Lead {n}", IVAN)
    monkeypatch.setattr(copy_module, "CHUNK", 2)
    out: list[str] = []
    assert await migrate_db(str(settings.database), pg_dsn, out.append) == EXIT_OK
    assert "  calls: 20 of 25 rows" in out
    assert "calls: 25 rows" in out


async def test_a_missing_source_or_the_same_database_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await migrate_db(str(tmp_path / "nope.db"), str(tmp_path / "x.db")) == EXIT_CONFIG
    assert "there is no database at" in capsys.readouterr().err
    (tmp_path / "a.db").touch()
    assert await migrate_db(str(tmp_path / "a.db"), str(tmp_path / "a.db")) == EXIT_CONFIG
    assert "the same database" in capsys.readouterr().err


# -- check and backup on PostgreSQL ------------------------------------------------------------


async def test_check_names_the_backend_and_never_the_password(
    api: FakeBotAPI, tmp_path: Path, pg_dsn: str
) -> None:
    with_password = pg_dsn.replace("postgres@", "postgres:s3cret@")
    env = bot_env(api, with_password)  # type: ignore[arg-type]
    code, out, err = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 0, (out, err)
    database = next(line for line in out.splitlines() if line.startswith("ok    database"))
    assert "(PostgreSQL " in database and "schema version 9" in database
    assert "s3cret" not in out + err


async def test_backup_on_postgresql_points_to_pg_dump(
    api: FakeBotAPI, tmp_path: Path, pg_dsn: str
) -> None:
    code, _, err = await run_cli(
        "backup",
        str(tmp_path / "b.dump"),
        env=bot_env(api, pg_dsn),
        cwd=tmp_path,  # type: ignore[arg-type]
    )
    assert code == EXIT_FAILED
    assert len(err.strip().splitlines()) == 1
    assert "pg_dump" in err and not (tmp_path / "b.dump").exists()


def test_settings_take_a_postgresql_url() -> None:
    url = "postgresql://bb:pw@db:5432/ballback"
    assert Settings(token=TOKEN, database=url).postgres  # type: ignore[arg-type]
    assert not Settings(token=TOKEN, database="ballback.db").postgres  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="postgresql://"):
        Settings(token=TOKEN, database="mysql://db/x")  # type: ignore[arg-type]


async def test_day_counts_that_do_not_match_the_calls_stop_the_copy(
    bot: BotHarness, settings: Settings, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(bot)
    async with writing(bot.db) as conn:  # a count no call explains (an old bug, a hand edit)
        await conn.execute(
            "INSERT INTO day_counts (owner_id, day, calls) VALUES (?, 700000, 5)", (IVAN.id,)
        )
    assert await migrate_db(str(settings.database), pg_dsn, lambda line: None) == EXIT_FAILED
    assert "day counts differ" in capsys.readouterr().err
    assert (await dump(pg_dsn))["calls"] == []
