"""The daily rhythm end to end: what the messages say and what their buttons do, /nudges,
/away, the team's own days, catching up after downtime, crashes and second instances, and
Telegram's refusals (429, 403, 5xx, a group that became a supergroup)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.config import Settings
from bot.scheduler import TICK_SECONDS
from storage.models import to_ts
from storage.rhythm import LEASE
from tests.conftest import (
    IVAN,
    OLGA,
    BotHarness,
    Person,
    buttons,
    last_text,
    restart,
    start_app,
    stop_app,
    with_buttons,
)
from tests.dbtools import writing
from tests.rhythm_helpers import add_calls, add_prospects, kind_of, minutes_from, scheduler, tick
from tests.team_helpers import GROUP_ID, in_group, make_team

PETR = Person(333, "Petr", "en")
THURSDAY = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
FRIDAY_NUDGE = datetime(2026, 11, 27, 6, 45, tzinfo=UTC)  # 09:45 in Moscow
FRIDAY_PACE = datetime(2026, 11, 27, 7, 30, tzinfo=UTC)
FRIDAY_QUOTA = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour - 3, minute, tzinfo=UTC) if hour >= 3 else (
        datetime(2026, 11, day - 1, hour + 21, minute, tzinfo=UTC)
    )  # fmt: skip


async def team_of(bot: BotHarness, *people: Person, lang: str = "en") -> int:
    """A team in Moscow, block 10:00-11:00, summary 18:30; everyone has written to the bot.

    ``lang="auto"``: each rep is written to in their own Telegram language."""
    bot.clock.set(THURSDAY)
    for person in people:
        await bot.send("/start", person)
    team_id = await make_team(bot, IVAN, *people)
    await in_group(bot, "/set block 10:00-11:00", IVAN)
    await in_group(bot, "/set summary 18:30", IVAN)
    await in_group(bot, f"/set lang {lang}", IVAN)
    return team_id


async def tick_at(bot: BotHarness, when: datetime) -> list[tuple[str, int, str]]:
    """Tick at ``when``: (kind, chat, text) of each message Telegram accepted."""
    bot.clock.set(when)
    _, requests = await tick(bot)
    return [
        (
            "summary" if int(r.params["chat_id"]) < 0 else kind_of(r.params["text"]),
            int(r.params["chat_id"]),
            r.params["text"],
        )
        for r in requests
        if r.method == "sendMessage" and r.status == 200
    ]


def kinds(sent: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    """(kind, chat) of each message, sorted (the order across recipients means nothing)."""
    return sorted((kind, chat) for kind, chat, _ in sent)


# -- one job -------------------------------------------------------------------------------


async def test_one_job_ticks_the_rhythm(bot: BotHarness) -> None:
    queue = bot.app.job_queue
    assert queue is not None
    jobs = queue.jobs()
    # With several instances possible (PostgreSQL), a second job takes over what a dead one
    # left waiting in the inbox.
    assert [job.name for job in jobs] == ["rhythm", "inbox-sweep"][: 2 if bot.db.shared else 1]
    assert jobs[0].job.trigger.interval.total_seconds() == TICK_SECONDS


# -- the morning nudge -------------------------------------------------------------------------


async def test_the_morning_nudge_says_what_the_day_holds(bot: BotHarness) -> None:
    await team_of(bot, IVAN)
    # Thursday: 2 calls and a ball (a meeting on Friday at 15:00); prospects to call.
    await add_calls(bot, IVAN.id, [msk(26, 10), msk(26, 10, 5)])
    await bot.send("/nextstep Anna <Co>; 27.11 15:00; demo at their office", IVAN)
    await add_prospects(bot, IVAN.id, [f"Prospect {n}" for n in range(7)])
    await bot.send("/call Olga Sidorova", IVAN)  # called: not in the due list
    [(kind, chat, text)] = await tick_at(bot, FRIDAY_NUDGE)
    assert (kind, chat) == ("nudge", IVAN.id)
    assert text.startswith("⏰ <b>10:00–11:00: your calling block, 20 calls</b>")
    assert "📊 Yesterday: 3 calls, 1 ball back." in text
    assert "(make a short reminder call before each meeting)" in text
    assert "• 15:00 demo at their office with <b>Anna &lt;Co&gt;</b>" in text
    assert len(text) < 4096
    request = with_buttons(bot.api.calls("sendMessage"))
    shown = buttons(request)
    prospects = [(label, data) for label, data in shown if data.startswith("p:")]
    assert len(prospects) == 5
    assert shown[-2:] == [("📋 Call sheet", "pl:l"), ("😴 Not today", "z:20261127")]
    # A tap on a prospect logs the call, like the /call picker.
    _, data = prospects[0]
    tapped = await bot.tap(data, request.message_id, IVAN)
    assert "📞 Call 1 of 20 today" in last_text(tapped)
    contact_id = int(data.split(":")[1])
    assert await bot.rows("SELECT count(*) FROM calls WHERE contact_id = ?", contact_id) == [(1,)]


async def test_a_busy_day_s_nudge_stays_short(bot: BotHarness) -> None:
    await team_of(bot, IVAN)
    await add_prospects(bot, IVAN.id, ["Я" * 200])
    [(contact_id,)] = await bot.rows("SELECT id FROM contacts")
    async with writing(bot.db) as conn:
        await conn.executemany(
            "INSERT INTO next_steps (owner_id, contact_id, action, due_at, kind, created_at) "
            "VALUES (?, ?, ?, ?, 'ball', ?)",
            [
                (IVAN.id, contact_id, "Встреча " * 37, to_ts(msk(27, 12) + timedelta(minutes=n)), 0)
                for n in range(40)
            ],
        )
    [(_, _, text)] = await tick_at(bot, FRIDAY_NUDGE)
    assert len(text) < 4096
    assert "…and 25 more: /today lists them all." in text


async def test_monday_s_nudge_looks_back_to_friday(bot: BotHarness) -> None:
    await team_of(bot, OLGA, lang="auto")
    await add_calls(bot, OLGA.id, minutes_from(msk(27, 10), 12))
    [(_, _, text)] = await tick_at(bot, msk(30, 9, 45))
    assert "⏰ <b>10:00–11:00: ваш блок звонков, норма — 20 звонков</b>" in text
    assert "📊 пт, 27.11: 12 звонков и 0 мячей." in text
    assert "Следующих шагов на сегодня нет." in text


async def test_snoozing_silences_the_rest_of_the_day(bot: BotHarness) -> None:
    await team_of(bot, IVAN, PETR)
    await tick_at(bot, FRIDAY_NUDGE)
    nudge = next(r for r in bot.api.calls("sendMessage") if r.params["chat_id"] == IVAN.id)
    refused = await bot.tap(
        "z:20261127", nudge.message_id, PETR, chat={"id": IVAN.id, "type": "private"}
    )
    assert refused[0].params["text"] == "This button belongs to someone else."
    old = await bot.tap("z:20261126", nudge.message_id, IVAN)
    assert old[0].params["text"] == "That day is over: nothing to snooze."
    tapped = await bot.tap("z:20261127", nudge.message_id, IVAN)
    assert tapped[0].params == {
        "callback_query_id": tapped[0].params["callback_query_id"],
        "text": "😴 Snoozed: no more reminders about the calling block today.",
        "show_alert": True,
    }
    assert await bot.rows("SELECT snoozed_on FROM users WHERE id = ?", IVAN.id) == [("2026-11-27",)]
    assert kinds(await tick_at(bot, FRIDAY_PACE)) == [("pace", PETR.id)]
    assert kinds(await tick_at(bot, FRIDAY_QUOTA)) == [("quota", PETR.id)]
    # Monday is a new day.
    assert kinds(await tick_at(bot, msk(30, 9, 45))) == [("nudge", IVAN.id), ("nudge", PETR.id)]


async def test_pace_and_quota_only_when_behind(bot: BotHarness) -> None:
    await team_of(bot, IVAN, OLGA, PETR, lang="auto")
    await in_group(bot, "/set quota 10", IVAN)
    await tick_at(bot, FRIDAY_NUDGE)
    await add_calls(bot, IVAN.id, minutes_from(msk(27, 10), 5))  # exactly on pace
    await add_calls(bot, OLGA.id, minutes_from(msk(27, 10), 4))  # one short
    await add_calls(bot, PETR.id, minutes_from(msk(27, 10), 10))  # done
    pace = await tick_at(bot, FRIDAY_PACE)
    assert kinds(pace) == [("pace", OLGA.id)]
    assert pace[0][2] == (
        "⏱ <b>Половина блока звонков позади</b>: пока 4 из 10. До 11:00 сделайте ещё 6 звонков."
    )
    await add_calls(bot, OLGA.id, minutes_from(msk(27, 10, 40), 6))
    quota = await tick_at(bot, FRIDAY_QUOTA)
    assert kinds(quota) == [("quota", IVAN.id)]
    assert quota[0][2] == (
        "📞 <b>Your calling block is over</b>: 5 of 10 calls today. 5 calls left to meet the quota."
    )


async def test_nothing_without_a_calling_block_nor_for_whoever_never_wrote(
    bot: BotHarness,
) -> None:
    bot.clock.set(THURSDAY)
    await bot.send("/start", IVAN)
    await make_team(bot, IVAN, IVAN, PETR)  # Petr joined in the group only
    assert await tick_at(bot, FRIDAY_NUDGE) == []
    await in_group(bot, "/set block 10:00-11:00", IVAN)
    bot.clock.set(FRIDAY_NUDGE)
    assert kinds(await tick_at(bot, FRIDAY_NUDGE)) == [("nudge", IVAN.id)]
    await bot.send("/today", PETR)  # Petr opens the private chat: from now on he counts
    # His nudge is still useful until the block ends: it comes with the pace check.
    assert kinds(await tick_at(bot, FRIDAY_PACE)) == [
        ("nudge", PETR.id),
        ("pace", IVAN.id),
        ("pace", PETR.id),
    ]


async def test_leaving_the_team_stops_the_reminders(bot: BotHarness) -> None:
    await team_of(bot, IVAN, PETR)
    await tick_at(bot, FRIDAY_NUDGE)
    await in_group(bot, "/leave", PETR)
    assert kinds(await tick_at(bot, FRIDAY_PACE)) == [("pace", IVAN.id)]


# -- /nudges -----------------------------------------------------------------------------------


async def test_nudges_off_and_on(bot: BotHarness) -> None:
    alone = last_text(await bot.send("/nudges", IVAN))
    assert "Reminders are <b>on</b>" in alone and "They come once you are in a team" in alone
    await team_of(bot, IVAN, PETR)
    assert last_text(await bot.send("/nudges off", IVAN)) == (
        "🔕 Reminders are <b>off</b>. <code>/nudges on</code> turns them back on."
    )
    assert kinds(await tick_at(bot, FRIDAY_NUDGE)) == [("nudge", PETR.id)]
    assert "Reminders are <b>on</b>" in last_text(await bot.send("/nudges on", IVAN))
    assert kinds(await tick_at(bot, FRIDAY_PACE)) == [
        ("nudge", IVAN.id),
        ("pace", IVAN.id),
        ("pace", PETR.id),
    ]
    assert last_text(await bot.send("/nudges maybe", IVAN)) == (
        "Write <code>/nudges on</code> or <code>/nudges off</code>."
    )
    assert await bot.rows("SELECT nudges FROM users WHERE id = ?", IVAN.id) == [(1,)]


async def test_nudges_without_a_block_say_so(bot: BotHarness) -> None:
    bot.clock.set(THURSDAY)
    await make_team(bot, IVAN, IVAN)
    assert "You have no calling block yet" in last_text(await bot.send("/nudges on", IVAN))


# -- /away ---------------------------------------------------------------------------------------


async def test_away_days(bot: BotHarness) -> None:
    await team_of(bot, IVAN, PETR)
    assert "You have no days away" in last_text(await bot.send("/away", IVAN))
    said = last_text(await bot.send("/away 27.11-01.12", IVAN))
    assert said.startswith("🏖 Away Fri 27 Nov – Tue 1 Dec: no reminders")
    assert kinds(await tick_at(bot, FRIDAY_NUDGE)) == [("nudge", PETR.id)]
    assert kinds(await tick_at(bot, msk(30, 9, 45))) == [("nudge", PETR.id)]
    listed = last_text(await bot.send("/away", IVAN))
    assert "• Mon 30 Nov – Tue 1 Dec" not in listed and "• Fri 27 Nov – Tue 1 Dec" in listed
    bot.clock.set(msk(30, 10))
    assert last_text(await bot.send("/away off", IVAN)) == (
        "👋 Welcome back: reminders are on again from today."
    )
    assert kinds(await tick_at(bot, msk(30, 10, 30))) == [
        ("nudge", IVAN.id),
        ("pace", IVAN.id),
        ("pace", PETR.id),
    ]
    assert await bot.rows("SELECT first_day, last_day FROM away") == [("2026-11-27", "2026-11-29")]
    assert last_text(await bot.send("/away off", IVAN)) == "You are not away: nothing to end."


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("/away next week", "I couldn't read the date."),
        ("/away 10.12-01.12.2026", "It ends before it starts."),
        ("/away 31.02", "There is no such date."),
        ("/away 01.12.2026-01.12.2028", "It can be at most a year long."),
        ("/away 01.01.2026", "That is more than a month ago: nothing to mark."),
    ],
)
async def test_away_refuses_bad_dates_kindly(bot: BotHarness, text: str, first_line: str) -> None:
    said = last_text(await bot.send(text, IVAN))
    assert said.split("\n")[0] == first_line
    assert "<code>/away 01.12-10.12</code>" in said
    assert await bot.rows("SELECT count(*) FROM away") == [(0,)]


async def test_away_days_keep_a_streak_and_the_quota(bot: BotHarness) -> None:
    await team_of(bot, IVAN, PETR)
    await in_group(bot, "/set quota 2", IVAN)
    await bot.send("/away 26.11", IVAN)  # Thursday, marked afterwards
    for day in (24, 25, 27):  # Tue, Wed, (Thu away), Fri
        await add_calls(bot, IVAN.id, [msk(day, 10), msk(day, 10, 5)])
    summary = [t for kind, _, t in await tick_at(bot, msk(27, 18, 30)) if kind == "summary"]
    assert "🔥 Longest quota streak: 3 (working days), \u2068Ivan\u2069" in summary[0]
    # Thursday's own summary: Ivan away, not among the silent, not in the quota.
    bot.clock.set(msk(26, 18, 30))
    thursday = last_text(await in_group(bot, "/summary", IVAN))
    assert "🏖 Away today (1): \u2068Ivan\u2069" in thursday
    assert "📞 Calls: <b>0</b> of 2" in thursday


# -- the team's own days -----------------------------------------------------------------------


async def test_team_days_off_and_working_days(bot: BotHarness) -> None:
    await team_of(bot, IVAN, PETR)
    said = last_text(await in_group(bot, "/set dayoff 27.11.2026", IVAN))
    assert said == "✅ Fri 27 Nov 2026 is a day off for the team: no reminders and no summary."
    assert "is like that already" in last_text(await in_group(bot, "/set dayoff 2026-11-27", IVAN))
    said = last_text(await in_group(bot, "/set workday 2026-11-28", IVAN))
    assert said == "✅ Sat 28 Nov 2026 is a working day for the team."
    settings = last_text(await in_group(bot, "/settings", IVAN))
    assert "• Extra days off: <b>2026-11-27</b>  <code>dayoff</code>" in settings
    assert "• Extra working days: <b>2026-11-28</b>  <code>workday</code>" in settings
    assert await tick_at(bot, FRIDAY_NUDGE) == []
    assert await tick_at(bot, msk(27, 18, 30)) == []
    saturday = await tick_at(bot, msk(28, 9, 45))
    assert kinds(saturday) == [("nudge", IVAN.id), ("nudge", PETR.id)]
    assert len(await tick_at(bot, msk(28, 11))) == 2  # the quota reminders
    assert kinds(await tick_at(bot, msk(28, 18, 30))) == [("summary", GROUP_ID)]
    said = last_text(await in_group(bot, "/set workday -2026-11-28", IVAN))
    assert said == "✅ Sat 28 Nov 2026 follows the usual calendar again."
    said = last_text(await in_group(bot, "/set dayoff 31.02.2026", IVAN))
    assert said.startswith("There is no such date.\nWrite a date:")
    bot.api.default_member_status = "member"
    said = last_text(await in_group(bot, "/set dayoff 2026-12-30", PETR))
    assert said.startswith("Only a group admin can change the team's rules")
    assert await bot.rows("SELECT day, working FROM team_days") == [("2026-11-27", 0)]


# -- "did it happen?" --------------------------------------------------------------------------


async def lapsed_prompt(bot: BotHarness, person: Person = IVAN) -> tuple[int, int]:
    """A meeting Thursday 15:00, asked about on Friday morning: (step id, message id)."""
    await team_of(bot, person)
    await bot.send("/nextstep Boris; 26.11 15:00; meeting at their office", person)
    [step_id] = [row[0] for row in await bot.rows("SELECT id FROM next_steps")]
    sent = await tick_at(bot, FRIDAY_NUDGE)
    assert kinds(sent) == [("lapsed", person.id), ("nudge", person.id)]
    request = [r for r in bot.api.calls("sendMessage") if r.params["text"].startswith("🤝")][-1]
    return step_id, request.message_id


async def test_lapsed_next_step_done(bot: BotHarness) -> None:
    step_id, message_id = await lapsed_prompt(bot)
    prompt = next(r for r in bot.api.calls("sendMessage") if r.message_id == message_id)
    assert prompt.params["text"] == (
        "🤝 <b>Did it happen?</b>\nMeeting at their office with <b>Boris</b>, Thu 26 Nov 15:00"
    )
    assert buttons(prompt) == [
        ("✅ Done", f"l:{step_id}:d"),
        ("📅 Reschedule", f"l:{step_id}:r"),
        ("✖️ Dropped", f"l:{step_id}:x"),
    ]
    refused = await bot.tap(
        f"l:{step_id}:d", message_id, PETR, chat={"id": IVAN.id, "type": "private"}
    )
    assert refused[0].params["text"] == "This button belongs to someone else."
    done = await bot.tap(f"l:{step_id}:d", message_id, IVAN)
    assert last_text(done) == "✅ Kept: Meeting at their office with <b>Boris</b>. Well done."
    again = await bot.tap(f"l:{step_id}:x", message_id, IVAN)
    assert again[0].params["text"] == "Already answered: done."
    assert await bot.rows("SELECT status FROM next_steps") == [("done",)]
    summary = next(t for k, _, t in await tick_at(bot, msk(27, 18, 30)) if k == "summary")
    assert "🤝 Kept commitments" in summary


async def test_lapsed_next_step_dropped_puts_the_contact_back_on_the_list(
    bot: BotHarness,
) -> None:
    step_id, message_id = await lapsed_prompt(bot)
    bot.clock.set(msk(27, 9, 50))
    dropped = await bot.tap(f"l:{step_id}:x", message_id, IVAN)
    assert last_text(dropped) == (
        "✖️ Dropped: Meeting at their office with <b>Boris</b>. Boris is a prospect again and "
        "back on your call list."
    )
    assert await bot.rows("SELECT status FROM next_steps") == [("dropped",)]
    assert await bot.rows("SELECT callback_at FROM contacts WHERE name = 'Boris'") == [
        (to_ts(msk(27, 9, 50)),)
    ]


async def test_lapsed_next_step_rescheduled(bot: BotHarness) -> None:
    step_id, message_id = await lapsed_prompt(bot)
    bot.clock.set(msk(27, 9, 50))
    asked = await bot.tap(f"l:{step_id}:r", message_id, IVAN)
    assert asked[-1].method == "editMessageText" and asked[-1].message_id == message_id
    assert "<b>Boris</b>" in last_text(asked)
    assert await bot.rows("SELECT status FROM next_steps") == [("open",)]  # not yet
    await bot.send("mon 11:00", IVAN)
    saved = await bot.send("meeting at their office", IVAN)
    assert "🎾" in last_text(saved)
    assert await bot.rows("SELECT id, status FROM next_steps ORDER BY id") == [
        (step_id, "rescheduled"),
        (step_id + 1, "open"),
    ]
    # Asked once only: later ticks that day do not ask again.
    assert kinds(await tick_at(bot, msk(27, 12))) == [("quota", IVAN.id)]


# -- catching up, crashes, second instances --------------------------------------------------


async def test_down_through_the_morning(bot: BotHarness) -> None:
    await team_of(bot, IVAN)
    # Up at 10:40: the nudge and the pace check are still useful.
    assert kinds(await tick_at(bot, msk(27, 10, 40))) == [("nudge", IVAN.id), ("pace", IVAN.id)]
    # Monday, up at 11:05: the block is over; only the quota reminder is still due.
    assert kinds(await tick_at(bot, msk(30, 11, 5))) == [("quota", IVAN.id)]
    # A summary is caught up until midnight, not after.
    assert kinds(await tick_at(bot, msk(30, 23, 55))) == [("summary", GROUP_ID)]
    assert await tick_at(bot, msk(2, 0, 5) + timedelta(days=30)) == []  # Wed 2 Dec 00:05
    assert await tick_at(bot, datetime(2026, 12, 1, 21, 5, tzinfo=UTC)) == []


async def test_a_crash_in_the_middle_of_a_fan_out_loses_nothing_and_repeats_nothing(
    bot: BotHarness, settings: Settings
) -> None:
    reps = [Person(1000 + n, f"Rep{n}", "en") for n in range(12)]
    await team_of(bot, *reps)
    sched = scheduler(bot)
    sched.concurrency, sched.batch = 1, 5
    stuck = asyncio.Event()
    rendered = 0
    real_render = sched.render

    async def render_then_hang(item, now):  # type: ignore[no-untyped-def]
        nonlocal rendered
        rendered += 1
        if rendered == 4:
            stuck.set()
            await asyncio.Event().wait()  # the process freezes here, then dies
        return await real_render(item, now)

    sched.render = render_then_hang
    bot.clock.set(FRIDAY_NUDGE)
    running = asyncio.create_task(sched.tick(bot.app.bot))
    await stuck.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    states = await bot.rows("SELECT state, count(*) FROM outbox GROUP BY state ORDER BY state")
    assert states == [("pending", 7), ("sending", 2), ("sent", 3)]
    await restart(bot, settings)
    await tick_at(bot, FRIDAY_NUDGE + timedelta(seconds=30))  # the other 7
    await tick_at(bot, FRIDAY_NUDGE + LEASE)  # the 2 the dead process held
    nudges = [
        r.params["chat_id"]
        for r in bot.api.calls("sendMessage")
        if r.params["text"].startswith("⏰")
    ]
    assert sorted(nudges) == sorted(p.id for p in reps)
    assert await bot.rows("SELECT state, count(*) FROM outbox GROUP BY state") == [("sent", 12)]


async def test_shutting_down_lets_the_sends_in_flight_finish(bot: BotHarness) -> None:
    reps = [Person(4000 + n, f"Rep{n}", "en") for n in range(6)]
    await team_of(bot, *reps)
    sched = scheduler(bot)
    sched.concurrency, sched.batch = 1, 3
    go_on, rendering = asyncio.Event(), asyncio.Event()
    real_render = sched.render

    async def slow_render(item, now):  # type: ignore[no-untyped-def]
        rendering.set()
        await go_on.wait()
        return await real_render(item, now)

    sched.render = slow_render
    bot.clock.set(FRIDAY_NUDGE)
    running = asyncio.create_task(sched.tick(bot.app.bot))
    await asyncio.wait_for(rendering.wait(), 10)  # a batch is claimed and being sent
    stopping = asyncio.create_task(sched.stop())
    await asyncio.sleep(0)
    go_on.set()
    await stopping
    assert (await running).sent == 3  # the claimed batch went out and was marked...
    states = await bot.rows("SELECT state, count(*) FROM outbox GROUP BY state ORDER BY state")
    assert states == [("pending", 3), ("sent", 3)]  # ...nothing more was claimed
    assert (await sched.tick(bot.app.bot)).busy


async def test_a_failing_tick_is_logged_and_the_next_one_starts_afresh(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await team_of(bot, IVAN)
    bot.clock.set(FRIDAY_NUDGE)
    await bot.db.close()

    await scheduler(bot).job(SimpleNamespace(bot=bot.app.bot))
    assert "the rhythm's tick failed" in caplog.text
    await bot.db.open()
    assert kinds(await tick_at(bot, FRIDAY_NUDGE)) == [("nudge", IVAN.id)]


async def test_a_second_instance_by_mistake_sends_nothing_twice(
    bot: BotHarness, settings: Settings
) -> None:
    reps = [Person(2000 + n, f"Rep{n}", "en") for n in range(20)]
    await team_of(bot, *reps)
    bot.clock.set(FRIDAY_NUDGE)
    second = await start_app(settings, bot.api, bot.clock)
    try:
        mine, other = scheduler(bot), second.bot_data["services"].scheduler
        mine.batch = other.batch = 3
        one, two = await asyncio.gather(mine.tick(bot.app.bot), other.tick(second.bot))
    finally:
        await stop_app(second)
    if bot.db.shared:  # one instance at a time runs the rhythm
        assert sorted((one.busy, two.busy)) == [False, True]
        assert one.planned + two.planned == 20
    else:
        assert one.planned == two.planned == 20  # both saw all 20 due...
    assert one.sent + two.sent == 20  # ...and each was sent by one of them
    nudges = [r.params["chat_id"] for r in bot.api.calls("sendMessage")[-20:]]
    assert sorted(nudges) == sorted(p.id for p in reps)


async def test_a_tick_while_another_runs_returns_at_once(bot: BotHarness) -> None:
    await team_of(bot, IVAN)
    sched = scheduler(bot)
    bot.clock.set(FRIDAY_NUDGE)
    first = asyncio.create_task(sched.tick(bot.app.bot))
    await asyncio.sleep(0)
    assert (await sched.tick(bot.app.bot)).busy
    assert (await first).sent == 1


# -- Telegram says no --------------------------------------------------------------------------


async def test_429_waits_and_sends_once_and_403_marks_only_that_rep(bot: BotHarness) -> None:
    reps = [Person(3000 + n, f"Rep{n}", "en") for n in range(6)]
    await team_of(bot, *reps)
    bot.api.fail_next(
        "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
    )
    bot.api.fail_next(
        "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
    )
    bot.clock.set(FRIDAY_NUDGE)
    report, requests = await tick(bot)
    statuses = [(r.status, r.params["chat_id"]) for r in requests if r.method == "sendMessage"]
    assert [s for s, _ in statuses].count(429) == 1 and [s for s, _ in statuses].count(403) == 1
    blocked = next(chat for status, chat in statuses if status == 403)
    delivered = sorted(chat for status, chat in statuses if status == 200)
    assert delivered == sorted(p.id for p in reps if p.id != blocked)
    assert (report.sent, report.failed, report.retried) == (5, 1, 1)
    assert bot.clock.now() >= FRIDAY_NUDGE + timedelta(seconds=3)  # it waited (no real sleep)
    assert await bot.rows("SELECT id FROM users WHERE unreachable_at IS NOT NULL") == [(blocked,)]
    # The blocked rep gets nothing more, until they write to the bot again.
    assert len(await tick_at(bot, FRIDAY_PACE)) == 5
    blocker = next(p for p in reps if p.id == blocked)
    await bot.send("/today", blocker)
    assert len(await tick_at(bot, FRIDAY_QUOTA)) == 6


async def test_a_nudge_waiting_to_be_retried_follows_a_block_moved_meanwhile(
    bot: BotHarness,
) -> None:
    await team_of(bot, IVAN)
    bot.api.fail_next(
        "sendMessage", status=429, description="Too Many Requests: retry after 120", retry_after=120
    )
    assert await tick_at(bot, FRIDAY_NUDGE) == []  # 429: to be retried in two minutes
    bot.clock.set(msk(27, 9, 46))
    await bot.send("/set block 14:00-15:00", IVAN)
    assert await tick_at(bot, msk(27, 9, 50)) == []  # retried: no longer due, skipped
    assert await bot.rows("SELECT state FROM outbox") == [("skipped",)]
    [(kind, _, text)] = await tick_at(bot, msk(27, 13, 45))
    assert kind == "nudge" and "14:00–15:00" in text
    assert await bot.rows("SELECT state, due_at FROM outbox") == [("sent", to_ts(msk(27, 13, 45)))]


async def test_a_network_error_is_retried_with_backoff(bot: BotHarness) -> None:
    await team_of(bot, IVAN)
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway")
    bot.clock.set(FRIDAY_NUDGE)
    report, requests = await tick(bot)
    assert [r.status for r in requests if r.method == "sendMessage"] == [502, 200]
    assert (report.sent, report.retried) == (1, 1)
    assert await bot.rows("SELECT state, attempts FROM outbox") == [("sent", 2)]


async def test_a_bad_request_is_final_for_that_message(bot: BotHarness) -> None:
    await team_of(bot, IVAN, PETR)
    bot.api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    bot.clock.set(FRIDAY_NUDGE)
    report, _ = await tick(bot)
    assert (report.sent, report.failed) == (1, 1)
    assert await bot.rows("SELECT state, error FROM outbox ORDER BY state") == [
        ("failed", "400: Chat not found"),
        ("sent", None),
    ]


async def test_the_summary_follows_a_group_upgraded_to_a_supergroup(bot: BotHarness) -> None:
    team_id = await team_of(bot, IVAN)
    await tick_at(bot, FRIDAY_QUOTA)
    new_chat = -1001234567890
    bot.api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=new_chat,
    )
    sent = await tick_at(bot, msk(27, 18, 30))
    assert kinds(sent) == [("summary", new_chat)]
    assert await bot.rows("SELECT chat_id FROM teams WHERE id = ?", team_id) == [(new_chat,)]
    assert await tick_at(bot, msk(27, 18, 35)) == []  # the same team's same day: sent


async def test_a_group_that_removed_the_bot_pauses_the_team(bot: BotHarness) -> None:
    team_id = await team_of(bot, IVAN)
    await tick_at(bot, FRIDAY_QUOTA)
    bot.api.fail_next(
        "sendMessage", status=403, description="Forbidden: bot was kicked from the group chat"
    )
    assert await tick_at(bot, msk(27, 18, 30)) == []
    assert await bot.rows("SELECT active FROM teams WHERE id = ?", team_id) == [(0,)]
    assert await tick_at(bot, msk(30, 9, 45)) == []  # an inactive team's reps: nothing


async def test_a_zone_with_daylight_saving_gets_one_of_each_on_the_switch_day(
    bot: BotHarness,
) -> None:
    """Berlin, 25 October 2026: 03:00 goes back to 02:00; a block inside the repeated hour."""
    await team_of(bot, IVAN)
    await in_group(bot, "/set workdays daily", IVAN)
    await bot.send("/set tz Europe/Berlin", IVAN)
    await bot.send("/set block 02:15-02:45", IVAN)
    now = datetime(2026, 10, 24, 22, 5, tzinfo=UTC)  # 00:05 on the 25th in Berlin
    seen: list[str] = []
    while now < datetime(2026, 10, 25, 23, 0, tzinfo=UTC):  # midnight there
        seen += [kind for kind, chat, _ in await tick_at(bot, now) if chat == IVAN.id]
        now += timedelta(minutes=5)
    assert seen == ["nudge", "pace", "quota"]


async def test_a_long_summary_counts_its_parts(bot: BotHarness) -> None:
    """A summary of several messages: each part is recorded as it goes; none repeats."""
    reps = [Person(5000 + n, "Н" * 30 + str(n), "ru") for n in range(130)]
    await team_of(bot, IVAN)
    from tests.team_helpers import add_members

    team_id = int((await bot.rows("SELECT id FROM teams"))[0][0])
    await add_members(
        bot,
        team_id,
        [(p.id, p.first_name) for p in reps],
        {p.id: [msk(27, 10)] for p in reps[:90]},
        joined=THURSDAY,
    )
    sent = await tick_at(bot, msk(27, 18, 30))
    parts = [chat for kind, chat, _ in sent if kind == "summary" or chat == GROUP_ID]
    assert len(parts) >= 2 and set(parts) == {GROUP_ID}
    assert await bot.rows("SELECT state, parts_sent FROM outbox WHERE kind = 'summary'") == [
        ("sent", len(parts))
    ]
    assert all(len(text) <= 4096 for _, _, text in sent)


async def test_help_names_the_rhythm_commands(bot: BotHarness) -> None:
    for person in (IVAN, OLGA):
        text = last_text(await bot.send("/help", person))
        assert "\n/nudges" in text and "<code>/away 01.12-10.12</code>" in text
