"""Helpers for the rhythm tests: drive the scheduler's tick with the manual clock and read back
what it sent, as (kind, recipient, local time)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.scheduler import Scheduler, TickReport
from storage.models import to_ts
from tests.conftest import BotHarness
from tests.dbtools import writing
from tests.fakeapi import RecordedRequest
from tests.history import moment

_contact_ids = itertools.count(50_000_000)


def scheduler(bot: BotHarness) -> Scheduler:
    found: Scheduler | None = bot.app.bot_data["services"].scheduler
    assert found is not None
    return found


async def tick(bot: BotHarness) -> tuple[TickReport, list[RecordedRequest]]:
    """One tick at the clock's time; returns its report and the Bot API requests it made."""
    before = len(bot.api.requests)
    report = await scheduler(bot).tick(bot.app.bot)
    assert report.errors == [], report.errors
    return report, bot.api.requests[before:]


def kind_of(text: str) -> str:
    """Which scheduled message this is, by how it starts (both languages)."""
    for prefix, kind in (
        ("⏰", "nudge"),
        ("⏱", "pace"),
        ("📞 <b>", "quota"),
        ("🤝", "lapsed"),
        ("📊", "summary"),
    ):
        if text.startswith(prefix):
            return kind
    raise AssertionError(f"not a scheduled message: {text[:60]!r}")


@dataclass(frozen=True)
class Sent:
    kind: str
    to: str
    local: str  # "Mon 09:45" in the recipient's zone

    def __repr__(self) -> str:
        return f"({self.kind}, {self.to}, {self.local})"


def sends(
    requests: list[RecordedRequest],
    when: datetime,
    names: dict[int, tuple[str, ZoneInfo]],
) -> list[Sent]:
    """The messages Telegram accepted, named, at ``when`` in the recipient's zone."""
    found = []
    for request in requests:
        if request.method != "sendMessage" or request.status != 200:
            continue
        name, zone = names[int(request.params["chat_id"])]
        local = when.astimezone(zone)
        found.append(Sent(kind_of(request.params["text"]), name, f"{local:%a %H:%M}"))
    return found


async def add_calls(bot: BotHarness, user_id: int, times: list[datetime]) -> None:
    """Calls logged at these instants, straight into the database (fast for big fixtures)."""
    contact = next(_contact_ids)
    first = to_ts(min(times))
    moments = [await moment(bot, user_id, at) for at in times]
    async with writing(bot.db) as conn:
        await conn.execute(
            "INSERT INTO contacts (id, owner_id, name, name_key, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (contact, user_id, f"Called {contact}", f"called {contact}", first),
        )
        await conn.executemany(
            "INSERT INTO calls (owner_id, contact_id, at, day, in_block, outcome) "
            "VALUES (?, ?, ?, ?, ?, 'na')",
            [(user_id, contact, to_ts(m.at), m.day.toordinal(), m.in_block) for m in moments],
        )


def minutes_from(start: datetime, count: int, step: int = 1) -> list[datetime]:
    return [start + timedelta(minutes=step * n) for n in range(count)]


async def add_prospects(bot: BotHarness, user_id: int, names: list[str]) -> None:
    """Contacts never called: due for a call, oldest first."""
    created = to_ts(bot.clock.now())
    async with writing(bot.db) as conn:
        await conn.executemany(
            "INSERT INTO contacts (owner_id, name, name_key, created_at) VALUES (?, ?, ?, ?)",
            [(user_id, name, name.casefold(), created) for name in names],
        )
