"""Where the rep's time should go: ``/pipeline``, ``/contact`` and the contact card.

The lists come from :mod:`storage.pipeline` (candidates, gathered with indexes) judged by
:mod:`bot.domain.pipeline` (the rules). The card's buttons reuse the existing paths: a call is
logged like a ``/call`` picker tap, a Next Step starts the guided flow of ``/nextstep``, and an
edit of the phone or company is a small flow whose answer is the next typed text.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.app import BallbackApp, BallbackContext
from bot.domain.contacts import MAX_COMPANY, clean, format_phone, name_key, normalise_phone
from bot.domain.outcomes import Outcome
from bot.domain.pipeline import (
    PAGE_SIZE,
    STOP_CHASING_CALLS,
    Section,
    calls_without_ball,
    chase_since,
    client_window,
    page_span,
    stop_chasing,
)
from bot.domain.rules import ContactStatus, contact_status
from bot.domain.sheet import Sheet, SheetRow, render_csv, render_pdf
from bot.domain.transfer import phone_for_excel
from bot.locales import Html, Lang, format_day, format_when, plural, t
from handlers import calls, nextsteps
from handlers.common import PRIVATE, Actor, actor, button, keyboard, message_text_arg, reply
from storage.models import Contact, Flow, NextStep
from storage.pipeline import (
    ChaseCandidate,
    ClientRow,
    ContactField,
    DueCount,
    DueRow,
    PipelineStore,
)

FLOW_EDIT = "ke"  # the next typed text is a contact's new phone or company
DUE_CAP = 1000  # never-called prospects are counted up to this many
PICK_LIMIT = 8
CARD_CALLS = 15
CARD_STEPS = 10
MAX_MESSAGE = 4000  # a little under Telegram's 4096
SHEET_LIMIT = 300  # rows on the call sheet: a long day's calling, and a few pages of paper
SHEET_BUTTON = "pl:l"  # "send me today's call sheet": under /pipeline, and for the morning nudge

_PAGE_DATA = re.compile(r"^pl:([cps]):(\d{1,6})$")
_CARD_DATA = re.compile(r"^k:([vcnpoar]):(\d{1,18})$")


def short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, so a list stays readable."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def company_suffix(contact: Contact) -> str:
    return f", {short(contact.company, 30)}" if contact.company else ""


# -- gathering the lists ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What ``/pipeline`` counts: clients, prospects due for a call, ones to stop chasing."""

    clients: int
    due: DueCount
    stop: list[ChaseCandidate]  # judged by the domain, most calls first

    def count(self, section: Section) -> int:
        if section is Section.CLIENTS:
            return self.clients
        if section is Section.DUE:
            return self.due.total
        return len(self.stop)

    def label(self, section: Section) -> str:
        n = self.count(section)
        return f"{n}+" if section is Section.DUE and self.due.capped else str(n)


async def gather(store: PipelineStore, who: Actor) -> Pipeline:
    after, before = client_window(who.now, who.rules)
    clients = await store.count_clients(who.id, after, before)
    due = await store.count_due(who.id, who.now, after, before, cap=DUE_CAP)
    since = chase_since(who.now, who.rules)
    candidates = await store.chase_candidates(
        who.id, since, who.now, after, before, min_calls=STOP_CHASING_CALLS
    )
    # the query left clients out already: no open ball-type Next Step is passed in
    stop = [c for c in candidates if stop_chasing(c.calls, c.balls, [], who.now, who.rules)]
    stop.sort(
        key=lambda c: (-calls_without_ball(c.calls, c.balls, who.now, who.rules), c.contact.name)
    )
    return Pipeline(clients=clients, due=due, stop=stop)


async def due_rows(store: PipelineStore, who: Actor, *, offset: int, limit: int) -> list[DueRow]:
    after, before = client_window(who.now, who.rules)
    return await store.due(who.id, who.now, after, before, offset=offset, limit=limit)


# -- rendering the lists ---------------------------------------------------------------------------


def client_line(who: Actor, n: int, row: ClientRow) -> str:
    when = Html(format_when(who.lang, who.rules.local(row.due_at)))
    return t(
        who.lang,
        "pl.row.client",
        n=n,
        name=short(row.contact.name, 40),
        company=company_suffix(row.contact),
        action=short(row.action, 60),
        when=when,
    )


def due_line(who: Actor, n: int, row: DueRow) -> str:
    name, company = short(row.contact.name, 40), company_suffix(row.contact)
    if row.contact.callback_at is None:
        return t(who.lang, "pl.row.new", n=n, name=name, company=company)
    day = who.rules.local(row.contact.callback_at).date()
    return t(
        who.lang,
        "pl.row.callback",
        n=n,
        name=name,
        company=company,
        day=Html(format_day(who.lang, day)),
    )


def stop_line(who: Actor, n: int, row: ChaseCandidate) -> str:
    count = calls_without_ball(row.calls, row.balls, who.now, who.rules)
    return t(
        who.lang,
        "pl.row.stop",
        n=n,
        name=short(row.contact.name, 40),
        company=company_suffix(row.contact),
        calls=plural(who.lang, "plural.calls", count),
        day=Html(format_day(who.lang, who.rules.local(row.last_call).date())),
    )


async def render_pipeline(
    store: PipelineStore, who: Actor, section: Section, page: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    """The ``/pipeline`` message showing ``page`` of ``section``; ``None`` if no such page."""
    pipe = await gather(store, who)
    span = page_span(pipe.count(section), page)
    if span is None:
        return None
    lines: list[str] = []
    contacts: list[Contact] = []
    first = span.offset + 1
    if section is Section.CLIENTS:
        after, before = client_window(who.now, who.rules)
        clients = await store.clients(who.id, after, before, offset=span.offset, limit=span.size)
        for n, client in enumerate(clients, first):
            # the one definition of a client has the last word on every row
            if contact_status([client.due_at], who.now, who.rules) is ContactStatus.CLIENT:
                lines.append(client_line(who, n, client))
                contacts.append(client.contact)
    elif section is Section.DUE:
        for n, due in enumerate(
            await due_rows(store, who, offset=span.offset, limit=span.size), first
        ):
            lines.append(due_line(who, n, due))
            contacts.append(due.contact)
    else:
        for n, chase in enumerate(pipe.stop[span.offset : span.offset + span.size], first):
            lines.append(stop_line(who, n, chase))
            contacts.append(chase.contact)
    page_note = t(who.lang, "pl.page", page=span.page, pages=span.pages) if span.pages > 1 else ""
    text = [
        t(who.lang, "pl.title"),
        t(
            who.lang,
            "pl.counts",
            clients=pipe.label(Section.CLIENTS),
            due=pipe.label(Section.DUE),
            stop=pipe.label(Section.STOP),
        ),
        "",
        t(who.lang, f"pl.head.{section.value}", page=Html(page_note)),
    ]
    if section is Section.STOP:
        text.append(t(who.lang, "pl.stop.method", cycle=who.rules.cycle_days))
    text.extend(lines or [t(who.lang, f"pl.empty.{section.value}", cycle=who.rules.cycle_days)])
    return "\n".join(text), pipeline_keyboard(who, pipe, section, span.page, span.pages, contacts)


def pipeline_keyboard(
    who: Actor,
    pipe: Pipeline,
    section: Section,
    page: int,
    pages: int,
    contacts: list[Contact],
) -> InlineKeyboardMarkup:
    first = (page - 1) * PAGE_SIZE + 1
    people = [
        button(f"{n}. {short(contact.name, 28)}", f"k:v:{contact.id}")
        for n, contact in enumerate(contacts, first)
    ]
    rows: list[list[InlineKeyboardButton]] = [people[i : i + 2] for i in range(0, len(people), 2)]
    tabs = []
    for tab in Section:
        label = t(who.lang, f"pl.tab.{tab.value}", n=pipe.label(tab))
        tabs.append(button(("• " if tab is section else "") + label, f"pl:{tab.value}:1"))
    rows.append(tabs)
    if pages > 1:
        nav = []
        if page > 1:
            nav.append(button("‹", f"pl:{section.value}:{page - 1}"))
        nav.append(button(f"{page}/{pages}", f"pl:{section.value}:{page}"))
        if page < pages:
            nav.append(button("›", f"pl:{section.value}:{page + 1}"))
        rows.append(nav)
    rows.append([sheet_button(who.lang)])
    return keyboard(rows)


# -- /pipeline -------------------------------------------------------------------------------------


async def pipeline_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    store = context.services.store.pipeline
    after, before = client_window(who.now, who.rules)
    section = Section.CLIENTS
    if await store.count_clients(who.id, after, before) == 0:
        section = Section.DUE
    rendered = await render_pipeline(store, who, section, 1)
    assert rendered is not None  # page 1 always exists
    await reply(update, *rendered)


async def page_button(update: Update, context: BallbackContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    who = await actor(update, context)
    if query.message.chat.id != who.id:  # the lists shown are the presser's own: private only
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    match = _PAGE_DATA.match(query.data)
    assert match is not None
    rendered = await render_pipeline(
        context.services.store.pipeline, who, Section(match[1]), int(match[2])
    )
    if rendered is None:
        await query.answer(t(who.lang, "pl.no_page"), show_alert=True)
        return
    await query.answer()
    text, markup = rendered
    with contextlib.suppress(BadRequest):  # the same page again: "message is not modified"
        await query.edit_message_text(text, reply_markup=markup)


# -- the call sheet ----------------------------------------------------------------------------


def sheet_button(lang: Lang) -> InlineKeyboardButton:
    """The button that sends the presser today's call sheet (the morning nudge can carry it)."""
    return button(t(lang, "pl.sheet"), SHEET_BUTTON)


def long_day(lang: Lang, day: date) -> str:
    return (
        f"{format_day(lang, day)} {day.year}"
        if lang == "en"
        else f"{format_day(lang, day)}.{day.year}"
    )


def last_call_text(who: Actor, row: DueRow) -> str:
    if row.last_call_at is None:
        return ""
    label = outcome_label(who, row.last_outcome)
    return f"{label} {who.rules.local(row.last_call_at):%d.%m}"


async def build_sheet(context: BallbackContext, who: Actor) -> tuple[Sheet, int, str] | None:
    """Today's call sheet: the prospects due for a call, in /pipeline's order, up to the limit.

    Returns the sheet, how many are due in all, and that number as shown (``1000+``).
    """
    store = context.services.store.pipeline
    rows = await due_rows(store, who, offset=0, limit=SHEET_LIMIT)
    if not rows:
        return None
    after, before = client_window(who.now, who.rules)
    due = await store.count_due(who.id, who.now, after, before, cap=DUE_CAP)
    shown = f"{due.total}+" if due.capped else str(due.total)
    name = " ".join(part for part in (who.user.first_name, who.user.last_name) if part)
    lang = who.lang
    # the PDF and the CSV are not HTML: their texts are formatted without escaping
    sheet = Sheet(
        title=t(lang, "sheet.title").format(name=name),
        subtitle=t(lang, "sheet.subtitle").format(
            day=long_day(lang, who.today),
            quota=plural(lang, "plural.calls", who.rules.quota),
            n=len(rows),
        ),
        hint=t(lang, "sheet.hint"),
        tally=t(lang, "sheet.tally"),
        quota=who.rules.quota,
        columns=(
            t(lang, "sheet.col.n"),
            t(lang, "sheet.col.name"),
            t(lang, "sheet.col.company"),
            t(lang, "sheet.col.phone"),
            t(lang, "sheet.col.last"),
            t(lang, "sheet.col.called"),
            t(lang, "sheet.col.ball"),
            t(lang, "sheet.col.notes"),
        ),
        footer=t(lang, "sheet.footer"),
        rows=[
            SheetRow(
                name=row.contact.name,
                company=row.contact.company or "",
                phone=format_phone(row.contact.phone) if row.contact.phone else "",
                phone_csv=phone_for_excel(row.contact.phone) if row.contact.phone else "",
                last_call=last_call_text(who, row),
                note=row.contact.note or "",
            )
            for row in rows
        ],
    )
    return sheet, due.total, shown


async def send_sheet(update: Update, context: BallbackContext, who: Actor) -> None:
    """Send today's call sheet as a PDF to print and the same rows as CSV."""
    chat = update.effective_chat
    assert chat is not None
    built = await build_sheet(context, who)
    if built is None:
        await context.bot.send_message(chat.id, t(who.lang, "sheet.empty"))
        return
    sheet, total, shown = built
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_DOCUMENT)
    pdf, csv = await asyncio.to_thread(lambda: (render_pdf(sheet), render_csv(sheet)))
    day = who.today
    caption = t(who.lang, "sheet.caption", day=Html(format_day(who.lang, day)), n=len(sheet.rows))
    if total > len(sheet.rows):
        caption += "\n" + t(who.lang, "sheet.more", shown=len(sheet.rows), total=shown)
    await context.bot.send_document(
        chat.id, InputFile(pdf, filename=f"call-sheet-{day.isoformat()}.pdf"), caption=caption
    )
    await context.bot.send_document(
        chat.id,
        InputFile(csv, filename=f"call-sheet-{day.isoformat()}.csv"),
        caption=t(who.lang, "sheet.csv_caption"),
    )


async def list_command(update: Update, context: BallbackContext) -> None:
    await send_sheet(update, context, await actor(update, context))


async def list_button(update: Update, context: BallbackContext) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    who = await actor(update, context)
    if query.message.chat.id != who.id:  # the sheet is the presser's own: private chat only
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    await query.answer()
    await send_sheet(update, context, who)


# -- the contact card ------------------------------------------------------------------------------


def step_status(who: Actor, step: NextStep) -> str:
    if step.status == "open":
        status = t(who.lang, "step.open" if step.due_at > who.now else "step.lapsed")
    else:
        status = t(who.lang, f"step.{step.status}")
    if step.kind == "reminder":
        status = f"{t(who.lang, 'step.reminder')}, {status}"
    return status


def outcome_label(who: Actor, code: str | None) -> str:
    outcome = Outcome.parse(code or "")
    return t(who.lang, f"outcome.{outcome.value}") if outcome else t(who.lang, "card.no_outcome")


def _fit(head: list[str], sections: list[tuple[str, list[str], int]], who: Actor) -> str:
    """Join the card, dropping the oldest history lines until it fits one message."""
    while True:
        parts = list(head)
        for title, lines, older in sections:
            parts.append(title)
            parts.extend(lines)
            if older:
                parts.append(t(who.lang, "card.older", n=older))
        text = "\n".join(parts)
        longest = max(sections, key=lambda s: len(s[1]))
        if len(text) <= MAX_MESSAGE or not longest[1]:
            return text
        index = sections.index(longest)
        title, lines, older = longest
        sections[index] = (title, lines[:-1], older + 1)


async def render_card(
    context: BallbackContext, who: Actor, contact: Contact
) -> tuple[str, InlineKeyboardMarkup]:
    store = context.services.store.pipeline
    history = await store.history(who.id, contact.id, calls=CARD_CALLS, steps=CARD_STEPS)
    head = [t(who.lang, "card.title", name=contact.name)]
    if contact.company:
        head.append(t(who.lang, "card.company", company=contact.company))
    if contact.phone:  # plain text: Telegram makes a phone number tappable to call
        head.append(t(who.lang, "card.phone", phone=format_phone(contact.phone)))
    live = sorted(
        (
            s
            for s in history.open_balls
            if contact_status([s.due_at], who.now, who.rules) is ContactStatus.CLIENT
        ),
        key=lambda s: (s.due_at, s.id),
    )
    dues = [s.due_at for s in history.open_balls]
    if contact_status(dues, who.now, who.rules) is ContactStatus.CLIENT and live:
        when = Html(format_when(who.lang, who.rules.local(live[0].due_at)))
        head.append(t(who.lang, "card.client", action=short(live[0].action, 80), when=when))
    else:
        head.append(t(who.lang, "card.prospect"))
        since = chase_since(who.now, who.rules)
        activity = await store.activity(who.id, contact.id, since, who.now)
        if stop_chasing(*activity, [], who.now, who.rules):
            count = calls_without_ball(*activity, who.now, who.rules)
            head.append(
                t(
                    who.lang,
                    "card.stop",
                    calls=plural(who.lang, "plural.calls", count),
                    cycle=who.rules.cycle_days,
                )
            )
    if contact.callback_at is not None:
        day = who.rules.local(contact.callback_at).date()
        head.append(t(who.lang, "card.callback", day=Html(format_day(who.lang, day))))
    if contact.archived:
        head.append(t(who.lang, "card.archived"))
    if contact.note:
        head.append(t(who.lang, "card.note", note=short(contact.note, 300)))
    step_lines = [
        t(
            who.lang,
            "card.step",
            created=Html(format_day(who.lang, who.rules.local(s.created_at).date())),
            action=short(s.action, 80),
            when=Html(format_when(who.lang, who.rules.local(s.due_at))),
            status=step_status(who, s),
        )
        for s in history.steps
    ]
    call_lines = [
        t(
            who.lang,
            "card.call",
            when=Html(format_when(who.lang, who.rules.local(c.at))),
            outcome=outcome_label(who, c.outcome),
            note=f" · {short(c.note, 60)}" if c.note else "",
        )
        for c in history.calls
    ]
    sections = [
        (
            t(who.lang, "card.steps", n=history.total_steps)
            if history.total_steps
            else t(who.lang, "card.no_steps"),
            step_lines,
            history.total_steps - len(step_lines),
        ),
        (
            t(who.lang, "card.calls", n=history.total_calls)
            if history.total_calls
            else t(who.lang, "card.no_calls"),
            call_lines,
            history.total_calls - len(call_lines),
        ),
    ]
    return _fit(head, sections, who), card_keyboard(who, contact)


def card_keyboard(who: Actor, contact: Contact) -> InlineKeyboardMarkup:
    cid = contact.id
    archive = (
        button(t(who.lang, "card.restore"), f"k:r:{cid}")
        if contact.archived
        else button(t(who.lang, "card.archive"), f"k:a:{cid}")
    )
    return keyboard(
        [
            [
                button(t(who.lang, "card.log_call"), f"k:c:{cid}"),
                button(t(who.lang, "card.next_step"), f"k:n:{cid}"),
            ],
            [
                button(t(who.lang, "card.edit_phone"), f"k:p:{cid}"),
                button(t(who.lang, "card.edit_company"), f"k:o:{cid}"),
            ],
            [archive],
        ]
    )


async def send_card(update: Update, context: BallbackContext, who: Actor, contact: Contact) -> None:
    text, markup = await render_card(context, who, contact)
    await reply(update, text, markup)


# -- /contact --------------------------------------------------------------------------------------


def picker(who: Actor, contacts: list[Contact]) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [button(short(c.name + (f", {c.company}" if c.company else ""), 60), f"k:v:{c.id}")]
            for c in contacts
        ]
    )


async def contact_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    query = message_text_arg(update)
    store = context.services.store
    if not query:
        recent = await store.recent_contacts(who.id, PICK_LIMIT)
        await reply(update, t(who.lang, "contact.usage"), picker(who, recent) if recent else None)
        return
    key = name_key(query)
    exact_match = await store.find_contact(who.id, key)  # the usual case, and an index lookup
    if exact_match is not None:
        await send_card(update, context, who, exact_match)
        return
    found = await store.pipeline.search(who.id, key, normalise_phone(query), limit=PICK_LIMIT + 1)
    exact = [c for c in found if name_key(c.name) == key]
    if len(found) == 1 or len(exact) == 1:
        await send_card(update, context, who, exact[0] if len(exact) == 1 else found[0])
    elif found:
        await reply(update, t(who.lang, "contact.pick"), picker(who, found[:PICK_LIMIT]))
    else:
        await reply(update, t(who.lang, "contact.none", query=short(query, 60)))


async def card_button(update: Update, context: BallbackContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    who = await actor(update, context)
    match = _CARD_DATA.match(query.data)
    assert match is not None
    op, contact_id = match[1], int(match[2])
    services = context.services
    contact = await services.store.pipeline.contact_by_id(contact_id)
    if contact is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    if contact.owner_id != who.id:
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    if op == "v":
        await query.answer()
        await send_card(update, context, who, contact)
    elif op == "c":
        logged = await services.store.log_call_to(
            who.user,
            contact.id,
            when=who.moment,
            src_chat=query.message.chat.id,
            src_message=query.message.message_id,
        )
        if logged is None:
            await query.answer(t(who.lang, "button.stale"), show_alert=True)
        elif not logged.created and logged.call.outcome is not None:
            await query.answer(t(who.lang, "card.call_again"), show_alert=True)
        else:
            await query.answer()
            if logged.created:
                await calls.close_callback_question(context, who)
            text, markup = await calls.logged_view(context, who, logged)
            await reply(update, text, markup)
    elif op == "n":
        await query.answer()
        await nextsteps.start_flow(
            update, context, who, contact_id=contact.id, call_id=None, edit=False
        )
    elif op in ("p", "o"):
        await query.answer()
        field = "phone" if op == "p" else "company"
        sent = await reply(update, t(who.lang, f"card.ask_{field}", name=contact.name))
        await services.store.put_flow(
            who.user,
            FLOW_EDIT,
            {"contact_id": contact.id, "field": field},
            who.now,
            message_id=sent.message_id,
        )
    else:
        archived = op == "a"
        changed = await services.store.pipeline.set_archived(who.id, contact.id, archived)
        if changed is None:
            await query.answer(t(who.lang, "button.stale"), show_alert=True)
            return
        key = "card.archived_done" if archived else "card.restored"
        await query.answer(t(who.lang, key, name=short(changed.name, 60)))
        text, markup = await render_card(context, who, changed)
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(text, reply_markup=markup)


async def edit_typed(
    update: Update, context: BallbackContext, who: Actor, flow: Flow, text: str
) -> None:
    """The typed answer to "send the new phone / company" (``-`` clears it)."""
    field: ContactField = "phone" if flow.data.get("field") == "phone" else "company"
    value: str | None = text.strip()
    if value in ("-", "—", "–"):
        value = None
    elif field == "phone":
        value = normalise_phone(text)
        if value is None:
            await reply(update, t(who.lang, "card.bad_phone"))
            return
    else:
        value = clean(text)
        if not value or len(value) > MAX_COMPANY:
            await reply(update, t(who.lang, "card.bad_company"))
            return
    store = context.services.store
    contact = await store.pipeline.set_field(who.id, int(flow.data["contact_id"]), field, value)
    await store.clear_flow(who.id)
    if contact is None:
        await reply(update, t(who.lang, "button.stale"))
        return
    card, markup = await render_card(context, who, contact)
    await reply(update, t(who.lang, "card.saved") + "\n\n" + card, markup)


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            CommandHandler("pipeline", pipeline_command, filters=PRIVATE),
            CommandHandler("contact", contact_command, filters=PRIVATE),
            CommandHandler("list", list_command, filters=PRIVATE),
            CallbackQueryHandler(list_button, pattern=rf"^{SHEET_BUTTON}$"),
            CallbackQueryHandler(page_button, pattern=_PAGE_DATA),
            CallbackQueryHandler(card_button, pattern=_CARD_DATA),
        ]
    )
