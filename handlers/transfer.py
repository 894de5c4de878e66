"""Contacts in and out: import from a file, ``/export``, ``/forget``.

A ``.csv`` or ``.xlsx`` file sent to the bot in private chat is imported. The file is checked
before it is downloaded (its size) and after (size again, then whether it is a table at all);
its rows are read and judged by :mod:`bot.domain.transfer`, and everything that passes is stored
in one transaction, so a refused or failed file leaves nothing half-imported. A ``.vcf`` file
(vCards) is read by :mod:`bot.domain.vcard` instead, and goes the same way.

A table whose header row names no name column is not refused: the rep is asked with buttons which
column holds the name (or the first and the last name), the phone, the company and the note (a
flow of kind ``im``, holding the file's Telegram id and the header, never the file). The last
answer downloads the file again and imports it so; the choice is kept per rep for the header row
(``import_mappings``), so the next file with the same header imports without questions.
``/import reset`` forgets those choices.

``/export`` sends the rep's contacts, calls and Next Steps as a zip of three CSV files for Excel;
``/forget``, after a confirmation button, deletes everything the bot stores about the user.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.domain.outcomes import Outcome
from bot.domain.rules import ContactStatus, contact_status
from bot.domain.tables import (
    MAX_BYTES,
    MAX_ROWS,
    Table,
    TableError,
    read_table,
    write_csv,
    zip_files,
)
from bot.domain.transfer import (
    ColumnChoice,
    FileProblem,
    ImportPlan,
    ImportRow,
    Rejected,
    body_problem,
    header_signature,
    lookup_keys,
    offered_columns,
    phone_for_excel,
    plan_import,
    read_contacts,
)
from bot.domain.vcard import VCARD_SUFFIXES, VCARD_TYPES, is_vcard, read_vcards
from bot.locales import Html, plural, t
from handlers.common import PRIVATE, Actor, actor, button, keyboard, message_text_arg, reply
from handlers.nextsteps import cancel_flow, live_flow, open_flow, own_button, say
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


def report(
    who: Actor, file_name: str, plan: ImportPlan, rejected: list[Rejected], *, saved: bool = False
) -> str:
    """The import's outcome; ``saved``: the columns were read as the rep chose for this header
    row before."""
    lines = [t(who.lang, "import.done", file=file_name)]
    if saved:
        lines.append(t(who.lang, "import.map.saved"))
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


Parsed = tuple[list[ImportRow], list[Rejected], list[str], list[str]]


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A table whose header row names no name column: the rep says which column is which."""

    table: Table
    key: str  # header_signature of its first row


def parse_file(data: bytes, vcard: bool = False) -> Parsed | Unmapped | TableError | FileProblem:
    """The file's contacts, its rejected rows, and the phones and names to look up; or a table
    whose columns the rep has to name."""
    if vcard or is_vcard(data):
        contacts = read_vcards(data)
    else:
        table = read_table(data)
        if isinstance(table, TableError):
            return table
        contacts = read_contacts(table)
        if contacts is FileProblem.NO_NAME_COLUMN:
            problem = body_problem(table)
            if problem is not None:
                return problem
            return Unmapped(table, header_signature(table.rows[0][1]))
    if isinstance(contacts, TableError | FileProblem):
        return contacts
    return _looked_up(*contacts)


def parse_mapped(table: Table, choice: ColumnChoice) -> Parsed | FileProblem:
    """Like :func:`parse_file`, with the columns the rep named."""
    contacts = read_contacts(table, choice)
    if isinstance(contacts, FileProblem):
        return contacts
    return _looked_up(*contacts)


def _looked_up(rows: list[ImportRow], rejected: list[Rejected]) -> Parsed:
    phones, keys = lookup_keys(rows)
    return rows, rejected, phones, keys


async def _download(context: BallbackContext, who: Actor, file_id: str) -> bytes | str:
    """The file's bytes, or the text that says why not."""
    try:
        remote = await context.bot.get_file(file_id)
        data = bytes(await remote.download_as_bytearray())
    except TelegramError as exc:  # gone, or too big for the Bot API to hand out
        log.warning("could not download an import file from %s: %s", who.id, exc)
        return t(who.lang, "import.download_failed")
    if len(data) > MAX_BYTES:
        return t(who.lang, "import.too_big", mb=_mb(MAX_BYTES))
    return data


def _problem_text(who: Actor, problem: TableError | FileProblem) -> str:
    return t(who.lang, f"import.{problem.value}", mb=_mb(MAX_BYTES), rows=MAX_ROWS)


async def _store(context: BallbackContext, who: Actor, parsed: Parsed) -> ImportPlan:
    rows, _, phones, keys = parsed
    if not rows:
        return ImportPlan()
    return await context.services.store.pipeline.import_contacts(
        who.user,
        phones=phones,
        name_keys=keys,
        plan=lambda known: plan_import(rows, known),
        now=who.now,
    )


async def import_document(update: Update, context: BallbackContext) -> None:
    """A document in private chat: import it if it is a table of contacts."""
    message = update.effective_message
    assert message is not None and message.document is not None
    document = message.document
    who = await actor(update, context)
    file_name = document.file_name or "file"
    asking = live_flow(await context.services.store.get_flow(who.id), who)
    if asking is not None and asking.kind == FLOW_COLUMNS:  # one file at a time
        shown = str(asking.data.get("file", ""))  # t() escapes it
        await reply(update, t(who.lang, "import.map.busy", file=shown))
        return
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
    data = await _download(context, who, document.file_id)
    if isinstance(data, str):
        await reply(update, data)
        return
    parsed = await asyncio.to_thread(parse_file, data, vcard)  # CPU work: off the event loop
    saved = False
    if isinstance(parsed, Unmapped):
        stored = await context.services.store.import_mapping(who.id, parsed.key)
        choice = ColumnChoice.from_json(stored) if stored is not None else None
        if choice is None:
            await ask_columns(update, context, who, document.file_id, file_name, parsed)
            return
        parsed, saved = await asyncio.to_thread(parse_mapped, parsed.table, choice), True
    if isinstance(parsed, TableError | FileProblem):
        await reply(update, _problem_text(who, parsed))
        return
    plan = await _store(context, who, parsed)
    await reply(update, report(who, file_name, plan, parsed[1], saved=saved))


# -- which column is which -----------------------------------------------------------------------

FLOW_COLUMNS = "im"  # the question "which column holds the name, the phone...?"
COLUMN_LABEL = 40  # characters of a header cell or a value in the question
BUTTON_LABEL = 24  # characters of a header cell on a button
# The steps, by the letter in callback_data ("im:<step>:<column>|-|s"): what the answer sets,
# and the step after it (None: import).
STEPS: dict[str, tuple[str, str | None]] = {
    "n": ("name", "p"),
    "f": ("first", "l"),
    "l": ("last", "p"),
    "p": ("phone", "c"),
    "c": ("company", "o"),
    "o": ("note", None),
}
ASK = {
    "n": "import.map.ask_name",
    "f": "import.map.ask_first",
    "l": "import.map.ask_last",
    "p": "import.map.ask_phone",
    "c": "import.map.ask_company",
    "o": "import.map.ask_note",
}
NONE_BUTTON = {
    "l": "import.map.no_last",
    "p": "import.map.no_phone",
    "c": "import.map.skip",
    "o": "import.map.skip",
}


@dataclass(frozen=True, slots=True)
class Answered:
    step: str | None  # the next step; None: every column is named
    chosen: dict[str, int]


def choose(step: str, arg: str, offered: set[int], chosen: dict[str, int]) -> Answered | None:
    """The rep's answer ``arg`` to ``step`` (a column, ``-`` none, ``s`` the name is split);
    ``None`` when it is no answer to it (a column used already, a forged one)."""
    if step not in STEPS:
        return None
    if arg == "s":
        return Answered("f", dict(chosen)) if step == "n" else None
    field, after = STEPS[step]
    if arg == "-":
        return Answered(after, dict(chosen)) if step in NONE_BUTTON else None
    if not arg.isdigit() or int(arg) not in offered or int(arg) in chosen.values():
        return None
    return Answered(after, {**chosen, field: int(arg)})


def columns_prompt(who: Actor, state: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    lang, step = who.lang, str(state["step"])
    lines = []
    for _, label, value in state["cols"]:
        shown = html.escape(label) if label else "—"
        line = f"• <b>{shown}</b>"
        lines.append(f"{line}: {html.escape(value)}" if value else line)
    text = t(
        lang,
        "import.map.intro",
        file=str(state["file"]),
        columns=Html("\n".join(lines)),
    )
    text = f"{text}\n\n{t(lang, ASK[step])}"
    used = set(state["map"].values())
    free = [
        button(label[:BUTTON_LABEL] or f"#{index + 1}", f"im:{step}:{index}")
        for index, label, _ in state["cols"]
        if index not in used
    ]
    rows = [free[i : i + 2] for i in range(0, len(free), 2)]
    if step == "n":
        rows.append([button(t(lang, "import.map.split"), "im:n:s")])
    if step in NONE_BUTTON:
        rows.append([button(t(lang, NONE_BUTTON[step]), f"im:{step}:-")])
    rows.append([button(t(lang, "ns.cancel"), "im:x")])
    return text, keyboard(rows)


async def ask_columns(
    update: Update,
    context: BallbackContext,
    who: Actor,
    file_id: str,
    file_name: str,
    unmapped: Unmapped,
) -> None:
    """Open the question: which of the table's columns holds the name, the phone..."""
    state: dict[str, Any] = {
        "file_id": file_id,
        "file": file_name,
        "key": unmapped.key,
        "cols": offered_columns(unmapped.table, COLUMN_LABEL),
        "step": "n",
        "map": {},
    }
    text, markup = columns_prompt(who, state)
    sent = await say(update, text, markup, edit=False)
    await open_flow(context, who, FLOW_COLUMNS, state, sent.message_id)


async def columns_button(update: Update, context: BallbackContext) -> None:
    own = await own_button(update, context)
    if own is None:
        return
    query, callback_data, who = own
    assert query.message is not None
    store = context.services.store
    flow = live_flow(await store.get_flow(who.id), who)
    if flow is None or flow.kind != FLOW_COLUMNS or flow.message_id != query.message.message_id:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    if callback_data == "im:x":
        await query.answer()
        await cancel_flow(update, context, who, flow, edit=True)
        return
    _, step, arg = callback_data.split(":")
    state = flow.data
    offered = {int(column[0]) for column in state["cols"]}
    answered = None
    if step == state["step"]:
        answered = choose(step, arg, offered, dict(state["map"]))
    if answered is None:
        await query.answer(t(who.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    state = {**state, "step": answered.step, "map": answered.chosen}
    if answered.step is not None:
        text, markup = columns_prompt(who, state)
        await say(update, text, markup, edit=True)
        await open_flow(context, who, FLOW_COLUMNS, state, query.message.message_id)
        return
    await import_mapped(update, context, who, state)


async def import_mapped(
    update: Update, context: BallbackContext, who: Actor, state: dict[str, Any]
) -> None:
    """Every column named: fetch the file again, read it so, import, report; close the question
    and keep the choice for the header row (unless nothing came of it: a wrong choice)."""
    text, mapping = await _import_mapped(context, who, state)
    await context.services.store.finish_import_mapping(
        who.user, str(state["key"]), mapping, who.now
    )
    await say(update, text, None, edit=True)


async def _import_mapped(
    context: BallbackContext, who: Actor, state: dict[str, Any]
) -> tuple[str, dict[str, int] | None]:
    """The report (or why there is none), and the choice to keep."""
    choice = ColumnChoice.from_json(state["map"])
    if choice is None:
        return t(who.lang, "button.stale"), None
    data = await _download(context, who, str(state["file_id"]))
    if isinstance(data, str):
        return data, None
    table = await asyncio.to_thread(read_table, data)
    if isinstance(table, TableError):
        return _problem_text(who, table), None
    parsed = await asyncio.to_thread(parse_mapped, table, choice)
    if isinstance(parsed, FileProblem):
        return _problem_text(who, parsed), None
    plan = await _store(context, who, parsed)
    useful = plan.imported > 0 or plan.merged > 0
    return report(who, str(state["file"]), plan, parsed[1]), choice.to_json() if useful else None


async def import_command(update: Update, context: BallbackContext) -> None:
    """``/import``: what importing is; ``/import reset``: forget the saved column choices."""
    who = await actor(update, context)
    if message_text_arg(update).casefold() not in ("reset", "сброс", "сбросить"):
        await reply(update, t(who.lang, "import.about"))
        return
    forgotten = await context.services.store.forget_import_mappings(who.id)
    await reply(update, t(who.lang, "import.reset_done" if forgotten else "import.reset_none"))


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
            CommandHandler("import", import_command, filters=PRIVATE),
            CallbackQueryHandler(columns_button, pattern=r"^im:(x|[nflpco]:(\d{1,3}|-|s))$"),
            CommandHandler("export", export_command, filters=PRIVATE),
            CommandHandler("forget", forget_command, filters=PRIVATE),
            CallbackQueryHandler(forget_button, pattern=r"^fg:[yn]$"),
        ]
    )
