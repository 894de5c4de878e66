"""PlainKeyboard sends exactly what python-telegram-bot's own keyboard objects would."""

from __future__ import annotations

import json

import pytest
from telegram.request._requestparameter import RequestParameter

from handlers.common import PlainKeyboard, button, keyboard
from tests.conftest import IVAN, BotHarness, buttons, with_buttons

ROWS = [[("🎾 Next Step agreed", "o:7:ns")], [("No answer", "o:7:na"), ("<Busy> & co", "o:7:bz")]]


def test_same_bot_api_form_as_ptb_objects() -> None:
    ptb = keyboard([[button(text, data) for text, data in row] for row in ROWS])
    plain = PlainKeyboard(ROWS)
    assert plain.to_dict() == ptb.to_dict()
    sent_plain = RequestParameter.from_input("reply_markup", plain).json_value
    sent_ptb = RequestParameter.from_input("reply_markup", ptb).json_value
    assert sent_plain is not None and sent_ptb is not None
    assert json.loads(sent_plain) == json.loads(sent_ptb)


def test_empty_rows_dropped_and_long_data_refused() -> None:
    assert PlainKeyboard([[], *ROWS]).to_dict() == PlainKeyboard(ROWS).to_dict()
    with pytest.raises(ValueError, match="64 bytes"):
        PlainKeyboard([[("x", "o:" + "я" * 32)]])


async def test_outcome_buttons_reach_telegram_and_work(bot: BotHarness) -> None:
    sent = await bot.send("/call Anna", IVAN)
    pairs = buttons(with_buttons(sent))
    assert len(pairs) == 14  # eleven outcomes under three group headings
    na = next(data for label, data in pairs if label == "No answer")
    tapped = await bot.tap(na, with_buttons(sent).message_id, IVAN)
    assert sorted(r.method for r in tapped) == ["answerCallbackQuery", "editMessageText"]
    assert await bot.rows("SELECT outcome FROM calls") == [("na",)]


async def test_a_refused_answer_does_not_stop_the_edit(bot: BotHarness) -> None:
    sent = await bot.send("/call Boris", IVAN)
    busy = next(data for label, data in buttons(with_buttons(sent)) if label == "Busy")
    bot.api.fail_next(
        "answerCallbackQuery",
        status=400,
        description="Bad Request: query is too old and response timeout expired",
    )
    tapped = await bot.tap(busy, with_buttons(sent).message_id, IVAN)
    (edit,) = [r for r in tapped if r.method == "editMessageText"]
    assert "Busy" in edit.params["text"]
    assert [r.status for r in tapped if r.method == "answerCallbackQuery"] == [400]
    assert await bot.rows("SELECT outcome FROM calls") == [("bz",)]
