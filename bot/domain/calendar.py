"""Which days are working days for a team.

A day is a working day when the team's own exceptions say so (``/set dayoff``, ``/set workday``),
otherwise when it is not one of Russia's official public holidays and either falls on one of the
team's working weekdays or is an official transferred working day (a Saturday the government
moved a day off from). The public holidays come from the ``holidays`` package, which tracks the
yearly government decrees; it is imported lazily because it takes a few hundred milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
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
