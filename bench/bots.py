"""The empty bots Ballback is measured against: ``python -m bench.bots ptb|aiogram BASE_URL``.

Each does exactly the round trips Ballback does and nothing else: ``/call`` is answered with a
message of the same shape and the same eleven outcome buttons; a button press is answered
(``answerCallbackQuery``) and the message edited. No storage, no logic.

* ``ptb``: python-telegram-bot with its default transport (httpx), updates one by one, as
  ``Application.builder()`` gives it.
* ``ptb-aiohttp``: the same with Ballback's aiohttp transport (:mod:`bot.transport`): the floor
  Ballback itself stands on.
* ``aiogram``: aiogram 3 with its default aiohttp session, long polling, default settings.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from bench.common import TOKEN

TEXT = "📞 Call 1 of 20 today: <b>{name}</b>\nHow did it go?"
EDIT = "📞 <b>Client</b>: No answer\nNot reached: try again later, the ball is still in your hand."
ROWS = (("ns",), ("na", "bz", "vm"), ("gk", "wn"), ("th", "cl"), ("bo", "si"), ("ni",))
LABELS = {
    "ns": "🎾 Next Step agreed",
    "na": "No answer",
    "bz": "Busy",
    "vm": "Voicemail",
    "gk": "Gatekeeper",
    "wn": "Wrong number",
    "th": "“I'll think”",
    "cl": "“Call me later”",
    "bo": "“Ask my boss”",
    "si": "“Send info”",
    "ni": "Not interested",
}


def rows(call_id: int) -> list[list[tuple[str, str]]]:
    return [[(LABELS[code], f"o:{call_id}:{code}") for code in row] for row in ROWS]


def run_ptb(base_url: str, transport: str = "httpx") -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
    from telegram.constants import ParseMode
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler, Defaults

    counter = iter(range(1, 10**9))

    async def call(update: Update, context: Any) -> None:
        assert update.message is not None
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(t, callback_data=d) for t, d in row]
                for row in rows(next(counter))
            ]
        )
        name = update.message.text.partition(" ")[2] if update.message.text else ""
        await update.message.reply_text(TEXT.format(name=name), reply_markup=markup)

    async def tap(update: Update, context: Any) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(EDIT)

    builder = (
        Application.builder()
        .token(TOKEN)
        .base_url(base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
    )
    if transport == "aiohttp":
        from bot.transport import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest())
    app = builder.build()
    app.add_handler(CommandHandler("call", call))
    app.add_handler(CallbackQueryHandler(tap))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


def run_aiogram(base_url: str) -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.filters import Command
    from aiogram.types import (
        CallbackQuery,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        Message,
    )

    counter = iter(range(1, 10**9))
    server = base_url.removesuffix("/bot")  # aiogram adds /bot{token}/{method} itself
    bot = Bot(
        TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(server)),
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True),
    )
    dispatcher = Dispatcher()

    @dispatcher.message(Command("call"))
    async def call(message: Message) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=t, callback_data=d) for t, d in row]
                for row in rows(next(counter))
            ]
        )
        name = (message.text or "").partition(" ")[2]
        await message.answer(TEXT.format(name=name), reply_markup=markup)

    @dispatcher.callback_query()
    async def tap(query: CallbackQuery) -> None:
        await query.answer()
        assert query.message is not None
        await query.message.edit_text(EDIT)  # type: ignore[union-attr]

    asyncio.run(dispatcher.start_polling(bot))


def main() -> None:
    kind, base_url = sys.argv[1], sys.argv[2]
    if kind == "ptb":
        run_ptb(base_url)
    elif kind == "ptb-aiohttp":
        run_ptb(base_url, "aiohttp")
    elif kind == "aiogram":
        run_aiogram(base_url)
    else:
        raise SystemExit(f"unknown bot {kind!r}: ptb or aiogram")


if __name__ == "__main__":
    main()
