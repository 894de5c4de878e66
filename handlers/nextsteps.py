"""Next Steps: ``/nextstep``, the guided when/what flow, and ``/cancel``.

The flow's state lives in the database (``flows``), not in memory, so a restart in the middle of
a question loses nothing. The decisions (what is missing, whether a date is a ball) are made by
:mod:`bot.domain.nextstep`; this module only reads answers and renders prompts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.domain.contacts import ContactError, parse_contact
from bot.domain.nextstep import ACTION_PRESETS, Draft, Kind, Prompt, Step, next_prompt
from bot.domain.rules import ActionError, DueVerdict, check_action
from bot.domain.when import When, parse_when
from bot.locales import Html, format_day, format_when, t
from handlers.common import (
    Actor,
    actor,
    button,
    keyboard,
    message_text_arg,
    reply,
    strip_keyboard,
)
from storage.models import Contact, Flow

FLOW = "ns"
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
TIME_SLOTS = (9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
DAY_BUTTONS = 5
FLOW_TTL = timedelta(hours=24)


# -- prompts -----------------------------------------------------------------------------------


def _cancel_row(who: Actor) -> list[object]:
    return [button(t(who.lang, "ns.cancel"), "n:x")]


def day_keyboard(who: Actor) -> InlineKeyboardMarkup:
    today = who.rules.today(who.now)
    local_now = who.local_now()
    days = []
    if local_now.hour < TIME_SLOTS[-1]:
        days.append(today)
    days.append(today + timedelta(days=1))
    for day in who.rules.next_workdays(today + timedelta(days=2), DAY_BUTTONS):
        if len(days) >= DAY_BUTTONS:
            break
        days.append(day)

    def label(day: object) -> str:
        if day == today:
            return t(who.lang, "day.today")
        if day == today + timedelta(days=1):
            return t(who.lang, "day.tomorrow")
        return format_day(who.lang, day)  # type: ignore[arg-type]

    buttons = [button(label(d), f"n:d:{d:%Y%m%d}") for d in days]
    return keyboard([buttons[:2], buttons[2:], _cancel_row(who)])  # type: ignore[list-item]


def time_keyboard(who: Actor, draft: Draft) -> InlineKeyboardMarkup:
    slots = [
        hour
        for hour in TIME_SLOTS
        if draft.day is None or datetime.combine(draft.day, time(hour), who.rules.tz) > who.now
    ]
    buttons = [button(f"{h:02d}:00", f"n:t:{h:02d}00") for h in slots]
    return keyboard([buttons[:5], buttons[5:], _cancel_row(who)])  # type: ignore[list-item]


def action_keyboard(who: Actor) -> InlineKeyboardMarkup:
    buttons = [button(t(who.lang, f"ns.action.{code}"), f"n:a:{code}") for code in ACTION_PRESETS]
    return keyboard([buttons[:2], buttons[2:], _cancel_row(who)])  # type: ignore[list-item]


def beyond_keyboard(who: Actor) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [button(t(who.lang, "ns.save_reminder"), "n:r")],
            [button(t(who.lang, "ns.other_date"), "n:o")],
            _cancel_row(who),  # type: ignore[list-item]
        ]
    )


def prompt_for(who: Actor, step: Step, contact: Contact) -> tuple[str, InlineKeyboardMarkup]:
    draft = step.draft
    due = draft.due(who.rules)
    when = Html(format_when(who.lang, who.rules.local(due))) if due else ""
    if step.prompt is Prompt.DAY:
        text = t(who.lang, "ns.ask_day", name=contact.name)
        if step.verdict is DueVerdict.PAST:
            text = t(who.lang, "ns.past") + "\n\n" + text
        return text, day_keyboard(who)
    if step.prompt is Prompt.TIME:
        assert draft.day is not None
        day = Html(format_day(who.lang, draft.day))
        return t(who.lang, "ns.ask_time", name=contact.name, day=day), time_keyboard(who, draft)
    if step.prompt is Prompt.BEYOND:
        text = t(who.lang, "ns.beyond", when=when, cycle=who.rules.cycle_days, name=contact.name)
        return text, beyond_keyboard(who)
    return t(who.lang, "ns.ask_action", name=contact.name, when=when), action_keyboard(who)


# -- moving the flow on --------------------------------------------------------------------------


async def advance(
    update: Update,
    context: BallbackContext,
    who: Actor,
    draft: Draft,
    *,
    edit: bool,
    notice: str | None = None,
    old_prompt: int | None = None,
) -> None:
    """Ask the next question, or save the Next Step when nothing is missing.

    ``edit`` answers a button press by editing its message; otherwise a new message is sent and
    the buttons of the previous prompt (``old_prompt``) are taken away.
    """
    store = context.services.store
    chat = update.effective_chat
    assert chat is not None
    contact = await store.get_contact(who.id, draft.contact_id)
    if contact is None:
        await store.clear_flow(who.id)
        await _say(update, t(who.lang, "button.stale"), None, edit=edit)
        return
    step = next_prompt(draft, who.now, who.rules)
    if step.prompt is Prompt.READY:
        await _save(update, context, who, step.draft, contact, edit=edit, old_prompt=old_prompt)
        return
    text, markup = prompt_for(who, step, contact)
    if notice:
        text = notice + "\n\n" + text
    sent = await _say(update, text, markup, edit=edit)
    await store.put_flow(who.user, FLOW, step.draft.to_json(), who.now, message_id=sent.message_id)
    if not edit and old_prompt is not None:
        await strip_keyboard(context, chat.id, old_prompt)


async def _save(
    update: Update,
    context: BallbackContext,
    who: Actor,
    draft: Draft,
    contact: Contact,
    *,
    edit: bool,
    old_prompt: int | None,
) -> None:
    store = context.services.store
    message = update.effective_message
    assert message is not None and draft.action is not None
    due = draft.due(who.rules)
    assert due is not None
    step = await store.save_next_step(
        who.id,
        contact_id=contact.id,
        call_id=draft.call_id,
        action=draft.action,
        due_at=due,
        kind=draft.kind.value,
        now=who.now,
        src_chat=message.chat_id,
        src_message=message.message_id,
    )
    when = Html(format_when(who.lang, who.rules.local(due)))
    if step is None:  # the same message already saved it
        return
    if draft.kind is Kind.BALL:
        start, end = who.rules.day_bounds(who.rules.today(who.now))
        stats = await store.day_stats(who.id, start, end, ())
        text = t(
            who.lang,
            "ns.saved_ball",
            name=contact.name,
            action=draft.action,
            when=when,
            balls=stats.balls,
        )
    else:
        text = t(who.lang, "ns.saved_reminder", name=contact.name, action=draft.action, when=when)
    await _say(update, text, None, edit=edit)
    if not edit and old_prompt is not None and update.effective_chat is not None:
        await strip_keyboard(context, update.effective_chat.id, old_prompt)


async def _say(
    update: Update, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool
) -> Message:
    query = update.callback_query
    if edit and query is not None:
        edited = await query.edit_message_text(text, reply_markup=markup)
        if isinstance(edited, Message):
            return edited
    return await reply(update, text, markup)


async def start_flow(
    update: Update,
    context: BallbackContext,
    who: Actor,
    *,
    contact_id: int,
    call_id: int | None,
    edit: bool,
) -> None:
    await advance(update, context, who, Draft(contact_id=contact_id, call_id=call_id), edit=edit)


def live_flow(flow: Flow | None, who: Actor) -> Flow | None:
    if flow is None or who.now - flow.updated_at > FLOW_TTL:
        return None
    return flow


# -- handlers ------------------------------------------------------------------------------------


def when_error(who: Actor, parsed: object) -> str:
    return t(who.lang, f"when.{parsed.error.value}")  # type: ignore[attr-defined]


async def nextstep_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    text = message_text_arg(update)
    if not text:
        recent = await context.services.store.recent_contacts(who.id)
        if not recent:
            await reply(update, t(who.lang, "ns.usage"))
            return
        rows = [[button(c.name[:60], f"s:{c.id}")] for c in recent]
        await reply(update, t(who.lang, "ns.usage"), keyboard(rows))
        return
    name_part, _, rest = text.partition(";")
    when_part, _, action_part = rest.partition(";")
    parsed = parse_contact(name_part)
    if isinstance(parsed, ContactError):
        await reply(
            update, t(who.lang, f"contact.{parsed.value}") + "\n\n" + t(who.lang, "ns.usage")
        )
        return
    contact = await context.services.store.ensure_contact(
        who.user,
        name=parsed.name,
        name_key=parsed.key,
        company=parsed.company,
        phone=parsed.phone,
        now=who.now,
    )
    draft = Draft(contact_id=contact.id)
    notices: list[str] = []
    if when_part.strip():
        when = parse_when(when_part, who.local_now())
        if isinstance(when, When):
            draft = draft.with_when(when.day, when.at)
        else:
            notices.append(when_error(who, when))
    if action_part.strip():
        action = check_action(action_part)
        if isinstance(action, ActionError):
            notices.append(t(who.lang, f"ns.action_{action.value.split('_')[1]}"))
        else:
            draft = replace(draft, action=action)
    await advance(update, context, who, draft, edit=False, notice="\n".join(notices) or None)


async def start_for_contact(update: Update, context: BallbackContext) -> None:
    """A contact tapped in the ``/nextstep`` picker."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await actor(update, context)
    contact = await context.services.store.get_contact(who.id, int(query.data.split(":")[1]))
    if contact is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    await start_flow(update, context, who, contact_id=contact.id, call_id=None, edit=True)


async def flow_button(update: Update, context: BallbackContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    who = await actor(update, context)
    store = context.services.store
    flow = live_flow(await store.get_flow(who.id), who)
    if flow is None or flow.kind != FLOW or flow.message_id != query.message.message_id:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    draft = Draft.from_json(flow.data)
    op, _, arg = query.data[2:].partition(":")
    if op == "x":
        await query.answer()
        await cancel_flow(update, context, who, flow, edit=True)
        return
    try:
        if op == "d":
            day = datetime.strptime(arg, "%Y%m%d").date()
            draft = draft.with_when(day, None)
        elif op == "t":
            draft = replace(draft, at=time(int(arg[:2]), int(arg[2:])))
        elif op == "r":
            draft = replace(draft, reminder_ok=True)
        elif op == "o":
            draft = replace(draft, day=None, at=None, reminder_ok=False)
        elif op == "a" and arg in ACTION_PRESETS:
            draft = replace(draft, action=t(who.lang, f"ns.action.{arg}"))
        else:
            raise ValueError(op)
    except ValueError:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    await advance(update, context, who, draft, edit=True)


async def flow_text(
    update: Update, context: BallbackContext, who: Actor, flow: Flow, text: str
) -> None:
    """Typed text while a Next Step question is open."""
    draft = Draft.from_json(flow.data)
    step = next_prompt(draft, who.now, who.rules)
    notice: str | None = None
    if step.prompt is Prompt.ACTION:
        action = check_action(text)
        if isinstance(action, ActionError):
            notice = t(who.lang, f"ns.action_{action.value.split('_')[1]}")
        else:
            draft = replace(step.draft, action=action)
    else:
        when = None
        if step.prompt is Prompt.TIME and draft.day is not None:
            when = parse_when(f"{draft.day:%d.%m.%Y} {text}", who.local_now())
        if not isinstance(when, When):
            when = parse_when(text, who.local_now())
        if isinstance(when, When):
            draft = replace(draft.with_when(when.day, when.at), action=draft.action)
        else:
            notice = when_error(who, when)
    await advance(
        update, context, who, draft, edit=False, notice=notice, old_prompt=flow.message_id
    )


async def cancel_flow(
    update: Update, context: BallbackContext, who: Actor, flow: Flow, *, edit: bool
) -> None:
    from handlers.calls import reopen_call

    store = context.services.store
    await store.clear_flow(who.id)
    chat = update.effective_chat
    assert chat is not None
    if edit:
        await _say(update, t(who.lang, "cancel.done"), None, edit=True)
    else:
        await reply(update, t(who.lang, "cancel.done"))
        if flow.message_id is not None:
            await strip_keyboard(context, chat.id, flow.message_id)
    call_id = flow.data.get("call_id") if flow.kind == FLOW else None
    if call_id is not None:
        await reopen_call(update, context, who, int(call_id))


async def cancel_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    flow = live_flow(await context.services.store.get_flow(who.id), who)
    if flow is None:
        await reply(update, t(who.lang, "cancel.nothing"))
        return
    await cancel_flow(update, context, who, flow, edit=False)


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            CommandHandler("nextstep", nextstep_command, filters=PRIVATE),
            CommandHandler("cancel", cancel_command, filters=PRIVATE),
            CallbackQueryHandler(flow_button, pattern=r"^n:(x|r|o|d:\d{8}|t:\d{4}|a:[a-z]{2})$"),
            CallbackQueryHandler(start_for_contact, pattern=r"^s:\d+$"),
        ]
    )
