"""The team's numbers in its group: ``/summary``, ``/leaderboard [day|week|month]``.

Every post to a team's group goes through :func:`deliver`, which follows the group when it
became a supergroup (``ChatMigrated``) and stops posting to a group that removed the bot.
The daily summary goes out through the scheduler's outbox instead (``handlers/rhythm.py``), so
that it is sent once and within Telegram's limits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from telegram import Bot, InputFile, Update
from telegram.error import ChatMigrated, Forbidden
from telegram.ext import CommandHandler

from bot.app import BallbackApp, BallbackContext
from bot.charts import render_week_chart
from bot.locales import Lang, t
from bot.reports import Period, build_leaderboard, build_summary, team_lang, team_today
from handlers.common import GROUPS, message_text_arg, reply
from handlers.team import in_group, real_person
from storage.repo import Store
from storage.teams import Team

log = logging.getLogger(__name__)


async def deliver(
    store: Store,
    team: Team,
    send: Callable[[int], Awaitable[Any]],
    now: datetime,
    chat_id: int | None = None,
) -> int | None:
    """Send one message to the team's group; returns the chat id it went to.

    A group upgraded to a supergroup answers ``ChatMigrated``: the team follows the new id and
    the message is sent there. A group that removed the bot answers ``Forbidden``: the team is
    marked inactive and ``None`` comes back, so nothing more is attempted there.
    """
    chat = chat_id if chat_id is not None else team.chat_id
    for _ in range(2):
        try:
            await send(chat)
            return chat
        except ChatMigrated as exc:
            await store.teams.move_chat(chat, exc.new_chat_id, now)
            log.info("team %s followed its group to supergroup %s", team.id, exc.new_chat_id)
            chat = exc.new_chat_id
        except Forbidden as exc:
            await store.teams.set_active(chat, False, now)
            log.warning("team %s: the group refused a post (%s); posts stop", team.id, exc)
            return None
    return None


async def post_texts(
    bot: Bot, store: Store, team: Team, texts: Sequence[str], now: datetime
) -> int | None:
    """Post message chunks in order; stops at the first that cannot be delivered."""
    chat: int | None = team.chat_id
    for text in texts:

        async def send(target: int, text: str = text) -> Any:
            return await bot.send_message(target, text)

        chat = await deliver(store, team, send, now, chat)
        if chat is None:
            return None
    return chat


# -- commands ----------------------------------------------------------------------------------


async def summary_command(update: Update, context: BallbackContext) -> None:
    where = await in_group(update, context)
    team = where.team
    if team is None:
        await reply(update, t(where.lang, "team.not_a_team"))
        return
    store = context.services.store
    texts = await build_summary(
        store, team, team_today(team, where.now), where.now, lang=where.asked
    )
    await post_texts(context.bot, store, team, texts, where.now)


async def leaderboard_command(update: Update, context: BallbackContext) -> None:
    where = await in_group(update, context)
    team = where.team
    if team is None:
        await reply(update, t(where.lang, "team.not_a_team"))
        return
    argument = message_text_arg(update)
    period = Period.parse(argument) if argument else Period.WEEK
    if period is None:
        await reply(update, t(where.lang, "board.usage"))
        return
    user = update.effective_user
    asker = user.id if user is not None and real_person(update) else None
    store = context.services.store
    board = await build_leaderboard(
        store, team, period, where.now, asker_id=asker, lang=where.asked
    )
    chat = await post_texts(context.bot, store, team, board.messages, where.now)
    if board.chart is None or chat is None:
        return
    png = await asyncio.to_thread(render_week_chart, board.chart)
    lang: Lang = team_lang(team, where.asked)
    caption = t(lang, "chart.caption", team=team.title)

    async def send_photo(target: int) -> Any:
        photo = InputFile(png, filename="week.png")
        return await context.bot.send_photo(target, photo, caption=caption)

    await deliver(store, team, send_photo, where.now, chat)


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            CommandHandler("summary", summary_command, filters=GROUPS),
            CommandHandler("leaderboard", leaderboard_command, filters=GROUPS),
        ]
    )
