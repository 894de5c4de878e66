"""Next Steps: ``/nextstep``, the guided when/what flow, and ``/cancel``.

The flow's state lives in the database (``flows``), not in memory, so a restart in the middle of
a question loses nothing. The decisions (what is missing, whether a date is a ball, how typed
text answers the open question) are made by :mod:`bot.domain.nextstep`; this module reads
buttons and text, renders prompts and saves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.app import BallbackApp, BallbackContext
from bot.domain.contacts import ContactError, parse_contact
from bot.domain.nextstep import (
    ACTION_PRESETS,
    AnswerError,
    Draft,
    Kind,
    Prompt,
    Step,
    next_prompt,
    quick_days,
    read_answer,
    split_line,
    time_slots,
)
from bot.domain.rules import ActionError, DueVerdict, check_action
from bot.domain.when import When, parse_when
from bot.locales import Html, Lang, format_day, format_when, t
from handlers.common import (
    PRIVATE,
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
TIME_SLOTS = (9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
DAY_BUTTONS = 5
FLOW_TTL = timedelta(hours=24)
PICK_LIMIT = 8
PICK_LABEL = 60  # characters of a contact's name on a picker button

_ACTION_ERRORS = {ActionError.TOO_SHORT: "ns.action_short", ActionError.TOO_LONG: "ns.action_long"}


# -- shared by every flow and button ------------------------------------------------------------


def answer_error(lang: Lang, error: AnswerError) -> str:
    if isinstance(error, ActionError):
        return t(lang, _ACTION_ERRORS[error])
    return t(lang, f"when.{error.value}")


def live_flow(flow: Flow | None, who: Actor) -> Flow | None:
    """The rep's open question, unless it was left unanswered for a day."""
    if flow is None or who.now - flow.updated_at > FLOW_TTL:
        return None
    return flow


async def own_button(
    update: Update, context: BallbackContext
) -> tuple[CallbackQuery, str, Actor] | None:
    """The button pressed, its ``callback_data`` and who pressed it; ``None`` once a button
    that is not theirs has been refused (see :func:`refuse_foreign`)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await actor(update, context)
    if await refuse_foreign(query, who):
        return None
    return query, query.data, who


async def refuse_foreign(query: CallbackQuery, who: Actor) -> bool:
    """Refuse (and answer) a button the presser may not press; ``True`` if refused.

    Every button of ours lives in a rep's private chat with the bot, whose id is the rep's own
    id: pressed from anywhere else (a forwarded copy, another person), it is not theirs.
    """
    message = query.message
    if message is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return True
    if message.chat.id != who.id:
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return True
    return False


async def open_flow(
    context: BallbackContext, who: Actor, kind: str, data: dict[str, Any], message_id: int
) -> None:
    """Make this the rep's one open question; an earlier question's buttons are taken away."""
    store = context.services.store
    old = await store.get_flow(who.id)
    await store.put_flow(who.user, kind, data, who.now, message_id=message_id)
    if old is not None and old.message_id is not None and old.message_id != message_id:
        await strip_keyboard(context, who.id, old.message_id)


async def say(
    update: Update, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool
) -> Message:
    """Edit the pressed button's message (``edit``), or send a new message."""
    query = update.callback_query
    if edit and query is not None and isinstance(query.message, Message):
        try:
            edited = await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:  # a double tap asks for the same text again
            if "not modified" not in str(exc).lower():
                raise
            return query.message
        return edited if isinstance(edited, Message) else query.message
    return await reply(update, text, markup)


def picker(contacts: list[Contact], prefix: str) -> InlineKeyboardMarkup:
    return keyboard([[button(c.name[:PICK_LABEL], f"{prefix}:{c.id}")] for c in contacts])


# -- prompts -----------------------------------------------------------------------------------


def _cancel_row(lang: Lang) -> list[InlineKeyboardButton]:
    return [button(t(lang, "ns.cancel"), "n:x")]


def _day_label(lang: Lang, day: date, today: date) -> str:
    if day == today:
        return t(lang, "day.today")
    if day == today + timedelta(days=1):
        return t(lang, "day.tomorrow")
    return format_day(lang, day)


def day_keyboard(who: Actor) -> InlineKeyboardMarkup:
    today = who.today
    days = quick_days(who.now, who.rules, DAY_BUTTONS, last_hour=TIME_SLOTS[-1])
    buttons = [button(_day_label(who.lang, d, today), f"n:d:{d:%Y%m%d}") for d in days]
    return keyboard([buttons[:2], buttons[2:], _cancel_row(who.lang)])


def time_keyboard(who: Actor, day: date) -> InlineKeyboardMarkup:
    slots = time_slots(day, TIME_SLOTS, who.now, who.rules)
    buttons = [button(f"{s:%H:%M}", f"n:t:{s:%H%M}") for s in slots]
    return keyboard([buttons[:5], buttons[5:], _cancel_row(who.lang)])


def action_keyboard(lang: Lang) -> InlineKeyboardMarkup:
    buttons = [button(t(lang, f"ns.action.{code}"), f"n:a:{code}") for code in ACTION_PRESETS]
    return keyboard([buttons[:2], buttons[2:], _cancel_row(lang)])


def beyond_keyboard(lang: Lang) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [button(t(lang, "ns.save_reminder"), "n:r")],
            [button(t(lang, "ns.other_date"), "n:o")],
            _cancel_row(lang),
        ]
    )


def when_text(who: Actor, draft: Draft) -> Html:
    """``Fri 27 Nov 15:00``, or the day alone while no time is chosen."""
    due = draft.due(who.rules)
    if due is not None:
        return Html(format_when(who.lang, who.rules.local(due)))
    return Html(format_day(who.lang, draft.day) if draft.day else "")


def prompt_for(who: Actor, step: Step, contact: Contact) -> tuple[str, InlineKeyboardMarkup]:
    draft, lang = step.draft, who.lang
    past = t(lang, "ns.past") + "\n\n" if step.verdict is DueVerdict.PAST else ""
    if step.prompt is Prompt.DAY:
        return past + t(lang, "ns.ask_day", name=contact.name), day_keyboard(who)
    assert draft.day is not None
    if step.prompt is Prompt.TIME:
        day = Html(format_day(lang, draft.day))
        text = past + t(lang, "ns.ask_time", name=contact.name, day=day)
        return text, time_keyboard(who, draft.day)
    when = when_text(who, draft)
    if step.prompt is Prompt.BEYOND:
        cycle = who.rules.cycle_days
        text = t(lang, "ns.beyond", when=when, cycle=cycle, name=contact.name)
        return text, beyond_keyboard(lang)
    return t(lang, "ns.ask_action", name=contact.name, when=when), action_keyboard(lang)


def shown_action(action: str) -> str:
    """The action as the first words of a sentence (stored as typed)."""
    return action[:1].upper() + action[1:]


# -- moving the flow on --------------------------------------------------------------------------


async def advance(
    update: Update,
    context: BallbackContext,
    who: Actor,
    draft: Draft,
    *,
    edit: bool,
    notice: str | None = None,
) -> None:
    """Ask the next question, or save the Next Step when nothing is missing.

    ``edit`` answers a button press by editing its message; otherwise a new message is sent and
    the buttons of the previous prompt are taken away.
    """
    store = context.services.store
    contact = await store.get_contact(who.id, draft.contact_id)
    if contact is None:  # the contact went with an undone call
        old = await store.clear_flow(who.id)
        sent = await say(update, t(who.lang, "button.stale"), None, edit=edit)
        if old is not None and old.message_id not in (None, sent.message_id):
            await strip_keyboard(context, who.id, old.message_id)
        return
    step = next_prompt(draft, who.now, who.rules)
    if step.prompt is Prompt.READY:
        await _save(update, context, who, step.draft, contact, edit=edit)
        return
    text, markup = prompt_for(who, step, contact)
    if notice:
        text = notice + "\n\n" + text
    sent = await say(update, text, markup, edit=edit)
    await open_flow(context, who, FLOW, step.draft.to_json(), sent.message_id)


async def _save(
    update: Update,
    context: BallbackContext,
    who: Actor,
    draft: Draft,
    contact: Contact,
    *,
    edit: bool,
) -> None:
    store = context.services.store
    message = update.effective_message
    due = draft.due(who.rules)
    assert message is not None and draft.action is not None and due is not None
    call_id = draft.call_id
    if call_id is not None:
        call = await store.get_call(call_id)
        if call is None or call.owner_id != who.id:
            call_id = None  # the call was undone meanwhile: the Next Step stands on its own
    old = await store.get_flow(who.id)
    step = await store.save_next_step(
        who.id,
        contact_id=contact.id,
        call_id=call_id,
        action=draft.action,
        due_at=due,
        kind=draft.kind.value,
        when=who.moment,
        src_chat=message.chat_id,
        src_message=message.message_id,
        replaces=draft.replaces,
    )
    when = when_text(who, draft)
    if step is None:  # this message already saved it (a redelivered update)
        text = t(who.lang, "ns.already")
    elif draft.kind is Kind.BALL:
        start, end = who.rules.day_bounds(who.today)
        stats = await store.day_stats(who.id, start, end, ())
        action = shown_action(draft.action)
        text = t(
            who.lang,
            "ns.saved_ball",
            name=contact.name,
            action=action,
            when=when,
            balls=stats.balls,
        )
    else:
        text = t(who.lang, "ns.saved_reminder", name=contact.name, action=draft.action, when=when)
    sent = await say(update, text, None, edit=edit)
    if old is not None and old.kind == FLOW and old.message_id not in (None, sent.message_id):
        await strip_keyboard(context, who.id, old.message_id)


async def start_flow(
    update: Update,
    context: BallbackContext,
    who: Actor,
    *,
    contact_id: int,
    call_id: int | None,
    edit: bool,
    replaces: int | None = None,
) -> None:
    """Ask for a Next Step with the contact; ``replaces`` is the lapsed one it reschedules
    (marked ``rescheduled`` when the new one is saved, not before: a flow left unfinished
    leaves it as it was)."""
    draft = Draft(contact_id=contact_id, call_id=call_id, replaces=replaces)
    await advance(update, context, who, draft, edit=edit)


# -- handlers ------------------------------------------------------------------------------------


async def nextstep_command(update: Update, context: BallbackContext) -> None:
    """``/nextstep name`` asks when and what; ``/nextstep name; when; what`` does it in one go."""
    who = await actor(update, context)
    store = context.services.store
    text = message_text_arg(update)
    if not text:
        recent = await store.recent_contacts(who.id, PICK_LIMIT)
        if not recent:
            await reply(update, t(who.lang, "ns.usage"))
            return
        await reply(update, t(who.lang, "ns.pick"), picker(recent, "s"))
        return
    contact_text, when_part, action_part = split_line(text)
    parsed = parse_contact(contact_text)
    if isinstance(parsed, ContactError):
        usage = t(who.lang, "ns.usage")
        await reply(update, t(who.lang, f"contact.{parsed.value}") + "\n\n" + usage)
        return
    contact = await store.ensure_contact(
        who.user,
        name=parsed.name,
        name_key=parsed.key,
        company=parsed.company,
        phone=parsed.phone,
        now=who.now,
    )
    draft = Draft(contact_id=contact.id)
    notices: list[str] = []
    if when_part:
        when = parse_when(when_part, who.local_now())
        if isinstance(when, When):
            draft = draft.with_when(when.day, when.at)
        else:
            notices.append(answer_error(who.lang, when.error))
    if action_part:
        action = check_action(action_part)
        if isinstance(action, ActionError):
            notices.append(answer_error(who.lang, action))
        else:
            draft = replace(draft, action=action)
    await advance(update, context, who, draft, edit=False, notice="\n".join(notices) or None)


async def start_for_contact(update: Update, context: BallbackContext) -> None:
    """A contact tapped in the ``/nextstep`` picker."""
    own = await own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    contact = await context.services.store.get_contact(who.id, int(callback_data.split(":")[1]))
    if contact is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    await start_flow(update, context, who, contact_id=contact.id, call_id=None, edit=True)


def pressed(draft: Draft, op: str, arg: str, lang: Lang) -> Draft | None:
    """The draft after a flow button (``n:<op>:<arg>``); ``None`` for data that makes no sense."""
    try:
        if op == "d":
            return draft.with_when(datetime.strptime(arg, "%Y%m%d").date(), None)
        if op == "t":
            return replace(draft, at=time(int(arg[:2]), int(arg[2:])))
    except ValueError:  # 20261399, 2500
        return None
    if op == "r":
        return replace(draft, reminder_ok=True)
    if op == "o":
        return replace(draft, day=None, at=None, reminder_ok=False)
    if op == "a" and arg in ACTION_PRESETS:
        return replace(draft, action=t(lang, f"ns.action.{arg}"))
    return None


async def flow_button(update: Update, context: BallbackContext) -> None:
    own = await own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    assert query.message is not None
    flow = live_flow(await context.services.store.get_flow(who.id), who)
    if flow is None or flow.kind != FLOW or flow.message_id != query.message.message_id:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    op, _, arg = callback_data[2:].partition(":")
    if op == "x":
        await query.answer()
        await cancel_flow(update, context, who, flow, edit=True)
        return
    draft = pressed(Draft.from_json(flow.data), op, arg, who.lang)
    if draft is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    await advance(update, context, who, draft, edit=True)


async def flow_text(
    update: Update, context: BallbackContext, who: Actor, flow: Flow, text: str
) -> None:
    """Typed text while a Next Step question is open: the answer to that question."""
    message = update.effective_message
    assert message is not None
    draft = Draft.from_json(flow.data)
    if not draft.is_new_input(message.message_id):
        return  # a redelivered answer: it was read already
    step = next_prompt(replace(draft, seen=message.message_id), who.now, who.rules)
    answer = read_answer(step, text, who.now, who.rules)
    if isinstance(answer, Draft):
        await advance(update, context, who, answer, edit=False)
    else:
        notice = answer_error(who.lang, answer)
        await advance(update, context, who, step.draft, edit=False, notice=notice)


async def cancel_flow(
    update: Update, context: BallbackContext, who: Actor, flow: Flow, *, edit: bool
) -> None:
    """Leave the open question. A Next Step begun from a call offers that call's outcomes again."""
    from handlers.calls import reopen_view  # calls starts this flow: imported when needed

    await context.services.store.clear_flow(who.id)
    text, markup = t(who.lang, "cancel.done"), None
    call_id = Draft.from_json(flow.data).call_id if flow.kind == FLOW else None
    reopened = await reopen_view(context, who, call_id) if call_id is not None else None
    if reopened is not None:
        text = text + "\n\n" + reopened[0]
        markup = reopened[1]
    sent = await say(update, text, markup, edit=edit)
    if flow.message_id is not None and flow.message_id != sent.message_id:
        await strip_keyboard(context, who.id, flow.message_id)


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
            CallbackQueryHandler(start_for_contact, pattern=r"^s:\d{1,12}$"),
        ]
    )
