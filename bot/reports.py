"""What a team's group sees: the daily summary and the leaderboard, built once, sent by anyone.

Nothing here knows about a Telegram ``Update``: :func:`build_summary` is what ``/summary`` posts
today and what a scheduler can post every evening. Data comes from ``store.teams`` (counts per
rep per local day), the arithmetic from :mod:`bot.domain.summary`, the words from the catalog.

Only counts and members' own names ever reach a group: no contact, company or phone is read
by these queries at all.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkCalendar
from bot.domain.rules import Block, Rules, calls_per_ball
from bot.domain.summary import (
    Commitments,
    Ranked,
    Score,
    Streak,
    block_kept,
    board_view,
    kept_rate,
    quota_streak,
    rank,
)
from bot.domain.team import effective_rules, load_zone, workdays_from_mask
from bot.locales import Html, Lang, format_day, t, weekday
from storage.repo import Store
from storage.teams import Member, Span, Team

MESSAGE_LIMIT = 4000  # Telegram allows 4096; the count is of the HTML source, so it is generous
NAME_MAX = 32
SILENT_MAX = 60  # names listed under "nothing logged"; the rest are counted
# Member lines in a summary; the rest are counted. 200 lines are five messages: a bigger team's
# group would get a flood every evening (and Telegram lets a bot post 20 a minute in a group).
MEMBER_LINES_MAX = 200
STREAK_WINDOWS = (14, 60, 366)  # days looked back for quota streaks, widened only when needed
CHART_MEMBERS = 10
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @classmethod
    def parse(cls, text: str) -> Period | None:
        word = text.strip().casefold()
        aliases = {
            "today": "day", "день": "day", "сегодня": "day", "неделя": "week",
            "неделю": "week", "месяц": "month",
        }  # fmt: skip
        try:
            return cls(aliases.get(word, word))
        except ValueError:
            return None


def period_days(period: Period, today: date) -> tuple[date, date]:
    """The first and last day of the period that ``today`` is in, up to ``today``."""
    if period is Period.DAY:
        return today, today
    if period is Period.WEEK:
        return today - timedelta(days=today.weekday()), today
    return today.replace(day=1), today


def team_lang(team: Team, asked_in: Lang | None = None) -> Lang:
    """The team's language; with ``auto``, the asker's, else the language it was set up in."""
    for choice in (team.lang, asked_in, team.setup_lang):
        if choice in ("ru", "en"):
            return choice  # type: ignore[return-value]
    return "en"


def team_zone(team: Team) -> ZoneInfo:
    return load_zone(team.tz) or ZoneInfo("UTC")


def team_calendar(team: Team, days: Mapping[date, bool]) -> WorkCalendar:
    """The team's working days: its weekdays, the official calendar, its own exceptions
    (``days``: day -> is it a working day, from ``/set dayoff`` and ``/set workday``)."""
    return WorkCalendar(
        workdays=workdays_from_mask(team.workdays),
        days_off=frozenset(day for day, working in days.items() if not working),
        extra_workdays=frozenset(day for day, working in days.items() if working),
    )


def team_today(team: Team, now: datetime) -> date:
    return now.astimezone(team_zone(team)).date()


def display_name(member: Member) -> str:
    """A member's name fit for a one-line mention: one line, bounded, isolated for RTL text.

    The catalog HTML-escapes it; here it loses control characters and bidi overrides, is cut
    to :data:`NAME_MAX` characters and wrapped in a Unicode isolate, so a Hebrew or Arabic name
    cannot reorder the numbers next to it.
    """
    name = " ".join(member.full_name.split())
    if not name.isprintable():  # control characters and bidi overrides are not printable
        name = "".join(
            ch for ch in name if ch not in _BIDI_CONTROLS and unicodedata.category(ch) != "Cc"
        ).strip()
    if not name:
        name = f"@{member.username}" if member.username else str(member.user_id)
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1].rstrip() + "…"
    return f"\u2068{name}\u2069"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_messages(lines: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join lines into as few messages as fit under ``limit``, never cutting a line in two.

    A line longer than ``limit`` by itself (none of ours is) is cut at a space.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        for piece in _fit(line, limit):
            extra = utf16_len(piece) + (1 if current else 0)
            if current and size + extra > limit:
                chunks.append("\n".join(current).strip("\n"))
                current, size, extra = [], 0, utf16_len(piece)
            current.append(piece)
            size += extra
    if current:
        chunks.append("\n".join(current).strip("\n"))
    return [chunk for chunk in chunks if chunk.strip()]


def _fit(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while utf16_len(line) > limit:
        cut = limit
        while utf16_len(line[:cut]) > limit:
            cut -= 1
        space = line.rfind(" ", 0, cut)
        cut = space if space > 0 else cut
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


def ratio_text(lang: Lang, calls: int, balls: int) -> str:
    ratio = calls_per_ball(calls, balls)
    return t(lang, "report.no_ratio") if ratio is None else f"{ratio:g}"


# -- gathering ---------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class MemberActivity:
    member: Member
    rules: Rules
    name: str
    calls: dict[date, int] = field(default_factory=dict)
    balls: dict[date, int] = field(default_factory=dict)
    polite_nos: dict[date, int] = field(default_factory=dict)
    in_block: dict[date, int] = field(default_factory=dict)  # calls inside the calling block
    period: tuple[int, int] = (0, 0)  # calls and balls over the period (gather_period)
    commitments: Commitments = field(default_factory=Commitments)
    streak: Streak | None = None
    away: tuple[tuple[date, date], ...] = ()  # the rep's days away (/away), both ends included

    def away_on(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.away)

    def score(self) -> Score:
        """The rep's totals over the period :func:`gather_period` gathered."""
        calls, balls = self.period
        return Score(self.member.user_id, self.name, calls, balls)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class _Bounds:
    """Local days and calling blocks as UTC ranges, computed once per zone, block and day:
    most members share a zone and a block."""

    def __init__(self) -> None:
        self._days: dict[tuple[str, date], tuple[datetime, datetime]] = {}
        self._blocks: dict[tuple[str, Block, date], tuple[datetime, datetime]] = {}

    def day(self, rules: Rules, day: date) -> tuple[datetime, datetime]:
        key = (rules.tz.key, day)
        bounds = self._days.get(key)
        if bounds is None:
            bounds = self._days[key] = rules.day_bounds(day)
        return bounds

    def span(self, activity: MemberActivity, day: date, *, with_block: bool = False) -> Span:
        rules = activity.rules
        bounds = self.day(rules, day)
        block = rules.block if with_block else None
        if block is None:
            return Span(activity.member.user_id, day.toordinal(), *bounds)
        block_key = (rules.tz.key, block, day)
        in_block = self._blocks.get(block_key)
        if in_block is None:
            in_block = self._blocks[block_key] = block.bounds(day, rules.tz)
        return Span(activity.member.user_id, day.toordinal(), *bounds, *in_block)


async def _members(store: Store, team: Team) -> list[MemberActivity]:
    zone, settings = team_zone(team), team.settings
    # A member's rules in this team: their own zone and block over the team's settings. Most
    # members have no overrides and share one Rules.
    rules: dict[tuple[str | None, Block | None], Rules] = {}
    members = []
    for member in await store.teams.members(team.id):
        key = (member.tz, member.block)
        if key not in rules:
            rules[key] = effective_rules(
                zone, settings, personal_tz=member.tz, personal_block=member.block
            )
        members.append(MemberActivity(member=member, rules=rules[key], name=display_name(member)))
    return members


async def _count_days(
    store: Store,
    bounds: _Bounds,
    members: Sequence[MemberActivity],
    days: Sequence[date],
    *,
    balls: bool,
    met: int = 0,
) -> None:
    """Fill in each member's calls (and, with ``balls``, polite no's, balls and calls in the
    block) on each of ``days``, a run of consecutive days; with ``met``, only the days with at
    least that many calls (enough for quota streaks). Calls in the block are left to the caller
    on days from before day counts."""
    if not members or not days:
        return
    by_id = {m.member.user_id: m for m in members}
    on = {d.toordinal(): d for d in days}
    counted_from = await store.teams.first_counted_day()
    rows = []
    if days[-1] >= counted_from:
        first = max(days[0], counted_from)
        rows = await store.teams.counted_days(list(by_id), first, days[-1], min_calls=met)
    older = [d for d in days if d < counted_from]
    if older:
        spans = [bounds.span(m, day) for m in members for day in older]
        rows += await store.teams.day_counts(spans, balls=balls)
    for user_id, ordinal, calls, polite_nos, got_balls, in_block in rows:
        activity, day = by_id[user_id], on[ordinal]
        if calls:
            activity.calls[day] = calls
        if balls:
            if polite_nos:
                activity.polite_nos[day] = polite_nos
            if got_balls:
                activity.balls[day] = got_balls
            if in_block:
                activity.in_block[day] = in_block


async def team_calendar_since(store: Store, team: Team, since: date) -> WorkCalendar:
    return team_calendar(team, await store.rhythm.team_days(team.id, since))


async def gather_day(
    store: Store,
    team: Team,
    day: date,
    now: datetime,
    calendar: WorkCalendar | None = None,
) -> list[MemberActivity]:
    """Each active member's ``day`` (their own local date), with quota streaks up to it.

    A streak counts the team's working days (``calendar``: public holidays and the team's own
    days off are not) without the member's days away: those neither count nor break it.
    """
    members = await _members(store, team)
    if not members:
        return members
    oldest = day - timedelta(days=STREAK_WINDOWS[-1])
    if calendar is None:
        calendar = await team_calendar_since(store, team, oldest)
    away = await store.rhythm.away_of([m.member.user_id for m in members], oldest)
    for activity in members:
        activity.away = tuple(away.get(activity.member.user_id, ()))
    bounds = _Bounds()
    by_id = {m.member.user_id: m for m in members}
    await _count_days(store, bounds, members, [day], balls=True)
    if day < await store.teams.first_counted_day():  # calls in the block: from the calls
        in_block = [
            bounds.span(m, day, with_block=True)
            for m in members
            if m.rules.block is not None and m.calls.get(day)
        ]
        for counted in await store.teams.block_calls(in_block):
            by_id[counted.user_id].in_block[day] = counted.in_block
    spans = [bounds.span(m, day) for m in members]
    for steps in await store.teams.step_counts(spans, now):
        by_id[steps.user_id].commitments = Commitments(steps.done, steps.dropped, steps.lapsed)
    settings = team.settings
    pending: Sequence[MemberActivity] = members
    fetched_from = day

    working: dict[date, bool] = {}  # the team's calendar, asked once per day

    def counts_for(activity: MemberActivity) -> Callable[[date], bool]:
        def counts(d: date) -> bool:
            if d not in working:
                working[d] = calendar.is_workday(d)
            return working[d] and not (activity.away and activity.away_on(d))

        return counts

    for window in STREAK_WINDOWS:  # look further back only for streaks still unbroken
        since = day - timedelta(days=window - 1)
        earlier = _days(since, fetched_from - timedelta(days=1))
        await _count_days(store, bounds, pending, earlier, balls=False, met=settings.quota)
        fetched_from = since
        for activity in pending:
            activity.streak = quota_streak(
                activity.calls,
                settings.quota,
                settings.workdays,
                day,
                since=since,
                day_over=now >= bounds.day(activity.rules, day)[1],
                counts=counts_for(activity),
            )
        pending = [a for a in pending if a.streak is not None and not a.streak.complete]
        if not pending:
            break
    return members


async def gather_period(store: Store, team: Team, first: date, last: date) -> list[MemberActivity]:
    """Each active member's calls and balls over their local days from first to last, as
    totals (``period``): one row per rep, however long the period."""
    members = await _members(store, team)
    if not members:
        return members
    counted_from = await store.teams.first_counted_day()
    older_last = min(last, counted_from - timedelta(days=1))
    if first <= older_last:  # days from before day counts: counted one by one
        await _count_days(store, _Bounds(), members, _days(first, older_last), balls=True)
        for activity in members:
            activity.period = (sum(activity.calls.values()), sum(activity.balls.values()))
    if last >= counted_from:
        by_id = {m.member.user_id: m for m in members}
        since = max(first, counted_from)
        for user_id, calls, balls in await store.teams.counted_totals(list(by_id), since, last):
            activity = by_id[user_id]
            activity.period = (activity.period[0] + calls, activity.period[1] + balls)
    return members


# -- the daily summary -------------------------------------------------------------------------


async def build_summary(
    store: Store, team: Team, day: date, now: datetime, *, lang: Lang | None = None
) -> list[str]:
    """The team's summary of ``day`` as message chunks, each under Telegram's limit.

    Every member's ``day`` is their own local date (a rep in Vladivostok and one in Moscow each
    have their own midnight). ``lang`` is the asker's language, used when the team's is ``auto``.
    """
    lang = team_lang(team, lang)
    calendar = await team_calendar_since(store, team, day - timedelta(days=STREAK_WINDOWS[-1]))
    members = await gather_day(store, team, day, now, calendar)
    settings = team.settings
    workday = calendar.is_workday(day)
    lines = [t(lang, "summary.head", team=team.title, day=Html(format_day(lang, day)))]
    if not members:
        lines.append(t(lang, "summary.no_members"))
        return split_messages(lines)
    active = [m for m in members if m.calls.get(day, 0) or m.balls.get(day, 0)]
    # Away today: not expected to call, so neither in the quota nor among the silent.
    away = [m for m in members if m.away_on(day) and m not in active]
    expected = [m for m in members if not m.away_on(day)]
    silent = [m for m in expected if not (m.calls.get(day, 0) or m.balls.get(day, 0))]
    calls = sum(m.calls.get(day, 0) for m in members)
    balls = sum(m.balls.get(day, 0) for m in members)
    lines.extend(_team_lines(lang, team, members, expected, day, workday, calls, balls))
    ranked = rank(
        Score(m.member.user_id, m.name, m.calls.get(day, 0), m.balls.get(day, 0)) for m in active
    )
    by_id = {m.member.user_id: m for m in members}
    if ranked:
        lines.append("")
        lines.append(t(lang, "summary.members"))
        for entry in ranked[:MEMBER_LINES_MAX]:
            lines.append(
                _member_line(lang, entry, by_id[entry.score.user_id], day, workday, settings.quota)
            )
        if len(ranked) > MEMBER_LINES_MAX:
            lines.append(t(lang, "summary.members_more", n=len(ranked) - MEMBER_LINES_MAX))
    if silent and workday:  # on a day off, nobody is expected to call
        lines.append("")
        lines.extend(_silent_lines(lang, silent))
    if away:
        names = [m.name for m in away]
        shown = ", ".join(names[:SILENT_MAX]) + (" …" if len(names) > SILENT_MAX else "")
        lines.append("")
        lines.append(t(lang, "summary.away", n=len(away), names=shown))
    lines.append("")
    lines.append(t(lang, "summary.legend"))
    return split_messages(lines)


def _team_lines(
    lang: Lang,
    team: Team,
    members: Sequence[MemberActivity],
    expected: Sequence[MemberActivity],
    day: date,
    workday: bool,
    calls: int,
    balls: int,
) -> list[str]:
    """The team's totals; quotas and goals are those of the ``expected`` (not away) members."""
    settings = team.settings
    count = len(expected)
    lines = []
    if workday:
        lines.append(t(lang, "summary.calls", calls=calls, quota=settings.quota * count))
    else:
        lines.append(t(lang, "summary.calls_off", calls=calls))
    lines.append(t(lang, "summary.balls", balls=balls, goal=settings.goal * count))
    lines.append(t(lang, "summary.ratio", ratio=ratio_text(lang, calls, balls)))
    lines.append(t(lang, "summary.polite", n=sum(m.polite_nos.get(day, 0) for m in members)))
    if workday:
        met = sum(1 for m in expected if m.calls.get(day, 0) >= settings.quota)
        lines.append(t(lang, "summary.quota_met", n=met, total=count))
        with_block = [m for m in expected if m.rules.block is not None]
        if with_block:
            kept = sum(1 for m in with_block if block_kept(m.in_block.get(day, 0)))
            lines.append(t(lang, "summary.block", n=kept, total=len(with_block)))
    total = Commitments()
    for m in members:
        total = total + m.commitments
    rate = kept_rate(total)
    if rate is None:
        lines.append(t(lang, "summary.kept_none"))
    else:
        lines.append(
            t(lang, "summary.kept", rate=round(rate * 100), done=total.done, due=total.due)
        )
    best = max((m.streak.days for m in members if m.streak), default=0)
    if best > 0:
        holders = [m.name for m in members if m.streak and m.streak.days == best]
        shown = ", ".join(holders[:3]) + (" …" if len(holders) > 3 else "")
        lines.append(t(lang, "summary.best_streak", n=best, names=shown))
    return lines


def _member_line(
    lang: Lang,
    entry: Ranked,
    activity: MemberActivity,
    day: date,
    workday: bool,
    quota: int,
) -> str:
    calls = activity.calls.get(day, 0)
    balls = activity.balls.get(day, 0)
    extras = []
    if workday and calls >= quota:
        extras.append("✅")
    if activity.commitments.due:
        extras.append(f"🤝 {activity.commitments.done}/{activity.commitments.due}")
    if workday and activity.rules.block is not None and block_kept(activity.in_block.get(day, 0)):
        extras.append("⏰")
    if activity.streak and activity.streak.days > 0:
        streak = (
            f"{activity.streak.days}+" if not activity.streak.complete else activity.streak.days
        )
        extras.append(f"🔥 {streak}")
    return t(
        lang,
        "summary.member",
        rank=entry.rank,
        name=activity.name,
        calls=calls,
        quota=quota if workday else "—",
        balls=balls,
        ratio=ratio_text(lang, calls, balls),
        polite=activity.polite_nos.get(day, 0),
        extras=(" · " + " · ".join(extras)) if extras else "",
    )


def _silent_lines(lang: Lang, silent: Sequence[MemberActivity]) -> list[str]:
    names = [m.name for m in silent]
    shown, rest = names[:SILENT_MAX], len(names) - SILENT_MAX
    lines = [t(lang, "summary.silent", n=len(silent))]
    row: list[str] = []
    for name in shown:
        row.append(name)
        if len(row) == 10:
            lines.append(t(lang, "summary.names", names=", ".join(row)))
            row = []
    if row:
        lines.append(t(lang, "summary.names", names=", ".join(row)))
    if rest > 0:
        lines.append(t(lang, "summary.silent_more", n=rest))
    return lines


# -- the leaderboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekChart:
    """Plain data for the weekly picture (see :mod:`bot.charts`)."""

    title: str
    days: list[date]
    day_labels: list[str]
    names: list[str]
    calls: list[list[int | None]]  # per member, per day; None for days still to come
    balls: list[list[int | None]]
    quota: int
    note: str


@dataclass(frozen=True)
class Leaderboard:
    messages: list[str]
    chart: WeekChart | None = None


async def build_leaderboard(
    store: Store,
    team: Team,
    period: Period,
    now: datetime,
    *,
    asker_id: int | None = None,
    lang: Lang | None = None,
) -> Leaderboard:
    """Ranked by balls back, then calls per ball (fewer is better), then calls.

    A big team sees the podium and the asker's own neighbourhood, never the last places;
    members with nothing logged in the period are counted, not listed. ``week`` comes with
    the data for a chart.
    """
    lang = team_lang(team, lang)
    today = team_today(team, now)
    first, last = period_days(period, today)
    members = await gather_period(store, team, first, last)
    ranked = rank(m.score() for m in members)
    label = t(lang, f"board.{period.value}")
    span = Html(
        format_day(lang, first)
        if first == last
        else f"{format_day(lang, first)} – {format_day(lang, last)}"
    )
    lines = [t(lang, "board.head", team=team.title, period=label, span=span)]
    if not ranked:
        lines.append(t(lang, "board.empty"))
    for entry in board_view(ranked, asker_id):
        if entry is None:
            lines.append("…")
            continue
        score = entry.score
        line = t(
            lang,
            "board.line",
            place=MEDALS.get(entry.rank, f"{entry.rank}."),
            name=score.name,
            balls=score.balls,
            ratio=ratio_text(lang, score.calls, score.balls),
            calls=score.calls,
        )
        lines.append(f"👉 {line}" if score.user_id == asker_id else line)
    others = len(members) - len(ranked)
    lines.append("")
    lines.append(t(lang, "board.count", ranked=len(ranked), members=len(members)))
    if others:
        lines.append(t(lang, "board.not_yet", n=others))
    ranked_ids = {r.score.user_id for r in ranked}
    member_ids = {m.member.user_id for m in members}
    if ranked and asker_id in member_ids - ranked_ids:
        lines.append(t(lang, "board.you_not_yet"))
    chart = None
    if period is Period.WEEK and ranked:
        by_id = {m.member.user_id: m for m in members}
        top = [by_id[r.score.user_id] for r in ranked[:CHART_MEMBERS]]
        await _count_days(store, _Bounds(), top, _days(first, today), balls=True)
        chart = _week_chart(lang, team, top, len(ranked), first, today)
    return Leaderboard(split_messages(lines), chart)


def _week_chart(
    lang: Lang,
    team: Team,
    top: Sequence[MemberActivity],
    ranked: int,
    monday: date,
    today: date,
) -> WeekChart:
    """The picture's data: ``top`` are the first members of the ranking (of ``ranked``), with
    their calls and balls on each day of the week gathered."""
    days = _days(monday, monday + timedelta(days=6))
    calls = [[a.calls.get(d, 0) if d <= today else None for d in days] for a in top]
    balls = [[a.balls.get(d, 0) if d <= today else None for d in days] for a in top]
    span = f"{format_day(lang, days[0])} – {format_day(lang, days[-1])}"
    return WeekChart(  # plain text for the picture: the catalog's escaping is undone
        title=html.unescape(t(lang, "chart.title", team=team.title, span=span)),
        days=days,
        day_labels=[f"{weekday(lang, d)}\n{d.day}" for d in days],
        names=[a.name.strip("\u2068\u2069") for a in top],
        calls=calls,
        balls=balls,
        quota=team.quota,
        note=html.unescape(t(lang, "chart.note", quota=team.quota, shown=len(top), ranked=ranked)),
    )
