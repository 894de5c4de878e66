"""A simulated working week, checked message by message.

A team in Moscow (calling block 10:00-11:00, summary 18:30 Moscow time) with reps in
Kaliningrad (UTC+2), Moscow (UTC+3) and Vladivostok (UTC+10), one rep with reminders off and
one who joined in the group but never wrote to the bot. The week of 2 November 2026: Wednesday
4 November is a public holiday, the team made Friday a day off and Saturday a working day, the
Kaliningrad rep is away Tuesday to Thursday. The scheduler ticks every 5 minutes of simulated
time from Sunday 1 November 20:00 UTC (before Monday morning in Vladivostok) to Sunday 8
November 20:00 UTC (Monday morning there again), with:

- Monday: the Moscow rep moves their block to 14:00-15:00 at 09:30 (the nudge follows it) and
  back to the team's in the evening; the Kaliningrad rep is on pace at half time (no pace
  check) but short of the quota at the end;
- Tuesday: the bot is down from 09:00 to 10:40 Moscow time: the Moscow rep's nudge, the
  question about Monday's lapsed Next Step and the pace check are caught up at 10:40;
- Thursday: the process dies right after claiming the Moscow nudge; a new one on the same
  database sends it once, when the dead one's lease is over (09:50); the Moscow rep meets the
  quota early, so neither a pace check nor a quota reminder follows;
- Saturday: Telegram answers 429 (retry after 1 s) to the Vladivostok nudge, which is sent
  once after the wait, and 403 to the Kaliningrad nudge: that rep is marked unreachable and
  gets nothing more, while the others go on.
"""

from __future__ import annotations

import time as wallclock
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from tests.conftest import BotHarness, Person, restart
from tests.rhythm_helpers import Sent, add_calls, minutes_from, scheduler, sends, tick
from tests.team_helpers import GROUP_ID, in_group, make_team

KAL = Person(401, "Kira", "en")
MSK = Person(402, "Миша", "ru")
VLA = Person(403, "Vlad", "en")
OFF = Person(404, "Oleg", "en")  # reminders off
GHOST = Person(405, "Gleb", "en")  # joined in the group, never wrote to the bot

ZONES = {
    KAL.id: ("kal", ZoneInfo("Europe/Kaliningrad")),
    MSK.id: ("msk", ZoneInfo("Europe/Moscow")),
    VLA.id: ("vla", ZoneInfo("Asia/Vladivostok")),
    OFF.id: ("off", ZoneInfo("Europe/Moscow")),
    GHOST.id: ("ghost", ZoneInfo("Europe/Moscow")),
    GROUP_ID: ("group", ZoneInfo("Europe/Moscow")),
}


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def s(kind: str, to: str, local: str) -> Sent:
    return Sent(kind, to, local)


EXPECTED = [
    # Monday 2 November
    s("nudge", "vla", "Mon 09:45"),
    s("pace", "vla", "Mon 10:30"),
    s("quota", "vla", "Mon 11:00"),
    s("nudge", "kal", "Mon 09:45"),
    s("quota", "kal", "Mon 11:00"),  # 10 calls: on pace at 10:30, short at 11:00
    s("nudge", "msk", "Mon 13:45"),  # the block moved to 14:00-15:00 at 09:30
    s("pace", "msk", "Mon 14:30"),
    s("quota", "msk", "Mon 15:00"),
    s("summary", "group", "Mon 18:30"),
    # Tuesday 3 November (Kira away; the bot down 09:00-10:40 Moscow)
    s("nudge", "vla", "Tue 09:45"),
    s("pace", "vla", "Tue 10:30"),
    s("quota", "vla", "Tue 11:00"),
    s("nudge", "msk", "Tue 10:40"),
    s("lapsed", "msk", "Tue 10:40"),
    s("pace", "msk", "Tue 10:40"),
    s("quota", "msk", "Tue 11:00"),
    s("summary", "group", "Tue 18:30"),
    # Wednesday 4 November: Unity Day, nothing at all
    # Thursday 5 November (Kira away; a crash after claiming Misha's nudge)
    s("nudge", "vla", "Thu 09:45"),
    s("pace", "vla", "Thu 10:30"),
    s("quota", "vla", "Thu 11:00"),
    s("nudge", "msk", "Thu 09:50"),  # sent once, by the new process, after the lease
    s("summary", "group", "Thu 18:30"),  # Misha met the quota by 10:20: no pace, no quota
    # Friday 6 November: the team's day off
    # Saturday 7 November: the team's working day (429 for Vlad, 403 for Kira)
    s("nudge", "vla", "Sat 09:45"),
    s("pace", "vla", "Sat 10:30"),
    s("quota", "vla", "Sat 11:00"),
    s("nudge", "msk", "Sat 09:45"),
    s("pace", "msk", "Sat 10:30"),
    s("quota", "msk", "Sat 11:00"),
    s("summary", "group", "Sat 18:30"),
    # Sunday 8 November: nothing
]


async def set_up(bot: BotHarness) -> None:
    bot.clock.set(utc(1, 9))  # Sunday 1 November, 12:00 in Moscow
    for person in (KAL, MSK, VLA, OFF):
        await bot.send("/start", person)
    await make_team(bot, MSK, KAL, MSK, VLA, OFF, GHOST)
    for command in (
        "/set block 10:00-11:00",
        "/set summary 18:30",
        "/set dayoff 2026-11-06",
        "/set workday 07.11.2026",
    ):
        await in_group(bot, command, MSK)
    await bot.send("/set tz Europe/Kaliningrad", KAL)
    await bot.send("/set tz Asia/Vladivostok", VLA)
    await in_group(bot, "/set lang en", MSK)
    await bot.send("/nudges off", OFF)
    await bot.send("/away 03.11-05.11", KAL)
    await bot.send("/nextstep Павел; 02.11 15:00; встреча в офисе", MSK)
    assert await bot.rows("SELECT id FROM users WHERE opened_at IS NULL") == [(GHOST.id,)]


async def test_a_working_week_in_three_time_zones(bot: BotHarness, settings: Settings) -> None:
    await set_up(bot)
    sent: list[Sent] = []
    refused: list[tuple[str, int]] = []

    async def say(person: Person, text: str) -> None:
        await bot.send(text, person)

    async def crash_after_claim() -> None:
        """Plan and claim as a tick would, then die before sending anything."""
        now = bot.clock.now()
        store = bot.store
        await store.rhythm.plan(await scheduler(bot).plan(now), now)
        claimed, _ = await store.rhythm.claim(now, 100)
        assert [(i.kind, i.recipient) for i in claimed] == [("nudge", MSK.id)]
        await restart(bot, settings)

    def fail(status: int, description: str, retry_after: int | None = None) -> None:
        bot.api.fail_next(
            "sendMessage", status=status, description=description, retry_after=retry_after
        )

    events: dict[datetime, Callable[[], Awaitable[None]]] = {
        utc(2, 6, 30): lambda: say(MSK, "/set block 14:00-15:00"),
        utc(2, 8, 0): lambda: add_calls(bot, KAL.id, minutes_from(utc(2, 8, 0), 10, 2)),
        utc(2, 16, 0): lambda: say(MSK, "/set block team"),
        utc(5, 7, 0): lambda: add_calls(bot, MSK.id, minutes_from(utc(5, 7, 0), 20)),
    }
    skip_tick = {utc(5, 6, 45)}  # the crash replaces that tick
    start, end = utc(1, 20), utc(8, 20)  # Sunday 20:00 UTC: Monday 06:00 in Vladivostok
    down = (utc(3, 6, 0), utc(3, 7, 40))
    began = wallclock.perf_counter()
    now = start
    while now < end:
        bot.clock.set(now)
        if now in events:
            await events[now]()
        if now == utc(5, 6, 45):
            await crash_after_claim()
        if now == utc(6, 23, 45):
            fail(429, "Too Many Requests: retry after 1", retry_after=1)
        if now == utc(7, 7, 45):
            fail(403, "Forbidden: bot was blocked by the user")
        if not (down[0] <= now < down[1]) and now not in skip_tick:
            _, requests = await tick(bot)
            sent.extend(sends(requests, now, ZONES))
            refused.extend(
                (r.params["text"][:1], r.status)
                for r in requests
                if r.method == "sendMessage" and r.status != 200
            )
        now += timedelta(minutes=5)
    elapsed = wallclock.perf_counter() - began

    assert sent == EXPECTED
    assert refused == [("⏰", 429), ("⏰", 403)]
    assert await bot.rows("SELECT id FROM users WHERE unreachable_at IS NOT NULL") == [(KAL.id,)]
    # Every send happened once: the outbox agrees with what Telegram accepted.
    assert await bot.rows("SELECT count(*) FROM outbox WHERE state = 'sent'") == [(len(EXPECTED),)]
    assert await bot.rows(
        "SELECT kind, recipient, key, state, error FROM outbox WHERE state != 'sent' ORDER BY id"
    ) == [
        ("pace", KAL.id, "2026-11-02", "skipped", "on pace"),
        ("pace", MSK.id, "2026-11-05", "skipped", "on pace"),
        ("quota", MSK.id, "2026-11-05", "skipped", "quota met"),
        ("nudge", KAL.id, "2026-11-07", "failed", "403: Forbidden: bot was blocked by the user"),
    ]
    assert elapsed < 20, f"the simulated week took {elapsed:.1f} s"


async def test_the_week_s_summaries_show_who_is_away(bot: BotHarness) -> None:
    await set_up(bot)
    bot.clock.set(utc(3, 15, 30))  # Tuesday 18:30 Moscow
    _, requests = await tick(bot)
    [summary] = [r.params["text"] for r in requests if r.params["chat_id"] == GROUP_ID]
    assert "🏖 Away today (1): \u2068Kira\u2069" in summary
    # Kira is not expected today: five members, four quotas.
    assert "📞 Calls: <b>0</b> of 80" in summary
    assert "✅ Quota met: 0 of 4" in summary
    assert "Kira" not in summary.split("Nothing logged yet today")[1].split("🏖")[0]
