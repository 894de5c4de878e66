"""Telegram-facing code. :func:`register` wires every handler, in the order they are tried."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.app import BallbackApp, BallbackContext
from bot.locales import LANGS, pick_lang, t

PRIVATE_COMMANDS = (
    "call",
    "nextstep",
    "today",
    "pipeline",
    "contact",
    "list",
    "export",
    "undo",
    "cancel",
    "help",
    "start",
    "forget",
)


async def stale_button(update: Update, context: BallbackContext) -> None:
    """A button whose data no handler recognises: an old message or a forged payload."""
    query = update.callback_query
    assert query is not None
    user = update.effective_user
    lang = pick_lang(user.language_code if user else None)
    await query.answer(t(lang, "button.stale"), show_alert=True)


def register(app: BallbackApp) -> None:
    from handlers import calls, errors, nextsteps, pipeline, start, today, transfer

    start.register_first(app)  # edited commands, group guard, /start, /help
    calls.register(app)  # /call, shared contacts, outcome and call-back buttons
    nextsteps.register(app)  # /nextstep, its flow buttons, /cancel
    today.register(app)  # /today, /undo
    pipeline.register(app)  # /pipeline, /contact, the contact card's buttons, /list
    transfer.register(app)  # contacts imported from a .csv/.xlsx file, /export, /forget
    start.register_last(app)  # unknown commands, free text (flow answers or a hint)
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_error_handler(errors.on_error)


async def set_commands(app: BallbackApp) -> None:
    """The "/" menu on the phone, in each language."""
    import logging

    for lang in LANGS:
        commands = [BotCommand(name, t(lang, f"cmd.{name}")) for name in PRIVATE_COMMANDS]
        try:
            await app.bot.set_my_commands(
                commands,
                scope=BotCommandScopeAllPrivateChats(),
                language_code=None if lang == "en" else lang,
            )
        except TelegramError as exc:
            logging.getLogger(__name__).warning("could not set the command menu: %s", exc)
