"""Helpers for the team tests: group updates, a team in one call, bulk members."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from storage.models import to_ts
from tests.conftest import BOT_USERNAME, BotHarness, Person, group_chat
from tests.dbtools import writing
from tests.fakeapi import BOT_USER, RecordedRequest
from tests.history import moment

GROUP = group_chat()
GROUP_ID = GROUP["id"]
AT_BOT = f"@{BOT_USERNAME}"
_contact_ids = itertools.count(1)


def bot_member(status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": BOT_USER}
    if status == "administrator":
        member.update(
            can_be_edited=False, is_anonymous=False, can_manage_chat=True,
            can_delete_messages=True, can_manage_video_chats=True, can_restrict_members=True,
            can_promote_members=False, can_change_info=True, can_invite_users=True,
            can_post_stories=False, can_edit_stories=False, can_delete_stories=False,
        )  # fmt: skip
    if status == "kicked":
        member["until_date"] = 0
    return member


async def bot_status(
    bot: BotHarness,
    old: str,
    new: str,
    by: Person,
    chat: dict[str, Any] | None = None,
) -> list[RecordedRequest]:
    """The bot's own membership in a group changed (added, promoted, removed)."""
    update = {
        "my_chat_member": {
            "chat": chat or GROUP,
            "from": by.as_dict(),
            "date": int(bot.clock.now().timestamp()),
            "old_chat_member": bot_member(old),
            "new_chat_member": bot_member(new),
        }
    }
    return await bot.feed(update)


async def in_group(
    bot: BotHarness, text: str, person: Person, chat: dict[str, Any] | None = None
) -> list[RecordedRequest]:
    return await bot.send(text, person, chat=chat or GROUP)


async def make_team(
    bot: BotHarness, admin: Person, *members: Person, chat: dict[str, Any] | None = None
) -> int:
    """Set the group up as a team (by ``admin``) and have ``members`` join; returns its id."""
    await in_group(bot, "/setup", admin, chat)
    for person in members:
        await in_group(bot, "/join", person, chat)
    rows = await bot.rows("SELECT id FROM teams WHERE chat_id = ?", (chat or GROUP)["id"])
    assert rows, "the team was not created"
    return int(rows[0][0])


def to_group(requests: list[RecordedRequest], chat_id: int = GROUP_ID) -> list[RecordedRequest]:
    return [r for r in requests if r.params.get("chat_id") == chat_id]


async def add_members(
    bot: BotHarness,
    team_id: int,
    people: list[tuple[int, str]],
    calls: dict[int, list[datetime]],
    *,
    joined: datetime,
    balls: dict[int, list[datetime]] | None = None,
) -> None:
    """Bulk fixture: members ``(id, first_name)`` with calls (and balls) at given instants."""
    balls = balls or {}
    team = await bot.store.teams.get(team_id)

    async def rows(user_id: int, contact: int, instants: list[datetime]) -> list[tuple[int, ...]]:
        moments = [await moment(bot, user_id, at, team=team) for at in instants]
        return [(user_id, contact, to_ts(m.at), m.day.toordinal(), m.in_block) for m in moments]

    async with writing(bot.db) as conn:
        for user_id, name in people:
            await conn.execute(
                "INSERT INTO users (id, first_name, started_at, updated_at) VALUES (?, ?, ?, ?)",
                (user_id, name, to_ts(joined), to_ts(joined)),
            )
            await conn.execute(
                "INSERT INTO memberships (team_id, user_id, joined_at) VALUES (?, ?, ?)",
                (team_id, user_id, to_ts(joined)),
            )
            contact = next(_contact_ids) + 10_000_000
            await conn.execute(
                "INSERT INTO contacts (id, owner_id, name, name_key, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (contact, user_id, f"Contact {contact}", f"contact {contact}", to_ts(joined)),
            )
            await conn.executemany(
                "INSERT INTO calls (owner_id, contact_id, at, day, in_block) "
                "VALUES (?, ?, ?, ?, ?)",
                await rows(user_id, contact, calls.get(user_id, [])),
            )
            await conn.executemany(
                "INSERT INTO next_steps (owner_id, contact_id, action, due_at, kind, created_at, "
                "day) VALUES (?1, ?2, 'Meeting', ?3 + 86400, 'ball', ?3, ?4)",
                [row[:4] for row in await rows(user_id, contact, balls.get(user_id, []))],
            )
