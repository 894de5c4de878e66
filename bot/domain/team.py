"""A team's rules: its settings, how each one is typed, and the rules a rep ends up working by.

Plain Python: no Telegram, no SQL. ``/set <key> <value>`` is parsed here into a typed value or
a precise error; :func:`effective_rules` layers a rep's own overrides (time zone, calling block)
over their team's settings over the defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.rules import (
    DEFAULT_CYCLE_DAYS,
    DEFAULT_GOAL,
    DEFAULT_QUOTA,
    WORKDAYS_MON_FRI,
    Block,
    Rules,
)

DEFAULT_SUMMARY_AT = time(18, 0)
ALL_DAYS = frozenset(range(7))
LANG_CHOICES = ("ru", "en", "auto")


class Key(StrEnum):
    QUOTA = "quota"  # calls per working day
    GOAL = "goal"  # balls per day
    CYCLE = "cycle"  # average sales cycle, days
    BLOCK = "block"  # the daily calling block
    SUMMARY = "summary"  # when the daily summary is posted
    TZ = "tz"  # the team's time zone
    WORKDAYS = "workdays"
    LANG = "lang"


# What a rep may set for themselves in private chat; everything else is the team's.
PERSONAL_KEYS = frozenset({Key.BLOCK, Key.TZ})
LIMITS: dict[Key, tuple[int, int]] = {Key.QUOTA: (1, 500), Key.GOAL: (1, 100), Key.CYCLE: (1, 365)}
KEY_ALIASES: dict[str, Key] = {
    "timezone": Key.TZ,
    "zone": Key.TZ,
    "days": Key.WORKDAYS,
    "language": Key.LANG,
    "норма": Key.QUOTA,
    "цель": Key.GOAL,
    "цикл": Key.CYCLE,
    "блок": Key.BLOCK,
    "сводка": Key.SUMMARY,
    "пояс": Key.TZ,
    "дни": Key.WORKDAYS,
    "язык": Key.LANG,
}
# Words that clear an optional setting (the team's block or summary, a rep's own override).
RESET_WORDS = frozenset(
    {"off", "none", "no", "reset", "team", "-", "нет", "выкл", "сброс", "команда", "командный"}
)


class SettingError(StrEnum):
    MISSING = "missing"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    BAD_TIME = "bad_time"
    BAD_BLOCK = "bad_block"
    BLOCK_ORDER = "block_order"
    BAD_ZONE = "bad_zone"
    ODD_OFFSET = "odd_offset"  # UTC+5:30 and the like: only whole hours have a zone name
    BAD_WORKDAYS = "bad_workdays"
    BAD_LANG = "bad_lang"


SettingValue = int | str | time | Block | frozenset[int] | None


@dataclass(frozen=True, slots=True)
class Setting:
    """A valid value for ``key``; ``None`` clears an optional setting."""

    key: Key
    value: SettingValue


@dataclass(frozen=True, slots=True)
class Invalid:
    key: Key
    error: SettingError


@dataclass(frozen=True, slots=True)
class TeamSettings:
    """A team's rules as stored; ``tz`` is an IANA name."""

    tz: str
    quota: int = DEFAULT_QUOTA
    goal: int = DEFAULT_GOAL
    cycle_days: int = DEFAULT_CYCLE_DAYS
    block: Block | None = None
    summary_at: time | None = DEFAULT_SUMMARY_AT
    workdays: frozenset[int] = field(default=WORKDAYS_MON_FRI)
    lang: str = "auto"


# -- keys ---------------------------------------------------------------------------------------


def parse_key(text: str) -> Key | None:
    word = text.strip().casefold()
    try:
        return Key(word)
    except ValueError:
        return KEY_ALIASES.get(word)


def parse_setting(key: Key, text: str, *, personal: bool = False) -> Setting | Invalid:
    """Validate ``text`` as a value for ``key``.

    ``personal`` is a rep's own override: a reset word then clears it (back to the team's).
    """
    value = " ".join(text.split())
    if not value:
        return Invalid(key, SettingError.MISSING)
    if value.casefold() in RESET_WORDS and (
        key in (Key.BLOCK, Key.SUMMARY) or (personal and key in PERSONAL_KEYS)
    ):
        return Setting(key, None)
    if key in LIMITS:
        return _parse_int(key, value)
    if key is Key.BLOCK:
        block = parse_block(value)
        return Setting(key, block) if isinstance(block, Block) else Invalid(key, block)
    if key is Key.SUMMARY:
        at = parse_time(value)
        return Setting(key, at) if at is not None else Invalid(key, SettingError.BAD_TIME)
    if key is Key.TZ:
        zone = resolve_zone(value)
        return Invalid(key, zone) if isinstance(zone, SettingError) else Setting(key, zone)
    if key is Key.WORKDAYS:
        days = parse_workdays(value)
        return Setting(key, days) if days else Invalid(key, SettingError.BAD_WORKDAYS)
    lang = value.casefold()
    lang = {"авто": "auto", "рус": "ru", "русский": "ru", "english": "en"}.get(lang, lang)
    return Setting(key, lang) if lang in LANG_CHOICES else Invalid(key, SettingError.BAD_LANG)


def _parse_int(key: Key, value: str) -> Setting | Invalid:
    if not re.fullmatch(r"[+-]?\d{1,6}", value):
        return Invalid(key, SettingError.NOT_A_NUMBER)
    number = int(value)
    low, high = LIMITS[key]
    if not low <= number <= high:
        return Invalid(key, SettingError.OUT_OF_RANGE)
    return Setting(key, number)


# -- times --------------------------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?")
_BLOCK = re.compile(r"(\d{1,2}(?:[:.]\d{2})?)\s*[-–—]\s*(\d{1,2}(?:[:.]\d{2})?)")


def parse_time(text: str) -> time | None:
    """``18:30``, ``18.30``, ``9:05`` or ``18`` (whole hour)."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_block(text: str) -> Block | SettingError:
    """``10:00-11:00`` (also ``10-11``, ``10.00–11.30``); it must end after it starts."""
    match = _BLOCK.fullmatch(text.strip())
    if match is None:
        return SettingError.BAD_BLOCK
    start, end = parse_time(match[1]), parse_time(match[2])
    if start is None or end is None:
        return SettingError.BAD_BLOCK
    if start >= end:
        return SettingError.BLOCK_ORDER
    return Block(start, end)


def minutes(moment: time | None) -> int | None:
    """Minutes after midnight, the way times of day are stored."""
    return None if moment is None else moment.hour * 60 + moment.minute


def from_minutes(value: int | None) -> time | None:
    return None if value is None else time(value // 60, value % 60)


def block_from_minutes(start: int | None, end: int | None) -> Block | None:
    if start is None or end is None or start >= end:
        return None
    return Block(time(start // 60, start % 60), time(end // 60, end % 60))


# -- working days -------------------------------------------------------------------------------

_DAY_WORDS: dict[str, int] = {
    **dict.fromkeys(("mon", "monday", "mo", "пн", "пон", "понедельник"), 0),
    **dict.fromkeys(("tue", "tues", "tuesday", "tu", "вт", "вторник"), 1),
    **dict.fromkeys(("wed", "wednesday", "we", "ср", "среда"), 2),
    **dict.fromkeys(("thu", "thur", "thurs", "thursday", "th", "чт", "четверг"), 3),
    **dict.fromkeys(("fri", "friday", "fr", "пт", "пятница"), 4),
    **dict.fromkeys(("sat", "saturday", "sa", "сб", "суббота"), 5),
    **dict.fromkeys(("sun", "sunday", "su", "вс", "воскресенье"), 6),
}
_DAY_SETS: dict[str, frozenset[int]] = {
    **dict.fromkeys(("weekdays", "будни"), WORKDAYS_MON_FRI),
    **dict.fromkeys(("daily", "everyday", "all", "ежедневно", "все"), ALL_DAYS),
}


def parse_workdays(text: str) -> frozenset[int] | None:
    """``mon-fri``, ``mon-sat``, ``mon,wed,fri``, ``пн-пт``, ``weekdays``; ``None`` if unreadable.

    A range may wrap around the week end (``sun-thu``).
    """
    days: set[int] = set()
    for part in re.split(r"[,;\s]+", text.strip().casefold()):
        if not part:
            continue
        if part in _DAY_SETS:
            days |= _DAY_SETS[part]
            continue
        first, *rest = re.split(r"[-–—]", part)
        if not rest:
            if part not in _DAY_WORDS:
                return None
            days.add(_DAY_WORDS[part])
            continue
        last = rest[0]
        if len(rest) > 1 or first not in _DAY_WORDS or last not in _DAY_WORDS:
            return None
        day, stop = _DAY_WORDS[first], _DAY_WORDS[last]
        days.add(day)
        while day != stop:
            day = (day + 1) % 7
            days.add(day)
    return frozenset(days) or None


def workdays_mask(days: frozenset[int]) -> int:
    """Bit ``n`` set for weekday ``n`` (Monday is bit 0), the way working days are stored."""
    return sum(1 << day for day in days)


def workdays_from_mask(mask: int) -> frozenset[int]:
    return frozenset(day for day in range(7) if mask & (1 << day)) or WORKDAYS_MON_FRI


# -- time zones ---------------------------------------------------------------------------------

_CITY_ZONES: dict[str, tuple[str, ...]] = {
    "Europe/Kaliningrad": ("калининград", "kaliningrad"),
    "Europe/Moscow": (
        "москва", "moscow", "мск", "msk", "санкт петербург", "петербург", "питер", "спб",
        "saint petersburg", "st petersburg", "spb", "казань", "kazan", "нижний новгород",
        "nizhny novgorod", "ростов на дону", "ростов", "rostov", "краснодар", "krasnodar",
        "воронеж", "voronezh", "сочи", "sochi", "ярославль", "тула", "рязань", "тверь",
        "белгород", "курск", "липецк", "пенза", "чебоксары", "мурманск", "архангельск",
        "вологда", "смоленск", "брянск", "калуга", "владимир", "иваново", "симферополь",
        "севастополь", "ставрополь", "махачкала", "киров",
    ),
    "Europe/Minsk": ("минск", "minsk"),
    "Europe/Volgograd": ("волгоград", "volgograd"),
    "Europe/Samara": ("самара", "samara", "ижевск", "izhevsk", "тольятти", "togliatti"),
    "Europe/Saratov": ("саратов", "saratov"),
    "Europe/Ulyanovsk": ("ульяновск", "ulyanovsk"),
    "Europe/Astrakhan": ("астрахань", "astrakhan"),
    "Asia/Yekaterinburg": (
        "екатеринбург", "екб", "yekaterinburg", "ekaterinburg", "челябинск", "chelyabinsk",
        "пермь", "perm", "уфа", "ufa", "тюмень", "tyumen", "оренбург", "orenburg", "курган",
        "сургут", "surgut", "магнитогорск",
    ),
    "Asia/Omsk": ("омск", "omsk"),
    "Asia/Novosibirsk": ("новосибирск", "novosibirsk", "нск"),
    "Asia/Barnaul": ("барнаул", "barnaul"),
    "Asia/Tomsk": ("томск", "tomsk"),
    "Asia/Novokuznetsk": ("кемерово", "kemerovo", "новокузнецк", "novokuznetsk"),
    "Asia/Krasnoyarsk": ("красноярск", "krasnoyarsk", "норильск", "абакан"),
    "Asia/Irkutsk": ("иркутск", "irkutsk", "улан удэ", "ulan ude", "братск"),
    "Asia/Chita": ("чита", "chita"),
    "Asia/Yakutsk": ("якутск", "yakutsk", "благовещенск", "blagoveshchensk"),
    "Asia/Vladivostok": ("владивосток", "vladivostok", "хабаровск", "khabarovsk"),
    "Asia/Sakhalin": ("южно сахалинск", "сахалин", "sakhalin", "yuzhno sakhalinsk"),
    "Asia/Magadan": ("магадан", "magadan"),
    "Asia/Kamchatka": ("петропавловск камчатский", "камчатка", "kamchatka"),
    "Asia/Anadyr": ("анадырь", "anadyr"),
    "Asia/Almaty": ("алматы", "алма ата", "almaty", "астана", "astana"),
    "Asia/Tashkent": ("ташкент", "tashkent"),
    "Asia/Bishkek": ("бишкек", "bishkek"),
    "Asia/Tbilisi": ("тбилиси", "tbilisi"),
    "Asia/Yerevan": ("ереван", "yerevan"),
    "Asia/Baku": ("баку", "baku"),
}  # fmt: skip
_CITIES: dict[str, str] = {city: zone for zone, cities in _CITY_ZONES.items() for city in cities}
_OFFSET = re.compile(r"(utc|gmt|мск|msk)\s*(?:([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?)?")


def _norm(text: str) -> str:
    text = text.casefold().replace("ё", "е")
    return " ".join(re.sub(r"[-_/.,]+", " ", text).split())


@cache
def _iana() -> dict[str, str]:
    """Lower-cased IANA names, and their last part ("novosibirsk"), to the real name."""
    names: dict[str, str] = {}
    cities: dict[str, str] = {}
    for name in available_timezones():
        names[name.casefold()] = name
        cities.setdefault(_norm(name.rsplit("/", 1)[-1]), name)
    return {**cities, **names}


def resolve_zone(text: str) -> str | SettingError:
    """An IANA zone name for what a rep typed (check for :class:`SettingError` first: it is a str).

    Accepts IANA names in any case (``asia/yekaterinburg``), common city names in Russian and
    English (``Екатеринбург``, ``Novosibirsk``), and offsets: ``UTC+5``, ``GMT-3``, ``МСК+2``.
    """
    raw = text.strip()
    zones = _iana()
    if raw.casefold() in zones:
        return zones[raw.casefold()]
    key = _norm(raw)
    if key in _CITIES:
        return _CITIES[key]
    match = _OFFSET.fullmatch(raw.casefold().replace(" ", ""))
    if match is not None:
        base = 3 if match[1] in ("мск", "msk") else 0
        hours = int(match[3] or 0)
        if match[4] and int(match[4]) != 0:
            return SettingError.ODD_OFFSET
        offset = base + (-hours if match[2] in ("-", "−") else hours)
        if not -12 <= offset <= 14:
            return SettingError.BAD_ZONE
        if offset == 0:
            return "UTC"
        # POSIX style: Etc/GMT-5 is five hours AHEAD of UTC.
        return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    if key in zones:
        return zones[key]
    return SettingError.BAD_ZONE


def zone_label(name: str) -> str:
    """``Asia/Yekaterinburg`` as it is; ``Etc/GMT-5`` as ``UTC+5``."""
    match = re.fullmatch(r"Etc/GMT([+-])(\d{1,2})", name)
    if match is None:
        return name
    return f"UTC{'-' if match[1] == '+' else '+'}{match[2]}"


def load_zone(name: str | None) -> ZoneInfo | None:
    """The zone called ``name``; ``None`` for no name or one this system does not know."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# -- what a rep works by ------------------------------------------------------------------------


def effective_rules(
    default_tz: ZoneInfo,
    team: TeamSettings | None = None,
    *,
    personal_tz: str | None = None,
    personal_block: Block | None = None,
) -> Rules:
    """A rep's own override, else their team's setting, else the default, for every rule.

    Only the time zone and the calling block can be personal (reps of one team sit in
    different cities); quota, goal, cycle and working days are always the team's.
    """
    tz = load_zone(personal_tz) or (load_zone(team.tz) if team else None) or default_tz
    if team is None:
        return Rules(tz=tz, block=personal_block)
    return Rules(
        tz=tz,
        quota=team.quota,
        goal=team.goal,
        cycle_days=team.cycle_days,
        workdays=team.workdays,
        block=personal_block or team.block,
    )


def language_choice(personal: str | None, team_lang: str | None) -> str | None:
    """The explicit language to speak, or ``None`` to follow Telegram's ``language_code``.

    A rep's own explicit choice wins, then the team's ``lang`` unless it is ``auto``.
    """
    for choice in (personal, team_lang):
        if choice in ("ru", "en"):
            return choice
    return None
