"""Ballback's ``Bot``: python-telegram-bot's ``ExtBot``, plus sends whose answer is not read.

Telegram answers ``sendMessage`` and ``editMessageText`` with the whole message, buttons
included, and python-telegram-bot turns it into a ``Message`` (``Message.de_json``: 0.1-0.2 ms
of CPU for a message with the eleven outcome buttons, about a fifth of all the CPU an update
costs). The hot path's replies never look at that answer, so :meth:`BallbackBot.send_text` and
:meth:`BallbackBot.edit_text` send the very same request (the same parameters, the same
``Defaults`` inserted, the same errors raised) and leave the answer as JSON.
``tests/test_telegram_bot.py`` checks the requests are byte for byte those of ``send_message``
and ``edit_message_text``.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram.ext import ExtBot

__all__ = ["BallbackBot"]


class BallbackBot(ExtBot[None]):
    async def send_text(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """``send_message(chat_id, text, reply_markup=...)``, the answer not parsed."""
        await self._post(
            "sendMessage",
            {
                "chat_id": chat_id,
                "text": text,
                "parse_mode": DEFAULT_NONE,
                "link_preview_options": DEFAULT_NONE,
                "reply_markup": reply_markup,
            },
        )

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """``edit_message_text(text, chat_id, message_id, reply_markup=...)``, the answer not
        parsed."""
        await self._post(
            "editMessageText",
            {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "parse_mode": DEFAULT_NONE,
                "link_preview_options": DEFAULT_NONE,
                "reply_markup": reply_markup,
            },
        )
