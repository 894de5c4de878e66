"""The group's numbers end to end: /summary and /leaderboard against hand-computed fixtures,
reps in two time zones around midnight, a 200-member team, the weekly chart, and that no
contact's data ever reaches a group."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any

from PIL import Image

from bot.domain.summary import rank
from bot.reports import (
    Period,
    build_leaderboard,
    build_summary,
    gather_period,
    split_messages,
    utf16_len,
)
from tests.conftest import IVAN, OLGA, BotHarness, Person, last_text, texts, with_buttons
from tests.dbtools import writing
from tests.fakeapi import RecordedRequest
from tests.team_helpers import GROUP_ID, add_members, in_group, make_team, to_group

PETR = Person(333, "Petr", "en")
FRIDAY = date(2026, 11, 27)
ISOLATE = "\u2068{}\u2069"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def call_at(bot: BotHarness, when: datetime, person: Person, name: str) -> int:
    """Log a call at ``when`` (UTC); returns the id of the bot's message with the outcomes."""
    bot.clock.set(when)
    return with_buttons(await bot.send(f"/call {name}", person)).message_id


async def call_with(bot: BotHarness, when: datetime, person: Person, name: str, code: str) -> None:
    bot.clock.set(when)
    sent = await bot.send(f"/call {name}", person)
    data = next(d for _, d in _buttons(with_buttons(sent)) if d.endswith(f":{code}"))
    await bot.tap(data, with_buttons(sent).message_id, person)


def _buttons(request: RecordedRequest) -> list[tuple[str, str]]:
    markup = request.params.get("reply_markup") or {}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def next_step(bot: BotHarness, when: datetime, person: Person, line: str) -> None:
    bot.clock.set(when)
    sent = await bot.send(f"/nextstep {line}", person)
    assert "🎾" in last_text(sent), last_text(sent)


async def two_zone_team(bot: BotHarness) -> int:
    """Ivan in Moscow (UTC+3), Olga in Vladivostok (UTC+10), Petr who logs nothing.

    Quota 3, calling block 10:00-11:00 (each in their own zone). The numbers each test expects
    are worked out by hand in the comments.
    """
    bot.clock.set(utc(23, 6))
    team_id = await make_team(bot, IVAN, IVAN, OLGA, PETR)
    await in_group(bot, "/set quota 3", IVAN)
    await in_group(bot, "/set block 10:00-11:00", IVAN)
    await bot.send("/set tz Asia/Vladivostok", OLGA)
    # Wed 25: Ivan 3 calls (quota met) and two balls due Friday 15:00 and 16:00 Moscow.
    for minute in (0, 5, 10):
        await call_at(bot, utc(25, 7, minute), IVAN, f"Wed {minute}")
    await next_step(bot, utc(25, 7, 20), IVAN, "Client A; 27.11 15:00; meeting")
    await next_step(bot, utc(25, 7, 25), IVAN, "Client B; 27.11 16:00; demo")
    # Wed 25 20:00 Vladivostok: Olga's ball, due Fri 27 12:00 Vladivostok.
    await next_step(bot, utc(25, 10), OLGA, "Клиент В; 27.11 12:00; встреча")
    # Thu 26: Ivan 3 calls, the last at 23:50 Moscow (still Thursday for him).
    await call_at(bot, utc(26, 7), IVAN, "Thu 1")
    await call_at(bot, utc(26, 7, 5), IVAN, "Thu 2")
    await call_at(bot, utc(26, 20, 50), IVAN, "Thu late")
    # Thu 26 14:30 UTC is Fri 27 00:30 in Vladivostok: Olga's Friday, a polite no.
    await call_with(bot, utc(26, 14, 30), OLGA, "Анна", "cl")
    # Fri 27 00:30 UTC is 10:30 in Vladivostok: inside her block.
    await call_at(bot, utc(27, 0, 30), OLGA, "Борис")
    # Fri 27, Moscow: 10:15 and 10:30 (in the block), 12:00 a polite no; a ball at 10:35.
    await call_with(bot, utc(27, 7, 15), IVAN, "Fri 1", "na")
    await call_at(bot, utc(27, 7, 30), IVAN, "Fri 2")
    await next_step(bot, utc(27, 7, 35), IVAN, "Client C; tomorrow 11:00; meeting")
    await call_with(bot, utc(27, 9), IVAN, "Fri 3", "th")
    # Fri 27 14:10 UTC is already Saturday 00:10 in Vladivostok: not her Friday.
    await call_at(bot, utc(27, 14, 10), OLGA, "Вера")
    # Client A's meeting happened; Olga's was dropped; Client B's is still open: lapsed.
    async with writing(bot.db) as conn:
        await conn.execute(
            "UPDATE next_steps SET status = 'done' WHERE action = 'meeting' AND due_at = ?",
            (int(utc(27, 12).timestamp()),),
        )
        await conn.execute(
            "UPDATE next_steps SET status = 'dropped' WHERE owner_id = ?", (OLGA.id,)
        )
    bot.clock.set(utc(27, 20, 30))  # Fri 23:30 in Moscow, Sat 06:30 in Vladivostok
    return team_id


async def test_summary_hand_computed_across_time_zones(bot: BotHarness) -> None:
    await two_zone_team(bot)
    sent = to_group(await in_group(bot, "/summary", IVAN))
    assert len(sent) == 1
    text = sent[0].params["text"]
    expected = [
        "📊 <b>Sales</b> · Fri 27 Nov",
        "📞 Calls: <b>5</b> of 9",  # Ivan 3 + Olga 2; quota 3 x 3 members
        "🎾 Balls back: <b>1</b> (goal 3)",
        "📐 Calls per ball: 5",
        "💬 Polite no's: 2",
        "✅ Quota met: 1 of 3",
        "⏰ Called in their calling block: 2 of 3",
        "🤝 Kept commitments: 33% (1 of 3)",  # done A; lapsed B; dropped Olga's
        "🔥 Longest quota streak: 3 (working days), " + ISOLATE.format("Ivan"),
        "1. <b>"
        + ISOLATE.format("Ivan")
        + "</b>: 📞 3/3 · 🎾 1 · 📐 3 · 💬 1 · ✅ · 🤝 1/2 · ⏰ · 🔥 3",
        "2. <b>" + ISOLATE.format("Ольга") + "</b>: 📞 2/3 · 🎾 0 · 📐 — · 💬 1 · 🤝 0/1 · ⏰",
        "😴 Nothing logged yet today (1):",
        ISOLATE.format("Petr"),
    ]
    lines = text.split("\n")
    for line in expected:
        assert line in lines, f"{line!r} not in:\n{text}"


async def test_summary_same_numbers_when_built_directly(bot: BotHarness) -> None:
    await two_zone_team(bot)
    team = await bot.store.teams.by_chat(GROUP_ID)
    chunks = await build_summary(bot.store, team, FRIDAY, bot.clock.now(), lang="ru")
    text = "\n".join(chunks)
    assert "📞 Звонки: <b>5</b> из 9" in text and "Состоявшиеся шаги: 33%" in text
    # Thursday: Ivan's three calls (one at 23:50), nobody else; his streak was 2 then.
    thursday = await build_summary(bot.store, team, date(2026, 11, 26), bot.clock.now())
    assert "📞 Calls: <b>3</b> of 9" in thursday[0]
    assert "🔥 2" in thursday[0]


async def test_leaderboard_week_with_chart(bot: BotHarness) -> None:
    await two_zone_team(bot)
    sent = to_group(await in_group(bot, "/leaderboard", IVAN))
    text = sent[0].params["text"]
    # Week Mon 23 - Fri 27. Ivan: 9 calls, 3 balls (A, B on Wed; C on Fri). Olga: 2 calls
    # on her Friday, 1 ball (Wed). Petr: nothing, counted but not listed.
    assert "🏆 <b>Sales</b> · This week (Mon 23 Nov – Fri 27 Nov)" in text
    assert "👉 🥇 <b>" + ISOLATE.format("Ivan") + "</b>: 🎾 3 · 📐 3 · 📞 9" in text
    assert "🥈 <b>" + ISOLATE.format("Ольга") + "</b>: 🎾 1 · 📐 2 · 📞 2" in text
    assert "Petr" not in text
    assert "On the board: 2 of 3." in text and "1 without a call yet" in text
    photo = sent[-1]
    assert photo.method == "sendPhoto" and photo.content_type == "multipart/form-data"
    upload = photo.files["photo"]
    assert upload.filename == "week.png" and upload.data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = Image.open(BytesIO(upload.data)).size
    assert width >= 1000 and height >= 300  # about 1080 px wide: a phone screen's width
    assert "Sales" in photo.params["caption"]


async def test_week_chart_numbers(bot: BotHarness) -> None:
    await two_zone_team(bot)
    team = await bot.store.teams.by_chat(GROUP_ID)
    board = await build_leaderboard(bot.store, team, Period.WEEK, bot.clock.now())
    chart = board.chart
    assert chart is not None
    assert chart.days[0] == date(2026, 11, 23) and len(chart.days) == 7
    assert chart.names == ["Ivan", "Ольга"]
    assert chart.calls == [[0, 0, 3, 3, 3, None, None], [0, 0, 0, 0, 2, None, None]]
    assert chart.balls == [[0, 0, 2, 0, 1, None, None], [0, 0, 1, 0, 0, None, None]]


async def test_leaderboard_day_and_month(bot: BotHarness) -> None:
    await two_zone_team(bot)
    day = to_group(await in_group(bot, "/leaderboard день", OLGA))
    assert [r.method for r in day] == ["sendMessage"]  # no chart for a day
    text = day[0].params["text"]
    assert "· Сегодня (пт, 27.11)" in text
    assert "🥇 <b>" + ISOLATE.format("Ivan") + "</b>: 🎾 1 · 📐 3 · 📞 3" in text
    assert "👉 🥈 <b>" + ISOLATE.format("Ольга") + "</b>: 🎾 0 · 📐 — · 📞 2" in text
    month = last_text(await in_group(bot, "/leaderboard month", IVAN))
    assert "This month (Sun 1 Nov – Fri 27 Nov)" in month and "📞 9" in month
    assert "/leaderboard day" in last_text(await in_group(bot, "/leaderboard year", IVAN))


async def test_summary_on_a_day_off_and_empty_team(bot: BotHarness) -> None:
    await make_team(bot, IVAN)
    assert "Nobody has joined" in last_text(await in_group(bot, "/summary", IVAN))
    await in_group(bot, "/join", PETR)
    bot.clock.set(utc(28, 9))  # Saturday
    text = last_text(await in_group(bot, "/summary", IVAN))
    assert "(a day off)" in text and "Quota met" not in text and "Nothing logged" not in text
    assert "Nobody has logged a call" in last_text(await in_group(bot, "/leaderboard", IVAN))


async def test_summary_in_the_team_language(bot: BotHarness) -> None:
    await make_team(bot, IVAN, PETR)
    await in_group(bot, "/set lang ru", IVAN)
    assert "Звонки" in last_text(await in_group(bot, "/summary", PETR))


# -- big teams, names --------------------------------------------------------------------------

TRICKY = [
    "<b>Bob & Co</b>",
    "Анна-Мария 🚀👩‍👩‍👧",
    "שלום עליכם",
    "محمد",
    "A" * 80,
    "\u202eevil override",
]


async def big_team(bot: BotHarness, size: int, silent: int) -> list[tuple[int, str]]:
    team_id = await make_team(bot, IVAN)
    people = [(5000 + i, f"{TRICKY[i % len(TRICKY)]} {i}") for i in range(size)]
    calls = {
        uid: [utc(27, 6, 0) + timedelta(minutes=n) for n in range(1 + i % 25)]
        for i, (uid, _) in enumerate(people[: size - silent])
    }
    balls = {uid: [utc(27, 5)] * (i % 4) for i, (uid, _) in enumerate(people[: size - silent])}
    await add_members(bot, team_id, people, calls, balls=balls, joined=utc(20, 6))
    bot.clock.set(utc(27, 15))
    return people


async def test_summary_of_200_members_fits_telegram(bot: BotHarness) -> None:
    await big_team(bot, 200, silent=80)
    sent = to_group(await in_group(bot, "/summary", IVAN))
    chunks = [r.params["text"] for r in sent]
    assert len(chunks) > 1 and all(r.status == 200 for r in sent)
    for chunk in chunks:
        assert len(chunk) < 4096 and utf16_len(chunk) < 4096
        assert chunk.count("<b>") == chunk.count("</b>")  # no tag cut in two
    text = "\n".join(chunks)
    member_lines = [line for line in text.split("\n") if "📞" in line and "/" in line[:12]]
    assert len([line for line in text.split("\n") if ": 📞 " in line]) == 120
    assert member_lines
    assert "&lt;b&gt;Bob &amp; Co&lt;/b&gt; 0" in text and "<b>Bob" not in text
    assert "\u202e" not in text  # a bidi override cannot flip the group's messages
    assert ("A" * 31 + "…") in text and "A" * 33 not in text
    assert "Nothing logged yet today (80)" in text and "…and 20 more." in text


async def test_a_huge_team_s_summary_lists_the_first_200_and_counts_the_rest(
    bot: BotHarness,
) -> None:
    people = await big_team(bot, 230, silent=0)
    sent = to_group(await in_group(bot, "/summary", IVAN))
    assert 1 < len(sent) <= 6 and all(r.status == 200 for r in sent)
    text = "\n".join(r.params["text"] for r in sent)
    lines = [line for line in text.split("\n") if ": 📞 " in line]
    assert len(lines) == 200 and lines[0].startswith("1. ") and lines[-1].startswith("200. ")
    assert "…and 30 more who logged something: /leaderboard day shows your place." in text
    assert f"</b> of {20 * len(people)}\n" in text  # every member counts in the totals
    [(calls,)] = await bot.rows("SELECT count(*) FROM calls")
    assert f"📞 Calls: <b>{calls}</b>" in text


async def test_big_leaderboard_podium_and_own_neighbourhood(bot: BotHarness) -> None:
    await big_team(bot, 40, silent=0)
    team = await bot.store.teams.by_chat(GROUP_ID)
    board = await build_leaderboard(bot.store, team, Period.DAY, bot.clock.now())
    assert board.chart is None
    ranked = rank(m.score() for m in await gather_period(bot.store, team, FRIDAY, FRIDAY))
    asker = Person(ranked[20].score.user_id, "asker", "en")
    text = last_text(await in_group(bot, "/leaderboard day", asker))
    lines = text.split("\n")
    shown = [line.removeprefix("👉 ") for line in lines if ": 🎾" in line]
    assert len(shown) == 6  # the podium, then the asker with one rank either side
    assert lines.count("…") == 1
    assert [line.startswith("👉 ") for line in lines if ": 🎾" in line] == [0, 0, 0, 0, 1, 0]
    places = [line.split(" ", 1)[0] for line in shown]
    assert places[:3] == ["🥇", "🥈", "🥉"]
    assert places[3:] == [f"{ranked[i].rank}." for i in (19, 20, 21)]
    assert ranked[21].rank < ranked[-1].rank  # the last places are not shown


def test_split_messages_never_cuts_lines() -> None:
    lines = [f"line {i} " + "x" * 50 for i in range(300)]
    chunks = split_messages(lines, limit=1000)
    assert all(utf16_len(c) <= 1000 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines
    long = split_messages(["word " * 500], limit=400)
    assert all(utf16_len(c) <= 400 for c in long) and len(long) > 1


# -- privacy -----------------------------------------------------------------------------------

MARK = "Zqxmark"


async def test_no_contact_data_ever_reaches_a_group(bot: BotHarness) -> None:
    await make_team(bot, IVAN, IVAN, OLGA)
    bot.clock.set(utc(27, 7))
    await in_group(bot, "/set block 10:00-11:00", IVAN)
    # Contacts named, with companies, phones and notes carrying the marker.
    await call_with(
        bot, utc(27, 7, 5), IVAN, f"{MARK} Petrov, {MARK} LLC +7 912 345-67-89; {MARK}", "th"
    )
    await call_with(bot, utc(27, 7, 10), OLGA, f"Анна {MARK}, ООО {MARK} 8 913 111-22-33", "na")
    await next_step(bot, utc(27, 7, 15), IVAN, f"{MARK} Sidorov; tomorrow 15:00; {MARK} demo")
    await next_step(bot, utc(27, 7, 20), OLGA, f"{MARK} Client; tomorrow 12:00; {MARK}")
    group_requests: list[RecordedRequest] = []
    for command in (
        "/summary",
        "/leaderboard",
        "/leaderboard day",
        "/leaderboard month",
        "/settings",
        "/help",
        f"/call {MARK} Ivanov +7 914 222-33-44",
        f"/nextstep {MARK} Sidorov",
    ):
        group_requests += to_group(await in_group(bot, command, IVAN))
    group_requests += to_group([r for r in bot.api.requests if r.params.get("chat_id") == GROUP_ID])
    assert any(r.method == "sendPhoto" for r in group_requests)
    for request in group_requests:
        blob = _flatten(request.params)
        assert MARK.casefold() not in blob.casefold()
        for digits in ("9123456789", "912 345", "913 111", "914 222"):
            assert digits not in blob
        for upload in request.files.values():
            assert MARK.encode() not in upload.data
    # ... while the private chats did get them.
    assert any(
        MARK in _flatten(r.params) for r in bot.api.requests if r.params.get("chat_id") == IVAN.id
    )


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(_flatten(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value)
    return str(value)


async def test_private_summary_text_not_affected(bot: BotHarness) -> None:
    """/today in private still lists the rep's own Next Steps with names (their own data)."""
    await make_team(bot, IVAN, IVAN)
    await next_step(bot, utc(27, 7), IVAN, "Pavel; today 15:00; demo")
    assert "Pavel" in last_text(await bot.send("/today", IVAN))
    assert texts(to_group(bot.api.requests)) and all(
        "Pavel" not in t for t in texts(to_group(bot.api.requests))
    )
