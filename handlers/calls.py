"""Logging calls: ``/call``, a shared phone contact, the outcome buttons, call-back dates."""

from __future__ import annotations

import contextlib
from datetime import datetime, time, timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.domain.contacts import ContactError, ContactInput, format_phone, normalise_phone
from bot.domain.contacts import parse_contact as parse_contact_text
from bot.domain.outcomes import KEYBOARD, POLITE_NOS, Outcome, OutcomeGroup
from bot.domain.when import When, parse_when
from bot.locales import Html, format_day, t
from handlers import nextsteps
from handlers.common import (
    Actor,
    PlainKeyboard,
    actor,
    answer_and_edit,
    button,
    keyboard,
    message_text_arg,
    reply,
    strip_keyboard,
)
from storage.models import Contact, LoggedCall
from storage.repo import OutcomeResult

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
FLOW_CALLBACK = "cb"
CALLBACK_DAYS = (3, 7, 14)
PICK_LIMIT = 8


def contact_details(contact: Contact) -> str:
    parts = [contact.company] if contact.company else []
    if contact.phone:
        parts.append(format_phone(contact.phone))
    return (", " + " · ".join(parts)) if parts else ""


def outcome_keyboard(who: Actor, call_id: int) -> InlineKeyboardMarkup:
    """Sent after every call: built as a :class:`PlainKeyboard` (the hot path)."""
    return PlainKeyboard(
        [
            [(t(who.lang, f"outcome.{o.value}"), f"o:{call_id}:{o.value}") for o in row]
            for row in KEYBOARD
        ]
    )


async def render_logged(
    update: Update, context: BallbackContext, who: Actor, logged: LoggedCall
) -> None:
    store = context.services.store
    if not logged.created and logged.call.outcome is not None:
        await reply(update, t(who.lang, "call.again", name=logged.contact.name))
        return
    start, end = who.rules.day_bounds(who.rules.today(who.now))
    stats = await store.day_stats(who.id, start, end, ())
    text = t(
        who.lang,
        "call.logged",
        n=stats.calls,
        quota=who.rules.quota,
        name=logged.contact.name,
        details=contact_details(logged.contact),
    )
    await reply(update, text, outcome_keyboard(who, logged.call.id))


def contact_error_text(who: Actor, error: ContactError) -> str:
    return t(who.lang, f"contact.{error.value}") + "\n\n" + t(who.lang, "call.usage")


async def call_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    text = message_text_arg(update)
    if not text:
        await offer_recent(update, context, who)
        return
    parsed = parse_contact_text(text)
    if isinstance(parsed, ContactError):
        await reply(update, contact_error_text(who, parsed))
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
        at=who.now,
        src_chat=message.chat_id,
        src_message=message.message_id,
    )
    await render_logged(update, context, who, logged)


async def offer_recent(update: Update, context: BallbackContext, who: Actor) -> None:
    recent = await context.services.store.recent_contacts(who.id, PICK_LIMIT)
    if not recent:
        await reply(update, t(who.lang, "call.usage"))
        return
    rows = [[button(c.name[:60], f"p:{c.id}")] for c in recent]
    await reply(update, t(who.lang, "call.pick"), keyboard(rows))


async def shared_contact(update: Update, context: BallbackContext) -> None:
    """A contact shared from the phone's address book starts a call to that person."""
    who = await actor(update, context)
    message = update.effective_message
    assert message is not None and message.contact is not None
    shared = message.contact
    name = " ".join(part for part in (shared.first_name, shared.last_name) if part)
    phone = normalise_phone(shared.phone_number)
    text = name + (f" {phone}" if phone else "")
    parsed = parse_contact_text(text)
    if isinstance(parsed, ContactError):
        await reply(update, contact_error_text(who, parsed))
        return
    await log_and_render(update, context, who, parsed)


async def picked(update: Update, context: BallbackContext) -> None:
    """A contact tapped in the ``/call`` picker: log a dial to them, in place of the picker."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    who = await actor(update, context)
    contact_id = int(query.data.split(":")[1])
    logged = await context.services.store.log_call_to(
        who.user,
        contact_id,
        at=who.now,
        src_chat=query.message.chat.id,
        src_message=query.message.message_id,
    )
    if logged is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    start, end = who.rules.day_bounds(who.rules.today(who.now))
    stats = await context.services.store.day_stats(who.id, start, end, ())
    text = t(
        who.lang,
        "call.logged",
        n=stats.calls,
        quota=who.rules.quota,
        name=logged.contact.name,
        details=contact_details(logged.contact),
    )
    if logged.call.outcome is None:
        await query.edit_message_text(text, reply_markup=outcome_keyboard(who, logged.call.id))


def result_text(who: Actor, contact: Contact, outcome: Outcome) -> str:
    line = t(
        who.lang, "result.line", name=contact.name, outcome=t(who.lang, f"outcome.{outcome.value}")
    )
    if outcome.group is OutcomeGroup.NOT_REACHED:
        extra = t(who.lang, "result.not_reached")
    elif outcome in POLITE_NOS:
        extra = t(who.lang, "result.polite_no", name=contact.name)
    else:
        extra = t(who.lang, "result.not_interested")
    return f"{line}\n{extra}"


def callback_keyboard(who: Actor, contact_id: int) -> InlineKeyboardMarkup:
    labels = {
        3: t(who.lang, "callback.days", n=3),
        7: t(who.lang, "callback.week"),
        14: t(who.lang, "callback.two_weeks"),
    }
    return keyboard(
        [
            [button(labels[d], f"b:{contact_id}:{d}") for d in CALLBACK_DAYS],
            [button(t(who.lang, "callback.skip"), f"b:{contact_id}:0")],
        ]
    )


async def outcome_chosen(update: Update, context: BallbackContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    who = await actor(update, context)
    _, call_id_text, code = query.data.split(":")
    outcome = Outcome.parse(code)
    store = context.services.store
    call = await store.get_call(int(call_id_text))
    if outcome is None or call is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    if call.owner_id != who.id:
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    if outcome is Outcome.NEXT_STEP and call.outcome is None:
        await query.answer()
        await nextsteps.start_flow(
            update, context, who, contact_id=call.contact_id, call_id=call.id, edit=True
        )
        return
    result, saved, contact = await store.set_outcome(who.id, call.id, outcome.value)
    if (
        result in (OutcomeResult.NOT_FOUND, OutcomeResult.NOT_OWNER)
        or saved is None
        or contact is None
    ):
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    shown = Outcome(saved.outcome) if saved.outcome else outcome
    if result is not OutcomeResult.SAVED:
        label = t(who.lang, f"outcome.{shown.value}")
        await query.answer(t(who.lang, "result.already", outcome=label))
        with contextlib.suppress(BadRequest):  # already like that, or gone
            await query.edit_message_text(result_text(who, contact, shown))
        return
    text = result_text(who, contact, shown)
    if shown is Outcome.CALL_LATER:
        await store.put_flow(
            who.user,
            FLOW_CALLBACK,
            {"contact_id": contact.id},
            who.now,
            message_id=query.message.message_id,
        )
        text += "\n" + t(who.lang, "result.callback_ask")
        await answer_and_edit(query, text, callback_keyboard(who, contact.id))
    else:
        await answer_and_edit(query, text)


async def reopen_call(update: Update, context: BallbackContext, who: Actor, call_id: int) -> None:
    """A Next Step flow started from a call was cancelled: ask for that call's outcome again."""
    store = context.services.store
    call = await store.get_call(call_id)
    if call is None or call.owner_id != who.id or call.outcome is not None:
        return
    contact = await store.get_contact(who.id, call.contact_id)
    if contact is None:
        return
    await reply(
        update,
        t(who.lang, "call.reopen", name=contact.name),
        outcome_keyboard(who, call.id),
    )


def callback_moment(who: Actor, when: When) -> datetime:
    return when.combine(who.rules.tz, time(9, 0))


async def callback_chosen(update: Update, context: BallbackContext) -> None:
    """A quick call-back date button under a "call me later" result."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    who = await actor(update, context)
    _, contact_text, days_text = query.data.split(":")
    store = context.services.store
    contact = await store.get_contact(who.id, int(contact_text))
    if contact is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    days = int(days_text)
    base = result_text(who, contact, Outcome.CALL_LATER)
    flow = await store.get_flow(who.id)
    if flow is not None and flow.kind == FLOW_CALLBACK:
        await store.clear_flow(who.id)
    if days == 0:
        await store.set_callback(who.id, contact.id, None)
        await query.edit_message_text(base + "\n" + t(who.lang, "result.callback_skip"))
        return
    day = who.rules.today(who.now) + timedelta(days=days)
    await store.set_callback(who.id, contact.id, callback_moment(who, When(day, None)))
    await query.edit_message_text(
        base
        + "\n"
        + t(who.lang, "result.callback_set", name=contact.name, day=Html(format_day(who.lang, day)))
    )


async def callback_typed(
    update: Update, context: BallbackContext, who: Actor, contact_id: int, text: str
) -> None:
    """A typed call-back date while the "call me later" question is open."""
    store = context.services.store
    parsed = parse_when(text, who.local_now())
    if not isinstance(parsed, When):
        await reply(update, t(who.lang, f"when.{parsed.error.value}"))
        return
    moment = callback_moment(who, parsed)
    if parsed.day < who.rules.today(who.now) or (parsed.at is not None and moment <= who.now):
        await reply(update, t(who.lang, "ns.past"))
        return
    contact = await store.get_contact(who.id, contact_id)
    flow = await store.clear_flow(who.id)
    if contact is None:
        await reply(update, t(who.lang, "button.stale"))
        return
    await store.set_callback(who.id, contact.id, moment)
    chat = update.effective_chat
    if flow is not None and flow.message_id is not None and chat is not None:
        await strip_keyboard(context, chat.id, flow.message_id)
    await reply(
        update,
        t(
            who.lang,
            "result.callback_set",
            name=contact.name,
            day=Html(format_day(who.lang, parsed.day)),
        ),
    )


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            CommandHandler("call", call_command, filters=PRIVATE),
            MessageHandler(filters.CONTACT & PRIVATE, shared_contact),
            CallbackQueryHandler(outcome_chosen, pattern=r"^o:\d+:[a-z]{2}$"),
            CallbackQueryHandler(picked, pattern=r"^p:\d+$"),
            CallbackQueryHandler(callback_chosen, pattern=r"^b:\d+:\d+$"),
        ]
    )
