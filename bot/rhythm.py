"""The daily rhythm between the database and the sender: what is due for whom right now, and
whether a send recorded earlier still is.

Nothing here knows about Telegram. :func:`plan_dues` reads every rep the bot may nudge and every
active team in a few queries and asks :mod:`bot.domain.schedule` what is due at ``now``;
:func:`recheck` answers the same question for one recorded send just before it goes out, from
fresh data, so a rep who turned reminders off, snoozed, went away, left the team or moved their
calling block in the meantime is not sent a stale message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkCalendar
from bot.domain.rules import Rules
from bot.domain.schedule import (
    Due,
    RepRhythm,
    SendKind,
    at_local,
    due_for_rep,
    due_for_team,
    due_lapsed,
    end_of_day,
    lapsed_since,
)
from bot.domain.team import block_from_minutes, effective_rules, from_minutes, language_choice
from bot.locales import Lang, pick_lang
from bot.reports import team_calendar, team_zone
from storage.repo import Store
from storage.rhythm import OutboxItem, RepRow
from storage.teams import Team

# Far enough back that every zone's yesterday is in (UTC-12 to UTC+14).
_LOOK_BACK = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class RepDay:
    """One rep as the rhythm sees them: their rules, schedule and language."""

    row: RepRow
    team: Team
    rules: Rules
    rhythm: RepRhythm

    @property
    def lang(self) -> Lang:
        return pick_lang(self.row.language_code, language_choice(self.row.lang, self.team.lang))

    @property
    def user_id(self) -> int:
        return self.row.user_id


def rep_day(
    row: RepRow,
    team: Team,
    calendar: WorkCalendar,
    away: Sequence[tuple[date, date]],
    default_tz: ZoneInfo,
) -> RepDay:
    rules = effective_rules(
        default_tz,
        team.settings,
        personal_tz=row.tz,
        personal_block=block_from_minutes(row.block_start, row.block_end),
    )
    block = rules.block
    rhythm = RepRhythm(
        user_id=row.user_id,
        tz=rules.tz,
        block_start=block.start if block else None,
        block_end=block.end if block else None,
        calendar=calendar,
        nudges_on=row.nudges,
        snoozed_on=row.snoozed_on,
        away=tuple(away),
    )
    return RepDay(row=row, team=team, rules=rules, rhythm=rhythm)


def _lapsed_window_open(rep: RepRhythm, now: datetime) -> bool:
    day = now.astimezone(rep.tz).date()
    if not rep.nudges_on or not rep.works_on(day):
        return False
    return at_local(day, rep.morning(), rep.tz) <= now < end_of_day(day, rep.tz)


def _summary_due(team: Team, calendar: WorkCalendar, now: datetime) -> Due | None:
    at = from_minutes(team.summary_at)
    if at is None or not team.active:
        return None
    return due_for_team(team.id, team.chat_id, team_zone(team), at, calendar, now)


async def plan_dues(store: Store, now: datetime, default_tz: ZoneInfo) -> list[Due]:
    """Every send due at ``now``: each rep's, and each team's summary."""
    since = (now - _LOOK_BACK).date()
    data = await store.rhythm.rhythm(since)
    calendars = {
        team_id: team_calendar(team, data.team_days.get(team_id, {}))
        for team_id, team in data.teams.items()
    }
    reps = [
        rep_day(
            row,
            data.teams[row.team_id],
            calendars[row.team_id],
            data.away.get(row.user_id, ()),
            default_tz,
        ).rhythm
        for row in data.reps
        if row.team_id in data.teams
    ]
    dues: list[Due] = []
    for rep in reps:
        dues.extend(due_for_rep(rep, now))
    asking = [rep for rep in reps if _lapsed_window_open(rep, now)]
    steps = await store.rhythm.lapsed_steps([rep.user_id for rep in asking], lapsed_since(now), now)
    for rep in asking:
        dues.extend(due_lapsed(rep, steps.get(rep.user_id, ()), now))
    for team_id, team in data.teams.items():
        due = _summary_due(team, calendars[team_id], now)
        if due is not None:
            dues.append(due)
    return dues


async def load_rep(
    store: Store, user_id: int, now: datetime, default_tz: ZoneInfo
) -> RepDay | None:
    """The rep as :func:`plan_dues` would see them now; ``None`` if they may not be nudged."""
    row = await store.rhythm.rep(user_id)
    if row is None:
        return None
    team = await store.teams.get(row.team_id)
    if team is None or not team.active:
        return None
    since = (now - _LOOK_BACK).date()
    calendar = team_calendar(team, await store.rhythm.team_days(team.id, since))
    away = (await store.rhythm.away_of([user_id], since)).get(user_id, [])
    return rep_day(row, team, calendar, away, default_tz)


async def recheck_rep(
    store: Store, item: OutboxItem, now: datetime, default_tz: ZoneInfo
) -> RepDay | str:
    """The rep of a recorded private send if it is still due now, else why not."""
    rep = await load_rep(store, item.recipient, now, default_tz)
    if rep is None:
        return "not reachable or not in an active team"
    kind = SendKind(item.kind)
    if kind is SendKind.LAPSED:
        step = await store.rhythm.step(item.ref)
        if step is None or step.owner_id != rep.user_id or step.status != "open":
            return "the Next Step was answered or removed"
        dues = due_lapsed(rep.rhythm, [(step.id, step.due_at)], now)
    else:
        dues = due_for_rep(rep.rhythm, now)
    if not any(d.kind is kind and d.key == item.key for d in dues):
        return "no longer due (settings, snooze, away or reminders off)"
    return rep


async def recheck_team(store: Store, item: OutboxItem, now: datetime) -> Team | str:
    """The team of a recorded summary if it is still due now, else why not."""
    team = await store.teams.get(item.recipient)
    if team is None or not team.active:
        return "the team is gone or the bot left its group"
    days = await store.rhythm.team_days(team.id, (now - _LOOK_BACK).date())
    due = _summary_due(team, team_calendar(team, days), now)
    if due is None or due.key != item.key:
        return "no longer due (the summary time or working days changed)"
    return team
