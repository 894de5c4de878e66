"""Ballback's sends that leave Telegram's answer unparsed go out exactly as PTB's own do."""

from __future__ import annotations

from telegram.error import BadRequest

from bot.telegram_bot import BallbackBot
from handlers.calls import outcome_keyboard
from handlers.common import keyboard
from tests.conftest import BotHarness


def bot_of(harness: BotHarness) -> BallbackBot:
    bot = harness.app.bot
    assert isinstance(bot, BallbackBot)
    return bot


async def test_send_text_sends_what_send_message_sends(bot: BotHarness) -> None:
    ballback = bot_of(bot)
    text = "📞 <b>Ivan &amp; Co</b>"
    for markup in (None, outcome_keyboard("ru", 12), keyboard([])):
        await ballback.send_message(111, text, reply_markup=markup)
        assert await ballback.send_text(111, text, markup) is None
        ptb, ours = bot.sent("sendMessage")[-2:]
        assert ours.params == ptb.params
        assert (ours.content_type, ours.status) == (ptb.content_type, 200)
    assert ptb.params["parse_mode"] == "HTML"  # the Defaults are in
    assert ptb.params["link_preview_options"] == {"is_disabled": True}


async def test_edit_text_sends_what_edit_message_text_sends(bot: BotHarness) -> None:
    ballback = bot_of(bot)
    for markup in (None, outcome_keyboard("en", 7)):
        await ballback.edit_message_text("Done <i>x</i>", 111, 42, reply_markup=markup)
        await ballback.edit_text(111, 42, "Done <i>x</i>", markup)
        ptb, ours = bot.sent("editMessageText")[-2:]
        assert ours.params == ptb.params


async def test_errors_are_raised_the_same_way(bot: BotHarness) -> None:
    ballback = bot_of(bot)
    for send in (
        lambda: ballback.send_message(111, "x"),
        lambda: ballback.send_text(111, "x"),
    ):
        bot.api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
        try:
            await send()
        except BadRequest as exc:
            assert "chat not found" in str(exc).lower()
        else:
            raise AssertionError("no BadRequest")
