"""The rep's own day: ``/today`` and ``/undo``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.app import BallbackApp, BallbackContext
from bot.domain.outcomes import POLITE_NOS, Outcome
from bot.domain.rules import UNDO_WINDOW, calls_per_ball
from bot.locales import Html, Lang, format_day, t
from handlers.common import PRIVATE, Actor, actor, button, keyboard, replaying, reply
from storage.repo import UndoResult

BAR_CELLS = 10
# u:c:12 removes call 12, u:s:7 Next Step 7; u:k:c:12 keeps it.
UNDO_DATA = re.compile(r"u:(k:)?([cs]):(\d+)")


def progress_bar(done: int, goal: int) -> str:
    filled = min(BAR_CELLS, done * BAR_CELLS // goal) if goal > 0 else BAR_CELLS
    return "▓" * filled + "░" * (BAR_CELLS - filled)


def format_ratio(lang: Lang, ratio: float) -> str:
    text = f"{ratio:g}"
    return text.replace(".", ",") if lang == "ru" else text


async def render_today(context: BallbackContext, who: Actor) -> str:
    store = context.services.store
    day = who.today
    start, end = who.rules.day_bounds(day)
    stats = await store.day_stats(who.id, start, end, (o.value for o in POLITE_NOS))
    steps = await store.next_steps_due(who.id, start, end)
    ratio = calls_per_ball(stats.calls, stats.balls)
    lines = [
        t(
            who.lang,
            "today",
            day=Html(format_day(who.lang, day)),
            calls=stats.calls,
            quota=who.rules.quota,
            bar=progress_bar(stats.calls, who.rules.quota),
            balls=stats.balls,
            ratio=t(who.lang, "today.no_ratio") if ratio is None else format_ratio(who.lang, ratio),
            polite=stats.polite_nos,
        )
    ]
    if stats.open_calls:
        lines.append(t(who.lang, "today.open", n=stats.open_calls))
    if stats.calls >= who.rules.quota:
        lines.append(t(who.lang, "today.quota_met"))
    else:
        lines.append(t(who.lang, "today.left", n=who.rules.quota - stats.calls))
    if steps:
        lines.append(t(who.lang, "today.steps"))
        for step in steps:
            company = f", {step.contact_company}" if step.contact_company else ""
            lines.append(
                t(
                    who.lang,
                    "today.step",
                    time=f"{who.rules.local(step.due_at):%H:%M}",
                    action=step.action,
                    name=step.contact_name or "",
                    company=company,
                )
            )
    else:
        lines.append(t(who.lang, "today.no_steps"))
    return "\n".join(lines)


async def today_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    await reply(update, await render_today(context, who))


async def undo_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    target = await context.services.store.last_undoable(who.id, who.now - UNDO_WINDOW)
    if target is None:
        await reply(update, t(who.lang, "undo.nothing"))
        return
    if target.kind == "call":
        outcome = Outcome.parse(target.detail or "")
        detail = f" ({t(who.lang, f'outcome.{outcome.value}')})" if outcome else ""
        text = t(
            who.lang,
            "undo.confirm_call",
            name=target.contact_name,
            time=f"{who.rules.local(target.at):%H:%M}",
            detail=detail,
        )
        code = "c"
    else:
        text = t(who.lang, "undo.confirm_step", name=target.contact_name, detail=target.detail)
        code = "s"
    markup = keyboard(
        [
            [
                button(t(who.lang, "undo.yes"), f"u:{code}:{target.id}"),
                button(t(who.lang, "undo.no"), f"u:k:{code}:{target.id}"),
            ]
        ]
    )
    await reply(update, text, markup)


async def undo_button(update: Update, context: BallbackContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    match = UNDO_DATA.fullmatch(query.data)
    assert match is not None  # the handler's pattern
    keep, kind, item_id = bool(match[1]), "call" if match[2] == "c" else "step", int(match[3])
    who = await actor(update, context)
    store = context.services.store
    target = await store.undo_target(kind, item_id)
    if target is not None and target.owner_id != who.id:
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    if keep:
        await query.answer()
        await edit(query.edit_message_text(t(who.lang, "undo.kept")))
        return
    result = UndoResult.GONE
    if target is not None or replaying():  # a replay finds its own undo done: DONE again
        result = await store.undo(who.id, kind, item_id, who.now - UNDO_WINDOW)
    if result is not UndoResult.DONE:  # already removed, or older than the undo window
        await query.answer(t(who.lang, "undo.gone"), show_alert=True)
        await edit(query.edit_message_text(t(who.lang, "undo.gone")))
        return
    await query.answer()
    await edit(query.edit_message_text(t(who.lang, "undo.done")))


async def edit(action: Awaitable[object]) -> None:
    """Edit a message the rep may have changed or deleted meanwhile: best effort."""
    with contextlib.suppress(BadRequest):
        await action


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            CommandHandler("today", today_command, filters=PRIVATE),
            CommandHandler("undo", undo_command, filters=PRIVATE),
            CallbackQueryHandler(undo_button, pattern=rf"^{UNDO_DATA.pattern}$"),
        ]
    )
