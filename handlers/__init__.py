"""Telegram-facing code. :func:`register` wires every handler, in the order they are tried."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.app import BallbackApp, BallbackContext
from bot.locales import LANGS, Lang, pick_lang, t

log = logging.getLogger(__name__)

# The "/" menu of a private chat, in this order; each has a ``cmd.<name>`` catalog entry.
PRIVATE_COMMANDS = (
    "call",
    "nextstep",
    "today",
    "pipeline",
    "contact",
    "list",
    "import",
    "export",
    "nudges",
    "away",
    "undo",
    "cancel",
    "help",
    "start",
    "forget",
)
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
    from handlers import (
        calls,
        errors,
        nextsteps,
        pipeline,
        reports,
        rhythm,
        start,
        team,
        today,
        transfer,
    )

    team.register_first(app)  # group /start and /help (the private ones answer anywhere)
    start.register_first(app)  # edited messages, group guard, /start, /help
    calls.register(app)  # /call, shared contacts, outcome and call-back buttons
    nextsteps.register(app)  # /nextstep, its flow buttons, /cancel
    today.register(app)  # /today, /undo
    team.register(app)  # bot added/removed, migration, /setup /join /leave /settings /set
    reports.register(app)  # /summary, /leaderboard in the group
    pipeline.register(app)  # /pipeline, /contact, the contact card's buttons, /list
    transfer.register(app)  # contacts imported from a .csv/.xlsx file, /export, /forget
    rhythm.register(app)  # /nudges, /away, snooze and "did it happen?" buttons; group 1: opened
    start.register_last(app)  # unknown commands, free text (flow answers or a hint), the rest
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_error_handler(errors.on_error)


def menu(lang: Lang) -> list[BotCommand]:
    names = (*PRIVATE_COMMANDS, *TEAM_PRIVATE_COMMANDS)
    return [BotCommand(name, t(lang, f"cmd.{name}")) for name in names]


def group_menu(lang: Lang) -> list[BotCommand]:
    return [BotCommand(name, t(lang, f"gcmd.{name}")) for name in GROUP_COMMANDS]


async def set_commands(app: BallbackApp) -> None:
    """The "/" menus of private and group chats: Russian and English, English for the rest."""
    targets: list[tuple[Lang, str | None]] = [(lang, lang) for lang in LANGS]
    targets.append(("en", None))
    for lang, language_code in targets:
        for commands, scope in (
            (menu(lang), BotCommandScopeAllPrivateChats()),
            (group_menu(lang), BotCommandScopeAllGroupChats()),
        ):
            try:
                await app.bot.set_my_commands(commands, scope=scope, language_code=language_code)
            except TelegramError as exc:
                log.warning("could not set the command menu (%s): %s", language_code, exc)
