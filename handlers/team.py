"""The team in its group: the bot joining and leaving, ``/setup``, ``/join``, ``/leave``,
``/settings`` and ``/set`` (in the group for the team, in private for a rep's own zone and block).

Who is an administrator is asked of Telegram (``getChatMember``) every time, never kept here.
Nothing said in a group names a contact: only members' own names and counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from telegram import Chat, ChatMember, ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.app import BallbackApp, BallbackContext
from bot.domain.calendar import DayError, parse_day
from bot.domain.rules import Block
from bot.domain.team import (
    LIMITS,
    PERSONAL_KEYS,
    Invalid,
    Key,
    Setting,
    SettingError,
    TeamSettings,
    effective_rules,
    load_zone,
    parse_key,
    parse_setting,
    zone_label,
)
from bot.locales import Html, Lang, format_day, pick_lang, plural, t, weekday
from bot.reports import team_lang, team_today
from handlers.common import (
    GROUPS,
    PRIVATE,
    Actor,
    actor,
    deep_link,
    message_text_arg,
    reply,
    user_in,
)
from storage.models import UserIn
from storage.teams import JoinResult, Profile, Team

log = logging.getLogger(__name__)

ADMINS = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
# Group commands that mean nothing in a private chat: a pointer to the group instead.
GROUP_ONLY = ("setup", "join", "leave", "summary", "leaderboard")
EXAMPLES: dict[Key, str] = {
    Key.QUOTA: "25",
    Key.GOAL: "2",
    Key.CYCLE: "45",
    Key.BLOCK: "10:00-11:00",
    Key.SUMMARY: "18:30",
    Key.TZ: "Asia/Yekaterinburg",
    Key.WORKDAYS: "mon-fri",
    Key.LANG: "ru",
}
# ``/set dayoff <date>`` and ``/set workday <date>``: the team's own calendar, kept apart from
# the settings above (they are dates, not one value). The value is True for a working day.
DAY_KEYS: dict[str, bool] = {
    "dayoff": False, "day_off": False, "holiday": False, "выходной": False,
    "workday": True, "work_day": True, "рабочий": True,
}  # fmt: skip
REMOVE_WORDS = frozenset({"off", "remove", "delete", "убрать", "удалить"})
DAYS_SHOWN = 12  # upcoming team days listed in /settings


@dataclass(frozen=True, slots=True)
class InGroup:
    """A command in a group: where, by whom, in which language, for which team."""

    chat: Chat
    lang: Lang  # the team's language, or the asker's while the team's is "auto"
    asked: Lang  # the asker's own (Telegram's language_code)
    team: Team | None
    now: datetime


async def in_group(update: Update, context: BallbackContext) -> InGroup:
    chat = update.effective_chat
    assert chat is not None
    team = await context.services.store.teams.by_chat(chat.id)
    user = update.effective_user
    asked = pick_lang(user.language_code if user else None)
    lang = team_lang(team, asked) if team else asked
    return InGroup(chat=chat, lang=lang, asked=asked, team=team, now=context.services.clock.now())


def private_chat_link(context: BallbackContext) -> Html:
    return Html(deep_link(context.bot.username, "go"))


def private_link(context: BallbackContext, lang: Lang) -> Html:
    return Html(f'<a href="{private_chat_link(context)}">{t(lang, "private_only.link")}</a>')


async def is_admin(update: Update, context: BallbackContext) -> bool | None:
    """Is the sender an administrator of this group? ``None`` if Telegram could not say."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert message is not None and chat is not None
    if message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous administrator, posting as the group itself
    if user is None or message.sender_chat is not None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.warning("could not check the admin status in chat %s: %s", chat.id, exc)
        return None
    return member.status in ADMINS


def real_person(update: Update) -> bool:
    """A member speaking as themselves (not as the group, a channel, or a bot)."""
    message, user = update.effective_message, update.effective_user
    return (
        message is not None and message.sender_chat is None and user is not None and not user.is_bot
    )


# -- the bot in the group ----------------------------------------------------------------------


def _present(member: ChatMember) -> bool:
    if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return False
    if member.status == ChatMemberStatus.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return True


async def bot_membership(update: Update, context: BallbackContext) -> None:
    """The bot was added to a group (greet once, or resume its team) or removed from it."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None or change.chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
        return
    was, now_in = _present(change.old_chat_member), _present(change.new_chat_member)
    if was == now_in:
        return  # e.g. made an administrator: nothing to say
    store, now = context.services.store, context.services.clock.now()
    if not now_in:
        team = await store.teams.set_active(change.chat.id, False, now)
        if team is not None:
            log.info("removed from the group of team %s: posts stop", team.id)
        return
    team = await store.teams.set_active(change.chat.id, True, now)
    lang = pick_lang(change.from_user.language_code if change.from_user else None)
    if team is not None:
        lang = team_lang(team, lang)
        text = t(lang, "team.resumed", team=team.title)
    else:
        text = t(lang, "team.hello", link=private_link(context, lang))
    try:
        await context.bot.send_message(change.chat.id, text)
    except TelegramError as exc:
        log.warning("could not greet chat %s: %s", change.chat.id, exc)


async def migrated(update: Update, context: BallbackContext) -> None:
    """A group became a supergroup: the team moves to the new chat id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    if await context.services.store.teams.move_chat(old, new, context.services.clock.now()):
        log.info("team moved from chat %s to supergroup %s", old, new)


async def title_changed(update: Update, context: BallbackContext) -> None:
    message = update.effective_message
    if message is not None and message.new_chat_title:
        await context.services.store.teams.set_title(
            message.chat_id, message.new_chat_title, context.services.clock.now()
        )


async def group_start(update: Update, context: BallbackContext) -> None:
    where = await in_group(update, context)
    if where.team is not None:
        await reply(update, t(where.lang, "team.help", team=where.team.title))
        return
    await reply(update, t(where.lang, "team.hello", link=private_link(context, where.lang)))


async def group_help(update: Update, context: BallbackContext) -> None:
    where = await in_group(update, context)
    title = where.team.title if where.team else where.chat.title or ""
    await reply(update, t(where.lang, "team.help", team=title))


async def group_only(update: Update, context: BallbackContext) -> None:
    """``/join`` and the like sent in private: they belong in the team's group."""
    who = await actor(update, context)
    await reply(update, t(who.lang, "team.group_only"))


# -- setup and membership ----------------------------------------------------------------------


async def setup_command(update: Update, context: BallbackContext) -> None:
    where = await in_group(update, context)
    admin = await is_admin(update, context)
    if admin is None:
        await reply(update, t(where.lang, "team.admin_unknown"))
        return
    if not admin:
        await reply(update, t(where.lang, "team.setup_refused"))
        return
    if where.team is not None and where.team.active:
        await reply(update, t(where.lang, "team.already", team=where.team.title))
        return
    user = update.effective_user
    settings = context.services.settings
    team, created = await context.services.store.teams.setup(
        where.chat.id,
        where.chat.title or str(where.chat.id),
        tz=settings.timezone,
        lang=where.lang,
        by=user.id if user else 0,
        now=where.now,
    )
    lang = team_lang(team, where.lang)
    key = "team.created" if created else "team.resumed"
    text = t(lang, key, team=team.title)
    if created:
        text += "\n\n" + settings_text(lang, team, where.now)
    await reply(update, text)


async def member_request(
    update: Update, context: BallbackContext
) -> tuple[InGroup, Team, UserIn] | None:
    """/join and /leave: a team's group and a real person, or a reply saying what is wrong."""
    where = await in_group(update, context)
    if where.team is None:
        await reply(update, t(where.lang, "team.not_a_team"))
        return None
    if not real_person(update):
        await reply(update, t(where.lang, "team.join_anonymous"))
        return None
    return where, where.team, user_in(update)


async def join_command(update: Update, context: BallbackContext) -> None:
    request = await member_request(update, context)
    if request is None:
        return
    where, team, user = request
    store = context.services.store
    result = await store.teams.join(team.id, user, where.now)
    if result is JoinResult.ALREADY:
        await reply(update, t(where.lang, "team.join_already", name=user.first_name))
        return
    text = t(
        where.lang,
        "team.joined",
        name=user.first_name,
        team=team.title,
        link=private_link(context, where.lang),
    )
    profile = await store.teams.profile(user.id)
    if profile.teams > 1:
        text += "\n" + t(where.lang, "team.joined_several", n=profile.teams - 1)
    await reply(update, text)


async def leave_command(update: Update, context: BallbackContext) -> None:
    request = await member_request(update, context)
    if request is None:
        return
    where, team, user = request
    if await context.services.store.teams.leave(team.id, user.id, where.now):
        await reply(update, t(where.lang, "team.left", name=user.first_name))
    else:
        await reply(update, t(where.lang, "team.not_member", name=user.first_name))


# -- showing settings --------------------------------------------------------------------------


def format_workdays(lang: Lang, days: frozenset[int]) -> str:
    """``Mon–Fri``; ``Mon, Wed, Fri``; ``Sun–Thu`` (a run may wrap around the week end)."""
    if len(days) == 7:
        return t(lang, "settings.every_day")
    order = sorted(days)
    # Start a run at a day whose previous day is off, so runs wrapping the week end stay whole.
    starts = [d for d in order if (d - 1) % 7 not in days]
    parts = []
    for first in starts:
        last = first
        while (last + 1) % 7 in days:
            last = (last + 1) % 7
        name = _day_name(lang, first)
        if last == first:
            parts.append(name)
        elif (last - first) % 7 == 1:
            parts.append(f"{name}, {_day_name(lang, last)}")
        else:
            parts.append(f"{name}–{_day_name(lang, last)}")
    return ", ".join(parts)


def _day_name(lang: Lang, weekday_number: int) -> str:
    return weekday(lang, date(2024, 1, 1 + weekday_number))  # 1 Jan 2024 was a Monday


def format_block(lang: Lang, block: Block | None) -> str:
    if block is None:
        return t(lang, "settings.not_set")
    return f"{block.start:%H:%M}–{block.end:%H:%M}"


def format_zone(lang: Lang, name: str, now: datetime) -> str:
    zone = load_zone(name)
    clock = f"{now.astimezone(zone):%H:%M}" if zone else "?"
    return t(lang, "settings.zone", zone=zone_label(name), time=clock)


def format_value(lang: Lang, key: Key, settings: TeamSettings, now: datetime) -> str:
    """One setting's current value, in words."""
    if key is Key.QUOTA:
        return plural(lang, "plural.calls", settings.quota)
    if key is Key.GOAL:
        return plural(lang, "plural.balls", settings.goal)
    if key is Key.CYCLE:
        return plural(lang, "plural.days", settings.cycle_days)
    if key is Key.BLOCK:
        return format_block(lang, settings.block)
    if key is Key.SUMMARY:
        at: time | None = settings.summary_at
        return f"{at:%H:%M}" if at else t(lang, "settings.off")
    if key is Key.TZ:
        return format_zone(lang, settings.tz, now)
    if key is Key.WORKDAYS:
        return format_workdays(lang, settings.workdays)
    return t(lang, f"settings.lang_{settings.lang}")


def settings_text(
    lang: Lang, team: Team, now: datetime, team_days: dict[date, bool] | None = None
) -> str:
    """The team's rules; ``team_days`` are its own coming days off and working days."""
    settings = team.settings
    lines = [t(lang, "settings.team_head", team=team.title)]
    for key in Key:
        lines.append(
            t(
                lang,
                "settings.line",
                label=t(lang, f"setting.{key.value}"),
                value=Html(format_value(lang, key, settings, now)),
                key=key.value,
            )
        )
    for working, line in ((False, "settings.days_off"), (True, "settings.days_on")):
        days = sorted(day for day, works in (team_days or {}).items() if works is working)
        if days:
            shown = ", ".join(_short_day(lang, day) for day in days[:DAYS_SHOWN])
            more = " …" if len(days) > DAYS_SHOWN else ""
            lines.append(t(lang, line, days=shown + more))
    lines.append(t(lang, "settings.team_foot"))
    return "\n".join(lines)


def _short_day(lang: Lang, day: date) -> str:
    return f"{day:%d.%m.%Y}" if lang == "ru" else day.isoformat()


def private_settings_text(lang: Lang, profile: Profile, default_tz: str, now: datetime) -> str:
    team = profile.team
    rules = effective_rules(
        load_zone(default_tz) or ZoneInfo("UTC"),
        team.settings if team else None,
        personal_tz=profile.tz,
        personal_block=profile.block,
    )
    base = "team" if team else "default"
    if team is not None:
        head = t(lang, "settings.mine_head_team", team=team.title)
        if profile.teams > 1:
            head += "\n" + t(lang, "settings.mine_several", n=profile.teams)
    else:
        head = t(lang, "settings.mine_head")
    lines = [head]
    effective = TeamSettings(
        tz=rules.tz.key,
        quota=rules.quota,
        goal=rules.goal,
        cycle_days=rules.cycle_days,
        block=rules.block,
        workdays=rules.workdays,
    )
    own = {
        Key.TZ: bool(profile.tz and load_zone(profile.tz)),
        Key.BLOCK: profile.block is not None,
    }
    for key in (Key.QUOTA, Key.GOAL, Key.CYCLE, Key.WORKDAYS, Key.BLOCK, Key.TZ):
        source = "mine" if own.get(key) else base
        lines.append(
            t(
                lang,
                "settings.mine_line",
                label=t(lang, f"setting.{key.value}"),
                value=Html(format_value(lang, key, effective, now)),
                source=t(lang, f"settings.source_{source}"),
            )
        )
    lines.append(t(lang, "settings.mine_foot"))
    return "\n".join(lines)


async def group_settings(update: Update, context: BallbackContext) -> None:
    where = await in_group(update, context)
    if where.team is None:
        await reply(update, t(where.lang, "team.not_a_team"))
        return
    today = team_today(where.team, where.now)
    days = await context.services.store.rhythm.team_days(where.team.id, today)
    await reply(update, settings_text(where.lang, where.team, where.now, days))


async def private_settings(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    profile = await context.services.store.teams.profile(who.id)
    text = private_settings_text(who.lang, profile, context.services.settings.timezone, who.now)
    await reply(update, text)


# -- changing settings -------------------------------------------------------------------------


def invalid_text(lang: Lang, invalid: Invalid) -> str:
    key = invalid.key
    low, high = LIMITS.get(key, (0, 0))
    if invalid.error in (SettingError.NOT_A_NUMBER, SettingError.OUT_OF_RANGE):
        text = t(lang, "set.range", label=t(lang, f"setting.{key.value}"), low=low, high=high)
    else:
        text = t(lang, f"set.{invalid.error.value}")
    return text + "\n" + t(lang, "set.example", key=key.value, example=EXAMPLES[key])


def split_set_args(update: Update) -> tuple[str, str]:
    key, _, value = message_text_arg(update).partition(" ")
    return key, value.strip()


async def group_set(update: Update, context: BallbackContext) -> None:
    where = await in_group(update, context)
    if where.team is None:
        await reply(update, t(where.lang, "team.not_a_team"))
        return
    admin = await is_admin(update, context)
    if admin is None:
        await reply(update, t(where.lang, "team.admin_unknown"))
        return
    if not admin:
        await reply(update, t(where.lang, "set.refused"))
        return
    key_text, value = split_set_args(update)
    if key_text.casefold() in DAY_KEYS:
        await set_team_day(update, context, where, DAY_KEYS[key_text.casefold()], value)
        return
    key = parse_key(key_text) if key_text else None
    if key is None:
        text = t(where.lang, "set.unknown", key=key_text) + "\n\n" if key_text else ""
        await reply(update, text + t(where.lang, "set.usage"))
        return
    parsed = parse_setting(key, value)
    if isinstance(parsed, Invalid):
        await reply(update, invalid_text(where.lang, parsed))
        return
    team = await context.services.store.teams.apply(where.team.id, parsed, where.now)
    lang = team_lang(team, where.asked)  # a new "lang" answers in the new language
    await reply(
        update,
        t(
            lang,
            "set.done",
            label=t(lang, f"setting.{key.value}"),
            value=Html(format_value(lang, key, team.settings, where.now)),
        ),
    )


async def set_team_day(
    update: Update, context: BallbackContext, where: InGroup, working: bool, value: str
) -> None:
    """``/set dayoff 2026-12-31`` (or ``31.12.2026``), ``/set workday 2027-01-09``; a leading
    ``-`` (or ``off``/``remove``) lets the usual calendar decide that day again."""
    assert where.team is not None
    text, remove = value.strip(), False
    words = text.split()
    if words and words[0].casefold() in REMOVE_WORDS:
        text, remove = " ".join(words[1:]), True
    elif text.startswith(("-", "−")):
        text, remove = text[1:], True
    day = parse_day(text, team_today(where.team, where.now))
    if isinstance(day, DayError):
        error = t(where.lang, f"dates.{day.value}")
        await reply(update, error + "\n" + t(where.lang, "set.day_usage"))
        return
    changed = await context.services.store.rhythm.set_team_day(
        where.team.id, day, None if remove else working
    )
    if not changed:
        said = "set.day_unchanged"
    elif remove:
        said = "set.day_removed"
    else:
        said = "set.workday_done" if working else "set.dayoff_done"
    shown = f"{format_day(where.lang, day)} {day.year}"
    await reply(update, t(where.lang, said, day=shown))


async def private_set(update: Update, context: BallbackContext) -> None:
    who = await actor(update, context)
    key_text, value = split_set_args(update)
    key = parse_key(key_text) if key_text else None
    if key is None:
        text = t(who.lang, "set.unknown", key=key_text) + "\n\n" if key_text else ""
        await reply(update, text + t(who.lang, "set.private_usage"))
        return
    if key not in PERSONAL_KEYS:
        await reply(update, t(who.lang, "set.team_only", key=key.value))
        return
    parsed = parse_setting(key, value, personal=True)
    if isinstance(parsed, Invalid):
        await reply(update, invalid_text(who.lang, parsed))
        return
    await save_personal(update, context, who, parsed)


async def save_personal(
    update: Update, context: BallbackContext, who: Actor, setting: Setting
) -> None:
    store = context.services.store
    if setting.key is Key.TZ:
        zone = setting.value if isinstance(setting.value, str) else None
        await store.teams.set_personal_tz(who.user, zone, who.now)
    else:
        block = setting.value if isinstance(setting.value, Block) else None
        await store.teams.set_personal_block(who.user, block, who.now)
    after = await actor(update, context)  # the rules as they are now, with the team's under it
    if setting.key is Key.TZ:
        value = format_zone(after.lang, after.rules.tz.key, after.now)
    else:
        value = format_block(after.lang, after.rules.block)
    key = "set.mine_done" if setting.value is not None else "set.mine_reset"
    await reply(
        update,
        t(after.lang, key, label=t(after.lang, f"setting.{setting.key.value}"), value=Html(value)),
    )


# -- wiring ------------------------------------------------------------------------------------


def register_first(app: BallbackApp) -> None:
    """Group ``/start`` and ``/help``: before the private ones, which answer in any chat."""
    app.add_handlers(
        [
            CommandHandler("start", group_start, filters=GROUPS),
            CommandHandler("help", group_help, filters=GROUPS),
        ]
    )


def register(app: BallbackApp) -> None:
    app.add_handlers(
        [
            ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.StatusUpdate.MIGRATE, migrated),
            MessageHandler(filters.StatusUpdate.NEW_CHAT_TITLE, title_changed),
            CommandHandler("setup", setup_command, filters=GROUPS),
            CommandHandler("join", join_command, filters=GROUPS),
            CommandHandler("leave", leave_command, filters=GROUPS),
            CommandHandler("settings", group_settings, filters=GROUPS),
            CommandHandler("set", group_set, filters=GROUPS),
            CommandHandler("settings", private_settings, filters=PRIVATE),
            CommandHandler("set", private_set, filters=PRIVATE),
            CommandHandler(list(GROUP_ONLY), group_only, filters=PRIVATE),
        ]
    )
