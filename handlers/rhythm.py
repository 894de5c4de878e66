"""The daily rhythm in the chat: what the scheduled messages say, and what reps answer.

:func:`build_scheduler` gives the composition root the one :class:`~bot.scheduler.Scheduler`,
with :func:`render` turning each outbox row into messages at the moment it is sent (from fresh
data: a pace check for a rep who caught up, or a quota reminder for one who met it, is
skipped). Reps answer with ``/nudges on|off``, ``/away``, the snooze button on the morning
nudge (``z:<yyyymmdd>``) and the buttons under "did it happen?" (``l:<step id>:d|r|x``).

The bot may only write first to people who wrote to it in private; :func:`opened` notes that
for every private update (and clears "unreachable" for one who blocked the bot and came back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import date, datetime, timedelta

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, TypeHandler

from bot.app import BallbackApp, BallbackContext, Services
from bot.domain.calendar import DayError, parse_range
from bot.domain.pipeline import client_window
from bot.domain.rules import callback_due
from bot.domain.schedule import Due, SendKind, behind_pace, calls_left
from bot.locales import Html, Lang, format_day, format_when, plural, t
from bot.reports import build_summary
from bot.rhythm import RepDay, plan_dues, recheck_rep, recheck_team
from bot.scheduler import Outgoing, Rendered, Scheduler, Skip, Sleep
from handlers import nextsteps
from handlers.common import (
    PRIVATE,
    Actor,
    actor,
    button,
    keyboard,
    message_text_arg,
    replaying,
    reply,
)
from handlers.pipeline import sheet_button, short
from storage.rhythm import OutboxItem, StepAnswer

log = logging.getLogger(__name__)

NUDGE_PROSPECTS = 5  # prospects offered as buttons on the morning nudge
NUDGE_STEPS = 15  # today's Next Steps listed on it (the rest: /today)
PROSPECT_LABEL = 40
ON_WORDS = frozenset({"on", "yes", "вкл", "включить", "да"})
OFF_WORDS = frozenset({"off", "no", "выкл", "выключить", "нет"})
SNOOZE_DATA = re.compile(r"^z:(\d{8})$")
LAPSED_DATA = re.compile(r"^l:(\d{1,12}):([drx])$")
STATUSES = frozenset({"open", "done", "dropped", "rescheduled"})


# -- the scheduler and what it sends -----------------------------------------------------------


def build_scheduler(services: Services, sleep: Sleep | None = None) -> Scheduler:
    """The one scheduler of the application (ticked by PTB's JobQueue, see ``bot/app.py``)."""

    async def plan(now: datetime) -> list[Due]:
        return await plan_dues(services.store, now, services.settings.zone)

    async def render_item(item: OutboxItem, now: datetime) -> Rendered:
        return await render(services, item, now)

    # A ManualClock moves forward when the scheduler waits (tests never really sleep).
    clock_sleep: Sleep | None = getattr(services.clock, "sleep", None)
    return Scheduler(
        services.store,
        services.clock,
        plan=plan,
        render=render_item,
        sleep=sleep or clock_sleep or asyncio.sleep,
    )


async def render(services: Services, item: OutboxItem, now: datetime) -> Rendered:
    """The messages for one outbox row, or why it is no longer worth sending."""
    store = services.store
    kind = SendKind(item.kind)
    if kind is SendKind.SUMMARY:
        team = await recheck_team(store, item, now)
        if isinstance(team, str):
            return Skip(team)
        texts = await build_summary(store, team, item.day, now)
        return [Outgoing(team.chat_id, text) for text in texts]
    rep = await recheck_rep(store, item, now, services.settings.zone)
    if isinstance(rep, str):
        return Skip(rep)
    if kind is SendKind.NUDGE:
        return [await nudge(services, rep, item.day, now)]
    if kind is SendKind.LAPSED:
        return await lapsed(services, rep, item.ref)
    return await block_reminder(services, rep, kind, item.day, now)


async def nudge(services: Services, rep: RepDay, day: date, now: datetime) -> Outgoing:
    """The morning nudge: the appointment, the last working day, today's Next Steps, whom to
    call first (tapping one logs the call, like the ``/call`` picker)."""
    store, lang, rules = services.store, rep.lang, rep.rules
    assert rules.block is not None  # due_for_rep gives no nudge without a block
    lines = [
        t(
            lang,
            "nudge.head",
            start=f"{rules.block.start:%H:%M}",
            end=f"{rules.block.end:%H:%M}",
            calls=plural(lang, "plural.calls", rules.quota),
        )
    ]
    before = rep.rhythm.previous_working_day(day)
    if before is not None:
        start, end = rules.day_bounds(before)
        stats = await store.day_stats(rep.user_id, start, end, ())
        label = t(lang, "day.yesterday") if before == day - timedelta(days=1) else None
        lines.append(
            t(
                lang,
                "nudge.before",
                day=label or format_day(lang, before),
                calls=plural(lang, "plural.calls", stats.calls),
                balls=plural(lang, "plural.balls", stats.balls),
            )
        )
    start, end = rules.day_bounds(day)
    steps = await store.next_steps_due(rep.user_id, start, end)
    if steps:  # bounded, so the nudge stays far below Telegram's 4096 characters
        lines.append(t(lang, "today.steps"))
        for step in steps[:NUDGE_STEPS]:
            company = f", {short(step.contact_company, 30)}" if step.contact_company else ""
            lines.append(
                t(
                    lang,
                    "today.step",
                    time=f"{rules.local(step.due_at):%H:%M}",
                    action=short(step.action, 80),
                    name=short(step.contact_name or "", 60),
                    company=company,
                )
            )
        if len(steps) > NUDGE_STEPS:
            lines.append(t(lang, "nudge.more_steps", n=len(steps) - NUDGE_STEPS))
    else:
        lines.append(t(lang, "today.no_steps"))
    after, until = client_window(now, rules)
    prospects = await store.pipeline.due(
        rep.user_id, now, after, until, offset=0, limit=NUDGE_PROSPECTS
    )
    rows: list[list[InlineKeyboardButton]] = []
    if prospects:
        lines.append(t(lang, "nudge.prospects"))
        for row in prospects:
            contact = row.contact
            mark = "⏰ " if callback_due(contact.callback_at, now, rules) else "📞 "
            rows.append([button(mark + contact.name[:PROSPECT_LABEL], f"p:{contact.id}")])
    else:
        lines.append(t(lang, "nudge.no_prospects"))
    rows.append([sheet_button(lang), button(t(lang, "nudge.snooze"), f"z:{day:%Y%m%d}")])
    return Outgoing(rep.user_id, "\n".join(lines), keyboard(rows))


async def block_reminder(
    services: Services, rep: RepDay, kind: SendKind, day: date, now: datetime
) -> Rendered:
    """The pace check (only when behind) and the quota reminder (only when unmet)."""
    lang, rules = rep.lang, rep.rules
    assert rules.block is not None
    start, end = rules.day_bounds(day)
    stats = await services.store.day_stats(rep.user_id, start, end, ())
    left = calls_left(stats.calls, rules.quota)
    if kind is SendKind.PACE:
        block_start, block_end = rules.block.bounds(day, rules.tz)
        if not behind_pace(stats.calls, rules.quota, block_start, block_end, now):
            return Skip("on pace")
        text = t(
            lang,
            "pace.behind",
            calls=stats.calls,
            quota=rules.quota,
            left=plural(lang, "plural.calls", left),
            end=f"{rules.block.end:%H:%M}",
        )
    else:
        if left == 0:
            return Skip("quota met")
        text = t(
            lang,
            "quota.left",
            calls=stats.calls,
            quota=rules.quota,
            left=plural(lang, "plural.calls", left),
        )
    return [Outgoing(rep.user_id, text)]


async def lapsed(services: Services, rep: RepDay, step_id: int) -> Rendered:
    """ "Did it happen?" about one Next Step whose date has passed."""
    step = await services.store.rhythm.step(step_id)
    if step is None:
        return Skip("the Next Step is gone")
    lang = rep.lang
    company = f", {step.contact_company}" if step.contact_company else ""
    text = t(
        lang,
        "lapsed.ask",
        action=nextsteps.shown_action(step.action),
        name=step.contact_name or "",
        company=company,
        when=Html(format_when(lang, rep.rules.local(step.due_at))),
    )
    markup = keyboard(
        [
            [
                button(t(lang, "lapsed.done"), f"l:{step.id}:d"),
                button(t(lang, "lapsed.reschedule"), f"l:{step.id}:r"),
                button(t(lang, "lapsed.dropped"), f"l:{step.id}:x"),
            ]
        ]
    )
    return [Outgoing(rep.user_id, text, markup)]


# -- who may be written to ---------------------------------------------------------------------


async def opened(update: Update, context: BallbackContext) -> None:
    """Any private update: the bot may write to this person first from now on.

    Runs after the other handlers (group 1), so a first ``/start`` has stored the user by then;
    each user costs one write per process (then they are remembered), and one more after
    Telegram refused a message to them (403) and they came back.
    """
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != chat.PRIVATE or user.is_bot:
        return
    services = context.services
    scheduler = services.scheduler
    if scheduler is None or user.id in scheduler.opened:
        return
    try:
        known = await services.store.rhythm.opened(user.id, services.clock.now())
    except Exception as exc:  # bookkeeping: the update itself was answered already
        log.warning("could not note that user %s wrote in private: %r", user.id, exc)
        return
    if known:
        scheduler.opened.add(user.id)


# -- /nudges -----------------------------------------------------------------------------------


async def nudges_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    store = context.services.store
    word = message_text_arg(update).casefold()
    if word and word not in ON_WORDS | OFF_WORDS:
        await reply(update, t(who.lang, "nudges.usage"))
        return
    if word:
        await store.rhythm.set_nudges(who.user, word in ON_WORDS, who.now)
    on = await store.rhythm.nudges(who.id)
    lines = [t(who.lang, "nudges.on" if on else "nudges.off")]
    if on and who.team_id is None:
        lines.append(t(who.lang, "nudges.no_team"))
    elif on and who.rules.block is None:
        lines.append(t(who.lang, "nudges.no_block"))
    await reply(update, "\n\n".join(lines))


# -- /away -------------------------------------------------------------------------------------


def span_text(lang: Lang, first: date, last: date) -> str:
    if first == last:
        return format_day(lang, first)
    return f"{format_day(lang, first)} – {format_day(lang, last)}"


async def away_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    rhythm = context.services.store.rhythm
    today = who.today
    text = message_text_arg(update)
    if not text:
        ranges = (await rhythm.away_of([who.id], today)).get(who.id, [])
        if not ranges:
            await reply(update, t(who.lang, "away.none"))
            return
        listed = "\n".join(f"• {span_text(who.lang, first, last)}" for first, last in ranges)
        await reply(update, t(who.lang, "away.list", ranges=listed))
        return
    if text.casefold() in OFF_WORDS:
        changed = await rhythm.end_away(who.id, today)
        await reply(update, t(who.lang, "away.back" if changed else "away.not_away"))
        return
    parsed = parse_range(text, today)
    if isinstance(parsed, DayError):
        await reply(update, t(who.lang, f"dates.{parsed.value}") + "\n" + t(who.lang, "away.usage"))
        return
    first, last = parsed
    await rhythm.add_away(who.user, first, last, who.now)
    await reply(update, t(who.lang, "away.set", span=span_text(who.lang, first, last)))


# -- buttons -----------------------------------------------------------------------------------


async def snooze_button(update: Update, context: BallbackContext) -> None:
    """😴 under the morning nudge: no more calling-block reminders today."""
    own = await nextsteps.own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    match = SNOOZE_DATA.fullmatch(callback_data)
    assert match is not None
    try:
        day = datetime.strptime(match[1], "%Y%m%d").date()
    except ValueError:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    if day != who.today:
        await query.answer(t(who.lang, "nudge.snooze_over"), show_alert=True)
        return
    await context.services.store.rhythm.snooze(who.id, day)
    await query.answer(t(who.lang, "nudge.snoozed"), show_alert=True)
    message = query.message
    markup = getattr(message, "reply_markup", None)
    if isinstance(markup, InlineKeyboardMarkup):  # the nudge keeps its other buttons
        rows = [
            [b for b in row if not str(b.callback_data or "").startswith("z:")]
            for row in markup.inline_keyboard
        ]
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(keyboard(rows))


async def lapsed_button(update: Update, context: BallbackContext) -> None:
    """The answer to "did it happen?": done, reschedule (the Next Step flow), dropped."""
    own = await nextsteps.own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    match = LAPSED_DATA.fullmatch(callback_data)
    assert match is not None
    step_id, answer = int(match[1]), match[2]
    store = context.services.store
    step = await store.rhythm.step(step_id)
    if step is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    if step.owner_id != who.id:
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    if step.status != "open" and not replaying():  # a replay finds its own answer saved
        await _already(query, who, step.status)
        return
    if answer == "r":
        await query.answer()
        await nextsteps.start_flow(
            update, context, who, contact_id=step.contact_id, call_id=None, edit=True,
            replaces=step.id,
        )  # fmt: skip
        return
    settled = await store.rhythm.settle_step(
        who.id, step_id, "done" if answer == "d" else "dropped", who.now
    )
    if settled.result is StepAnswer.NOT_OWNER:
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    if settled.result is StepAnswer.GONE or settled.step is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    if settled.result is StepAnswer.ALREADY:
        await _already(query, who, settled.step.status)
        return
    await query.answer()
    key = "lapsed.saved_done" if answer == "d" else "lapsed.saved_dropped"
    text = t(
        who.lang,
        key,
        action=nextsteps.shown_action(settled.step.action),
        name=settled.step.contact_name or "",
    )
    await nextsteps.say(update, text, None, edit=True)


async def _already(query: CallbackQuery, who: Actor, status: str) -> None:
    label = t(who.lang, f"step.{status}") if status in STATUSES else status
    await query.answer(t(who.lang, "lapsed.already", status=label), show_alert=True)


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            CommandHandler("nudges", nudges_command, filters=PRIVATE),
            CommandHandler("away", away_command, filters=PRIVATE),
            CallbackQueryHandler(snooze_button, pattern=SNOOZE_DATA),
            CallbackQueryHandler(lapsed_button, pattern=LAPSED_DATA),
        ]
    )
    # After everything else, in its own group: every private update marks its sender as
    # someone the bot may write to.
    app.add_handler(TypeHandler(Update, opened), group=1)
