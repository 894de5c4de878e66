"""Contacts in and out: import from a file, ``/export``, ``/forget``.

A ``.csv`` or ``.xlsx`` file sent to the bot in private chat is imported. The file is checked
before it is downloaded (its size) and after (size again, then whether it is a table at all);
its rows are read and judged by :mod:`bot.domain.transfer`, and everything that passes is stored
in one transaction, so a refused or failed file leaves nothing half-imported. A ``.vcf`` file
(vCards) is read by :mod:`bot.domain.vcard` instead, and goes the same way.

``/export`` sends the rep's contacts, calls and Next Steps as a zip of three CSV files for Excel;
``/forget``, after a confirmation button, deletes everything the bot stores about the user.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import PurePath

from telegram import InputFile, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.domain.outcomes import Outcome
from bot.domain.rules import ContactStatus, contact_status
from bot.domain.tables import MAX_BYTES, MAX_ROWS, TableError, read_table, write_csv, zip_files
from bot.domain.transfer import (
    FileProblem,
    ImportPlan,
    ImportRow,
    Rejected,
    lookup_keys,
    phone_for_excel,
    plan_import,
    read_contacts,
)
from bot.domain.vcard import VCARD_SUFFIXES, VCARD_TYPES, is_vcard, read_vcards
from bot.locales import plural, t
from handlers.common import PRIVATE, Actor, actor, button, keyboard, message_text_arg, reply
from handlers.pipeline import step_status
from handlers.team import ADMINS
from storage.pipeline import ExportData
from storage.teams import Team

log = logging.getLogger(__name__)

TABLE_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"})
TABLE_TYPES = frozenset(
    {
        "text/csv",
        "text/plain",
        "text/comma-separated-values",
        "text/tab-separated-values",
        "application/csv",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)
SHOWN_REJECTIONS = 20
FORGET_TTL = timedelta(hours=1)  # a confirmation button older than this asks again


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.0f}"


def rejection_line(who: Actor, item: Rejected) -> str:
    why = t(who.lang, f"import.why.{item.problem.value}", value=item.value)
    return t(who.lang, "import.rejected_row", line=item.line, why=why)


def report(who: Actor, file_name: str, plan: ImportPlan, rejected: list[Rejected]) -> str:
    lines = [t(who.lang, "import.done", file=file_name)]
    lines.append(t(who.lang, "import.created", n=plan.imported))
    lines.append(t(who.lang, "import.merged", n=plan.merged))
    everything = sorted([*rejected, *plan.rejected], key=lambda r: r.line)
    if everything:
        lines.append(t(who.lang, "import.rejected", n=len(everything)))
        lines.extend(rejection_line(who, item) for item in everything[:SHOWN_REJECTIONS])
        if len(everything) > SHOWN_REJECTIONS:
            lines.append(t(who.lang, "import.more", n=len(everything) - SHOWN_REJECTIONS))
    if plan.imported == 0 and plan.merged == 0:
        lines.append(t(who.lang, "import.nothing"))
    else:
        lines.append(t(who.lang, "import.next"))
    return "\n".join(lines)


def parse_file(
    data: bytes, vcard: bool = False
) -> tuple[list[ImportRow], list[Rejected], list[str], list[str]] | TableError | FileProblem:
    """The file's contacts, its rejected rows, and the phones and names to look up."""
    if vcard or is_vcard(data):
        contacts = read_vcards(data)
    else:
        table = read_table(data)
        if isinstance(table, TableError):
            return table
        contacts = read_contacts(table)
    if isinstance(contacts, TableError | FileProblem):
        return contacts
    rows, rejected = contacts
    phones, keys = lookup_keys(rows)
    return rows, rejected, phones, keys


async def import_document(update: Update, context: BallbackContext) -> None:
    """A document in private chat: import it if it is a table of contacts."""
    message = update.effective_message
    assert message is not None and message.document is not None
    document = message.document
    who = await actor(update, context)
    file_name = document.file_name or "file"
    suffix = PurePath(file_name.lower()).suffix
    mime = document.mime_type or ""
    vcard = suffix in VCARD_SUFFIXES or (mime in VCARD_TYPES and suffix not in TABLE_SUFFIXES)
    if suffix not in TABLE_SUFFIXES and mime not in TABLE_TYPES and not vcard:
        await reply(update, t(who.lang, "import.not_a_table"))
        return
    if suffix == ".xls":
        await reply(update, t(who.lang, "import.old_excel"))
        return
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await reply(update, t(who.lang, "import.too_big", mb=_mb(MAX_BYTES)))
        return
    await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
    try:
        remote = await context.bot.get_file(document.file_id)
        data = bytes(await remote.download_as_bytearray())
    except TelegramError as exc:  # gone, or too big for the Bot API to hand out
        log.warning("could not download an import file from %s: %s", who.id, exc)
        await reply(update, t(who.lang, "import.download_failed"))
        return
    if len(data) > MAX_BYTES:
        await reply(update, t(who.lang, "import.too_big", mb=_mb(MAX_BYTES)))
        return
    parsed = await asyncio.to_thread(parse_file, data, vcard)  # CPU work: off the event loop
    if isinstance(parsed, TableError | FileProblem):
        await reply(update, t(who.lang, f"import.{parsed.value}", mb=_mb(MAX_BYTES), rows=MAX_ROWS))
        return
    rows, rejected, phones, keys = parsed
    if rows:
        plan = await context.services.store.pipeline.import_contacts(
            who.user,
            phones=phones,
            name_keys=keys,
            plan=lambda known: plan_import(rows, known),
            now=who.now,
        )
    else:
        plan = ImportPlan()
    await reply(update, report(who, file_name, plan, rejected))


# -- /export -------------------------------------------------------------------------------------


def stamp(who: Actor, moment: datetime | None) -> str:
    """A moment in the rep's zone, the way Excel reads a date and time."""
    return "" if moment is None else f"{who.rules.local(moment):%Y-%m-%d %H:%M}"


def export_files(data: ExportData, who: Actor, *, with_owner: bool) -> dict[str, bytes]:
    """contacts.csv, calls.csv and next_steps.csv; ``with_owner`` puts the rep's name first in
    every row (the export of a whole team)."""
    lang = who.lang

    def header(*keys: str) -> list[str]:
        columns = [t(lang, f"export.col.{key}") for key in keys]
        return [t(lang, "export.col.rep"), *columns] if with_owner else columns

    def rep(owner_id: int) -> list[str]:
        return [data.owners.get(owner_id, str(owner_id))] if with_owner else []

    def phone(e164: str | None) -> str:
        return phone_for_excel(e164) if e164 else ""

    def status(contact_id: int) -> str:
        dues = data.open_balls.get(contact_id, [])
        client = contact_status(dues, who.now, who.rules) is ContactStatus.CLIENT
        return t(lang, "export.client" if client else "export.prospect")

    def outcome(code: str | None) -> str:
        parsed = Outcome.parse(code or "")
        return t(lang, f"outcome.{parsed.value}") if parsed else ""

    contacts = write_csv(
        header("name", "company", "phone", "note", "status", "callback", "archived", "added"),
        (
            [
                *rep(c.owner_id),
                c.name,
                c.company,
                phone(c.phone),
                c.note,
                status(c.id),
                stamp(who, c.callback_at),
                t(lang, "export.yes") if c.archived else "",
                stamp(who, c.created_at),
            ]
            for c in data.contacts
        ),
    )
    calls = write_csv(
        header("date", "name", "company", "phone", "outcome", "note"),
        (
            [
                *rep(row.call.owner_id),
                stamp(who, row.call.at),
                row.contact_name,
                row.contact_company,
                phone(row.contact_phone),
                outcome(row.call.outcome),
                row.call.note,
            ]
            for row in data.calls
        ),
    )
    steps = write_csv(
        header("created", "due", "name", "company", "action", "kind", "step_status"),
        (
            [
                *rep(s.owner_id),
                stamp(who, s.created_at),
                stamp(who, s.due_at),
                s.contact_name,
                s.contact_company,
                s.action,
                t(lang, f"export.kind.{s.kind}"),
                step_status(who, s),
            ]
            for s in data.steps
        ),
    )
    return {"contacts.csv": contacts, "calls.csv": calls, "next_steps.csv": steps}


async def send_export(
    update: Update, context: BallbackContext, who: Actor, owner_ids: list[int], *, team: bool
) -> None:
    """Send the export of these reps' data as a zip of three CSV files.

    A team's export is the same call with every member's id and ``team=True`` (a first column
    names the rep); the caller checks that the asker may see them.
    """
    chat = update.effective_chat
    assert chat is not None
    data = await context.services.store.pipeline.export_data(owner_ids)
    if not data.contacts:
        await reply(update, t(who.lang, "export.nothing"))
        return
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_DOCUMENT)
    archive = await asyncio.to_thread(lambda: zip_files(export_files(data, who, with_owner=team)))
    day = who.today.isoformat()
    caption = t(
        who.lang,
        "export.caption",
        contacts=plural(who.lang, "plural.contacts", len(data.contacts)),
        calls=plural(who.lang, "plural.calls", len(data.calls)),
        steps=plural(who.lang, "plural.steps", len(data.steps)),
    )
    await context.bot.send_document(
        chat.id, InputFile(archive, filename=f"ballback-export-{day}.zip"), caption=caption
    )


async def export_command(update: Update, context: BallbackContext) -> None:
    """``/export``: the rep's own data; ``/export team``: a whole team's, for its admins."""
    who = await actor(update, context)
    if message_text_arg(update).casefold() not in ("team", "команда", "команды"):
        await send_export(update, context, who, [who.id], team=False)
        return
    team = await administered_team(context, who)
    if team is None:
        await reply(update, t(who.lang, "export.not_admin"))
        return
    members = await context.services.store.teams.members(team.id)
    await send_export(update, context, who, [m.user_id for m in members], team=True)


async def administered_team(context: BallbackContext, who: Actor) -> Team | None:
    """The first of the rep's teams whose group has them as an administrator (Telegram says)."""
    for team in await context.services.store.teams.of_user(who.id):
        try:
            member = await context.bot.get_chat_member(team.chat_id, who.id)
        except TelegramError as exc:
            log.warning("could not check the admin status in chat %s: %s", team.chat_id, exc)
            continue
        if member.status in ADMINS:
            return team
    return None


# -- /forget ---------------------------------------------------------------------------------------


async def forget_command(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    footprint = await context.services.store.pipeline.footprint(who.id)
    text = t(
        who.lang,
        "forget.confirm",
        contacts=plural(who.lang, "plural.contacts", footprint.contacts),
        calls=plural(who.lang, "plural.calls", footprint.calls),
        steps=plural(who.lang, "plural.steps", footprint.steps),
    )
    markup = keyboard(
        [
            [button(t(who.lang, "forget.yes"), "fg:y")],
            [button(t(who.lang, "forget.no"), "fg:n")],
        ]
    )
    await reply(update, text, markup)


async def forget_button(update: Update, context: BallbackContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    who = await actor(update, context)
    if query.message.chat.id != who.id:  # only the user, in their own chat, forgets themselves
        await query.answer(t(who.lang, "button.not_yours"), show_alert=True)
        return
    if query.data == "fg:n":
        await query.answer()
        await query.edit_message_text(t(who.lang, "forget.kept"))
        return
    if who.now - query.message.date > FORGET_TTL:
        await query.answer(t(who.lang, "forget.expired"), show_alert=True)
        await query.edit_message_text(t(who.lang, "forget.expired"))
        return
    await context.services.store.pipeline.forget_user(who.id)
    await query.answer()
    await query.edit_message_text(t(who.lang, "forget.done"))


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            MessageHandler(filters.Document.ALL & PRIVATE, import_document),
            CommandHandler("export", export_command, filters=PRIVATE),
            CommandHandler("forget", forget_command, filters=PRIVATE),
            CallbackQueryHandler(forget_button, pattern=r"^fg:[yn]$"),
        ]
    )
