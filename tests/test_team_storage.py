"""Team storage: the schema upgrade, the one-read profile, and that the activity queries stay
on their indexes (so a summary costs the reps and days asked about, not the table sizes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.team import Key, Setting
from storage.db import Database
from storage.migrations import LATEST, MIGRATIONS
from storage.models import UserIn
from storage.repo import Store
from storage.teams import (
    CALL_COUNTS_SQL,
    DAY_COUNTS_SQL,
    DAY_DETAILS_SQL,
    PROFILE_SQL,
    STEP_COUNTS_SQL,
    JoinResult,
    Span,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
IVAN = UserIn(id=111, first_name="Ivan", language_code="en")


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    db = Database(tmp_path / "teams.db")
    await db.open()
    yield Store(db)  # type: ignore[misc]
    await db.close()


async def test_version_one_file_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path) as conn:
        for statement in MIGRATIONS[0]:
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO users (id, first_name, tz, started_at, updated_at) "
            "VALUES (111, 'Ivan', 'Asia/Omsk', 1, 1)"
        )
        await conn.execute("PRAGMA user_version = 1")
        await conn.commit()
    db = Database(path)
    await db.open()
    try:
        row = await db.fetchone("PRAGMA user_version")
        assert row is not None and row[0] == LATEST
        user = await db.fetchone("SELECT first_name, tz, block_start FROM users WHERE id = 111")
        assert user is not None and tuple(user) == ("Ivan", "Asia/Omsk", None)
        profile = await Store(db).teams.profile(111)
        assert profile.known and profile.tz == "Asia/Omsk" and profile.team is None
    finally:
        await db.close()


async def test_profile_follows_the_latest_active_team(store: Store) -> None:
    teams = store.teams
    assert (await teams.profile(IVAN.id)).known is False
    first, created = await teams.setup(-1, "First", tz="Europe/Moscow", lang="en", by=1, now=NOW)
    assert created
    second, _ = await teams.setup(-2, "Second", tz="Asia/Omsk", lang="en", by=1, now=NOW)
    again, created = await teams.setup(-1, "First", tz="UTC", lang="ru", by=2, now=NOW)
    assert not created and again.id == first.id and again.tz == "Europe/Moscow"
    assert await teams.join(first.id, IVAN, NOW) is JoinResult.JOINED
    assert await teams.join(first.id, IVAN, NOW) is JoinResult.ALREADY
    await teams.join(second.id, IVAN, NOW + timedelta(minutes=1))
    profile = await teams.profile(IVAN.id)
    assert profile.team is not None and profile.team.id == second.id and profile.teams == 2
    await teams.set_active(-2, False, NOW)  # the bot was removed from the second group
    profile = await teams.profile(IVAN.id)
    assert profile.team is not None and profile.team.id == first.id and profile.teams == 1
    await teams.leave(first.id, IVAN.id, NOW)
    assert (await teams.profile(IVAN.id)).team is None
    assert await teams.join(first.id, IVAN, NOW) is JoinResult.REJOINED
    updated = await teams.apply(first.id, Setting(Key.QUOTA, 33), NOW)
    assert updated.quota == 33
    profile = await teams.profile(IVAN.id)
    assert profile.team is not None and profile.team.settings.quota == 33


async def test_move_chat_is_idempotent(store: Store) -> None:
    team, _ = await store.teams.setup(-5, "G", tz="UTC", lang="en", by=1, now=NOW)
    assert await store.teams.move_chat(-5, -1005, NOW)
    assert not await store.teams.move_chat(-5, -1005, NOW)
    moved = await store.teams.by_chat(-1005)
    assert moved is not None and moved.id == team.id
    assert await store.teams.by_chat(-5) is None


def spans_param() -> str:
    span = Span(user_id=1, day=1, start=NOW, end=NOW + timedelta(days=1))
    return f"[[1, 1, {span.start.timestamp():.0f}, {span.end.timestamp():.0f}, null, null]]"


@pytest.mark.parametrize(
    ("sql", "indexes", "params"),
    [
        (CALL_COUNTS_SQL, ["COVERING INDEX calls_owner_at_outcome"], {}),
        (
            DAY_COUNTS_SQL,
            ["COVERING INDEX calls_owner_at_outcome", "INDEX next_steps_owner_created"],
            {},
        ),
        (DAY_DETAILS_SQL, ["COVERING INDEX calls_owner_at_outcome"], {"codes": "[]"}),
        (STEP_COUNTS_SQL, ["INDEX next_steps_owner_due"], {"now": 0}),
    ],
)
async def test_activity_queries_use_their_index(
    store: Store, sql: str, indexes: list[str], params: dict[str, object]
) -> None:
    plan = " | ".join(
        row[3]
        for row in await store.db.fetchall(
            "EXPLAIN QUERY PLAN " + sql, {"spans": spans_param(), **params}
        )
    )
    for index in indexes:
        assert f"USING {index}" in plan, plan
    for table in ("calls", "next_steps", "c", "n", "s"):
        assert f"SCAN {table} " not in plan + " ", plan


async def test_day_counts_cut_days_per_span(store: Store) -> None:
    teams = store.teams
    contact = await store.ensure_contact(
        IVAN, name="C", name_key="c", company=None, phone=None, now=NOW
    )
    for minutes in (0, 30, 90):  # 09:00, 09:30, 10:30
        await store.log_call(
            IVAN, name="C", name_key="c", company=None, phone=None, note=None,
            at=NOW + timedelta(minutes=minutes), src_chat=1, src_message=minutes,
        )  # fmt: skip
    await store.set_outcome(IVAN.id, 1, "th")
    spans = [
        Span(IVAN.id, 1, NOW, NOW + timedelta(hours=1), NOW, NOW + timedelta(minutes=45)),
        Span(IVAN.id, 2, NOW + timedelta(hours=1), NOW + timedelta(days=1)),
        Span(222, 1, NOW, NOW + timedelta(days=1)),
    ]
    assert await teams.day_counts(spans) == [(IVAN.id, 1, 2, 0), (IVAN.id, 2, 1, 0), (222, 1, 0, 0)]
    details = await teams.day_details(spans, ["th", "cl"])
    assert details == [(IVAN.id, 1, 1, 2), (IVAN.id, 2, 0, 0), (222, 1, 0, 0)]
    assert contact.id == 1


async def test_profile_is_one_indexed_read(store: Store) -> None:
    plan = " | ".join(
        row[3] for row in await store.db.fetchall("EXPLAIN QUERY PLAN " + PROFILE_SQL, (1,))
    )
    assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), plan
    assert "memberships_user" in plan
