"""The last line of defence: log with context (never the token), tell the user, go on."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.app import BallbackContext
from bot.locales import pick_lang, t

log = logging.getLogger("ballback.errors")


def describe(update: object) -> str:
    if not isinstance(update, Update):
        return "no update"
    parts = [f"update={update.update_id}"]
    if update.effective_user:
        parts.append(f"user={update.effective_user.id}")
    if update.effective_chat:
        parts.append(f"chat={update.effective_chat.id}")
    if update.callback_query and update.callback_query.data:
        parts.append(f"button={update.callback_query.data!r}")
    elif update.effective_message and update.effective_message.text:
        parts.append(f"text={update.effective_message.text[:40]!r}")
    return " ".join(parts)


async def on_error(update: object, context: BallbackContext) -> None:
    error = context.error
    if isinstance(error, Forbidden):
        log.warning("forbidden (%s): %s", describe(update), error)
        return
    if isinstance(error, NetworkError):
        log.warning("network error (%s): %s", describe(update), error)
    else:
        log.error("handler failed (%s)", describe(update), exc_info=error)
    if not isinstance(update, Update):
        return
    user = update.effective_user
    text = t(pick_lang(user.language_code if user else None), "error")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except TelegramError as exc:
        log.warning("could not tell the user about the error (%s): %s", describe(update), exc)
