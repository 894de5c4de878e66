"""Welcome, help, and the replies that keep a rep from ever talking into silence."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.locales import Html, t
from handlers import PRIVATE_COMMANDS
from handlers.common import GROUPS, PRIVATE, actor, deep_link, reply

# Commands that handle prospects' details or a rep's own numbers: never run in a group.
PRIVATE_ONLY = tuple(name for name in PRIVATE_COMMANDS if name != "help")


async def start(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    await context.services.store.register_user(who.user, who.now)
    await reply(
        update,
        t(
            who.lang,
            "start",
            name=who.user.first_name,
            cycle=who.rules.cycle_days,
            quota=who.rules.quota,
        ),
    )


async def answer(update: Update, context: BallbackContext, *keys: str) -> None:
    """Reply with catalog texts in the rep's language (their team's choice, else Telegram's)."""
    lang = (await actor(update, context)).lang
    await reply(update, "\n\n".join(t(lang, key) for key in keys))


async def help_command(update: Update, context: BallbackContext) -> None:
    await answer(
        update, context, "help", "help.personal", "help.pipeline", "help.rhythm", "help.transfer"
    )


async def unknown_command(update: Update, context: BallbackContext) -> None:
    await answer(update, context, "unknown")


async def edited_message(update: Update, context: BallbackContext) -> None:
    """An edit acts on nothing (the original was handled already): say so, store nothing."""
    await answer(update, context, "edited")


async def private_only(update: Update, context: BallbackContext) -> None:
    """A private-only command in a group: point to the private chat, run and echo nothing."""
    message = update.effective_message
    assert message is not None
    command = (message.text or "/").split()[0][1:].split("@")[0].lower()
    lang = (await actor(update, context)).lang
    link = deep_link(context.bot.username, command if command in PRIVATE_ONLY else "start")
    anchor = Html(f'<a href="{link}">{t(lang, "private_only.link")}</a>')
    await reply(update, t(lang, "private_only", link=anchor))


async def plain_text(update: Update, context: BallbackContext) -> None:
    """Text outside a command: an answer to an open question, or a hint."""
    from handlers.calls import FLOW_CALLBACK, callback_typed
    from handlers.nextsteps import FLOW, flow_text, live_flow
    from handlers.pipeline import FLOW_EDIT, edit_typed
    from handlers.transfer import FLOW_COLUMNS

    message = update.effective_message
    assert message is not None
    who = await actor(update, context)
    flow = live_flow(await context.services.store.get_flow(who.id), who)
    text = message.text or ""
    if flow is not None and flow.kind == FLOW:
        await flow_text(update, context, who, flow, text)
    elif flow is not None and flow.kind == FLOW_CALLBACK:
        await callback_typed(update, context, who, int(flow.data["contact_id"]), text)
    elif flow is not None and flow.kind == FLOW_EDIT:
        await edit_typed(update, context, who, flow, text)
    elif flow is not None and flow.kind == FLOW_COLUMNS:  # answered with buttons only
        file = str(flow.data.get("file", ""))
        await reply(update, t(who.lang, "import.map.typed", file=file))
    else:
        await reply(update, t(who.lang, "hint"))


async def not_text(update: Update, context: BallbackContext) -> None:
    """A sticker, photo, voice note...: nothing to log, but never silence."""
    await answer(update, context, "hint")


def register_first(app: BallbackApp) -> None:
    """Handlers that must be looked at before the feature handlers."""
    app.add_handlers(
        [
            # An edited message must not act twice (PTB would run a command again).
            MessageHandler(
                filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE, edited_message
            ),
            CommandHandler(list(PRIVATE_ONLY), private_only, filters=GROUPS),
            CommandHandler("start", start, filters=PRIVATE),
            CommandHandler("help", help_command, filters=filters.UpdateType.MESSAGE),
        ]
    )


def register_last(app: BallbackApp) -> None:
    """Catch-alls: anything the feature handlers did not take."""
    app.add_handlers(
        [
            MessageHandler(filters.COMMAND & PRIVATE, unknown_command),
            MessageHandler(filters.TEXT & PRIVATE, plain_text),
            MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, not_text),
        ]
    )
