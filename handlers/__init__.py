"""Telegram-facing code. :func:`register` wires every handler, in the order they are tried."""

from __future__ import annotations

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.app import BallbackApp, BallbackContext
from bot.locales import LANGS, pick_lang, t

PRIVATE_COMMANDS = ("call", "nextstep", "today", "undo", "cancel", "help", "start")
TEAM_PRIVATE_COMMANDS = ("settings", "set")  # a rep's own time zone and calling block
GROUP_COMMANDS = ("summary", "leaderboard", "join", "leave", "settings", "set", "setup", "help")


async def stale_button(update: Update, context: BallbackContext) -> None:
    """A button whose data no handler recognises: an old message or a forged payload."""
    query = update.callback_query
    assert query is not None
    user = update.effective_user
    lang = pick_lang(user.language_code if user else None)
    await query.answer(t(lang, "button.stale"), show_alert=True)


def register(app: BallbackApp) -> None:
    from handlers import calls, errors, nextsteps, reports, start, team, today

    team.register_first(app)  # group /start and /help (the private ones answer anywhere)
    start.register_first(app)  # edited commands, group guard, /start, /help
    calls.register(app)  # /call, shared contacts, outcome and call-back buttons
    nextsteps.register(app)  # /nextstep, its flow buttons, /cancel
    today.register(app)  # /today, /undo
    team.register(app)  # bot added/removed, migration, /setup /join /leave /settings /set
    reports.register(app)  # /summary, /leaderboard in the group
    start.register_last(app)  # unknown commands, free text (flow answers or a hint)
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_error_handler(errors.on_error)


async def set_commands(app: BallbackApp) -> None:
    """The "/" menu on the phone, in each language."""
    import logging

    for lang in LANGS:
        commands = [
            BotCommand(name, t(lang, f"cmd.{name}"))
            for name in (*PRIVATE_COMMANDS, *TEAM_PRIVATE_COMMANDS)
        ]
        try:
            await app.bot.set_my_commands(
                commands,
                scope=BotCommandScopeAllPrivateChats(),
                language_code=None if lang == "en" else lang,
            )
        except TelegramError as exc:
            logging.getLogger(__name__).warning("could not set the command menu: %s", exc)
        group_commands = [BotCommand(name, t(lang, f"gcmd.{name}")) for name in GROUP_COMMANDS]
        try:
            await app.bot.set_my_commands(
                group_commands,
                scope=BotCommandScopeAllGroupChats(),
                language_code=None if lang == "en" else lang,
            )
        except TelegramError as exc:
            logging.getLogger(__name__).warning("could not set the group command menu: %s", exc)
