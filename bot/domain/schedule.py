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

Who gets what (decided here, rendered and sent elsewhere):

- nothing at all for a rep with nudges off, or on a day that is not a working day for them (the
  team's calendar, or one of their own days away);
- NUDGE, PACE and QUOTA only when the rep has a calling block (their own, or the team's);
- snoozing the morning nudge silences the rest of that day's calling block (PACE and QUOTA);
  the "did it happen?" prompts about lapsed Next Steps still come, they are about other people;
- LAPSED from the working morning (15 minutes before the block, or :data:`DEFAULT_MORNING`) on,
  for open Next Steps dated before today and no older than :data:`LAPSED_LOOKBACK`, at most
  :data:`LAPSED_PER_DAY` a day, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkCalendar

NUDGE_LEAD = timedelta(minutes=15)
DEFAULT_MORNING = time(9, 0)  # when lapsed Next Steps are asked about without a calling block
LAPSED_LOOKBACK = timedelta(days=30)  # older lapsed Next Steps are not asked about any more
LAPSED_PER_DAY = 10  # "did it happen?" prompts a rep gets at most in one morning


class SendKind(StrEnum):
    NUDGE = "nudge"  # before the calling block
    PACE = "pace"  # halfway through the block, if behind
    QUOTA = "quota"  # at the end of the block, if the quota is not met
    LAPSED = "lapsed"  # the morning after a Next Step's date: did it happen?
    SUMMARY = "summary"  # the team's daily summary in the group


@dataclass(frozen=True, slots=True)
class Due:
    kind: SendKind
    recipient: int  # user id; the team id for SUMMARY (its chat id may change, the team not)
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
    block_start: time | None  # None: no calling block, so no nudge, pace or quota reminder
    block_end: time | None
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    nudges_on: bool = True
    snoozed_on: date | None = None  # the local day the rep snoozed
    away: tuple[tuple[date, date], ...] = ()  # inclusive ranges

    def is_away(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.away)

    def works_on(self, day: date) -> bool:
        return self.calendar.is_workday(day) and not self.is_away(day)

    def previous_working_day(self, day: date) -> date | None:
        """The last day before ``day`` the rep worked (a team working day, not away)."""
        for back in range(1, 32):
            candidate = day - timedelta(days=back)
            if self.works_on(candidate):
                return candidate
        return None

    def morning(self) -> time:
        """When the rep's working morning starts: 15 minutes before the block."""
        if self.block_start is None:
            return DEFAULT_MORNING
        start = datetime.combine(date(2000, 1, 3), self.block_start) - NUDGE_LEAD
        return start.time() if start.date() == date(2000, 1, 3) else time.min


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
    if rep.block_start is None or rep.block_end is None:
        return []
    if not rep.nudges_on or rep.snoozed_on == day or not rep.works_on(day):
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
    return [
        Due(kind, rep.user_id, day.isoformat(), day, start, until)
        for kind, start, until in windows
        if start <= now < until
    ]


def lapsed_since(now: datetime) -> datetime:
    """The oldest due date of a Next Step still asked about (see :data:`LAPSED_LOOKBACK`)."""
    return now - LAPSED_LOOKBACK


def due_lapsed(
    rep: RepRhythm,
    steps: Iterable[tuple[int, datetime]],
    now: datetime,
    *,
    limit: int = LAPSED_PER_DAY,
) -> list[Due]:
    """Ask "did it happen?" the first working morning after each open Next Step's date.

    ``steps`` are (Next Step id, due instant) of the rep's open Next Steps. Those dated today
    or later, or before :func:`lapsed_since`, are left out; of the rest the oldest ``limit``
    are due (the next ones come as these are answered, or the next morning).
    """
    day = now.astimezone(rep.tz).date()
    if not rep.nudges_on or not rep.works_on(day):
        return []
    start = at_local(day, rep.morning(), rep.tz)
    until = end_of_day(day, rep.tz)
    if not start <= now < until:
        return []
    oldest = lapsed_since(now)
    lapsed = sorted(
        (due_at, step_id)
        for step_id, due_at in steps
        if oldest <= due_at and due_at.astimezone(rep.tz).date() < day
    )
    return [
        Due(SendKind.LAPSED, rep.user_id, f"s{step_id}", day, start, until, ref=step_id)
        for _, step_id in lapsed[:limit]
    ]


def due_for_team(
    team_id: int,
    chat_id: int,
    tz: ZoneInfo,
    summary_at: time,
    calendar: WorkCalendar,
    now: datetime,
) -> Due | None:
    """The daily summary in the group, on the team's working days, until local midnight.

    The recipient is the team (``chat_id`` is where it goes today; a group upgraded to a
    supergroup changes it, and the summary already sent must stay sent).
    """
    day = now.astimezone(tz).date()
    if not calendar.is_workday(day):
        return None
    start = at_local(day, summary_at, tz)
    until = end_of_day(day, tz)
    if not start <= now < until:
        return None
    return Due(SendKind.SUMMARY, team_id, day.isoformat(), day, start, until, ref=chat_id)


# -- what the messages say ------------------------------------------------------------------


def behind_pace(calls: int, quota: int, start: datetime, end: datetime, now: datetime) -> bool:
    """Fewer calls than the share of the quota the elapsed part of the block asks for.

    Halfway through a block with a quota of 20, 9 calls is behind and 10 is on pace; a check
    caught up later (the bot was down) asks for the larger share that has elapsed by then.
    """
    if calls >= quota:
        return False
    length = (end - start).total_seconds()
    if length <= 0:
        return False
    elapsed = min(max((now - start).total_seconds(), 0.0), length)
    return calls * length < quota * elapsed


def calls_left(calls: int, quota: int) -> int:
    return max(0, quota - calls)
