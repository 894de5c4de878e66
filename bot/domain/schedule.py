"""What the bot owes whom, and when: the daily rhythm as a pure function of time.

The scheduler asks :func:`due_for_rep` and :func:`due_for_team` on every tick. Each answer is a
:class:`Due` with a *key* that is unique per recipient and local day (or per Next Step), so the
outbox can record it once and send it once however many ticks, restarts or instances see it.
Each send also has a window: a morning nudge is still useful until the calling block ends, a
summary until local midnight; a tick that finds the window closed (the bot was down) plans
nothing, and the send is skipped.

Local times are turned into instants with ``zoneinfo``: Russian zones have no DST, and in a zone
that has it the key is the local *date*, so a repeated or skipped hour can neither send twice nor
lose the day's message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkCalendar

NUDGE_LEAD = timedelta(minutes=15)


class SendKind(StrEnum):
    NUDGE = "nudge"  # before the calling block
    PACE = "pace"  # halfway through the block, if behind
    QUOTA = "quota"  # at the end of the block, if the quota is not met
    LAPSED = "lapsed"  # the morning after a Next Step's date: did it happen?
    SUMMARY = "summary"  # the team's daily summary in the group


@dataclass(frozen=True, slots=True)
class Due:
    kind: SendKind
    recipient: int  # user id or group chat id
    key: str  # unique per (kind, recipient): the local date, or the Next Step id
    day: date  # the recipient's local day it belongs to
    at: datetime  # UTC instant it became due
    until: datetime  # UTC instant after which it is no longer worth sending
    ref: int = 0  # a Next Step id for LAPSED, a team id for SUMMARY


@dataclass(frozen=True, slots=True)
class RepRhythm:
    """One rep's effective schedule (team settings with personal overrides applied)."""

    user_id: int
    tz: ZoneInfo
    block_start: time
    block_end: time
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    nudges_on: bool = True
    snoozed_on: date | None = None  # the local day the rep snoozed
    away: tuple[tuple[date, date], ...] = ()  # inclusive ranges

    def is_away(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.away)

    def works_on(self, day: date) -> bool:
        return self.calendar.is_workday(day) and not self.is_away(day)


def at_local(day: date, moment: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tz).astimezone(UTC)


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return at_local(day + timedelta(days=1), time.min, tz)


def block_midpoint(start: time, end: time) -> time:
    minutes = (start.hour * 60 + start.minute + end.hour * 60 + end.minute) // 2
    return time(minutes // 60, minutes % 60)


def due_for_rep(rep: RepRhythm, now: datetime) -> list[Due]:
    """The rep's private sends whose window contains ``now`` (lapsed steps come separately)."""
    day = now.astimezone(rep.tz).date()
    if not rep.nudges_on or not rep.works_on(day):
        return []
    block_start = at_local(day, rep.block_start, rep.tz)
    block_end = at_local(day, rep.block_end, rep.tz)
    if block_end <= block_start:
        return []
    midpoint = at_local(day, block_midpoint(rep.block_start, rep.block_end), rep.tz)
    windows = [
        (SendKind.NUDGE, block_start - NUDGE_LEAD, block_end),
        (SendKind.PACE, midpoint, block_end),
        (SendKind.QUOTA, block_end, end_of_day(day, rep.tz)),
    ]
    snoozed = rep.snoozed_on == day
    return [
        Due(kind, rep.user_id, day.isoformat(), day, start, until)
        for kind, start, until in windows
        if start <= now < until and not (snoozed and kind is not SendKind.QUOTA)
    ]


def due_lapsed(rep: RepRhythm, steps: Iterable[tuple[int, datetime]], now: datetime) -> list[Due]:
    """Ask "did it happen?" the first working morning after each open Next Step's date.

    ``steps`` are (Next Step id, due instant) of the rep's open Next Steps dated before today.
    """
    day = now.astimezone(rep.tz).date()
    if not rep.nudges_on or not rep.works_on(day):
        return []
    start = at_local(day, rep.block_start, rep.tz) - NUDGE_LEAD
    until = end_of_day(day, rep.tz)
    if not start <= now < until:
        return []
    return [
        Due(SendKind.LAPSED, rep.user_id, f"s{step_id}", day, start, until, ref=step_id)
        for step_id, due_at in steps
        if due_at.astimezone(rep.tz).date() < day
    ]


def due_for_team(
    team_id: int,
    chat_id: int,
    tz: ZoneInfo,
    summary_at: time,
    calendar: WorkCalendar,
    now: datetime,
) -> Due | None:
    """The daily summary in the group, on the team's working days, until local midnight."""
    day = now.astimezone(tz).date()
    if not calendar.is_workday(day):
        return None
    start = at_local(day, summary_at, tz)
    until = end_of_day(day, tz)
    if not start <= now < until:
        return None
    return Due(SendKind.SUMMARY, chat_id, day.isoformat(), day, start, until, ref=team_id)
