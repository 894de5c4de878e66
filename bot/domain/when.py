"""Read the date/time a rep types for a Next Step: "завтра в 15:00", "fri 3pm", "29.11".

Stdlib only. The text is split into tokens, then a small grammar picks out at most one
day part and at most one time part, in any order. Anything the grammar does not know
makes the whole text unrecognised: the parser never guesses around unknown words.
It only reads; whether the moment is in the past or too far ahead is the caller's call.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum


class WhenError(StrEnum):
    EMPTY = "empty"  # nothing but whitespace
    UNRECOGNISED = "unrecognised"  # could not read it
    IMPOSSIBLE_DATE = "impossible_date"  # 31.02, 29.02.2027, 00.12, 12.13
    IMPOSSIBLE_TIME = "impossible_time"  # 25:00, 14:61, 13pm


@dataclass(frozen=True, slots=True)
class When:
    day: date
    at: time | None  # None when the text named a day only ("завтра", "пт", "29.11")

    def combine(self, tz: tzinfo, default: time) -> datetime:
        """The moment as an aware datetime in `tz`, at `default` when no time was given."""
        clock = self.at if self.at is not None else default
        return datetime.combine(self.day, clock.replace(tzinfo=None), tzinfo=tz)


@dataclass(frozen=True, slots=True)
class WhenParseError:
    error: WhenError


# --- tokens -------------------------------------------------------------------------------

# A token is a run of digits with . : / - inside ("29.11.2026", "15:00"), or a word
# (letters, inner hyphens, an optional trailing dot that is dropped: "нояб.", "tues.").
_TOKEN_RE = re.compile(r"\s*(?:([0-9]+(?:[.:/-][0-9]+)*)|([^\W\d_]+(?:-[^\W\d_]+)*)\.?)")
_DOTTED_MERIDIEM_RE = re.compile(r"\b([ap])\.m\b\.?")  # "p.m." -> "pm"

_ISO_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")  # 2026-11-29
_CLOCK_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")  # 15:00, 9:05
_PAIR_RE = re.compile(r"([0-9]{1,2})\.([0-9]{2})")  # 12.11 (date) or 15.00 (time)
_DMY_RE = re.compile(r"([0-9]{1,2})([./])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?")  # 29/11/26
_INT_RE = re.compile(r"[0-9]{1,4}")
_DAY_RE = re.compile(r"[0-9]{1,2}")
_YEAR_RE = re.compile(r"[0-9]{4}")

# --- vocabulary ---------------------------------------------------------------------------

_CONNECTORS = frozenset({"в", "во", "at", "on"})
_OFFSET_WORDS = frozenset({"in", "через"})
_NOT_AFTER_CONNECTOR = _CONNECTORS | _OFFSET_WORDS  # "в в 15", "at in 2 hours"
_ORDINALS = frozenset({"st", "nd", "rd", "th"})
_HOUR_WORDS = frozenset({"ч", "час", "часа", "часов", "h"})
_YEAR_WORDS = frozenset({"г", "года"})
_MERIDIEM = {"am": False, "pm": True, "утра": False, "ночи": False, "дня": True, "вечера": True}
_RELATIVE_DAYS = {
    **dict.fromkeys(("сегодня", "today"), 0),
    **dict.fromkeys(("завтра", "tomorrow", "tmrw", "tmr"), 1),
    "послезавтра": 2,
}
_PERIODS = {
    **dict.fromkeys(("утром", "morning"), time(9)),
    "днем": time(13),  # "днём" after ё -> е
    "afternoon": time(14),
    **dict.fromkeys(("вечером", "evening"), time(18)),
    **dict.fromkeys(("полдень", "noon"), time(12)),
    **dict.fromkeys(("полночь", "midnight"), time(0)),
}
_IN_THE_PERIODS = frozenset({"morning", "afternoon", "evening"})  # "in the morning"
_DAY_UNITS = {
    **dict.fromkeys(("day", "days", "день", "дня", "дней"), 1),
    **dict.fromkeys(("week", "weeks", "неделю", "недели", "недель"), 7),
}
_MINUTE_UNITS = {
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "h", "час", "часа", "часов"), 60),
    **dict.fromkeys(("minute", "minutes", "min", "mins", "минуту", "минуты", "минут", "мин"), 1),
    "полчаса": 30,
}
_WEEKDAY_FORMS = (
    "понедельник пн monday mon",
    "вторник вт tuesday tue tues",
    "среда среду ср wednesday wed weds",
    "четверг чт thursday thu thur thurs",
    "пятница пятницу пт friday fri",
    "суббота субботу сб saturday sat",
    "воскресенье вс sunday sun",
)
_WEEKDAYS = {form: n for n, forms in enumerate(_WEEKDAY_FORMS) for form in forms.split()}
_MONTH_FORMS = (  # Russian nominative and genitive; their 3- and 4-letter heads are added
    "январь января january jan",
    "февраль февраля february feb",
    "март марта march mar",
    "апрель апреля april apr",
    "май мая may",
    "июнь июня june jun",
    "июль июля july jul",
    "август августа august aug",
    "сентябрь сентября september sep sept",
    "октябрь октября october oct",
    "ноябрь ноября november nov",
    "декабрь декабря december dec",
)
_MONTHS = {
    key: n
    for n, forms in enumerate(_MONTH_FORMS, start=1)
    for form in forms.split()
    for key in ((form,) if form.isascii() else (form, form[:3], form[:4]))
}

_YEAR_ROLLOVER = timedelta(days=60)  # a yearless date further back than this is next year's


class _Unrecognised(Exception):
    """Raised inside the reader; turned into WhenError.UNRECOGNISED."""


def _tokenise(text: str) -> list[str] | None:
    norm = _DOTTED_MERIDIEM_RE.sub(r"\1m", text.lower().replace("ё", "е").replace(",", " "))
    norm = norm.strip().rstrip(".").rstrip()
    tokens: list[str] = []
    pos = 0
    while pos < len(norm):
        match = _TOKEN_RE.match(norm, pos)
        if match is None:
            return None
        tokens.append(match[1] or match[2])
        pos = match.end()
    return tokens


def _clock(hour: int, minute: int, pm: bool | None) -> time | WhenError:
    """A time of day; `pm` is None for the 24-hour clock, else the 12-hour am/pm reading."""
    if pm is not None:
        if not 1 <= hour <= 12:
            return WhenError.IMPOSSIBLE_TIME  # 13pm, 0am
        hour = hour % 12 + (12 if pm else 0)
    if hour > 23 or minute > 59:
        return WhenError.IMPOSSIBLE_TIME
    return time(hour, minute)


class _Reader:
    """Walks the tokens once, filling in at most one day part and one time part."""

    def __init__(self, tokens: list[str], now: datetime) -> None:
        self.tokens = tokens
        self.i = 0
        self.now = now
        self.today = now.date()
        self.day: date | WhenError | None = None
        self.at: time | WhenError | None = None
        self.pairs: list[tuple[int, int]] = []  # "12.11"-like tokens, resolved at the end

    # -- token helpers
    def peek(self) -> str:
        return self.tokens[self.i] if self.i < len(self.tokens) else ""

    def take(self, words: Container[str]) -> str | None:
        token = self.peek()
        if token and token in words:
            self.i += 1
            return token
        return None

    def take_int(self, pattern: re.Pattern[str] = _INT_RE) -> int | None:
        if pattern.fullmatch(self.peek()):
            self.i += 1
            return int(self.tokens[self.i - 1])
        return None

    def meridiem(self) -> bool | None:
        word = self.take(_MERIDIEM)
        return None if word is None else _MERIDIEM[word]

    def set_day(self, day: date | WhenError) -> None:
        if self.day is not None:
            raise _Unrecognised  # two day parts: "завтра пт"
        self.day = day

    def set_at(self, at: time | WhenError) -> None:
        if self.at is not None:
            raise _Unrecognised  # two time parts: "утром в 10"
        self.at = at

    # -- grammar
    def read(self) -> When | WhenParseError:
        while self.i < len(self.tokens):
            self.element()
        for first, second in self.pairs:
            date_like = 1 <= first <= 12 or 1 <= second <= 12  # "15.00" is no date either way
            if self.day is None and (self.at is not None or date_like):
                self.day = self.calendar(first, second, None)
            else:
                self.set_at(_clock(first, second, None))
        day = self.today if self.day is None else self.day
        if isinstance(day, WhenError):
            return WhenParseError(day)
        if isinstance(self.at, WhenError):
            return WhenParseError(self.at)
        return When(day, self.at)

    def element(self) -> None:
        connector = self.take(_CONNECTORS)
        if connector is not None and (not self.peek() or self.peek() in _NOT_AFTER_CONNECTOR):
            raise _Unrecognised
        if self.take({"next"}) is not None and self.peek() not in _WEEKDAYS:
            raise _Unrecognised  # "next fri" is "fri"; "next month" is not understood
        token = self.peek()
        if token[:1].isdigit():
            self.number(connector)
        elif token in _MONTHS:
            self.i += 1
            day = self.take_int(_DAY_RE)
            if day is None:
                raise _Unrecognised
            self.take(_ORDINALS)
            self.set_day(self.calendar(day, _MONTHS[token], self.year()))
        else:
            self.word(token)

    def word(self, token: str) -> None:
        self.i += 1
        if token in _RELATIVE_DAYS:
            self.set_day(self.days_ahead(_RELATIVE_DAYS[token]))
        elif token == "day" and self.take({"after"}) and self.take({"tomorrow"}):
            self.set_day(self.days_ahead(2))
        elif token in _WEEKDAYS:
            ahead = (_WEEKDAYS[token] - self.today.weekday() - 1) % 7 + 1  # strictly after today
            self.set_day(self.days_ahead(ahead))
        elif token in _PERIODS:
            self.set_at(_PERIODS[token])
        elif token in _OFFSET_WORDS:
            self.offset(token)
        else:
            raise _Unrecognised

    def offset(self, word: str) -> None:
        """After "in"/"через": "3 days", "an hour", "the morning", "неделю", "30 мин"."""
        if word == "in" and self.take({"the"}):
            period = self.take(_IN_THE_PERIODS)
            if period is None:
                raise _Unrecognised
            self.set_at(_PERIODS[period])
            return
        count = self.take_int()
        if count is None and not (word == "через" or self.take({"a", "an"})):
            raise _Unrecognised
        count = 1 if count is None else count
        unit = self.peek()
        self.i += 1
        if unit in _DAY_UNITS:
            self.set_day(self.days_ahead(count * _DAY_UNITS[unit]))
        elif unit in _MINUTE_UNITS:
            moment = self.minutes_ahead(count * _MINUTE_UNITS[unit])
            self.set_day(moment.date())
            self.set_at(moment.time().replace(second=0, microsecond=0))
        else:
            raise _Unrecognised

    def number(self, connector: str | None) -> None:
        token = self.tokens[self.i]
        self.i += 1
        if match := _ISO_RE.fullmatch(token):
            self.set_day(self.calendar(int(match[3]), int(match[2]), int(match[1])))
        elif match := _CLOCK_RE.fullmatch(token):
            self.set_at(_clock(int(match[1]), int(match[2]), self.meridiem()))
        elif match := _PAIR_RE.fullmatch(token):
            pm = self.meridiem()
            if pm is not None or connector in ("в", "at"):  # "3.30pm", "в 15.00"
                self.set_at(_clock(int(match[1]), int(match[2]), pm))
            else:
                self.pairs.append((int(match[1]), int(match[2])))
        elif match := _DMY_RE.fullmatch(token):
            year = None if match[4] is None else int(match[4])
            if year is not None and len(match[4]) == 2:
                year += 2000  # "29.11.26"
            self.set_day(self.calendar(int(match[1]), int(match[3]), year))
        elif _INT_RE.fullmatch(token):
            self.number_words(int(token), connector)
        else:
            raise _Unrecognised

    def number_words(self, n: int, connector: str | None) -> None:
        """A plain number: "29 ноября", "1st dec", "15ч", "15 часов", "3pm", "в 15"."""
        ordinal = self.take(_ORDINALS)
        month = self.take(_MONTHS)
        if month is not None:
            self.set_day(self.calendar(n, _MONTHS[month], self.year()))
        elif ordinal is not None:
            raise _Unrecognised  # "29th" with no month
        elif self.take(_HOUR_WORDS) or self.peek() in _MERIDIEM or connector == "в":
            self.set_at(_clock(n, 0, self.meridiem()))
        else:
            raise _Unrecognised  # a bare "15" is too ambiguous to guess

    def year(self) -> int | None:
        year = self.take_int(_YEAR_RE)
        if year is not None:
            self.take(_YEAR_WORDS)  # "29 ноября 2026 г"
        return year

    def days_ahead(self, days: int) -> date | WhenError:
        """Calendar days after today (not 24-hour periods, which DST would skew)."""
        try:
            return self.today + timedelta(days=days)
        except OverflowError:
            return WhenError.IMPOSSIBLE_DATE

    def minutes_ahead(self, minutes: int) -> datetime:
        """`now` moved by real elapsed time (through UTC, so a DST change is respected)."""
        try:
            moved = self.now.astimezone(UTC) + timedelta(minutes=minutes)
            return moved.astimezone(self.now.tzinfo)
        except OverflowError:
            raise _Unrecognised from None

    def calendar(self, day: int, month: int, year: int | None) -> date | WhenError:
        """A calendar date; without a year, this year's unless that is over 60 days ago."""
        if year is not None:
            try:
                return date(year, month, day)
            except ValueError:
                return WhenError.IMPOSSIBLE_DATE
        for candidate_year in (self.today.year, self.today.year + 1):
            try:
                candidate = date(candidate_year, month, day)
            except ValueError:
                continue  # 29.02 outside a leap year, or never valid at all
            if candidate >= self.today - _YEAR_ROLLOVER:
                return candidate
        return WhenError.IMPOSSIBLE_DATE


def parse_when(text: str, now: datetime) -> When | WhenParseError:
    """Read a day and/or time of day from `text`.

    `now` is an aware datetime in the rep's own time zone; relative words are resolved
    against now.date(). Never raises for any input string.
    """
    if not text.strip():
        return WhenParseError(WhenError.EMPTY)
    tokens = _tokenise(text)
    if not tokens:
        return WhenParseError(WhenError.UNRECOGNISED)
    try:
        return _Reader(tokens, now).read()
    except _Unrecognised:
        return WhenParseError(WhenError.UNRECOGNISED)
