"""Welcome, help, and the replies that keep a rep from ever talking into silence."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.locales import Html, t
from handlers.common import actor, lang_of, reply, text_for

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
# Commands that handle prospects' details: never run in a group.
PRIVATE_ONLY: tuple[str, ...] = ("call", "nextstep", "today", "undo", "cancel")
# ... and the pipeline's: contacts, the call sheet, files with everything, deleting a user.
PRIVATE_ONLY += ("pipeline", "contact", "list", "export", "forget")


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


async def help_command(update: Update, context: BallbackContext) -> None:
    sections = ("help", "help.pipeline", "help.transfer")
    await reply(update, "\n\n".join(text_for(update, key) for key in sections))


async def unknown_command(update: Update, context: BallbackContext) -> None:
    await reply(update, text_for(update, "unknown"))


async def edited_command(update: Update, context: BallbackContext) -> None:
    await reply(update, text_for(update, "edited"))


async def private_only(update: Update, context: BallbackContext) -> None:
    """A private-only command in a group: point to the private chat, run nothing."""
    link = f"https://t.me/{context.bot.username}?start=go"
    anchor = Html(f'<a href="{link}">{t(lang_of(update), "private_only.link")}</a>')
    await reply(update, t(lang_of(update), "private_only", link=anchor))


async def plain_text(update: Update, context: BallbackContext) -> None:
    """Text outside a command: an answer to an open question, or a hint."""
    from handlers.calls import FLOW_CALLBACK, callback_typed
    from handlers.nextsteps import FLOW, flow_text, live_flow
    from handlers.pipeline import FLOW_EDIT, edit_typed

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
    else:
        await reply(update, t(who.lang, "hint"))


def register_first(app: BallbackApp) -> None:
    """Handlers that must be looked at before the feature handlers."""
    app.add_handlers(
        [
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.COMMAND, edited_command),
            CommandHandler(
                list(PRIVATE_ONLY),
                private_only,
                filters=filters.ChatType.GROUPS & filters.UpdateType.MESSAGE,
            ),
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
        ]
    )
