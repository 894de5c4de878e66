"""``/today`` (the rep's own local day) and ``/undo``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import (
    IVAN,
    OLGA,
    START,
    BotHarness,
    Person,
    buttons,
    last_text,
    with_buttons,
)
from tests.fakeapi import RecordedRequest

MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


def data_starting(request: RecordedRequest, prefix: str) -> str:
    found = [data for _, data in buttons(request) if data.startswith(prefix)]
    assert found, f"no {prefix!r} button in {buttons(request)}"
    return found[0]


async def call(bot: BotHarness, text: str, person: Person = IVAN) -> tuple[int, int]:
    """``/call text``: returns (call id, id of the message with the outcome buttons)."""
    prompt = with_buttons(await bot.send(f"/call {text}", person))
    return int(data_starting(prompt, "o:").split(":")[1]), prompt.message_id


async def outcome(bot: BotHarness, text: str, code: str, person: Person = IVAN) -> int:
    call_id, message_id = await call(bot, text, person)
    await bot.tap(f"o:{call_id}:{code}", message_id, person)
    return call_id


async def today(bot: BotHarness, person: Person = IVAN) -> str:
    return last_text(await bot.send("/today", person))


# -- /today --------------------------------------------------------------------------------------


async def test_an_empty_day(bot: BotHarness) -> None:
    text = await today(bot)
    assert "Fri 27 Nov" in text
    assert "Calls: <b>0</b> of 20" in text
    assert "Balls back: <b>0</b>" in text
    assert "Calls per ball: no balls yet" in text
    assert "20 to go." in text
    assert "No Next Steps today." in text


async def test_calls_balls_ratio_and_today_s_next_steps(bot: BotHarness) -> None:
    # Yesterday: a ball for a meeting today at 11:00 (listed today, not a ball of today's).
    bot.clock.set(START - timedelta(days=1))
    await bot.send("/nextstep Gleb Orlov; tomorrow 11:00; meeting at their office")
    bot.clock.set(START)
    await outcome(bot, "Anna Sokolova", "na")
    await outcome(bot, "Boris Lebedev", "th")
    await call(bot, "Vera Ivanova, Romashka LLC")
    await bot.send("/nextstep Vera Ivanova; today 15:00; demo")
    await bot.send("/nextstep Anna Sokolova; tomorrow 10:00; call back")
    text = await today(bot)
    assert "Calls: <b>3</b> of 20" in text
    assert "Balls back: <b>2</b>" in text
    assert "Calls per ball: 1.5" in text
    assert "Polite no's: 1" in text
    assert "Waiting for an outcome: 1" in text
    assert "17 to go." in text
    lines = text.splitlines()
    steps = [line for line in lines if line.startswith("• ")]
    assert steps == [
        "• 11:00 meeting at their office with <b>Gleb Orlov</b>",
        "• 15:00 demo with <b>Vera Ivanova</b>, Romashka LLC",
    ]
    assert await bot.rows("SELECT count(*) FROM calls WHERE owner_id = ?", IVAN.id) == [(3,)]


async def test_in_russian_the_ratio_has_a_comma(bot: BotHarness) -> None:
    for name in ("Анна", "Борис", "Вера"):
        await call(bot, name, OLGA)
    await bot.send("/nextstep Анна; завтра 10:00; встреча", OLGA)
    await bot.send("/nextstep Вера; завтра 11:00; демо", OLGA)
    text = await today(bot, OLGA)
    assert "пт, 27.11" in text
    assert "Звонки: <b>3</b> из 20" in text
    assert "Звонков на мяч: 1,5" in text


async def test_the_quota_met(bot: BotHarness) -> None:
    for n in range(20):
        await call(bot, f"Lead {n}")
    text = await today(bot)
    assert "Calls: <b>20</b> of 20 ▓▓▓▓▓▓▓▓▓▓" in text
    assert "Quota met" in text


async def test_the_day_turns_at_midnight_in_moscow_not_utc(bot: BotHarness) -> None:
    bot.clock.set(datetime(2026, 11, 27, 23, 59, tzinfo=MOSCOW))
    await call(bot, "Late Lead")
    text = await today(bot)
    assert "Fri 27 Nov" in text and "Calls: <b>1</b>" in text
    bot.clock.set(datetime(2026, 11, 28, 0, 1, tzinfo=MOSCOW))  # 21:01 UTC, still the 27th
    text = await today(bot)
    assert "Sat 28 Nov" in text and "Calls: <b>0</b>" in text
    await call(bot, "Early Lead")
    assert "Calls: <b>1</b>" in await today(bot)
    stored = await bot.rows("SELECT at FROM calls ORDER BY at")
    assert [datetime.fromtimestamp(at, UTC).day for (at,) in stored] == [27, 27]


async def test_a_rep_in_vladivostok_gets_their_own_day(bot: BotHarness) -> None:
    await bot.send("/start")
    assert await bot.store.set_user_tz(IVAN.id, "Asia/Vladivostok")
    bot.clock.set(datetime(2026, 11, 27, 23, 30, tzinfo=VLADIVOSTOK))  # 16:30 in Moscow
    await call(bot, "Friday Lead")
    bot.clock.set(datetime(2026, 11, 28, 0, 30, tzinfo=VLADIVOSTOK))  # 17:30 Fri in Moscow
    await call(bot, "Saturday Lead")
    await bot.send("/nextstep Saturday Lead; 10:00; meeting")
    text = await today(bot)
    assert "Sat 28 Nov" in text
    assert "Calls: <b>1</b> of 20" in text
    assert "• 10:00 meeting with <b>Saturday Lead</b>" in text
    due = datetime(2026, 11, 28, 10, 0, tzinfo=VLADIVOSTOK)
    assert await bot.rows("SELECT due_at FROM next_steps") == [(int(due.timestamp()),)]
    # The same moment is still Friday for a rep on the team's default zone (Moscow).
    await call(bot, "Someone", OLGA)
    await call(bot, "Someone Else", OLGA)
    assert "Звонки: <b>2</b>" in await today(bot, OLGA)


# -- /undo ---------------------------------------------------------------------------------------


async def undo_prompt(bot: BotHarness, person: Person = IVAN) -> RecordedRequest:
    return with_buttons(await bot.send("/undo", person))


async def test_undo_a_call_after_confirming(bot: BotHarness) -> None:
    call_id, _ = await call(bot, "Ivan Petrov, Romashka LLC")
    bot.clock.advance(timedelta(minutes=14))
    prompt = await undo_prompt(bot)
    assert "Remove your call to <b>Ivan Petrov</b> at 09:00?" in prompt.params["text"]
    assert buttons(prompt) == [
        ("🗑 Yes, remove it", f"u:c:{call_id}"),
        ("Keep it", f"u:k:c:{call_id}"),
    ]
    sent = await bot.tap(f"u:c:{call_id}", prompt.message_id)
    assert last_text(sent) == "🗑 Removed."
    assert [r.method for r in sent] == ["answerCallbackQuery", "editMessageText"]
    assert await bot.rows("SELECT count(*) FROM calls") == [(0,)]
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]
    assert "Calls: <b>0</b>" in await today(bot)


async def test_keep_changes_nothing(bot: BotHarness) -> None:
    call_id, _ = await call(bot, "Ivan Petrov")
    prompt = await undo_prompt(bot)
    sent = await bot.tap(f"u:k:c:{call_id}", prompt.message_id)
    assert last_text(sent) == "Kept, nothing changed."
    assert await bot.rows("SELECT id FROM calls") == [(call_id,)]


async def test_after_sixteen_minutes_there_is_nothing_to_undo(bot: BotHarness) -> None:
    call_id, _ = await call(bot, "Ivan Petrov")
    prompt = await undo_prompt(bot)
    bot.clock.advance(timedelta(minutes=16))
    assert "Nothing to undo" in last_text(await bot.send("/undo"))
    sent = await bot.tap(f"u:c:{call_id}", prompt.message_id)  # the old prompt's button
    answer = next(r for r in sent if r.method == "answerCallbackQuery")
    assert answer.params["text"] == "That entry is already gone or too old to undo."
    assert answer.params["show_alert"] is True
    assert await bot.rows("SELECT id FROM calls") == [(call_id,)]


async def test_someone_else_s_undo_button_is_refused(bot: BotHarness) -> None:
    call_id, _ = await call(bot, "Ivan Petrov")
    prompt = await undo_prompt(bot)
    for data in (f"u:c:{call_id}", f"u:k:c:{call_id}"):
        sent = await bot.tap(data, prompt.message_id, OLGA, chat={"id": IVAN.id, "type": "private"})
        assert [r.method for r in sent] == ["answerCallbackQuery"]
        assert sent[0].params["text"] == "Эта кнопка не ваша."
        assert sent[0].params["show_alert"] is True
    assert await bot.rows("SELECT id FROM calls") == [(call_id,)]
    assert "Отменять нечего" in last_text(await bot.send("/undo", OLGA))


async def test_undo_a_call_removes_the_next_step_it_produced(bot: BotHarness) -> None:
    call_id, message_id = await call(bot, "Ivan Petrov")
    prompt = await undo_prompt(bot)  # offered while the call is the newest entry
    await bot.tap(f"o:{call_id}:ns", message_id)
    await bot.send("tomorrow 15:00")
    saved = last_text(await bot.send("demo at their office"))
    assert "The ball came back!" in saved
    assert await bot.rows("SELECT call_id, kind FROM next_steps") == [(call_id, "ball")]
    sent = await bot.tap(f"u:c:{call_id}", prompt.message_id)
    assert last_text(sent) == "🗑 Removed."
    assert await bot.rows("SELECT count(*) FROM calls") == [(0,)]
    assert await bot.rows("SELECT count(*) FROM next_steps") == [(0,)]


async def test_undo_offers_the_newest_entry_a_next_step(bot: BotHarness) -> None:
    call_id, message_id = await call(bot, "Ivan Petrov")
    await bot.tap(f"o:{call_id}:ns", message_id)
    await bot.send("tomorrow 15:00")
    await bot.send("demo at their office")
    (step_id,) = (await bot.rows("SELECT id FROM next_steps"))[0]
    prompt = await undo_prompt(bot)
    assert (
        "Remove the Next Step <i>demo at their office</i> with <b>Ivan Petrov</b>?"
        in (prompt.params["text"])
    )
    assert data_starting(prompt, "u:s:") == f"u:s:{step_id}"
    await bot.tap(f"u:s:{step_id}", prompt.message_id)
    assert await bot.rows("SELECT count(*) FROM next_steps") == [(0,)]
    assert await bot.rows("SELECT id, outcome FROM calls") == [(call_id, None)]
    text = await today(bot)
    assert "Balls back: <b>0</b>" in text and "Waiting for an outcome: 1" in text
    # The call is next in line.
    assert f"u:c:{call_id}" in [data for _, data in buttons(await undo_prompt(bot))]


async def test_a_forged_undo_button_for_a_missing_entry(bot: BotHarness) -> None:
    await bot.send("/start")
    sent = await bot.tap("u:c:999", 5)
    assert sent[0].method == "answerCallbackQuery"
    assert sent[0].params["text"] == "That entry is already gone or too old to undo."
