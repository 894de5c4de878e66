"""Team storage: the schema upgrade, the one-read profile, and that the activity queries stay
on their indexes (so a summary costs the reps and days asked about, not the table sizes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.outcomes import POLITE_NOS, Outcome
from bot.domain.rules import Moment
from bot.domain.team import Key, Setting, parse_setting
from bot.reports import Period, build_leaderboard, build_summary
from storage.db import Database
from storage.migrations import LATEST, MIGRATIONS
from storage.models import UserIn
from storage.repo import Store, UndoResult
from storage.teams import (
    BLOCK_CALLS_SQL,
    CALL_COUNTS_SQL,
    COUNTED_DAYS_SQL,
    DAY_COUNTS_SQL,
    PROFILE_SQL,
    STEP_COUNTS_SQL,
    JoinResult,
    Span,
)
from tests.dbtools import writing

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
    return f"[[1, 1, {span.start.timestamp():.0f}, {span.end.timestamp():.0f}]]"


@pytest.mark.parametrize(
    ("sql", "indexes", "params"),
    [
        (CALL_COUNTS_SQL, ["COVERING INDEX calls_owner_at_outcome"], {}),
        (
            DAY_COUNTS_SQL,
            ["COVERING INDEX calls_owner_at_outcome", "INDEX next_steps_owner_created"],
            {"codes": "[]"},
        ),
        (
            BLOCK_CALLS_SQL,
            ["COVERING INDEX calls_owner_at_outcome"],
            {"owners": "[1]", "start": 0, "end": 1},
        ),
        (
            STEP_COUNTS_SQL,
            ["INDEX next_steps_owner_due"],
            {"owners": "[1]", "start": 0, "end": 1, "now": 0},
        ),
        (
            COUNTED_DAYS_SQL,
            ["PRIMARY KEY"],
            {"owners": "[1]", "first": 1, "last": 2, "min_calls": 0},
        ),
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
    for table in ("calls", "next_steps", "day_counts", "c", "n", "s", "d"):
        assert f"SCAN {table} " not in plan + " ", plan


async def rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in await store.db.fetchall(sql)]


async def log_at(
    store: Store, at: datetime, day: date, message: int, *, in_block: bool = False
) -> int:
    logged = await store.log_call(
        IVAN, name="C", name_key="c", company=None, phone=None, note=None,
        when=Moment(at, day, in_block), src_chat=1, src_message=message,
    )  # fmt: skip
    return logged.call.id


async def ball_at(
    store: Store,
    contact_id: int,
    day: date,
    message: int,
    kind: str = "ball",
    call_id: int | None = None,
) -> int:
    step = await store.save_next_step(
        IVAN.id, contact_id=contact_id, call_id=call_id, action="Demo",
        due_at=NOW + timedelta(days=3), kind=kind, when=Moment(NOW, day),
        src_chat=1, src_message=message,
    )  # fmt: skip
    assert step is not None
    return step.id


async def set_outcome_in_sql(store: Store, call_id: int, outcome: str) -> None:
    async with writing(store.db) as conn:
        await conn.execute("UPDATE calls SET outcome = ? WHERE id = ?", (outcome, call_id))


async def test_day_counts_follow_every_insert_outcome_and_delete(store: Store) -> None:
    """Calls, polite no's and balls count for the local day they were logged on, follow a
    changed outcome, and leave the day when undone or forgotten."""
    friday, saturday = date(2026, 11, 27), date(2026, 11, 28)
    first = await log_at(store, NOW, friday, 1, in_block=True)
    second = await log_at(store, NOW + timedelta(minutes=30), friday, 2)
    # 23:30 UTC is already Saturday for a rep in Moscow: the day given is the one counted.
    late = await log_at(store, NOW + timedelta(hours=14, minutes=30), saturday, 3)
    contact = await store.find_contact(IVAN.id, "c")
    assert contact is not None
    ball = await ball_at(store, contact.id, friday, 4)
    await ball_at(store, contact.id, friday, 5, kind="reminder")  # a reminder is no ball
    await store.set_outcome(IVAN.id, first, "th")  # a polite no
    await store.set_outcome(IVAN.id, second, "na")
    await store.set_outcome(IVAN.id, late, "cl")
    await set_outcome_in_sql(store, late, "ni")  # however it changes: no longer a polite no
    counts = "SELECT owner_id, day, calls, polite_nos, balls, in_block FROM day_counts ORDER BY day"
    assert await rows(store, counts) == [
        (IVAN.id, friday.toordinal(), 2, 1, 1, 1),
        (IVAN.id, saturday.toordinal(), 1, 0, 0, 0),
    ]
    teams = store.teams
    assert await teams.counted_days([IVAN.id, 222], friday, saturday) == [
        (IVAN.id, friday.toordinal(), 2, 1, 1, 1),
        (IVAN.id, saturday.toordinal(), 1, 0, 0, 0),
    ]
    assert await teams.counted_days([IVAN.id], saturday, saturday) == [
        (IVAN.id, saturday.toordinal(), 1, 0, 0, 0)
    ]
    assert await teams.counted_days([IVAN.id], friday, saturday, min_calls=2) == [
        (IVAN.id, friday.toordinal(), 2, 1, 1, 1)
    ]
    since = NOW - timedelta(days=1)
    await set_outcome_in_sql(store, late, "th")
    assert (await teams.counted_days([IVAN.id], saturday, saturday))[0].polite_nos == 1
    assert await store.undo(IVAN.id, "call", late, since) is UndoResult.DONE
    assert await store.undo(IVAN.id, "step", ball, since) is UndoResult.DONE
    assert await store.undo(IVAN.id, "call", first, since) is UndoResult.DONE
    assert await rows(store, counts) == [
        (IVAN.id, friday.toordinal(), 1, 0, 0, 0),
        (IVAN.id, saturday.toordinal(), 0, 0, 0, 0),
    ]
    await ball_at(store, contact.id, friday, 6, call_id=second)  # the ball of a call ...
    assert (await teams.counted_days([IVAN.id], friday, friday))[0].balls == 1
    assert await store.undo(IVAN.id, "call", second, since) is UndoResult.DONE
    assert await rows(store, counts) == [  # ... goes with it (a cascade fires the trigger)
        (IVAN.id, friday.toordinal(), 0, 0, 0, 0),
        (IVAN.id, saturday.toordinal(), 0, 0, 0, 0),
    ]
    assert await store.pipeline.forget_user(IVAN.id)
    assert await rows(store, counts) == []


async def test_the_polite_nos_counted_by_day_are_the_domain_s(store: Store) -> None:
    """The triggers name the polite no's in SQL: they must be exactly the domain's."""
    for n, outcome in enumerate(Outcome, start=1):
        call = await log_at(store, NOW, NOW.date(), n)
        await store.set_outcome(IVAN.id, call, outcome.value)
        [(polite,)] = await rows(store, "SELECT polite_nos FROM day_counts")
        assert polite == sum(1 for o in list(Outcome)[:n] if o in POLITE_NOS), outcome


async def test_first_counted_day_of_a_new_file_is_the_epoch(store: Store) -> None:
    assert await store.teams.first_counted_day() == date(1970, 1, 3)


async def test_days_before_the_upgrade_are_counted_from_the_calls(tmp_path: Path) -> None:
    """A file from before day counts: its old days are counted from the calls, cut by the span;
    what is logged after the upgrade is counted by day."""
    path = tmp_path / "v5.db"
    async with aiosqlite.connect(path) as conn:
        for migration in MIGRATIONS[:5]:
            for statement in migration:
                await conn.execute(statement)
        await conn.execute(
            "INSERT INTO users (id, first_name, started_at, updated_at) VALUES (?, 'Ivan', 1, 1)",
            (IVAN.id,),
        )
        await conn.execute(
            "INSERT INTO contacts (id, owner_id, name, name_key, created_at) "
            "VALUES (1, ?, 'C', 'c', 1)",
            (IVAN.id,),
        )
        for n, (minutes, outcome) in enumerate(((0, "th"), (30, "na"), (90, "cl"))):
            at = int((NOW + timedelta(minutes=minutes)).timestamp())  # 09:00, 09:30, 10:30 UTC
            await conn.execute(
                "INSERT INTO calls (owner_id, contact_id, at, outcome, src_chat, src_message) "
                "VALUES (?, 1, ?, ?, 1, ?)",
                (IVAN.id, at, outcome, n),
            )
        await conn.execute(
            "INSERT INTO next_steps (owner_id, contact_id, action, due_at, kind, created_at) "
            "VALUES (?, 1, 'Demo', ?, 'ball', ?)",
            (IVAN.id, int(NOW.timestamp()) + 86400, int(NOW.timestamp()) + 60),
        )
        await conn.execute("PRAGMA user_version = 5")
        await conn.commit()
    db = Database(path)
    await db.open()
    try:
        store = Store(db)
        teams = store.teams
        # The last old row is at 09:01 UTC on the 27th: from the 29th every zone's day is whole.
        assert await teams.first_counted_day() == date(2026, 11, 29)
        later = NOW + timedelta(days=2)
        await log_at(store, later, later.date(), 10)
        await log_at(store, later + timedelta(hours=1), later.date(), 11)
        spans = [
            Span(IVAN.id, 1, NOW, NOW + timedelta(hours=1)),  # 09:00-10:00: two of the three
            Span(IVAN.id, 2, NOW - timedelta(hours=9), NOW + timedelta(hours=15)),
        ]
        assert await teams.day_counts(spans) == [
            (IVAN.id, 1, 2, 1, 1, 0),
            (IVAN.id, 2, 3, 2, 1, 0),
        ]
        assert await teams.day_counts(spans, balls=False) == [
            (IVAN.id, 1, 2, 0, 0, 0),
            (IVAN.id, 2, 3, 0, 0, 0),
        ]
        assert await teams.counted_days([IVAN.id], NOW.date(), later.date()) == [
            (IVAN.id, later.date().toordinal(), 2, 0, 0, 0)
        ]
    finally:
        await db.close()


async def test_block_calls_cut_by_the_block(store: Store) -> None:
    for minutes in (0, 30, 90):  # 09:00, 09:30, 10:30
        await log_at(store, NOW + timedelta(minutes=minutes), NOW.date(), minutes)
    day = (NOW, NOW + timedelta(days=1))
    spans = [
        Span(IVAN.id, 1, *day, NOW, NOW + timedelta(minutes=45)),
        Span(222, 1, *day, NOW, NOW + timedelta(minutes=45)),
        Span(333, 1, *day, NOW - timedelta(hours=2), NOW),  # another zone: its own bounds
        Span(444, 1, *day),  # no block: not asked about
    ]
    assert await store.teams.block_calls(spans) == [(IVAN.id, 2), (222, 0), (333, 0)]
    wide = Span(IVAN.id, 1, *day, NOW, NOW + timedelta(hours=2))
    assert await store.teams.block_calls([wide]) == [(IVAN.id, 3)]


async def test_profile_is_one_indexed_read(store: Store) -> None:
    plan = " | ".join(
        row[3] for row in await store.db.fetchall("EXPLAIN QUERY PLAN " + PROFILE_SQL, (1,))
    )
    assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), plan
    assert "memberships_user" in plan


async def test_reports_across_the_upgrade_count_old_days_from_the_calls(tmp_path: Path) -> None:
    """A team whose history began before day counts: the summary of an old day and a week
    that spans the upgrade count the old days from the calls and the new ones by day."""
    path = tmp_path / "v5.db"
    wednesday = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    async with aiosqlite.connect(path) as conn:
        for migration in MIGRATIONS[:5]:
            for statement in migration:
                await conn.execute(statement)
        await conn.execute("PRAGMA user_version = 5")
        await conn.commit()
    db = Database(path)
    await db.open()  # an empty file: day counts begin at once, so make the calls "old" below
    await db.close()
    async with aiosqlite.connect(path) as conn:
        await conn.execute("UPDATE day_counts_since SET at = ?", (int(NOW.timestamp()),))
        await conn.commit()
    db = Database(path)
    await db.open()
    try:
        store = Store(db)
        team, _ = await store.teams.setup(-1, "T", tz="Europe/Moscow", lang="en", by=1, now=NOW)
        block = parse_setting(Key.BLOCK, "10:00-11:00")
        assert isinstance(block, Setting)
        team = await store.teams.apply(team.id, block, NOW)
        await store.teams.join(team.id, IVAN, wednesday)
        async with writing(db) as conn:  # Wednesday, as an old Ballback stored it: no day
            await conn.execute(
                "INSERT INTO contacts (id, owner_id, name, name_key, created_at) "
                "VALUES (1, ?, 'C', 'c', 1)",
                (IVAN.id,),
            )
            for n, minutes in enumerate((0, 10, 120)):  # two inside the block, one after
                at = int((wednesday + timedelta(minutes=minutes)).timestamp())
                await conn.execute(
                    "INSERT INTO calls (owner_id, contact_id, at, outcome) VALUES (?, 1, ?, ?)",
                    (IVAN.id, at, "th" if n else "na"),
                )
        sunday = datetime(2026, 11, 29, 7, 30, tzinfo=UTC)  # counted by day from Sunday on
        await log_at(store, sunday, sunday.date(), 1, in_block=True)
        summary = "\n".join(await build_summary(store, team, wednesday.date(), sunday))
        assert "📞 Calls: <b>3</b>" in summary and "💬 Polite no's: 2" in summary
        assert "⏰ Called in their calling block: 1 of 1" in summary  # two in the block
        board = await build_leaderboard(store, team, Period.WEEK, sunday, lang="en")
        assert "🥇 <b>\u2068Ivan\u2069</b>: 🎾 0 · 📐 — · 📞 4\n" in board.messages[0]
        assert board.chart is not None and board.chart.calls == [[0, 0, 3, 0, 0, 0, 1]]
    finally:
        await db.close()
