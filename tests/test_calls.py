"""``/call`` end to end: logging a dial, the outcome buttons, call-back dates, the picker,
shared contacts, idempotency, foreign and stale buttons, bad input, HTML and both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.locales import t
from tests.conftest import (
    IVAN,
    OLGA,
    START,
    BotHarness,
    Person,
    buttons,
    last_text,
    private_chat,
    with_buttons,
)
from tests.fakeapi import RecordedRequest

START_TS = int(START.timestamp())
OUTCOMES = ("ns", "na", "bz", "vm", "gk", "wn", "th", "cl", "bo", "si", "ni")


def msk_ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Unix seconds of a Moscow wall-clock time (UTC+3, no DST)."""
    return int(datetime(year, month, day, hour - 3, minute, tzinfo=UTC).timestamp())


def data_of(request: RecordedRequest) -> list[str]:
    return [data for _, data in buttons(request)]


def edits(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if r.method == "editMessageText"]


def sends(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if r.method == "sendMessage"]


def answers(requests: list[RecordedRequest]) -> list[tuple[str, bool]]:
    return [
        (r.params.get("text", ""), r.params.get("show_alert") in (True, "true"))
        for r in requests
        if r.method == "answerCallbackQuery"
    ]


def has_keyboard(request: RecordedRequest) -> bool:
    return bool(buttons(request))


async def log_call(
    bot: BotHarness, text: str = "/call Ivan Petrov", person: Person = IVAN, **extra: Any
) -> tuple[int, int]:
    """Send a /call; return (call id, id of the message with the outcome buttons)."""
    sent = await bot.send(text, person, **extra)
    message = with_buttons(sent)
    outcome = next(d for d in data_of(message) if d.startswith("o:"))
    return int(outcome.split(":")[1]), message.message_id


async def tap_outcome(
    bot: BotHarness, call_id: int, message_id: int, code: str, person: Person = IVAN
) -> list[RecordedRequest]:
    return await bot.tap(f"o:{call_id}:{code}", message_id, person)


# -- logging a dial ------------------------------------------------------------------------------


async def test_call_logs_a_dial_and_offers_outcomes_in_three_groups(bot: BotHarness) -> None:
    sent = await bot.send("/call Ivan Petrov, Romashka LLC +7 912 345-67-89", IVAN)
    message = with_buttons(sent)
    assert message.method == "sendMessage"
    text = message.params["text"]
    assert text.startswith("📞 Call 1 of 20 today: <b>Ivan Petrov</b>, Romashka LLC")
    assert "+7 912 345-67-89" in text and "How did it go?" in text
    call_id = (await bot.rows("SELECT id FROM calls"))[0][0]
    labels = [label for label, _ in buttons(message)]
    assert labels == [
        "— 🎾 Ball —",
        "🎾 Next Step agreed",
        "— Not reached —",
        "No answer",
        "Busy",
        "Voicemail",
        "Gatekeeper",
        "Wrong number",
        "— Reached, no Next Step —",
        "“I'll think”",
        "“Call me later”",
        "“Ask my boss”",
        "“Send info”",
        "Not interested",
    ]
    data = data_of(message)
    assert data[0] == "g:ball" and "g:not_reached" in data and "g:reached" in data
    assert sorted(d for d in data if d.startswith("o:")) == sorted(
        f"o:{call_id}:{code}" for code in OUTCOMES
    )
    assert all(d.isascii() and len(d.encode()) <= 64 for d in data)
    assert await bot.rows("SELECT name, company, phone, note FROM contacts") == [
        ("Ivan Petrov", "Romashka LLC", "+79123456789", None)
    ]
    assert await bot.rows("SELECT owner_id, at, outcome FROM calls") == [(IVAN.id, START_TS, None)]


async def test_call_in_russian(bot: BotHarness) -> None:
    sent = await bot.send("/call Иван Петров, ООО Ромашка 8 912 345-67-89", OLGA)
    message = with_buttons(sent)
    text = message.params["text"]
    assert text.startswith("📞 Звонок 1 из 20 сегодня: <b>Иван Петров</b>, ООО Ромашка")
    assert "Как прошёл?" in text
    labels = [label for label, _ in buttons(message)]
    assert "— Не дозвонились —" in labels and "Не отвечает" in labels
    assert "«Перезвоните»" in labels and "🎾 Договорились о шаге" in labels
    assert await bot.rows("SELECT name, phone FROM contacts WHERE owner_id = ?", OLGA.id) == [
        ("Иван Петров", "+79123456789")
    ]


async def test_the_same_contact_is_found_again_by_name_ignoring_case(bot: BotHarness) -> None:
    await log_call(bot, "/call Ivan Petrov, Romashka LLC")
    sent = await bot.send("/call  IVAN   petrov  +7 912 345-67-89", IVAN)
    assert "Call 2 of 20 today: <b>Ivan Petrov</b>, Romashka LLC" in last_text(sent)
    assert await bot.rows("SELECT name, company, phone FROM contacts") == [
        ("Ivan Petrov", "Romashka LLC", "+79123456789")
    ]
    assert await bot.rows("SELECT count(*), count(DISTINCT contact_id) FROM calls") == [(2, 1)]


async def test_contacts_are_per_rep(bot: BotHarness) -> None:
    await log_call(bot, "/call Ivan Petrov", IVAN)
    await log_call(bot, "/call Ivan Petrov", OLGA)
    rows = await bot.rows("SELECT owner_id FROM contacts ORDER BY owner_id")
    assert rows == [(IVAN.id,), (OLGA.id,)]


@pytest.mark.parametrize(
    "phone", ["8 912 345-67-89", "+7 (912) 345 67 89", "+79123456789", "89123456789"]
)
async def test_phones_are_stored_in_e164(bot: BotHarness, phone: str) -> None:
    await log_call(bot, f"/call Ivan {phone}")
    assert await bot.rows("SELECT name, phone FROM contacts") == [("Ivan", "+79123456789")]


async def test_only_a_phone_names_the_contact_by_it(bot: BotHarness) -> None:
    sent = await bot.send("/call +7 (912) 345 67 89", IVAN)
    assert "<b>+7 912 345-67-89</b>" in last_text(sent)
    assert await bot.rows("SELECT name, phone FROM contacts") == [
        ("+7 912 345-67-89", "+79123456789")
    ]


async def test_a_note_is_stored_on_the_call_and_shown(bot: BotHarness) -> None:
    sent = await bot.send("/call Ivan; asked to call after lunch", IVAN)
    assert "📝 asked to call after lunch" in last_text(sent)
    assert await bot.rows("SELECT note FROM calls") == [("asked to call after lunch",)]


async def test_call_command_addressed_to_the_bot(bot: BotHarness) -> None:
    await log_call(bot, "/call@ballback_test_bot Ivan")
    assert await bot.rows("SELECT name FROM contacts") == [("Ivan",)]


# -- outcomes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "label"),
    [("th", "“I'll think”"), ("bo", "“Ask my boss”"), ("si", "“Send info”")],
)
async def test_a_polite_no_is_recorded_and_is_not_a_ball(
    bot: BotHarness, code: str, label: str
) -> None:
    call_id, message_id = await log_call(bot)
    sent = await tap_outcome(bot, call_id, message_id, code)
    (edit,) = edits(sent)
    assert edit.params["message_id"] == message_id
    assert edit.params["text"] == (
        f"📞 <b>Ivan Petrov</b>: {label}\n"
        "A polite no: not a ball yet. Ivan Petrov stays a prospect."
    )
    assert not has_keyboard(edit)  # the buttons are gone
    assert answers(sent) == [("", False)]
    assert await bot.rows("SELECT outcome FROM calls") == [(code,)]
    assert await bot.rows("SELECT count(*) FROM next_steps") == [(0,)]


async def test_a_polite_no_in_russian(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot, "/call Иван", OLGA)
    sent = await tap_outcome(bot, call_id, message_id, "th", OLGA)
    assert edits(sent)[0].params["text"] == (
        "📞 <b>Иван</b>: «Подумаю»\n"
        "Вежливый отказ — мяч не вернулся. Иван остаётся потенциальным клиентом."
    )


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("na", "Not reached: try again later, the ball is still in your hand."),
        ("bz", "Not reached: try again later, the ball is still in your hand."),
        ("vm", "Not reached: try again later, the ball is still in your hand."),
        ("gk", "Not reached: try again later, the ball is still in your hand."),
        ("wn", "Wrong number: find the right one before the next try."),
        ("ni", "Not interested. On to the next call!"),
    ],
)
async def test_other_outcomes_are_recorded(bot: BotHarness, code: str, line: str) -> None:
    call_id, message_id = await log_call(bot)
    sent = await tap_outcome(bot, call_id, message_id, code)
    (edit,) = edits(sent)
    assert edit.params["text"].endswith("\n" + line)
    assert not has_keyboard(edit)
    assert await bot.rows("SELECT outcome FROM calls") == [(code,)]


async def test_group_heading_explains_the_group(bot: BotHarness) -> None:
    _, message_id = await log_call(bot)
    sent = await bot.tap("g:not_reached", message_id, IVAN)
    assert answers(sent) == [("Nobody to talk to: the ball is still in your hand.", False)]
    assert not edits(sent)
    sent = await bot.tap("g:reached", message_id, OLGA)
    assert answers(sent) == [
        ("Поговорили, но без следующего шага: пока потенциальный клиент.", False)
    ]
    assert await bot.rows("SELECT outcome FROM calls") == [(None,)]


# -- "call me later" -----------------------------------------------------------------------------


async def call_me_later(bot: BotHarness, person: Person = IVAN) -> tuple[int, int]:
    call_id, message_id = await log_call(bot, "/call Ivan Petrov", person)
    sent = await tap_outcome(bot, call_id, message_id, "cl", person)
    (edit,) = edits(sent)
    assert data_of(edit) == [
        f"b:{call_id}:3",
        f"b:{call_id}:7",
        f"b:{call_id}:14",
        f"b:{call_id}:0",
    ]
    return call_id, message_id


async def test_call_me_later_asks_for_a_callback_date(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot)
    sent = await tap_outcome(bot, call_id, message_id, "cl")
    (edit,) = edits(sent)
    assert edit.params["text"] == (
        "📞 <b>Ivan Petrov</b>: “Call me later”\n"
        "A polite no: not a ball yet. Ivan Petrov stays a prospect.\n"
        "When should you call back? Tap a date, type one, or skip."
    )
    assert [label for label, _ in buttons(edit)] == ["In 3 days", "In a week", "In 2 weeks", "Skip"]
    assert await bot.rows("SELECT outcome FROM calls") == [("cl",)]


async def test_callback_button_sets_the_date(bot: BotHarness) -> None:
    call_id, message_id = await call_me_later(bot)
    sent = await bot.tap(f"b:{call_id}:7", message_id, IVAN)
    (edit,) = edits(sent)
    assert edit.params["text"].endswith("\nI'll put Ivan Petrov back on your list on Fri 4 Dec.")
    assert not has_keyboard(edit)
    assert await bot.rows("SELECT callback_at FROM contacts") == [(msk_ts(2026, 12, 4, 9),)]
    assert await bot.rows("SELECT count(*) FROM flows") == [(0,)]


async def test_callback_button_in_russian(bot: BotHarness) -> None:
    call_id, message_id = await call_me_later(bot, OLGA)
    sent = await bot.tap(f"b:{call_id}:3", message_id, OLGA)
    assert (
        edits(sent)[0]
        .params["text"]
        .endswith("\nПерезвон: пн, 30.11. В этот день Ivan Petrov снова появится в вашем списке.")
    )


async def test_callback_skip_sets_no_date(bot: BotHarness) -> None:
    call_id, message_id = await call_me_later(bot)
    sent = await bot.tap(f"b:{call_id}:0", message_id, IVAN)
    assert edits(sent)[0].params["text"].endswith("\nNo call-back date set.")
    assert await bot.rows("SELECT callback_at FROM contacts") == [(None,)]
    assert await bot.rows("SELECT count(*) FROM flows") == [(0,)]


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("10.12", msk_ts(2026, 12, 10, 9), "Thu 10 Dec"),
        ("tomorrow 15:00", msk_ts(2026, 11, 28, 15), "Sat 28 Nov 15:00"),
        ("через неделю", msk_ts(2026, 12, 4, 9), "Fri 4 Dec"),
    ],
)
async def test_callback_date_can_be_typed(
    bot: BotHarness, typed: str, stored: int, shown: str
) -> None:
    _, message_id = await call_me_later(bot)
    sent = await bot.send(typed, IVAN)
    assert last_text(sent) == f"I'll put Ivan Petrov back on your list on {shown}."
    stripped = [r for r in sent if r.method == "editMessageReplyMarkup"]
    assert [r.params["message_id"] for r in stripped] == [message_id]
    assert await bot.rows("SELECT callback_at FROM contacts") == [(stored,)]
    assert await bot.rows("SELECT count(*) FROM flows") == [(0,)]


async def test_bad_typed_callback_dates_keep_the_question_open(bot: BotHarness) -> None:
    await call_me_later(bot)
    sent = await bot.send("some day", IVAN)
    assert last_text(sent).startswith("I couldn't read that date.")
    assert last_text(sent).endswith("Or /cancel to leave the call-back date unset.")
    sent = await bot.send("31.02", IVAN)
    assert last_text(sent).startswith("There is no such date in the calendar.")
    sent = await bot.send("25.11", IVAN)
    assert last_text(sent).startswith("⏪ That moment has already passed")
    assert await bot.rows("SELECT callback_at FROM contacts") == [(None,)]
    sent = await bot.send("/cancel", IVAN)
    assert last_text(sent) == "OK, left that question. Nothing was saved from it."
    assert await bot.rows("SELECT count(*) FROM flows") == [(0,)]
    assert await bot.rows("SELECT outcome FROM calls") == [("cl",)]  # the outcome stays
    sent = await bot.send("10.12", IVAN)
    assert last_text(sent) == t("en", "hint")  # no question is open any more
    assert await bot.rows("SELECT callback_at FROM contacts") == [(None,)]


async def test_a_new_call_closes_the_open_callback_question(bot: BotHarness) -> None:
    call_id, message_id = await call_me_later(bot)
    await log_call(bot, "/call Olga Sidorova")
    sent = await bot.send("10.12", IVAN)
    assert "10 Dec" not in last_text(sent)
    assert await bot.rows("SELECT count(*) FROM contacts WHERE callback_at IS NOT NULL") == [(0,)]
    await bot.tap(f"b:{call_id}:3", message_id, IVAN)  # its buttons still work
    assert await bot.rows("SELECT name FROM contacts WHERE callback_at IS NOT NULL") == [
        ("Ivan Petrov",)
    ]


# -- the picker: /call with no contact -----------------------------------------------------------


async def test_bare_call_without_contacts_explains_usage(bot: BotHarness) -> None:
    sent = await bot.send("/call", IVAN)
    assert last_text(sent).startswith("Tell me who you are calling: <code>/call Ivan Petrov")
    assert await bot.rows("SELECT count(*) FROM calls") == [(0,)]


async def test_bare_call_offers_recent_prospects_and_logs_the_tapped_one(bot: BotHarness) -> None:
    await log_call(bot, "/call Anna")
    bot.clock.advance(timedelta(minutes=5))
    await log_call(bot, "/call <Boris & Co>")
    sent = await bot.send("/call", IVAN)
    picker = with_buttons(sent)
    assert picker.params["text"].startswith("Who are you calling?")
    (anna_id,) = (await bot.rows("SELECT id FROM contacts WHERE name = 'Anna'"))[0]
    assert [label for label, _ in buttons(picker)] == ["<Boris & Co>", "Anna"]
    sent = await bot.tap(f"p:{anna_id}", picker.message_id, IVAN)
    (edit,) = edits(sent)
    assert edit.params["message_id"] == picker.message_id
    assert edit.params["text"].startswith("📞 Call 3 of 20 today: <b>Anna</b>")
    assert any(d.startswith("o:") for d in data_of(edit))
    await bot.tap(f"p:{anna_id}", picker.message_id, IVAN)  # a double tap
    assert await bot.rows("SELECT count(*) FROM calls WHERE contact_id = ?", anna_id) == [
        (2,)
    ]  # the first /call Anna and the tapped one


async def test_picker_in_russian(bot: BotHarness) -> None:
    await log_call(bot, "/call Анна", OLGA)
    sent = await bot.send("/call", OLGA)
    assert last_text(sent).startswith("Кому звоните?")


async def test_picker_leaves_out_clients_and_brings_callbacks_back_on_their_day(
    bot: BotHarness,
) -> None:
    await log_call(bot, "/call Plain Prospect")
    call_id, message_id = await log_call(bot, "/call Later Larry")
    await tap_outcome(bot, call_id, message_id, "cl")
    await bot.tap(f"b:{call_id}:3", message_id, IVAN)
    await bot.send("/nextstep Client Clara; tomorrow 15:00; demo", IVAN)

    labels = [label for label, _ in buttons(with_buttons(await bot.send("/call", IVAN)))]
    assert labels == ["Plain Prospect"]

    bot.clock.advance(timedelta(days=3))  # Monday: Larry's day; Clara's demo has passed
    labels = [label for label, _ in buttons(with_buttons(await bot.send("/call", IVAN)))]
    assert labels == ["⏰ Later Larry", "Client Clara", "Plain Prospect"]

    call_id, message_id = await log_call(bot, "/call Later Larry")
    await tap_outcome(bot, call_id, message_id, "na")  # not reached: still due
    labels = [label for label, _ in buttons(with_buttons(await bot.send("/call", IVAN)))]
    assert labels[0] == "⏰ Later Larry"
    call_id, message_id = await log_call(bot, "/call Later Larry")
    await tap_outcome(bot, call_id, message_id, "th")  # reached: the call-back is settled
    assert await bot.rows("SELECT callback_at FROM contacts WHERE name = 'Later Larry'") == [
        (None,)
    ]
    labels = [label for label, _ in buttons(with_buttons(await bot.send("/call", IVAN)))]
    assert labels[0] == "Later Larry"


# -- a contact shared from the address book ------------------------------------------------------


async def test_shared_contact_starts_a_call(bot: BotHarness) -> None:
    card = {"phone_number": "79123456789", "first_name": "Ivan", "last_name": "Petrov"}
    sent = await bot.send(None, IVAN, contact=card)
    message = with_buttons(sent)
    assert message.params["text"].startswith(
        "📞 Call 1 of 20 today: <b>Ivan Petrov</b>, +7 912 345-67-89"
    )
    assert await bot.rows("SELECT name, phone FROM contacts") == [("Ivan Petrov", "+79123456789")]
    assert await bot.rows("SELECT count(*) FROM calls") == [(1,)]


async def test_shared_contact_matches_a_known_contact_by_phone(bot: BotHarness) -> None:
    await log_call(bot, "/call Ivan Petrov 8 912 345-67-89")
    card = {"phone_number": "+7 912 345 67 89", "first_name": "Ваня"}
    await bot.send(None, IVAN, contact=card)
    assert await bot.rows("SELECT count(*) FROM contacts") == [(1,)]
    assert await bot.rows("SELECT count(*) FROM calls") == [(2,)]


async def test_shared_contact_name_with_punctuation_and_html(bot: BotHarness) -> None:
    card = {"phone_number": "79123456789", "first_name": "<Romashka>, reception; 2nd"}
    sent = await bot.send(None, IVAN, contact=card)
    assert "<b>&lt;Romashka&gt;, reception; 2nd</b>" in last_text(sent)
    assert await bot.rows("SELECT name, company FROM contacts") == [
        ("<Romashka>, reception; 2nd", None)
    ]


async def test_shared_contact_with_a_name_too_long(bot: BotHarness) -> None:
    card = {"phone_number": "79123456789", "first_name": "I" * 64, "last_name": "P" * 64}
    sent = await bot.send(None, OLGA, contact=card)
    assert last_text(sent).startswith("Слишком длинное имя: не больше 100 символов.")
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]


# -- idempotency ---------------------------------------------------------------------------------


async def test_a_redelivered_call_is_stored_once(bot: BotHarness) -> None:
    first = await bot.send("/call Ivan Petrov", IVAN, message_id=777)
    again = await bot.send("/call Ivan Petrov", IVAN, message_id=777)
    assert await bot.rows("SELECT count(*) FROM calls") == [(1,)]
    assert data_of(with_buttons(again)) == data_of(with_buttons(first))
    assert "Call 1 of 20" in last_text(again)


async def test_a_redelivered_call_after_its_outcome_adds_nothing(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot, "/call Ivan Petrov", message_id=778)
    await tap_outcome(bot, call_id, message_id, "na")
    sent = await bot.send("/call Ivan Petrov", IVAN, message_id=778)
    assert last_text(sent) == (
        "This message already logged a call to <b>Ivan Petrov</b>: nothing was added."
    )
    assert await bot.rows("SELECT count(*), max(outcome) FROM calls") == [(1, "na")]


async def test_an_edited_call_command_logs_nothing(bot: BotHarness) -> None:
    await log_call(bot, "/call Ivan Petrov", message_id=779)
    sent = await bot.send("/call Ivan Sidorov", IVAN, message_id=779, edited=True)
    assert last_text(sent) == t("en", "edited")  # the hint, whatever its wording
    assert not any(has_keyboard(r) for r in sent)
    assert await bot.rows("SELECT name FROM contacts") == [("Ivan Petrov",)]
    assert await bot.rows("SELECT count(*) FROM calls") == [(1,)]


async def test_a_double_tapped_outcome_acts_once(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot)
    await tap_outcome(bot, call_id, message_id, "na")
    sent = await tap_outcome(bot, call_id, message_id, "na")
    assert answers(sent) == [("Already saved: No answer.", False)]
    assert not edits(sent)
    assert await bot.rows("SELECT outcome FROM calls") == [("na",)]


async def test_a_double_tapped_call_me_later_keeps_its_date_buttons(bot: BotHarness) -> None:
    call_id, message_id = await call_me_later(bot)
    sent = await tap_outcome(bot, call_id, message_id, "cl")
    assert not edits(sent) and not [r for r in sent if r.method == "editMessageReplyMarkup"]
    assert await bot.rows("SELECT kind FROM flows") == [("cb",)]


async def test_an_old_message_cannot_change_a_saved_outcome(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot)
    await tap_outcome(bot, call_id, message_id, "na")
    sent = await tap_outcome(bot, call_id, message_id, "ni")
    assert answers(sent) == [("Already saved: No answer.", True)]
    assert edits(sent)[0].params["text"].startswith("📞 <b>Ivan Petrov</b>: No answer")
    assert await bot.rows("SELECT outcome FROM calls") == [("na",)]


async def test_a_double_tapped_callback_date_acts_once(bot: BotHarness) -> None:
    call_id, message_id = await call_me_later(bot)
    await bot.tap(f"b:{call_id}:7", message_id, IVAN)
    sent = await bot.tap(f"b:{call_id}:7", message_id, IVAN)
    assert answers(sent) == [("", False)]
    assert await bot.rows("SELECT callback_at FROM contacts") == [(msk_ts(2026, 12, 4, 9),)]


# -- buttons that are not yours, or stale --------------------------------------------------------

NOT_YOURS = ("This button belongs to someone else.", True)
STALE = ("This button is out of date. Start again with /call or /nextstep.", True)


@pytest.mark.parametrize("kind", ["o", "ns", "b", "p"])
async def test_a_button_pressed_by_someone_else_changes_nothing(bot: BotHarness, kind: str) -> None:
    call_id, message_id = await call_me_later(bot)
    (contact_id,) = (await bot.rows("SELECT id FROM contacts"))[0]
    data = {
        "o": f"o:{call_id}:ni",
        "b": f"b:{call_id}:7",
        "p": f"p:{contact_id}",
        "ns": f"o:{call_id}:ns",
    }[kind]
    sent = await bot.tap(data, message_id, OLGA, chat=private_chat(IVAN))
    assert answers(sent) == [("Эта кнопка не ваша.", True)]
    assert [r.method for r in sent] == ["answerCallbackQuery"]
    assert await bot.rows("SELECT outcome FROM calls") == [("cl",)]
    assert await bot.rows("SELECT callback_at FROM contacts") == [(None,)]
    assert await bot.rows("SELECT count(*) FROM calls") == [(1,)]


async def test_someone_elses_call_id_in_ones_own_chat_is_refused(bot: BotHarness) -> None:
    call_id, _ = await log_call(bot)
    sent = await bot.tap(f"o:{call_id}:ni", 12345, OLGA)
    assert answers(sent) == [("Эта кнопка не ваша.", True)]
    sent = await bot.tap(f"b:{call_id}:3", 12345, OLGA)
    assert answers(sent) == [("Эта кнопка не ваша.", True)]
    assert await bot.rows("SELECT outcome FROM calls") == [(None,)]


@pytest.mark.parametrize(
    "data",
    [
        "o:999999:na",
        "o:1:zz",
        "b:999999:3",
        "b:1:5",  # not a day that was offered
        "b:1:999",
        "p:999999",
        "o:99999999999999999999:na",  # too long to be an id
        "x:1",
    ],
)
async def test_stale_or_forged_buttons_get_a_friendly_alert(bot: BotHarness, data: str) -> None:
    await call_me_later(bot)  # call 1, "call me later"
    sent = await bot.tap(data, 4242, IVAN)
    assert answers(sent) == [STALE]
    assert [r.method for r in sent] == ["answerCallbackQuery"]
    assert await bot.rows("SELECT outcome FROM calls") == [("cl",)]
    assert await bot.rows("SELECT callback_at FROM contacts") == [(None,)]


async def test_callback_buttons_of_a_call_that_is_no_longer_call_me_later(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot)
    await tap_outcome(bot, call_id, message_id, "na")
    sent = await bot.tap(f"b:{call_id}:3", message_id, IVAN)
    assert answers(sent) == [STALE]
    assert await bot.rows("SELECT callback_at FROM contacts") == [(None,)]


async def test_buttons_of_an_undone_call_are_stale(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot)
    confirm = with_buttons(await bot.send("/undo", IVAN))
    undo = next(d for d in data_of(confirm) if d.startswith("u:c:"))
    await bot.tap(undo, confirm.message_id, IVAN)
    assert await bot.rows("SELECT count(*) FROM calls") == [(0,)]
    sent = await tap_outcome(bot, call_id, message_id, "na")
    assert answers(sent) == [STALE]
    sent = await tap_outcome(bot, call_id, message_id, "ns")
    assert answers(sent) == [STALE]
    assert await bot.rows("SELECT count(*) FROM flows") == [(0,)]


# -- bad input -----------------------------------------------------------------------------------

USAGE = "Tell me who you are calling: <code>/call Ivan Petrov, Romashka LLC"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("/call ; only a note", "The contact's name is missing."),
        ("/call , Romashka LLC", "The contact's name is missing."),
        ("/call " + "N" * 101, "That name is too long: 100 characters at most."),
        ("/call Ivan, " + "C" * 101, "That company name is too long: 100 characters at most."),
        ("/call Ivan; " + "n" * 1001, "That note is too long: 1000 characters at most."),
    ],
)
async def test_bad_contacts_get_a_clear_reply_and_store_nothing(
    bot: BotHarness, text: str, error: str
) -> None:
    sent = await bot.send(text, IVAN)
    reply = last_text(sent)
    assert reply.startswith(error + "\n\n" + USAGE)
    assert not any(has_keyboard(r) for r in sent)
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]
    assert await bot.rows("SELECT count(*) FROM calls") == [(0,)]


async def test_limits_are_inclusive(bot: BotHarness) -> None:
    await log_call(bot, "/call " + "N" * 100 + ", " + "C" * 100 + "; " + "n" * 1000)
    assert await bot.rows("SELECT length(name), length(company) FROM contacts") == [(100, 100)]
    assert await bot.rows("SELECT length(note) FROM calls") == [(1000,)]


async def test_bad_contact_in_russian(bot: BotHarness) -> None:
    sent = await bot.send("/call ; заметка", OLGA)
    assert last_text(sent).startswith("Не указано имя контакта.\n\nНапишите, кому звоните:")


# -- HTML and emoji ------------------------------------------------------------------------------


async def test_html_and_emoji_are_escaped_in_replies_and_stored_as_typed(bot: BotHarness) -> None:
    call_id, message_id = await log_call(bot, "/call <Ivan & Co> 🚀, A&B <Ltd>; <b>note</b>")
    logged = last_text(bot.sent("sendMessage"))
    assert "<b>&lt;Ivan &amp; Co&gt; 🚀</b>, A&amp;B &lt;Ltd&gt;" in logged
    assert "📝 &lt;b&gt;note&lt;/b&gt;" in logged
    sent = await tap_outcome(bot, call_id, message_id, "th")
    assert edits(sent)[0].params["text"] == (
        "📞 <b>&lt;Ivan &amp; Co&gt; 🚀</b>: “I'll think”\n"
        "A polite no: not a ball yet. &lt;Ivan &amp; Co&gt; 🚀 stays a prospect."
    )
    assert await bot.rows("SELECT name, company FROM contacts") == [("<Ivan & Co> 🚀", "A&B <Ltd>")]
    assert await bot.rows("SELECT note FROM calls") == [("<b>note</b>",)]
