"""The method's rules: what a day is, what counts as a ball, who is a client.

Plain Python: no Telegram, no SQL. Times come in as aware datetimes; "today" is always the rep's
own local day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_QUOTA = 20
DEFAULT_GOAL = 1
DEFAULT_CYCLE_DAYS = 30
MAX_ACTION = 300
MIN_ACTION = 2
UNDO_WINDOW = timedelta(minutes=15)
WORKDAYS_MON_FRI = frozenset(range(5))
CALLBACK_TIME = time(9, 0)  # a call-back day given without an hour starts here


@dataclass(frozen=True, slots=True)
class Block:
    """The daily calling block, in the rep's local time: ``start`` before ``end``, same day."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError("a calling block must end after it starts")

    def bounds(self, day: date, tz: tzinfo) -> tuple[datetime, datetime]:
        """The UTC instants the block starts and ends on the local ``day``."""
        start = datetime.combine(day, self.start, tz).astimezone(UTC)
        end = datetime.combine(day, self.end, tz).astimezone(UTC)
        return start, end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Moment:
    """An instant as it counts for a rep: their local date then, and whether it fell inside
    their calling block. A call and a Next Step are stored with the moment they were logged."""

    at: datetime
    day: date
    in_block: bool = False


@dataclass(frozen=True, slots=True)
class Rules:
    """The rules one rep works by (team settings, with their personal overrides applied)."""

    tz: ZoneInfo
    quota: int = DEFAULT_QUOTA
    goal: int = DEFAULT_GOAL
    cycle_days: int = DEFAULT_CYCLE_DAYS
    workdays: frozenset[int] = WORKDAYS_MON_FRI  # Monday is 0
    block: Block | None = None  # the daily calling block, if the team or the rep set one

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def today(self, now: datetime) -> date:
        return self.local(now).date()

    def moment(self, instant: datetime) -> Moment:
        local = self.local(instant)
        block = self.block
        in_block = block is not None and block.start <= local.time() < block.end
        return Moment(instant, local.date(), in_block)

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants where the rep's local ``day`` starts and the next one starts."""
        return day_bounds(day, self.tz)

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.workdays

    def cycle_end(self, now: datetime) -> datetime:
        """The UTC instant the sales cycle that starts today ends (after its last local day)."""
        return self.day_bounds(self.today(now) + timedelta(days=self.cycle_days))[1]

    def next_workdays(self, start: date, count: int) -> list[date]:
        days: list[date] = []
        day = start
        while len(days) < count and (day - start).days < 366:
            if self.is_workday(day):
                days.append(day)
            day += timedelta(days=1)
        return days


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tz).astimezone(UTC)
    return start, end


class Kind(StrEnum):
    """What a saved Next Step is: a ball that came back, or a plain reminder (no ball)."""

    BALL = "ball"
    REMINDER = "reminder"


class DueVerdict(StrEnum):
    OK = "ok"  # a ball: a concrete date inside the sales cycle
    PAST = "past"  # that moment has already gone
    BEYOND_CYCLE = "beyond_cycle"  # too far out: a prospect, not a client yet


def judge_day(day: date, now: datetime, rules: Rules) -> DueVerdict:
    """The verdict a local calendar day alone allows, before any time of day is known.

    A day before today is past; a day more than ``cycle_days`` after today is beyond the cycle;
    today itself is OK here (whether the hour has passed is :func:`judge_due`'s call).
    """
    ahead = (day - rules.today(now)).days
    if ahead < 0:
        return DueVerdict.PAST
    if ahead > rules.cycle_days:
        return DueVerdict.BEYOND_CYCLE
    return DueVerdict.OK


def judge_due(due: datetime, now: datetime, rules: Rules) -> DueVerdict:
    """Is a Next Step at ``due`` a ball that came back?

    It must lie in the future, and its local date no more than ``cycle_days`` after today:
    a meeting "in a couple of months" is a polite no in disguise.
    """
    if due <= now:
        return DueVerdict.PAST
    return judge_day(rules.local(due).date(), now, rules)


def callback_moment(day: date, at: time | None, now: datetime, rules: Rules) -> datetime | None:
    """When a "call me later" prospect comes back to the rep's list; ``None`` if that is past.

    A day without a time means the start of the working morning (:data:`CALLBACK_TIME`); today
    without a time is allowed (the prospect is due at once), an hour that has gone is not.
    """
    moment = datetime.combine(day, at or CALLBACK_TIME, rules.tz)
    if day < rules.today(now) or (at is not None and moment <= now):
        return None
    return moment


def callback_due(callback_at: datetime | None, now: datetime, rules: Rules) -> bool:
    """Has a call-back date come (it is today or earlier in the rep's zone)?"""
    return callback_at is not None and rules.local(callback_at).date() <= rules.today(now)


class ActionError(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


def check_action(text: str) -> str | ActionError:
    """A Next Step needs a concrete action ("meeting at their office"), not an empty word."""
    action = " ".join(text.split())
    if len(action) < MIN_ACTION or not any(ch.isalpha() for ch in action):
        return ActionError.TOO_SHORT
    if len(action) > MAX_ACTION:
        return ActionError.TOO_LONG
    return action


def calls_per_ball(calls: int, balls: int) -> float | None:
    """How many dials one ball took today; ``None`` until the first ball comes back."""
    if balls <= 0:
        return None
    return round(calls / balls, 1)


class ContactStatus(StrEnum):
    CLIENT = "client"
    PROSPECT = "prospect"


def contact_status(open_ball_dues: list[datetime], now: datetime, rules: Rules) -> ContactStatus:
    """A client while an open ball-type Next Step lies ahead inside the cycle, else a prospect."""
    for due in open_ball_dues:
        if judge_due(due, now, rules) is DueVerdict.OK:
            return ContactStatus.CLIENT
    return ContactStatus.PROSPECT


class OpenStep(Protocol):
    """An open Next Step, as far as deciding who is a client goes."""

    @property
    def contact_id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def due_at(self) -> datetime: ...


def client_ids(open_steps: Iterable[OpenStep], now: datetime, rules: Rules) -> set[int]:
    """The contacts that are clients by these open Next Steps (see :func:`contact_status`)."""
    dues: dict[int, list[datetime]] = {}
    for step in open_steps:
        if step.kind == Kind.BALL:
            dues.setdefault(step.contact_id, []).append(step.due_at)
    return {
        contact
        for contact, due in dues.items()
        if contact_status(due, now, rules) is ContactStatus.CLIENT
    }
