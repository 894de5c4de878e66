"""What every handler needs: who is asking, in which language, by which rules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, datetime

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import filters

from bot.app import BallbackContext
from bot.domain.rules import Moment, Rules
from bot.domain.team import effective_rules, language_choice, load_zone
from bot.locales import Lang, pick_lang
from bot.telegram_bot import BallbackBot
from storage.effects import replaying as replaying  # a replay lets repeated presses through
from storage.models import UserIn

log = logging.getLogger(__name__)

# New messages (not edits: an edited command must not act twice) in a private chat, in a group.
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
GROUPS = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE

MAX_CALLBACK_BYTES = 64
# Event-loop turns a request needs to be written out: one to build it and hand its body to
# aiohttp's writer task, one for that task to run (Python 3.11; 3.12+ writes eagerly).
_SEND_TURNS = 2


@dataclass(frozen=True, slots=True)
class Actor:
    """The rep behind an update, with their language and rules resolved."""

    user: UserIn
    lang: Lang
    rules: Rules
    now: datetime
    team_id: int | None = None  # the team whose rules apply (see storage.teams.Profile)

    @property
    def id(self) -> int:
        return self.user.id

    def local_now(self) -> datetime:
        return self.rules.local(self.now)

    @property
    def today(self) -> date:
        return self.rules.today(self.now)

    @property
    def moment(self) -> Moment:
        """Now, as what the rep logs counts: their local date, inside their block or not."""
        return self.rules.moment(self.now)


def user_in(update: Update) -> UserIn:
    tg = update.effective_user
    if tg is None:
        raise ValueError("update without a user")
    return UserIn(
        id=tg.id,
        first_name=tg.first_name or str(tg.id),
        last_name=tg.last_name,
        username=tg.username,
        language_code=tg.language_code,
    )


async def actor(update: Update, context: BallbackContext) -> Actor:
    """Who is asking, with their effective rules, in ONE indexed read.

    Rules: the rep's own time zone and calling block, over their team's settings, over the
    defaults; a rep in several teams follows the active team they joined most recently.
    Language: the rep's explicit choice, else the team's ``lang`` unless ``auto``, else
    Telegram's ``language_code``.
    """
    services = context.services
    user = user_in(update)
    profile = await services.store.teams.profile(user.id)
    team = profile.team
    lang = pick_lang(user.language_code, language_choice(profile.lang, team.lang if team else None))
    if profile.tz and load_zone(profile.tz) is None:
        log.warning("unknown stored time zone %r, using the team's or the default", profile.tz)
    rules = effective_rules(
        services.settings.zone,
        team.settings if team else None,
        personal_tz=profile.tz,
        personal_block=profile.block,
    )
    return Actor(
        user=user,
        lang=lang,
        rules=rules,
        now=services.clock.now(),
        team_id=team.id if team else None,
    )


def deep_link(username: str | None, command: str) -> str:
    """A link that opens the private chat with the bot (``/start <command>``)."""
    return f"https://t.me/{username}?start={command}"


def button(text: str, data: str) -> InlineKeyboardButton:
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback_data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return InlineKeyboardButton(text, callback_data=data)


def keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([row for row in rows if row])


class PlainKeyboard(InlineKeyboardMarkup):
    """An inline keyboard of callback buttons that goes to Telegram as a ready dict.

    python-telegram-bot builds a frozen object per button and walks them all again to serialise
    them: ~0.25 ms for the eleven outcome buttons sent after every call, a tenth of the whole
    reply. This sends the same JSON for ~0.02 ms. Its ``inline_keyboard`` is empty: it is only
    for sending (the message Telegram returns carries the real buttons).
    """

    __slots__ = ("_plain",)

    def __init__(self, rows: list[list[tuple[str, str]]]) -> None:
        super().__init__(())
        for _, data in (pair for row in rows for pair in row):
            if len(data.encode()) > MAX_CALLBACK_BYTES:
                raise ValueError(f"callback_data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
        plain = [[{"text": text, "callback_data": data} for text, data in row] for row in rows]
        with self._unfrozen():
            self._plain: dict[str, object] = {"inline_keyboard": [row for row in plain if row]}

    def to_dict(self, recursive: bool = True) -> dict[str, object]:
        return self._plain


async def strip_keyboard(context: BallbackContext, chat_id: int, message_id: int) -> None:
    """Best effort: take the buttons off an older prompt so nobody taps them later."""
    with contextlib.suppress(BadRequest):  # already like that, or gone
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


def ballback_bot(item: TelegramObject) -> BallbackBot:
    """The bot an update's object came with: Ballback's own (``bot/telegram_bot.py``)."""
    bot = item.get_bot()
    if not isinstance(bot, BallbackBot):
        raise TypeError(f"not Ballback's bot: {type(bot).__name__}")
    return bot


async def answer_and_edit(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer a button press and edit its message, both requests at once.

    They are independent for Telegram (one stops the button's spinner, the other changes the
    message), so the rep sees the result one round trip sooner than if they went one after
    the other. The answer is started first and given :data:`_SEND_TURNS` turns of the event
    loop to reach the socket before the edit is built: on Python 3.11 aiohttp writes a body
    in a task of its own, so otherwise the answer's bytes would wait for the edit's to be
    built too. An answer Telegram refuses (a query too old, after a restart) is only logged:
    the edit still shows the result. Any other error is raised once both are done.
    """
    answering = asyncio.ensure_future(query.answer())
    try:
        for _ in range(_SEND_TURNS):
            await asyncio.sleep(0)
    except BaseException:
        answering.cancel()
        raise
    message = query.message
    editing: Awaitable[object]
    if message is not None:  # Telegram's answer (the edited message) is not needed
        editing = ballback_bot(query).edit_text(message.chat.id, message.message_id, text, markup)
    else:  # a button under an inline message
        editing = query.edit_message_text(text, reply_markup=markup)
    answered, edited = await asyncio.gather(answering, editing, return_exceptions=True)
    if isinstance(answered, BadRequest):
        log.info("could not answer button %r: %s", query.data, answered)
    elif isinstance(answered, BaseException):
        raise answered
    if isinstance(edited, BaseException):
        raise edited


async def tell(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """:func:`reply` for the hot path, when the message sent is not needed afterwards."""
    message = update.effective_message
    if message is None:
        raise ValueError("update without a message")
    await ballback_bot(message).send_text(message.chat_id, text, markup)


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    message = update.effective_message
    if message is None:
        raise ValueError("update without a message")
    return await message.reply_text(text, reply_markup=markup)


def message_text_arg(update: Update) -> str:
    """What follows the command (``/call@bot  Ivan`` gives ``Ivan``), newlines kept."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    _, _, rest = text.partition(" ")
    if not rest and "\n" in text:
        _, _, rest = text.partition("\n")
    return rest.strip()
