"""The last line of defence: log with context (never the token), tell the user, go on."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.app import BallbackContext
from bot.inbox import transient
from bot.locales import pick_lang, t
from storage import effects

log = logging.getLogger("ballback.errors")


def describe(update: object) -> str:
    """Which update failed, for the log: ids and the command, never what the rep typed."""
    if not isinstance(update, Update):
        return "no update"
    parts = [f"update={update.update_id}"]
    if update.effective_user:
        parts.append(f"user={update.effective_user.id}")
    if update.effective_chat:
        parts.append(f"chat={update.effective_chat.id}")
    message = update.effective_message
    if update.callback_query and update.callback_query.data:
        parts.append(f"button={update.callback_query.data[:64]!r}")
    elif message is not None and message.text and message.text.startswith("/"):
        parts.append(f"command={message.text.split()[0][:40]!r}")
    elif message is not None:
        parts.append(f"message={message.message_id}")
    return " ".join(parts)


async def on_error(update: object, context: BallbackContext) -> None:
    error = context.error
    scope = effects.CURRENT.get()
    if scope is not None and error is not None and transient(error):
        # The reply did not get through: the inbox handles the update again after a pause
        # (nothing is written twice) and tells the user only if that fails too.
        log.warning("will retry (%s): %r", describe(update), error)
        scope.failed(error)
        return
    if isinstance(error, Forbidden):  # blocked by the user, removed from the group: final
        log.warning("forbidden (%s): %s", describe(update), error)
        return
    if isinstance(error, RetryAfter):  # flood control: a reply now would be refused too
        log.warning("rate limited (%s): %s", describe(update), error)
        return
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        log.warning("network error (%s): %s", describe(update), error)
    else:  # a bug: our code failed, or sent something Telegram refused
        log.error("handler failed (%s)", describe(update), exc_info=error)
    if not isinstance(update, Update):
        return
    user = update.effective_user
    text = t(pick_lang(user.language_code if user else None), "error")
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(text, show_alert=True)
            return
        except TelegramError:  # answered already: say it in the chat instead
            pass
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await context.bot.send_message(chat.id, text)
    except TelegramError as exc:
        log.warning("could not tell the user about the error (%s): %s", describe(update), exc)
