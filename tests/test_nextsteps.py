"""Next Steps end to end: the guided flow from a call or ``/nextstep``, the one-line form, the
sales cycle, ``/cancel``, restarts, idempotency, foreign and stale buttons, bad input, HTML
and both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import Settings
from bot.locales import t
from tests.conftest import (
    IVAN,
    OLGA,
    BotHarness,
    Person,
    buttons,
    last_text,
    private_chat,
    restart,
    with_buttons,
)
from tests.dbtools import writing
from tests.fakeapi import RecordedRequest
from tests.test_calls import (
    STALE,
    answers,
    data_of,
    edits,
    has_keyboard,
    log_call,
    msk_ts,
    sends,
    tap_outcome,
)

DAY_BUTTONS = ["n:d:20261127", "n:d:20261128", "n:d:20261130", "n:d:20261201", "n:d:20261202"]


def stripped(requests: list[RecordedRequest]) -> list[int]:
    """Ids of the messages whose buttons were taken away."""
    return [r.params["message_id"] for r in requests if r.method == "editMessageReplyMarkup"]


async def steps(bot: BotHarness) -> list[tuple[object, ...]]:
    return await bot.rows("SELECT action, due_at, kind, status, call_id FROM next_steps")


async def flow_kinds(bot: BotHarness) -> list[tuple[object, ...]]:
    return await bot.rows("SELECT kind FROM flows")


async def next_step_from_call(
    bot: BotHarness, text: str = "/call Ivan Petrov", person: Person = IVAN
) -> tuple[int, int, RecordedRequest]:
    """Log a call and tap "Next Step agreed": (call id, message id, the day prompt)."""
    call_id, message_id = await log_call(bot, text, person)
    sent = await tap_outcome(bot, call_id, message_id, "ns", person)
    (prompt,) = edits(sent)
    assert prompt.params["message_id"] == message_id
    return call_id, message_id, prompt


# -- the guided flow -----------------------------------------------------------------------------


async def test_next_step_from_a_call_with_buttons(bot: BotHarness) -> None:
    call_id, message_id, prompt = await next_step_from_call(bot)
    assert prompt.params["text"] == (
        "🎯 Next Step with <b>Ivan Petrov</b>: when? Tap a day or type a date and time."
    )
    assert [label for label, _ in buttons(prompt)] == [
        "Today",
        "Tomorrow",
        "Mon 30 Nov",
        "Tue 1 Dec",
        "Wed 2 Dec",
        "✖️ Cancel",
    ]
    assert data_of(prompt) == [*DAY_BUTTONS, "n:x"]
    assert await bot.rows("SELECT outcome FROM calls") == [(None,)]  # not a ball yet

    sent = await bot.tap("n:d:20261130", message_id, IVAN)
    (prompt,) = edits(sent)
    assert prompt.params["text"] == (
        "🎯 <b>Ivan Petrov</b>, Mon 30 Nov: what time? Tap one or type it (e.g. 15:30)."
    )
    assert data_of(prompt)[:3] == ["n:t:0900", "n:t:1000", "n:t:1100"]
    assert len(data_of(prompt)) == 11

    sent = await bot.tap("n:t:1500", message_id, IVAN)
    (prompt,) = edits(sent)
    assert prompt.params["text"].startswith("🎯 <b>Ivan Petrov</b>, Mon 30 Nov 15:00: what exactly")
    assert data_of(prompt) == ["n:a:mt", "n:a:dm", "n:a:pr", "n:a:cl", "n:x"]

    sent = await bot.tap("n:a:dm", message_id, IVAN)
    (done,) = edits(sent)
    assert done.params["text"] == (
        "🎾 <b>The ball came back!</b> <b>Ivan Petrov</b> is now a client.\n"
        "Demo, Mon 30 Nov 15:00.\nBalls today: 1."
    )
    assert not has_keyboard(done)
    assert await steps(bot) == [("Demo", msk_ts(2026, 11, 30, 15), "ball", "open", call_id)]
    assert await bot.rows("SELECT outcome FROM calls") == [("ns",)]
    assert await flow_kinds(bot) == []


async def test_next_step_in_russian_with_typed_answers(bot: BotHarness) -> None:
    _, message_id, prompt = await next_step_from_call(bot, "/call Иван", OLGA)
    assert prompt.params["text"].startswith("🎯 <b>Иван</b>: когда следующий шаг?")
    assert [label for label, _ in buttons(prompt)][:3] == ["Сегодня", "Завтра", "пн, 30.11"]

    sent = await bot.send("завтра 15:00", OLGA)
    question = with_buttons(sent)
    assert question.method == "sendMessage"
    assert question.params["text"].startswith("🎯 <b>Иван</b>, сб, 28.11 15:00: что именно будет?")
    assert [label for label, _ in buttons(question)][:2] == ["Встреча", "Демо"]
    assert stripped(sent) == [message_id]  # the old prompt's buttons are gone

    sent = await bot.send("встреча у них в офисе", OLGA)
    assert last_text(sent) == (
        "🎾 <b>Мяч вернулся!</b> <b>Иван</b> теперь клиент.\n"
        "Встреча у них в офисе, сб, 28.11 15:00.\nМячей сегодня: 1."
    )
    assert stripped(sent) == [question.message_id]
    assert await steps(bot) == [
        ("встреча у них в офисе", msk_ts(2026, 11, 28, 15), "ball", "open", 1)
    ]


@pytest.mark.parametrize(
    ("typed", "due"),
    [
        ("завтра 15:00", msk_ts(2026, 11, 28, 15)),
        ("пт 10:30", msk_ts(2026, 12, 4, 10, 30)),
        ("29.11 14:00", msk_ts(2026, 11, 29, 14)),
        ("tomorrow 3pm", msk_ts(2026, 11, 28, 15)),
    ],
)
async def test_typed_dates(bot: BotHarness, typed: str, due: int) -> None:
    await next_step_from_call(bot)
    await bot.send(typed, IVAN)
    await bot.send("demo", IVAN)
    assert await bot.rows("SELECT due_at, kind FROM next_steps") == [(due, "ball")]


async def test_a_day_without_a_time_asks_the_time(bot: BotHarness) -> None:
    await next_step_from_call(bot)
    sent = await bot.send("in 3 days", IVAN)
    assert last_text(sent).startswith("🎯 <b>Ivan Petrov</b>, Mon 30 Nov: what time?")
    sent = await bot.send("11", IVAN)  # a bare hour answers the time question
    assert "Mon 30 Nov 11:00: what exactly" in last_text(sent)
    await bot.tap("n:a:mt", with_buttons(sent).message_id, IVAN)
    assert await steps(bot) == [("Meeting", msk_ts(2026, 11, 30, 11), "ball", "open", 1)]


async def test_text_where_a_button_is_expected_answers_the_question(bot: BotHarness) -> None:
    _, message_id, _ = await next_step_from_call(bot)
    await bot.tap("n:d:20261128", message_id, IVAN)
    sent = await bot.send("16:30", IVAN)  # typed instead of a time button
    assert "Sat 28 Nov 16:30: what exactly" in last_text(sent)
    sent = await bot.send("Proposal review", IVAN)  # typed instead of an action button
    assert "Proposal review, Sat 28 Nov 16:30." in last_text(sent)
    assert await bot.rows("SELECT due_at FROM next_steps") == [(msk_ts(2026, 11, 28, 16, 30),)]


async def test_balls_today_are_counted(bot: BotHarness) -> None:
    await bot.send("/nextstep Anna; tomorrow 10:00; demo", IVAN)
    sent = await bot.send("/nextstep Boris; tomorrow 11:00; demo", IVAN)
    assert last_text(sent).endswith("\nBalls today: 2.")


async def test_today_is_not_offered_late_in_the_day(bot: BotHarness) -> None:
    bot.clock.advance(timedelta(hours=9, minutes=30))  # 18:30
    sent = await bot.send("/nextstep Ivan", IVAN)
    assert data_of(with_buttons(sent))[0] == "n:d:20261128"


# -- /nextstep -----------------------------------------------------------------------------------


async def test_one_line_next_step(bot: BotHarness) -> None:
    sent = await bot.send("/nextstep Ivan Petrov; tomorrow 3pm; demo at their office", IVAN)
    assert last_text(sent) == (
        "🎾 <b>The ball came back!</b> <b>Ivan Petrov</b> is now a client.\n"
        "Demo at their office, Sat 28 Nov 15:00.\nBalls today: 1."
    )
    assert not any(has_keyboard(r) for r in sent)
    assert await steps(bot) == [
        ("demo at their office", msk_ts(2026, 11, 28, 15), "ball", "open", None)
    ]
    assert await bot.rows("SELECT name FROM contacts") == [("Ivan Petrov",)]
    assert await flow_kinds(bot) == []


async def test_nextstep_finds_the_contact_by_name_ignoring_case(bot: BotHarness) -> None:
    await log_call(bot, "/call Ivan Petrov, Romashka LLC")
    sent = await bot.send("/nextstep IVAN petrov", IVAN)
    prompt = with_buttons(sent)
    assert prompt.params["text"].startswith("🎯 Next Step with <b>Ivan Petrov</b>: when?")
    assert await bot.rows("SELECT count(*) FROM contacts") == [(1,)]
    assert await flow_kinds(bot) == [("ns",)]


async def test_one_line_with_only_a_date_asks_what(bot: BotHarness) -> None:
    sent = await bot.send("/nextstep Ivan; пт 10:30", IVAN)
    assert "Fri 4 Dec 10:30: what exactly will happen?" in last_text(sent)


async def test_one_line_with_only_an_action_asks_when(bot: BotHarness) -> None:
    sent = await bot.send("/nextstep Ivan;; demo", IVAN)
    assert last_text(sent).startswith("🎯 Next Step with <b>Ivan</b>: when?")
    sent = await bot.send("tomorrow 10:00", IVAN)
    assert "Demo, Sat 28 Nov 10:00." in last_text(sent)


async def test_nextstep_without_a_contact(bot: BotHarness) -> None:
    sent = await bot.send("/nextstep", IVAN)
    assert last_text(sent).startswith("Whose Next Step? <code>/nextstep Ivan Petrov</code>")
    sent = await bot.send("/nextstep ; tomorrow; demo", IVAN)
    assert last_text(sent).startswith("The contact's name is missing.\n\nWhose Next Step?")
    sent = await bot.send("/nextstep " + "N" * 101, IVAN)
    assert last_text(sent).startswith("That name is too long")
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]
    assert await flow_kinds(bot) == []


async def test_nextstep_picker(bot: BotHarness) -> None:
    await log_call(bot, "/call Anna")
    sent = await bot.send("/nextstep", IVAN)
    picker = with_buttons(sent)
    assert picker.params["text"].startswith("Whose Next Step? Tap a contact")
    (data,) = data_of(picker)
    sent = await bot.tap(data, picker.message_id, IVAN)
    (prompt,) = edits(sent)
    assert prompt.params["text"].startswith("🎯 Next Step with <b>Anna</b>: when?")
    sent = await bot.tap(data, picker.message_id, OLGA, chat=private_chat(IVAN))
    assert answers(sent) == [("Эта кнопка не ваша.", True)]
    sent = await bot.tap("s:999999", picker.message_id, IVAN)
    assert answers(sent) == [STALE]


# -- the sales cycle -----------------------------------------------------------------------------


async def test_beyond_the_cycle_is_refused_as_a_ball_and_saved_as_a_reminder(
    bot: BotHarness,
) -> None:
    sent = await bot.send("/nextstep Ivan; 15.01 10:00; call about the budget", IVAN)
    prompt = with_buttons(sent)
    assert prompt.params["text"] == (
        "📅 Fri 15 Jan 10:00 is more than 30 days away, beyond your sales cycle. A Next Step "
        "that far out is a polite no: <b>Ivan</b> is a prospect, not a client yet.\n"
        "Save it as a plain reminder, or pick a closer date?"
    )
    assert data_of(prompt) == ["n:r", "n:o", "n:x"]
    assert await steps(bot) == []
    sent = await bot.tap("n:r", prompt.message_id, IVAN)
    assert edits(sent)[0].params["text"] == (
        "🗓 Reminder saved: call about the budget with <b>Ivan</b>, Fri 15 Jan 10:00. Not a ball."
    )
    assert await steps(bot) == [
        ("call about the budget", msk_ts(2027, 1, 15, 10), "reminder", "open", None)
    ]


async def test_beyond_the_cycle_day_is_refused_before_asking_the_time(bot: BotHarness) -> None:
    await next_step_from_call(bot, "/call Иван", OLGA)
    sent = await bot.send("через 40 дней", OLGA)
    text = last_text(sent)
    assert text.startswith("📅 ср, 06.01 — дальше чем через 30 дн., за пределами цикла сделки.")
    assert "<b>Иван</b> пока потенциальный клиент, а не клиент" in text
    beyond = with_buttons(sent)
    sent = await bot.tap("n:o", beyond.message_id, OLGA)  # pick a closer date instead
    assert edits(sent)[0].params["text"].startswith("🎯 <b>Иван</b>: когда следующий шаг?")
    sent = await bot.tap("n:d:20261201", beyond.message_id, OLGA)
    sent = await bot.tap("n:t:1000", beyond.message_id, OLGA)
    sent = await bot.tap("n:a:mt", beyond.message_id, OLGA)
    assert "Мяч вернулся!" in edits(sent)[0].params["text"]
    assert await steps(bot) == [("Встреча", msk_ts(2026, 12, 1, 10), "ball", "open", 1)]


async def test_reminder_beyond_the_cycle_keeps_the_call_open(bot: BotHarness) -> None:
    call_id, _, _ = await next_step_from_call(bot)
    await bot.send("in 40 days", IVAN)
    beyond = with_buttons(bot.sent("sendMessage"))
    sent = await bot.tap("n:r", beyond.message_id, IVAN)
    assert "what time?" in edits(sent)[0].params["text"]
    await bot.tap("n:t:1000", beyond.message_id, IVAN)
    sent = await bot.tap("n:a:cl", beyond.message_id, IVAN)
    assert (
        edits(sent)[0].params["text"].startswith("🗓 Reminder saved: Call with <b>Ivan Petrov</b>")
    )
    assert await bot.rows("SELECT kind, call_id FROM next_steps") == [("reminder", call_id)]
    assert await bot.rows("SELECT outcome FROM calls") == [(None,)]  # no ball came back


@pytest.mark.parametrize(
    ("when", "kind"),
    [("27.12 23:59", "ball"), ("28.12 00:00", "reminder")],
)
async def test_the_cycle_edge(bot: BotHarness, when: str, kind: str) -> None:
    sent = await bot.send(f"/nextstep Ivan; {when}; demo", IVAN)
    if kind == "reminder":
        await bot.tap("n:r", with_buttons(sent).message_id, IVAN)
    assert await bot.rows("SELECT kind FROM next_steps") == [(kind,)]


# -- bad input in the flow -----------------------------------------------------------------------


async def test_a_past_date_is_refused(bot: BotHarness) -> None:
    sent = await bot.send("/nextstep Ivan; 25.11 10:00; demo", IVAN)
    text = last_text(sent)
    assert text.startswith("⏪ That moment has already passed: pick a date in the future.")
    assert "Next Step with <b>Ivan</b>: when?" in text
    assert await steps(bot) == []
    sent = await bot.send("08:00", IVAN)  # today, but that hour has gone
    assert last_text(sent).startswith("⏪ That moment has already passed")
    assert "<b>Ivan</b>, Fri 27 Nov: what time?" in last_text(sent)
    assert data_of(with_buttons(sent))[0] == "n:t:1000"  # only hours still ahead
    sent = await bot.send("10:00", IVAN)
    assert "Demo, Fri 27 Nov 10:00." in last_text(sent)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("31.02", "There is no such date in the calendar. Check the day and month."),
        ("25:00", "There is no such time: hours go 0-23, minutes 0-59."),
        ("someday", "I couldn't read that date."),
    ],
)
async def test_bad_dates_get_the_right_usage_and_keep_the_flow(
    bot: BotHarness, typed: str, error: str
) -> None:
    _, message_id, _ = await next_step_from_call(bot)
    sent = await bot.send(typed, IVAN)
    assert last_text(sent).startswith(error)
    assert "Next Step with <b>Ivan Petrov</b>: when?" in last_text(sent)
    assert data_of(with_buttons(sent))[:5] == DAY_BUTTONS
    assert stripped(sent) == [message_id]
    assert await steps(bot) == [] and await flow_kinds(bot) == [("ns",)]
    sent = await bot.send("tomorrow 10:00", IVAN)
    assert "what exactly" in last_text(sent)


async def test_bad_dates_in_russian(bot: BotHarness) -> None:
    await bot.send("/nextstep Иван", OLGA)
    sent = await bot.send("31.02", OLGA)
    assert last_text(sent).startswith("Такой даты нет в календаре.")
    sent = await bot.send("завтра 25:00", OLGA)
    assert last_text(sent).startswith("Такого времени нет: часы 0–23, минуты 0–59.")


async def test_bad_time_at_the_time_question(bot: BotHarness) -> None:
    _, message_id, _ = await next_step_from_call(bot)
    await bot.tap("n:d:20261128", message_id, IVAN)
    sent = await bot.send("25:00", IVAN)
    assert last_text(sent).startswith("There is no such time")
    assert "Sat 28 Nov: what time?" in last_text(sent)


async def test_a_next_step_needs_a_concrete_action(bot: BotHarness) -> None:
    await bot.send("/nextstep Ivan; tomorrow 10:00", IVAN)
    sent = await bot.send("x", IVAN)
    assert last_text(sent).startswith("Say what will happen, e.g. <i>meeting at their office</i>.")
    sent = await bot.send("a" * 301, IVAN)
    assert last_text(sent).startswith("That is too long: 300 characters at most.")
    assert await steps(bot) == []
    sent = await bot.send("/nextstep Ivan; tomorrow 10:00; ?", IVAN)
    assert last_text(sent).startswith("Say what will happen")
    sent = await bot.send("demo", IVAN)
    assert await bot.rows("SELECT action FROM next_steps") == [("demo",)]


# -- /cancel -------------------------------------------------------------------------------------


async def test_cancel_a_flow_from_a_call_offers_its_outcomes_again(bot: BotHarness) -> None:
    call_id, message_id, _ = await next_step_from_call(bot)
    await bot.tap("n:d:20261128", message_id, IVAN)
    sent = await bot.send("/cancel", IVAN)
    offer = with_buttons(sent)
    assert offer.params["text"] == (
        "OK, left that question. Nothing was saved from it.\n\n"
        "📞 <b>Ivan Petrov</b>: how did the call go?"
    )
    assert f"o:{call_id}:na" in data_of(offer)
    assert stripped(sent) == [message_id]
    assert await flow_kinds(bot) == [] and await steps(bot) == []
    sent = await tap_outcome(bot, call_id, offer.message_id, "na")
    assert await bot.rows("SELECT outcome FROM calls") == [("na",)]


async def test_cancel_button_turns_the_prompt_back_into_the_outcome_question(
    bot: BotHarness,
) -> None:
    call_id, message_id, _ = await next_step_from_call(bot, "/call Иван", OLGA)
    sent = await bot.tap("n:x", message_id, OLGA)
    (edit,) = edits(sent)
    assert edit.params["text"] == (
        "Хорошо, отменил. Ничего не сохранено.\n\n📞 <b>Иван</b>: как прошёл звонок?"
    )
    assert f"o:{call_id}:ns" in data_of(edit)
    assert await flow_kinds(bot) == []
    sent = await tap_outcome(bot, call_id, message_id, "ns", OLGA)  # its buttons work again
    assert edits(sent)[0].params["text"].startswith("🎯 <b>Иван</b>: когда следующий шаг?")


async def test_cancel_a_nextstep_flow(bot: BotHarness) -> None:
    sent = await bot.send("/nextstep Ivan", IVAN)
    prompt = with_buttons(sent)
    sent = await bot.send("/cancel", IVAN)
    assert last_text(sent) == "OK, left that question. Nothing was saved from it."
    assert not any(has_keyboard(r) for r in sends(sent))
    assert stripped(sent) == [prompt.message_id]
    sent = await bot.send("tomorrow 10:00", IVAN)
    assert last_text(sent) == t("en", "hint")
    sent = await bot.send("/cancel", IVAN)
    assert last_text(sent) == "There is nothing to cancel. /help lists what I can do."


# -- restarts, idempotency, expiry ---------------------------------------------------------------


async def test_a_restart_in_the_middle_of_the_flow_loses_nothing(
    bot: BotHarness, settings: Settings
) -> None:
    call_id, message_id, _ = await next_step_from_call(bot)
    await bot.tap("n:d:20261130", message_id, IVAN)
    await restart(bot, settings)
    sent = await bot.tap("n:t:1400", message_id, IVAN)
    assert "Mon 30 Nov 14:00: what exactly" in edits(sent)[0].params["text"]
    await restart(bot, settings)
    sent = await bot.send("demo in their office", IVAN)
    assert "The ball came back!" in last_text(sent)
    assert await steps(bot) == [
        ("demo in their office", msk_ts(2026, 11, 30, 14), "ball", "open", call_id)
    ]


async def test_a_redelivered_one_line_next_step_is_stored_once(bot: BotHarness) -> None:
    text = "/nextstep Ivan; tomorrow 3pm; demo"
    await bot.send(text, IVAN, message_id=901)
    sent = await bot.send(text, IVAN, message_id=901)
    assert last_text(sent) == "This message already saved that Next Step: nothing was added."
    assert await bot.rows("SELECT count(*) FROM next_steps") == [(1,)]


async def test_a_redelivered_typed_answer_is_read_once(bot: BotHarness) -> None:
    await next_step_from_call(bot)
    await bot.send("tomorrow 15:00", IVAN, message_id=902)
    sent = await bot.send("tomorrow 15:00", IVAN, message_id=902)
    assert sent == []  # not taken for the action
    await bot.send("demo", IVAN, message_id=903)
    assert await bot.rows("SELECT action FROM next_steps") == [("demo",)]


async def test_an_edited_nextstep_command_does_nothing(bot: BotHarness) -> None:
    await bot.send("/nextstep Ivan; tomorrow 3pm; demo", IVAN, message_id=904)
    sent = await bot.send("/nextstep Ivan; tomorrow 4pm; demo", IVAN, message_id=904, edited=True)
    assert last_text(sent) == t("en", "edited")
    assert await bot.rows("SELECT due_at FROM next_steps") == [(msk_ts(2026, 11, 28, 15),)]


async def test_double_taps_in_the_flow_act_once(bot: BotHarness) -> None:
    call_id, message_id, _ = await next_step_from_call(bot)
    sent = await tap_outcome(bot, call_id, message_id, "ns")  # "Next Step agreed" again
    assert answers(sent) == [("", False)] and not edits(sent)
    await bot.tap("n:d:20261130", message_id, IVAN)
    await bot.tap("n:t:1500", message_id, IVAN)
    sent = await bot.tap("n:t:1500", message_id, IVAN)
    assert "what exactly" in edits(sent)[0].params["text"]
    await bot.tap("n:a:mt", message_id, IVAN)
    sent = await bot.tap("n:a:mt", message_id, IVAN)
    assert answers(sent) == [STALE]
    assert await bot.rows("SELECT count(*) FROM next_steps") == [(1,)]


async def test_a_flow_left_for_a_day_expires(bot: BotHarness) -> None:
    _, message_id, _ = await next_step_from_call(bot)
    bot.clock.advance(timedelta(hours=25))
    sent = await bot.tap("n:d:20261130", message_id, IVAN)
    assert answers(sent) == [STALE]
    sent = await bot.send("tomorrow 10:00", IVAN)
    assert last_text(sent) == t("en", "hint")


# -- foreign and stale buttons -------------------------------------------------------------------


async def test_flow_buttons_pressed_by_someone_else_change_nothing(bot: BotHarness) -> None:
    _, message_id, _ = await next_step_from_call(bot)
    for data in ("n:d:20261130", "n:x", "n:r"):
        sent = await bot.tap(data, message_id, OLGA, chat=private_chat(IVAN))
        assert answers(sent) == [("Эта кнопка не ваша.", True)]
        assert [r.method for r in sent] == ["answerCallbackQuery"]
    (data,) = (await bot.rows("SELECT data FROM flows"))[0]
    assert '"day": null' in data
    sent = await bot.tap("n:d:20261130", message_id, IVAN)
    assert "what time?" in edits(sent)[0].params["text"]


@pytest.mark.parametrize("data", ["n:d:20261399", "n:t:2500", "n:a:zz", "n:d:00000000"])
async def test_forged_flow_buttons_get_a_friendly_alert(bot: BotHarness, data: str) -> None:
    _, message_id, _ = await next_step_from_call(bot)
    sent = await bot.tap(data, message_id, IVAN)
    assert answers(sent) == [STALE]
    assert not edits(sent)
    (stored,) = (await bot.rows("SELECT data FROM flows"))[0]
    assert '"day": null' in stored


async def test_buttons_of_an_older_prompt_are_stale(bot: BotHarness) -> None:
    _, message_id, _ = await next_step_from_call(bot)
    await bot.send("tomorrow", IVAN)  # the flow moves on to a new message
    sent = await bot.tap("n:d:20261130", message_id, IVAN)
    assert answers(sent) == [STALE]
    sent = await bot.tap("n:x", 99999, IVAN)
    assert answers(sent) == [STALE]


async def test_a_new_question_takes_the_buttons_off_the_old_one(bot: BotHarness) -> None:
    _, first, _ = await next_step_from_call(bot, "/call Anna")
    call_id, second = await log_call(bot, "/call Boris")
    sent = await tap_outcome(bot, call_id, second, "cl")
    assert stripped(sent) == [first]
    assert await flow_kinds(bot) == [("cb",)]


async def test_the_call_undone_during_the_flow_leaves_the_next_step_standing(
    bot: BotHarness,
) -> None:
    first, message_id = await log_call(bot, "/call Ivan Petrov")
    await tap_outcome(bot, first, message_id, "na")
    bot.clock.advance(timedelta(minutes=1))
    _, message_id, _ = await next_step_from_call(bot)
    confirm = with_buttons(await bot.send("/undo", IVAN))
    undo = next(d for d in data_of(confirm) if d.startswith("u:c:"))
    await bot.tap(undo, confirm.message_id, IVAN)
    assert await bot.rows("SELECT count(*) FROM calls") == [(1,)]
    await bot.tap("n:d:20261130", message_id, IVAN)
    await bot.tap("n:t:1000", message_id, IVAN)
    sent = await bot.tap("n:a:mt", message_id, IVAN)
    assert "The ball came back!" in edits(sent)[0].params["text"]
    assert await steps(bot) == [("Meeting", msk_ts(2026, 11, 30, 10), "ball", "open", None)]


# -- HTML ----------------------------------------------------------------------------------------


async def test_html_and_emoji_in_the_flow(bot: BotHarness) -> None:
    sent = await bot.send("/nextstep <Ivan & Co> 🚀; tomorrow 3pm", IVAN)
    assert "<b>&lt;Ivan &amp; Co&gt; 🚀</b>, Sat 28 Nov 15:00: what exactly" in last_text(sent)
    sent = await bot.send("<b>demo</b> & drinks", IVAN)
    assert last_text(sent) == (
        "🎾 <b>The ball came back!</b> <b>&lt;Ivan &amp; Co&gt; 🚀</b> is now a client.\n"
        "&lt;b&gt;demo&lt;/b&gt; &amp; drinks, Sat 28 Nov 15:00.\nBalls today: 1."
    )
    assert await bot.rows("SELECT name FROM contacts") == [("<Ivan & Co> 🚀",)]
    assert await bot.rows("SELECT action FROM next_steps") == [("<b>demo</b> & drinks",)]


async def test_every_button_is_a_short_ascii_key(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot, "/call Ярослава Константиновна, " + "Я" * 100)
    await tap_outcome(bot, call_id, message_id, "cl", OLGA)  # refused: still a request
    await tap_outcome(bot, call_id, message_id, "cl")
    await bot.send("/call", IVAN)
    await bot.send("/nextstep", IVAN)
    sent = await bot.send("/nextstep Ярослава Константиновна; через 40 дней", OLGA)
    await bot.tap("n:r", with_buttons(sent).message_id, OLGA)
    for data in ("n:d:20261130", "n:t:1000"):
        _, message_id, _ = await next_step_from_call(bot, "/call Ярослава Константиновна")
        await bot.tap(data, message_id, IVAN)
    keys = [data for request in bot.api.requests for _, data in buttons(request)]
    assert len(set(keys)) > 30
    assert all(key.isascii() and 0 < len(key.encode()) <= 64 for key in keys)


async def test_dates_are_read_and_shown_in_the_reps_own_zone(bot: BotHarness) -> None:
    await log_call(bot, "/call Anna")  # the rep is known from here on
    async with writing(bot.db) as conn:
        await conn.execute("UPDATE users SET tz = 'Asia/Yekaterinburg' WHERE id = ?", (IVAN.id,))
    bot.clock.advance(timedelta(hours=13, minutes=30))  # 22:30 Moscow, already 00:30 Saturday there
    sent = await bot.send("/nextstep Anna", IVAN)
    assert data_of(with_buttons(sent))[:2] == ["n:d:20261128", "n:d:20261129"]
    sent = await bot.send("tomorrow 15:00", IVAN)
    assert "Sun 29 Nov 15:00: what exactly" in last_text(sent)
    await bot.send("demo", IVAN)
    yekaterinburg_15h = msk_ts(2026, 11, 29, 13)  # 15:00 at UTC+5 is 13:00 at UTC+3
    assert await bot.rows("SELECT due_at FROM next_steps") == [(yekaterinburg_15h,)]
