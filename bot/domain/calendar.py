"""Which days are working days for a team.

A day is a working day when the team's own exceptions say so (``/set dayoff``, ``/set workday``),
otherwise when it is not one of Russia's official public holidays and either falls on one of the
team's working weekdays or is an official transferred working day (a Saturday the government
moved a day off from). The public holidays come from the ``holidays`` package, which tracks the
yearly government decrees; it is imported lazily because it takes a few hundred milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

MON_FRI = frozenset(range(5))
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=32)
def _official(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays and days off, transferred working days) of one year."""
    import holidays

    calendar: Any = holidays.country_holidays(country, years=year)
    days_off = frozenset(calendar.keys())
    workdays = frozenset(getattr(calendar, "weekend_workdays", ()) or ())
    return days_off, workdays


def parse_workdays(text: str) -> frozenset[int] | None:
    """``mon-fri``, ``mon-sat``, ``mon,wed,fri``, ``пн-пт`` → weekday numbers (Monday is 0)."""
    names = {name: i for i, name in enumerate(WEEKDAY_NAMES)}
    names.update({name: i for i, name in enumerate(("пн", "вт", "ср", "чт", "пт", "сб", "вс"))})
    days: set[int] = set()
    for part in text.replace(" ", "").lower().split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if first not in names or (dash and last not in names):
            return None
        start, end = names[first], names[last] if dash else names[first]
        if end < start:
            return None
        days.update(range(start, end + 1))
    return frozenset(days) if days else None


def format_workdays(days: Iterable[int]) -> str:
    ordered = sorted(set(days))
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{WEEKDAY_NAMES[ordered[0]]}-{WEEKDAY_NAMES[ordered[-1]]}"
    return ",".join(WEEKDAY_NAMES[d] for d in ordered)


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    workdays: frozenset[int] = MON_FRI
    days_off: frozenset[date] = field(default_factory=frozenset)  # team's extra days off
    extra_workdays: frozenset[date] = field(default_factory=frozenset)  # team's extra working days
    country: str | None = "RU"

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.days_off:
            return False
        if self.country:
            official_off, official_work = _official(self.country, day.year)
            if day in official_off:
                return False
            if day in official_work:
                return True
        return day.weekday() in self.workdays

    def previous_workday(self, day: date) -> date | None:
        for back in range(1, 32):
            candidate = day - timedelta(days=back)
            if self.is_workday(candidate):
                return candidate
        return None


# -- dates typed by people: /away, /set dayoff ------------------------------------------------

MAX_AWAY_DAYS = 366  # one absence at most a year long
AWAY_PAST_DAYS = 31  # an absence may be recorded afterwards, back to a month ago

_ISO = r"\d{4}-\d{1,2}-\d{1,2}"
_DOTTED = r"\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?"
_DAY = re.compile(rf"({_ISO}|{_DOTTED})")
_RANGE = re.compile(rf"\s*({_ISO}|{_DOTTED})\s*(?:(?:-|–|—|\.\.)\s*({_ISO}|{_DOTTED})\s*)?")


class DayError(StrEnum):
    UNREADABLE = "unreadable"  # not a date we can read
    NO_SUCH_DAY = "no_such_day"  # 31.02
    ORDER = "order"  # the range ends before it starts
    TOO_LONG = "too_long"  # over MAX_AWAY_DAYS
    PAST = "past"  # ended too long ago to matter


def _nearest(day: int, month: int, today: date) -> date | None:
    """``day.month`` in the year that puts it closest to ``today``."""
    found: list[date] = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            found.append(date(year, month, day))
        except ValueError:
            continue
    return min(found, key=lambda d: (abs((d - today).days), d)) if found else None


def _on_or_after(day: int, month: int, start: date) -> date | None:
    for year in (start.year, start.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= start:
            return candidate
    return None


def _read(token: str, today: date, after: date | None) -> date | DayError:
    """One typed date. Without a year: the one nearest to ``today``, or when ``after`` is
    given (the end of a range) the first one on or after it."""
    try:
        if "-" in token:
            year, month, day = (int(part) for part in token.split("-"))
            return date(year, month, day)
        parts = [int(part) for part in re.split(r"[./]", token)]
        if len(parts) == 3:
            year = parts[2] + 2000 if parts[2] < 100 else parts[2]
            return date(year, parts[1], parts[0])
    except ValueError:
        return DayError.NO_SUCH_DAY
    if not (1 <= parts[1] <= 12 and 1 <= parts[0] <= 31):
        return DayError.NO_SUCH_DAY
    found = (
        _on_or_after(parts[0], parts[1], after) if after else _nearest(parts[0], parts[1], today)
    )
    return found if found is not None else DayError.NO_SUCH_DAY


def parse_day(text: str, today: date) -> date | DayError:
    """``2026-12-31``, ``31.12.2026``, ``31.12.26`` or ``31.12`` (the 31 Dec nearest to today)."""
    match = _DAY.fullmatch(text.strip())
    if match is None:
        return DayError.UNREADABLE
    return _read(match[1], today, None)


def parse_range(text: str, today: date) -> tuple[date, date] | DayError:
    """An absence: ``01.12-10.12``, ``01.12.2026 – 10.12.2026``, ``2026-12-01..2026-12-10``,
    or one day (``01.12``). Both ends are included.

    It may not be longer than :data:`MAX_AWAY_DAYS` nor have ended more than
    :data:`AWAY_PAST_DAYS` ago (a past absence may still be recorded, so a sick day does not
    break a streak).
    """
    match = _RANGE.fullmatch(text)
    if match is None:
        return DayError.UNREADABLE
    first = _read(match[1], today, None)
    if isinstance(first, DayError):
        return first
    last = first if match[2] is None else _read(match[2], today, first)
    if isinstance(last, DayError):
        return last
    if last < first:
        return DayError.ORDER
    if (last - first).days + 1 > MAX_AWAY_DAYS:
        return DayError.TOO_LONG
    if last < today - timedelta(days=AWAY_PAST_DAYS):
        return DayError.PAST
    return first, last
