"""Building a rep's history (contacts, calls, Next Steps) through the Store, at chosen moments.

The Store's own methods do the writing; only what no command can do yet (closing a Next Step as
done, dropped or rescheduled) is set with one UPDATE.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from bot.domain.contacts import name_key
from bot.domain.rules import Moment
from bot.domain.team import effective_rules
from storage.models import UserIn
from storage.teams import Team
from tests.conftest import IVAN, BotHarness, Person
from tests.dbtools import writing
from tests.fakeapi import RecordedRequest

_sources = itertools.count(900_000)


def user_of(person: Person) -> UserIn:
    return UserIn(
        id=person.id,
        first_name=person.first_name,
        last_name=person.last_name,
        language_code=person.language_code,
    )


async def add_contact(
    bot: BotHarness,
    name: str,
    *,
    person: Person = IVAN,
    company: str | None = None,
    phone: str | None = None,
    at: datetime | None = None,
) -> int:
    contact = await bot.store.ensure_contact(
        user_of(person),
        name=name,
        name_key=name_key(name),
        company=company,
        phone=phone,
        now=at or bot.clock.now(),
    )
    return int(contact.id)


async def moment(
    bot: BotHarness, user_id: int, at: datetime, *, team: Team | None = None
) -> Moment:
    """``at`` as it counts for the rep, by the rules the bot applies to them: their own zone and
    block, else their team's (``team``, for a member not stored yet), else the defaults."""
    personal_tz = personal_block = None
    if team is None:
        profile = await bot.store.teams.profile(user_id)
        team, personal_tz, personal_block = profile.team, profile.tz, profile.block
    rules = effective_rules(
        bot.app.bot_data["services"].settings.zone,
        team.settings if team else None,
        personal_tz=personal_tz,
        personal_block=personal_block,
    )
    return rules.moment(at)


async def add_call(
    bot: BotHarness,
    contact_id: int,
    at: datetime,
    outcome: str | None = "na",
    *,
    person: Person = IVAN,
) -> int:
    logged = await bot.store.log_call_to(
        user_of(person),
        contact_id,
        when=await moment(bot, person.id, at),
        src_chat=person.id,
        src_message=next(_sources),
    )
    assert logged is not None
    if outcome is not None:
        await bot.store.set_outcome(person.id, logged.call.id, outcome)
    return int(logged.call.id)


async def add_step(
    bot: BotHarness,
    contact_id: int,
    due: datetime,
    *,
    kind: str = "ball",
    status: str = "open",
    created: datetime | None = None,
    action: str = "Meeting",
    person: Person = IVAN,
) -> int:
    created = created or bot.clock.now()
    step = await bot.store.save_next_step(
        person.id,
        contact_id=contact_id,
        call_id=None,
        action=action,
        due_at=due,
        kind=kind,
        when=await moment(bot, person.id, created),
        src_chat=person.id,
        src_message=next(_sources),
    )
    assert step is not None
    if status != "open":
        async with writing(bot.db) as conn:
            await conn.execute("UPDATE next_steps SET status = ? WHERE id = ?", (status, step.id))
    return int(step.id)


async def set_callback(bot: BotHarness, contact_id: int, when: datetime | None) -> None:
    assert await bot.store.set_callback(IVAN.id, contact_id, when)


def alerts(requests: list[RecordedRequest]) -> list[str]:
    return [
        r.params.get("text", "")
        for r in requests
        if r.method == "answerCallbackQuery" and r.params.get("show_alert")
    ]


def answered(requests: list[RecordedRequest]) -> list[dict[str, Any]]:
    return [r.params for r in requests if r.method == "answerCallbackQuery"]
