"""Logging calls: ``/call``, a shared phone contact, the outcome buttons, call-back dates."""

from __future__ import annotations

import html
from datetime import timedelta

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.domain.contacts import (
    ContactError,
    ContactInput,
    format_phone,
    parse_contact,
    pick_prospects,
    shared_contact,
)
from bot.domain.outcomes import LAYOUT, Outcome, OutcomeGroup, verdict
from bot.domain.rules import callback_due, callback_moment, client_ids
from bot.domain.when import When, parse_when
from bot.locales import Html, Lang, format_day, format_when, t
from handlers import nextsteps
from handlers.common import (
    PRIVATE,
    Actor,
    PlainKeyboard,
    actor,
    answer_and_edit,
    button,
    keyboard,
    message_text_arg,
    reply,
    strip_keyboard,
    tell,
)
from storage.models import Call, Contact, LoggedCall
from storage.repo import OutcomeResult

FLOW_CALLBACK = "cb"  # the optional "when should you call back?" question
CALLBACK_DAYS = (3, 7, 14)
PICK_LIMIT = 8  # prospects offered by a bare /call
PICK_SCAN = 200  # recent contacts looked through for them


# -- rendering -----------------------------------------------------------------------------------


def contact_details(contact: Contact) -> Html:
    """``, Romashka LLC · +7 912 345-67-89`` (escaped), or nothing."""
    parts = [contact.company] if contact.company else []
    if contact.phone:
        parts.append(format_phone(contact.phone))
    details = html.escape(", " + " · ".join(parts), quote=False) if parts else ""
    return Html(details)


def outcome_keyboard(lang: Lang, call_id: int) -> InlineKeyboardMarkup:
    """The outcomes in their three groups, each under a heading that explains it when tapped.

    Sent after every call, so it is a :class:`PlainKeyboard` (the hot path).
    """
    rows: list[list[tuple[str, str]]] = []
    for group, group_rows in LAYOUT:
        rows.append([(f"— {t(lang, f'group.{group.value}')} —", f"g:{group.value}")])
        rows += [
            [(t(lang, f"outcome.{o.value}"), f"o:{call_id}:{o.value}") for o in row]
            for row in group_rows
        ]
    return PlainKeyboard(rows)


async def logged_view(
    context: BallbackContext, who: Actor, logged: LoggedCall
) -> tuple[str, InlineKeyboardMarkup]:
    start, end = who.rules.day_bounds(who.today)
    stats = await context.services.store.day_stats(who.id, start, end, ())
    text = t(
        who.lang,
        "call.logged",
        n=stats.calls,
        quota=who.rules.quota,
        name=logged.contact.name,
        details=contact_details(logged.contact),
    )
    if logged.call.note:
        text += "\n" + t(who.lang, "call.note", note=logged.call.note)
    return text, outcome_keyboard(who.lang, logged.call.id)


def result_text(lang: Lang, contact: Contact, outcome: Outcome) -> str:
    label = t(lang, f"outcome.{outcome.value}")
    line = t(lang, "result.line", name=contact.name, outcome=label)
    return line + "\n" + t(lang, f"result.{verdict(outcome).value}", name=contact.name)


def callback_keyboard(lang: Lang, call_id: int) -> InlineKeyboardMarkup:
    labels = {
        3: t(lang, "callback.days", n=3),
        7: t(lang, "callback.week"),
        14: t(lang, "callback.two_weeks"),
    }
    return keyboard(
        [
            [button(labels[d], f"b:{call_id}:{d}") for d in CALLBACK_DAYS],
            [button(t(lang, "callback.skip"), f"b:{call_id}:0")],
        ]
    )


def contact_error_text(lang: Lang, error: ContactError) -> str:
    return t(lang, f"contact.{error.value}") + "\n\n" + t(lang, "call.usage")


async def reopen_view(
    context: BallbackContext, who: Actor, call_id: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    """The outcome question of a call still waiting for one (a cancelled Next Step flow)."""
    store = context.services.store
    call = await store.get_call(call_id)
    if call is None or call.owner_id != who.id or call.outcome is not None:
        return None
    contact = await store.get_contact(who.id, call.contact_id)
    if contact is None:
        return None
    return t(who.lang, "call.reopen", name=contact.name), outcome_keyboard(who.lang, call.id)


# -- logging a dial ------------------------------------------------------------------------------


async def call_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    text = message_text_arg(update)
    if not text:
        await offer_prospects(update, context, who)
        return
    parsed = parse_contact(text)
    if isinstance(parsed, ContactError):
        await reply(update, contact_error_text(who.lang, parsed))
        return
    await log_and_render(update, context, who, parsed)


async def shared_contact_message(update: Update, context: BallbackContext) -> None:
    """A contact shared from the phone's address book starts a call to that person."""
    who = await actor(update, context)
    message = update.effective_message
    assert message is not None and message.contact is not None
    card = message.contact
    parsed = shared_contact(card.first_name, card.last_name, card.phone_number)
    if isinstance(parsed, ContactError):
        await reply(update, contact_error_text(who.lang, parsed))
        return
    await log_and_render(update, context, who, parsed)


async def log_and_render(
    update: Update, context: BallbackContext, who: Actor, contact: ContactInput
) -> None:
    message = update.effective_message
    assert message is not None
    logged = await context.services.store.log_call(
        who.user,
        name=contact.name,
        name_key=contact.key,
        company=contact.company,
        phone=contact.phone,
        note=contact.note,
        when=who.moment,
        src_chat=message.chat_id,
        src_message=message.message_id,
    )
    if logged.created:
        await close_callback_question(context, who)
    elif logged.call.outcome is not None:  # a redelivered update whose call is done with
        await reply(update, t(who.lang, "call.again", name=logged.contact.name))
        return
    text, markup = await logged_view(context, who, logged)
    await tell(update, text, markup)


async def close_callback_question(context: BallbackContext, who: Actor) -> None:
    """A new call moves on from an unanswered "when should you call back?": typed text after
    it is no longer read as a date (its buttons still work)."""
    store = context.services.store
    flow = await store.get_flow(who.id)
    if flow is not None and flow.kind == FLOW_CALLBACK:
        await store.clear_flow(who.id)


async def offer_prospects(update: Update, context: BallbackContext, who: Actor) -> None:
    """A bare ``/call``: the rep's recent prospects, call-backs that are due first."""
    store = context.services.store
    recent = await store.recent_contacts(who.id, PICK_SCAN)
    ahead = await store.next_steps_due(who.id, who.now, who.rules.cycle_end(who.now))
    clients = client_ids(ahead, who.now, who.rules)
    picks = pick_prospects(recent, clients, who.now, who.rules, PICK_LIMIT)
    if not picks:
        await reply(update, t(who.lang, "call.usage"))
        return
    rows = [[button(pick_label(who, c), f"p:{c.id}")] for c in picks]
    await reply(update, t(who.lang, "call.pick"), keyboard(rows))


def pick_label(who: Actor, contact: Contact) -> str:
    """The contact's name, with ⏰ when their call-back day has come."""
    due = callback_due(contact.callback_at, who.now, who.rules)
    return ("⏰ " if due else "") + contact.name[: nextsteps.PICK_LABEL]


async def picked(update: Update, context: BallbackContext) -> None:
    """A prospect tapped in the ``/call`` picker: log a dial to them, in place of the picker."""
    own = await nextsteps.own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    assert query.message is not None
    logged = await context.services.store.log_call_to(
        who.user,
        int(callback_data.split(":")[1]),
        when=who.moment,
        src_chat=query.message.chat.id,
        src_message=query.message.message_id,
    )
    if logged is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    if logged.created:
        await close_callback_question(context, who)
    elif logged.call.outcome is not None:  # a late double tap: the call is done with
        done = Outcome.parse(logged.call.outcome)
        label = t(who.lang, f"outcome.{done.value}") if done else ""
        await query.answer(t(who.lang, "result.already", outcome=label))
        return
    await query.answer()
    text, markup = await logged_view(context, who, logged)
    await nextsteps.say(update, text, markup, edit=True)


# -- outcomes ------------------------------------------------------------------------------------


async def group_heading(update: Update, context: BallbackContext) -> None:
    """A group's heading above the outcome buttons: what the group means."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await actor(update, context)
    group = OutcomeGroup(query.data.split(":")[1])
    await query.answer(t(who.lang, f"group.hint.{group.value}"))


async def _refuse(query: CallbackQuery, lang: Lang, key: str, **values: object) -> None:
    await query.answer(t(lang, key, **values), show_alert=True)


async def ask_next_step(update: Update, context: BallbackContext, who: Actor, call: Call) -> None:
    """ "Agreed on a Next Step" under a call without an outcome yet: ask for it, in place."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    flow = nextsteps.live_flow(await context.services.store.get_flow(who.id), who)
    if flow and flow.kind == nextsteps.FLOW and flow.message_id == query.message.message_id:
        return  # a double tap: the flow is already asking on this message
    await nextsteps.start_flow(
        update, context, who, contact_id=call.contact_id, call_id=call.id, edit=True
    )


async def outcome_chosen(update: Update, context: BallbackContext) -> None:
    own = await nextsteps.own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    assert query.message is not None
    store = context.services.store
    _, call_text, code = callback_data.split(":")
    outcome = Outcome.parse(code)
    if outcome is None:
        await _refuse(query, who.lang, "button.stale")
        return
    if outcome is Outcome.NEXT_STEP:  # the others are checked by set_outcome itself
        call = await store.get_call(int(call_text))
        if call is None:
            await _refuse(query, who.lang, "button.stale")
            return
        if call.owner_id != who.id:
            await _refuse(query, who.lang, "button.not_yours")
            return
        if call.outcome is None:
            await ask_next_step(update, context, who, call)
            return
    result, saved, contact = await store.set_outcome(who.id, int(call_text), outcome.value)

    if result is OutcomeResult.NOT_OWNER:
        await _refuse(query, who.lang, "button.not_yours")
        return
    if result is OutcomeResult.NOT_FOUND or saved is None or contact is None:
        await _refuse(query, who.lang, "button.stale")
        return
    shown = Outcome.parse(saved.outcome or "") or outcome
    text = result_text(who.lang, contact, shown)
    if result is not OutcomeResult.SAVED:
        label = t(who.lang, f"outcome.{shown.value}")
        if result is OutcomeResult.ALREADY:  # a double tap: the message shows it already
            await query.answer(t(who.lang, "result.already", outcome=label))
            return
        await _refuse(query, who.lang, "result.already", outcome=label)  # an older message
        await nextsteps.say(update, text, None, edit=True)
        return
    if outcome.settles_callback and callback_due(contact.callback_at, who.now, who.rules):
        await store.set_callback(who.id, contact.id, None)
    if not outcome.asks_callback:
        await answer_and_edit(query, text)
        return
    text += "\n" + t(who.lang, "result.callback_ask")
    await answer_and_edit(query, text, callback_keyboard(who.lang, saved.id))
    data = {"contact_id": contact.id, "call_id": saved.id}
    await nextsteps.open_flow(context, who, FLOW_CALLBACK, data, query.message.message_id)


# -- call-back dates -----------------------------------------------------------------------------


async def callback_chosen(update: Update, context: BallbackContext) -> None:
    """A quick call-back date (or Skip) under a "call me later" result."""
    own = await nextsteps.own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    store = context.services.store
    _, call_text, days_text = callback_data.split(":")
    days = int(days_text)
    call = await store.get_call(int(call_text))
    if call is not None and call.owner_id != who.id:
        await _refuse(query, who.lang, "button.not_yours")
        return
    contact = await store.get_contact(who.id, call.contact_id) if call else None
    valid = days == 0 or days in CALLBACK_DAYS
    if call is None or contact is None or call.outcome != Outcome.CALL_LATER or not valid:
        await _refuse(query, who.lang, "button.stale")
        return
    await query.answer()
    flow = await store.get_flow(who.id)
    if flow is not None and flow.kind == FLOW_CALLBACK and flow.data.get("call_id") == call.id:
        await store.clear_flow(who.id)
    base = result_text(who.lang, contact, Outcome.CALL_LATER)
    if days == 0:
        await store.set_callback(who.id, contact.id, None)
        line = t(who.lang, "result.callback_skip")
    else:
        day = who.today + timedelta(days=days)
        await store.set_callback(who.id, contact.id, callback_moment(day, None, who.now, who.rules))
        line = t(
            who.lang, "result.callback_set", name=contact.name, day=Html(format_day(who.lang, day))
        )
    await nextsteps.say(update, base + "\n" + line, None, edit=True)


async def callback_typed(
    update: Update, context: BallbackContext, who: Actor, contact_id: int, text: str
) -> None:
    """A typed call-back date while the "call me later" question is open."""
    store = context.services.store
    retry = t(who.lang, "result.callback_retry")
    parsed = parse_when(text, who.local_now())
    if not isinstance(parsed, When):
        await reply(update, t(who.lang, f"when.{parsed.error.value}") + "\n" + retry)
        return
    moment = callback_moment(parsed.day, parsed.at, who.now, who.rules)
    if moment is None:
        await reply(update, t(who.lang, "ns.past") + "\n" + retry)
        return
    flow = await store.clear_flow(who.id)
    contact = await store.get_contact(who.id, contact_id)
    if contact is None:
        await reply(update, t(who.lang, "button.stale"))
        return
    await store.set_callback(who.id, contact.id, moment)
    if flow is not None and flow.message_id is not None:
        await strip_keyboard(context, who.id, flow.message_id)
    local = who.rules.local(moment)
    shown = format_when(who.lang, local) if parsed.at else format_day(who.lang, local.date())
    await reply(update, t(who.lang, "result.callback_set", name=contact.name, day=Html(shown)))


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            CommandHandler("call", call_command, filters=PRIVATE),
            MessageHandler(filters.CONTACT & PRIVATE, shared_contact_message),
            CallbackQueryHandler(outcome_chosen, pattern=r"^o:\d{1,12}:[a-z]{2}$"),
            CallbackQueryHandler(group_heading, pattern=r"^g:(ball|not_reached|reached)$"),
            CallbackQueryHandler(picked, pattern=r"^p:\d{1,12}$"),
            CallbackQueryHandler(callback_chosen, pattern=r"^b:\d{1,12}:\d{1,3}$"),
        ]
    )
