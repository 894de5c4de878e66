"""The rhythm's storage: migration 4, the outbox's states, who may be written to, days away,
a team's own days, answering a lapsed Next Step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.domain.rules import Moment
from bot.domain.schedule import Due, SendKind
from storage.db import Database
from storage.migrations import MIGRATIONS, migrate
from storage.models import UserIn, to_ts
from storage.repo import Store
from storage.rhythm import LEASE, StepAnswer

NOW = datetime(2026, 11, 27, 6, 45, tzinfo=UTC)  # 09:45 in Moscow
REP = UserIn(id=7, first_name="Rep", language_code="en")
OTHER = UserIn(id=8, first_name="Other", language_code="en")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "rhythm.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


def due(kind: SendKind, recipient: int, key: str, at: datetime = NOW, hours: int = 1) -> Due:
    return Due(kind, recipient, key, date(2026, 11, 27), at, at + timedelta(hours=hours))


async def rows(db: Database, sql: str, *params: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await db.fetchall(sql, params)]


# -- migration 4 -------------------------------------------------------------------------------


async def test_migration_4_knows_who_used_the_private_chat(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrate(conn, MIGRATIONS[:3])
        for user_id in (1, 2, 3):
            await conn.execute(
                "INSERT INTO users (id, first_name, started_at, updated_at) VALUES (?, 'U', 5, 5)",
                (user_id,),
            )
        await conn.execute(
            "INSERT INTO contacts (owner_id, name, name_key, created_at) VALUES (1, 'C', 'c', 5)"
        )
        await conn.execute(
            "INSERT INTO flows (user_id, kind, data, updated_at) VALUES (2, 'ns', '{}', 5)"
        )
    database = Database(path)
    await database.open()
    try:
        assert await rows(database, "SELECT id, opened_at, nudges FROM users ORDER BY id") == [
            (1, 5, 1),
            (2, 5, 1),
            (3, None, 1),  # only joined a team in a group: the bot cannot write first
        ]
    finally:
        await database.close()


# -- the outbox --------------------------------------------------------------------------------


async def test_planning_twice_records_once(db: Database) -> None:
    store = Store(db)
    dues = [due(SendKind.NUDGE, 7, "2026-11-27"), due(SendKind.SUMMARY, 1, "2026-11-27")]
    await store.rhythm.plan(dues, NOW)
    await store.rhythm.plan(dues, NOW + timedelta(seconds=30))
    assert await rows(db, "SELECT kind, recipient, key, state FROM outbox ORDER BY id") == [
        ("nudge", 7, "2026-11-27", "pending"),
        ("summary", 1, "2026-11-27", "pending"),
    ]


async def test_a_claimed_row_is_taken_by_one_instance_only(tmp_path: Path) -> None:
    """Two processes on one file (two Database objects): each row goes to exactly one."""
    path = tmp_path / "two.db"
    first, second = Database(path), Database(path)
    await first.open()
    await second.open()
    try:
        dues = [due(SendKind.NUDGE, user, "2026-11-27") for user in range(1, 61)]
        await Store(first).rhythm.plan(dues, NOW)
        (a, _), (b, _) = await asyncio.gather(
            Store(first).rhythm.claim(NOW, 40), Store(second).rhythm.claim(NOW, 40)
        )
        assert len(a) + len(b) == 60
        assert {i.id for i in a}.isdisjoint({i.id for i in b})
    finally:
        await first.close()
        await second.close()


async def test_sending_rows_come_back_after_their_lease_only(db: Database) -> None:
    rhythm = Store(db).rhythm
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27")], NOW)
    [item], _ = await rhythm.claim(NOW, 10)
    assert item.attempts == 1
    # Another instance (or this one restarted) right away: the row is still someone's.
    assert await rhythm.claim(NOW + timedelta(seconds=30), 10) == ([], 0)
    # The lease is over: the sender must have died; the row is taken up again.
    again, resumed = await rhythm.claim(NOW + LEASE, 10)
    assert resumed == 1 and [i.id for i in again] == [item.id] and again[0].attempts == 2


async def test_pending_rows_past_their_window_are_skipped(db: Database) -> None:
    rhythm = Store(db).rhythm
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27", hours=1)], NOW)
    assert await rhythm.claim(NOW + timedelta(hours=1), 10) == ([], 0)
    assert await rows(db, "SELECT state, error FROM outbox") == [("skipped", "expired")]


async def test_a_skipped_send_is_planned_again_only_when_it_moved(db: Database) -> None:
    rhythm = Store(db).rhythm
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27")], NOW)
    [item], _ = await rhythm.claim(NOW, 10)
    await rhythm.finish(item.id, "skipped", "no longer due")
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27")], NOW)
    assert await rows(db, "SELECT state FROM outbox") == [("skipped",)]
    later = NOW + timedelta(hours=3)
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27", at=later)], later)
    assert await rows(db, "SELECT state, due_at, attempts FROM outbox") == [
        ("pending", to_ts(later), 0)
    ]
    # A sent one never comes back, whatever moves.
    [item], _ = await rhythm.claim(later, 10)
    await rhythm.sent(item.id, later, 42)
    evening = later + timedelta(hours=3)
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27", at=evening)], evening)
    assert await rows(db, "SELECT state, message_id FROM outbox") == [("sent", 42)]


async def test_a_flood_wait_does_not_use_up_an_attempt(db: Database) -> None:
    rhythm = Store(db).rhythm
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27")], NOW)
    [item], _ = await rhythm.claim(NOW, 10)
    await rhythm.retry(item.id, NOW + timedelta(seconds=5), "429", counted=False)
    assert await rhythm.next_try() == NOW + timedelta(seconds=5)
    assert await rhythm.claim(NOW + timedelta(seconds=4), 10) == ([], 0)
    [again], _ = await rhythm.claim(NOW + timedelta(seconds=5), 10)
    assert again.attempts == 1


async def test_old_rows_are_pruned(db: Database) -> None:
    rhythm = Store(db).rhythm
    await rhythm.plan([due(SendKind.NUDGE, 7, "2026-11-27")], NOW)
    assert await rhythm.prune(NOW) == 0
    assert await rhythm.prune(NOW + timedelta(seconds=1)) == 1


async def test_forgetting_a_user_forgets_what_was_scheduled_for_them(db: Database) -> None:
    store = Store(db)
    await store.register_user(REP, NOW)
    await store.rhythm.plan(
        [due(SendKind.NUDGE, REP.id, "2026-11-27"), due(SendKind.SUMMARY, REP.id, "x")], NOW
    )
    await store.rhythm.add_away(REP, date(2026, 12, 1), date(2026, 12, 2), NOW)
    assert await store.pipeline.forget_user(REP.id)
    assert await rows(db, "SELECT kind FROM outbox") == [("summary",)]  # a team's, not theirs
    assert await rows(db, "SELECT * FROM away") == []


# -- people --------------------------------------------------------------------------------------


async def test_who_may_be_written_to(db: Database) -> None:
    store = Store(db)
    rhythm = store.rhythm
    assert not await rhythm.opened(REP.id, NOW)  # not stored yet: nothing to mark
    await store.register_user(REP, NOW)
    assert await rhythm.opened(REP.id, NOW)
    await rhythm.unreachable(REP.id, NOW + timedelta(hours=1))
    assert await rows(db, "SELECT opened_at, unreachable_at FROM users") == [
        (to_ts(NOW), to_ts(NOW + timedelta(hours=1)))
    ]
    assert await rhythm.opened(REP.id, NOW + timedelta(hours=2))  # wrote again
    assert await rows(db, "SELECT opened_at, unreachable_at FROM users") == [(to_ts(NOW), None)]


async def test_days_away_end_today_and_keep_the_past(db: Database) -> None:
    store = Store(db)
    rhythm = store.rhythm
    await rhythm.add_away(REP, date(2026, 11, 20), date(2026, 11, 30), NOW)
    await rhythm.add_away(REP, date(2026, 12, 10), date(2026, 12, 12), NOW)
    await rhythm.add_away(REP, date(2026, 11, 1), date(2026, 11, 3), NOW)
    today = date(2026, 11, 27)
    assert await rhythm.end_away(REP.id, today) == 2
    assert (await rhythm.away_of([REP.id], date(2026, 1, 1)))[REP.id] == [
        (date(2026, 11, 1), date(2026, 11, 3)),
        (date(2026, 11, 20), date(2026, 11, 26)),
    ]
    assert await rhythm.end_away(REP.id, today) == 0


async def test_a_team_s_own_days(db: Database) -> None:
    store = Store(db)
    team, _ = await store.teams.setup(-1, "T", tz="Europe/Moscow", lang="en", by=1, now=NOW)
    rhythm = store.rhythm
    assert await rhythm.set_team_day(team.id, date(2026, 12, 31), False)
    assert not await rhythm.set_team_day(team.id, date(2026, 12, 31), False)
    assert await rhythm.set_team_day(team.id, date(2027, 1, 9), True)
    assert await rhythm.team_days(team.id, date(2026, 12, 1)) == {
        date(2026, 12, 31): False,
        date(2027, 1, 9): True,
    }
    assert await rhythm.set_team_day(team.id, date(2026, 12, 31), None)
    assert not await rhythm.set_team_day(team.id, date(2026, 12, 31), None)
    assert await rhythm.all_team_days(date(2026, 12, 1)) == {team.id: {date(2027, 1, 9): True}}


async def step_for(store: Store, owner: UserIn, name: str, due_at: datetime, message: int) -> int:
    contact = await store.ensure_contact(
        owner, name=name, name_key=name.casefold(), company=None, phone=None, now=NOW
    )
    step = await store.save_next_step(
        owner.id,
        contact_id=contact.id,
        call_id=None,
        action="Meeting",
        due_at=due_at,
        kind="ball",
        when=Moment(NOW - timedelta(days=3), (NOW - timedelta(days=3)).date()),
        src_chat=owner.id,
        src_message=message,
    )
    assert step is not None
    return step.id


async def test_answering_a_lapsed_next_step(db: Database) -> None:
    store = Store(db)
    rhythm = store.rhythm
    yesterday = NOW - timedelta(days=1)
    kept = await step_for(store, REP, "Anna", yesterday, 1)
    dropped = await step_for(store, REP, "Boris", yesterday, 2)
    busy = await step_for(store, REP, "Vera", yesterday, 3)
    await step_for(store, REP, "Vera", NOW + timedelta(days=2), 4)  # another one ahead

    assert (await rhythm.settle_step(OTHER.id, kept, "done", NOW)).result is StepAnswer.NOT_OWNER
    assert (await rhythm.settle_step(REP.id, 999, "done", NOW)).result is StepAnswer.GONE
    done = await rhythm.settle_step(REP.id, kept, "done", NOW)
    assert done.result is StepAnswer.SAVED and done.step and done.step.status == "done"
    again = await rhythm.settle_step(REP.id, kept, "dropped", NOW)
    assert again.result is StepAnswer.ALREADY and again.step and again.step.status == "done"
    await rhythm.settle_step(REP.id, dropped, "dropped", NOW)
    await rhythm.settle_step(REP.id, busy, "dropped", NOW)
    # Boris goes back on the call list; Vera has a meeting ahead, so she does not.
    assert await rows(
        db, "SELECT name, callback_at FROM contacts WHERE name != 'Anna' ORDER BY name"
    ) == [("Boris", to_ts(NOW)), ("Vera", None)]


async def test_a_new_next_step_marks_the_one_it_reschedules(db: Database) -> None:
    store = Store(db)
    old = await step_for(store, REP, "Anna", NOW - timedelta(days=1), 1)
    contact = await store.find_contact(REP.id, "anna")
    assert contact is not None
    new = await store.save_next_step(
        REP.id,
        contact_id=contact.id,
        call_id=None,
        action="Demo",
        due_at=NOW + timedelta(days=2),
        kind="ball",
        when=Moment(NOW, NOW.date()),
        src_chat=REP.id,
        src_message=2,
        replaces=old,
    )
    assert new is not None
    assert await rows(db, "SELECT id, status FROM next_steps ORDER BY id") == [
        (old, "rescheduled"),
        (new.id, "open"),
    ]
