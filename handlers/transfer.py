"""Contacts in and out: a ``.csv`` or ``.xlsx`` file sent to the bot is imported.

The file is checked before it is downloaded (its size) and after (size again, then whether it is
a table at all); its rows are read and judged by :mod:`bot.domain.transfer`, and everything that
passes is stored in one transaction, so a refused or failed file leaves nothing half-imported.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import PurePath

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.domain.tables import MAX_BYTES, MAX_ROWS, TableError, read_table
from bot.domain.transfer import (
    FileProblem,
    ImportPlan,
    Rejected,
    lookup_keys,
    plan_import,
    read_contacts,
)
from bot.locales import t
from handlers.common import Actor, actor, reply

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
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


async def import_document(update: Update, context: BallbackContext) -> None:
    """A document in private chat: import it if it is a table of contacts."""
    message = update.effective_message
    assert message is not None and message.document is not None
    document = message.document
    who = await actor(update, context)
    file_name = document.file_name or "file"
    suffix = PurePath(file_name.lower()).suffix
    if suffix not in TABLE_SUFFIXES and (document.mime_type or "") not in TABLE_TYPES:
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
    table = await asyncio.to_thread(read_table, data)
    if isinstance(table, TableError):
        await reply(update, t(who.lang, f"import.{table.value}", mb=_mb(MAX_BYTES), rows=MAX_ROWS))
        return
    contacts = read_contacts(table)
    if isinstance(contacts, FileProblem):
        await reply(
            update, t(who.lang, f"import.{contacts.value}", mb=_mb(MAX_BYTES), rows=MAX_ROWS)
        )
        return
    rows, rejected = contacts
    if rows:
        phones, keys = lookup_keys(rows)
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


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            MessageHandler(filters.Document.ALL & PRIVATE, import_document),
        ]
    )
