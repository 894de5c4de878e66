"""Teams: groups made into teams, who is in which, and the counts their summaries are built from.

Reached as ``store.teams``. The activity queries take a list of :class:`Span` (one rep, one local
day, as a UTC range) so that every rep's day is cut in their own time zone; the spans travel as
one JSON parameter and each one is an indexed range lookup (``calls(owner_id, at, …)``,
``next_steps(owner_id, created_at)`` / ``(owner_id, due_at)``), so the cost follows the number
of reps and days asked about, not the size of the tables.

Writes are units of work (``async def unit(conn, ...)``, ``storage/sql.py``) run by
:meth:`Database.transaction`; the profile every update needs is a point read
(:meth:`Database.one`), and the reads that may scan (members, activity counts) go through
:meth:`Database.fetchall`. The SQL is SQLite's spelling and runs on PostgreSQL as well; the
one statement that differs (the spans, a JSON list of lists) is written for each backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from bot.domain.outcomes import POLITE_NOS
from bot.domain.rules import Block
from bot.domain.team import (
    Key,
    Setting,
    TeamSettings,
    block_from_minutes,
    from_minutes,
    minutes,
    workdays_from_mask,
    workdays_mask,
)
from storage import effects
from storage.db import Database
from storage.models import Model, UserIn, from_ts, to_ts
from storage.sql import Conn, Row, Sql

_TEAM_COLS = (
    "id",
    "chat_id",
    "title",
    "active",
    "tz",
    "quota",
    "goal",
    "cycle_days",
    "block_start",
    "block_end",
    "summary_at",
    "workdays",
    "lang",
    "setup_lang",
    "created_at",
)
_TEAM_SELECT = ", ".join(_TEAM_COLS)


class Team(Model):
    id: int
    chat_id: int
    title: str
    active: bool
    tz: str
    quota: int
    goal: int
    cycle_days: int
    block_start: int | None = None
    block_end: int | None = None
    summary_at: int | None = None
    workdays: int
    lang: str
    setup_lang: str
    created_at: datetime

    @property
    def settings(self) -> TeamSettings:
        return TeamSettings(
            tz=self.tz,
            quota=self.quota,
            goal=self.goal,
            cycle_days=self.cycle_days,
            block=block_from_minutes(self.block_start, self.block_end),
            summary_at=from_minutes(self.summary_at),
            workdays=workdays_from_mask(self.workdays),
            lang=self.lang,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """An active member of a team, with their personal overrides.

    A plain dataclass, not a model: a big team's summary reads a thousand of them, straight
    from the database's own rows.
    """

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    tz: str | None = None
    block_start: int | None = None
    block_end: int | None = None
    joined_at: datetime

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    @property
    def block(self) -> Block | None:
        return block_from_minutes(self.block_start, self.block_end)


class Profile(Model):
    """What decides a rep's rules and language: their own row and their current team."""

    known: bool = False  # the rep has a users row
    lang: str | None = None
    tz: str | None = None
    block_start: int | None = None
    block_end: int | None = None
    team: Team | None = None  # the most recently joined active team, if any
    teams: int = 0  # how many active teams they are in

    @property
    def block(self) -> Block | None:
        return block_from_minutes(self.block_start, self.block_end)


class JoinResult(StrEnum):
    JOINED = "joined"
    ALREADY = "already"
    REJOINED = "rejoined"


class Span(NamedTuple):
    """One rep's local day (``day`` is its ordinal) as UTC instants, with their calling block.

    Plain tuples, not models: a month's leaderboard of a big team passes thousands of them.
    """

    user_id: int
    day: int
    start: datetime
    end: datetime
    block_start: datetime | None = None
    block_end: datetime | None = None


class DayCount(NamedTuple):
    user_id: int
    day: int
    calls: int
    polite_nos: int  # calls whose outcome is a polite no (0 when not asked for)
    balls: int  # ball-type Next Steps recorded that day (0 when not asked for)
    in_block: int  # calls logged inside the rep's calling block (0 before day counts)


class PeriodCount(NamedTuple):
    user_id: int
    calls: int
    balls: int


class BlockCount(NamedTuple):
    user_id: int
    in_block: int  # calls logged inside the rep's calling block


class StepCount(NamedTuple):
    """A rep's ball-type Next Steps whose date came inside the spans, by status."""

    user_id: int
    done: int
    dropped: int
    lapsed: int


def _team(row: Row, prefix: str = "") -> Team:
    values = {col: row[prefix + col] for col in _TEAM_COLS}
    values["created_at"] = from_ts(values["created_at"])
    values["active"] = bool(values["active"])
    return Team(**values)


def team_columns(setting: Setting) -> dict[str, Any]:
    """The ``teams`` columns one validated setting writes."""
    value = setting.value
    if setting.key is Key.BLOCK:
        block = value if isinstance(value, Block) else None
        return {
            "block_start": minutes(block.start) if block else None,
            "block_end": minutes(block.end) if block else None,
        }
    if setting.key is Key.SUMMARY:
        return {"summary_at": minutes(value) if value is not None else None}  # type: ignore[arg-type]
    if setting.key is Key.WORKDAYS:
        assert isinstance(value, frozenset)
        return {"workdays": workdays_mask(value)}
    column = {Key.CYCLE: "cycle_days"}.get(setting.key, setting.key.value)
    return {column: value}


_WRITABLE = frozenset(
    {
        "quota",
        "goal",
        "cycle_days",
        "block_start",
        "block_end",
        "summary_at",
        "tz",
        "workdays",
        "lang",
    }
)


def _spans_json(spans: Iterable[Span]) -> str:
    """The spans as one JSON parameter, a list of ``[user_id, day, start, end]``."""
    rows = [[span.user_id, span.day, to_ts(span.start), to_ts(span.end)] for span in spans]
    return json.dumps(rows, separators=(",", ":"))


PROFILE_SQL = f"""
    SELECT u.lang AS u_lang, u.tz AS u_tz, u.block_start AS u_bs, u.block_end AS u_be,
           (SELECT count(*) FROM memberships AS m JOIN teams AS x ON x.id = m.team_id
            WHERE m.user_id = u.id AND m.active = 1 AND x.active = 1) AS n_teams,
           {", ".join(f"t.{col} AS t_{col}" for col in _TEAM_COLS)}
    FROM users AS u
    LEFT JOIN teams AS t ON t.id = (
        SELECT m.team_id FROM memberships AS m JOIN teams AS x ON x.id = m.team_id
        WHERE m.user_id = u.id AND m.active = 1 AND x.active = 1
        ORDER BY m.joined_at DESC, m.team_id DESC LIMIT 1)
    WHERE u.id = ?
"""
# The spans, one row each, from their JSON (a list of lists: not a plain array parameter).
_SPANS = Sql(
    sqlite="""
    spans AS (
        SELECT json_extract(value, '$[0]') AS uid, json_extract(value, '$[1]') AS day,
               json_extract(value, '$[2]') AS s, json_extract(value, '$[3]') AS e
        FROM json_each(:spans)
    )
""",
    postgres="""
    spans AS (
        SELECT CAST(v->>0 AS bigint) AS uid, CAST(v->>1 AS bigint) AS day,
               CAST(v->>2 AS bigint) AS s, CAST(v->>3 AS bigint) AS e
        FROM jsonb_array_elements(CAST(:spans AS jsonb)) AS v
    )
""",
)


def _over_spans(select: str) -> Sql:
    """``WITH spans AS (...) <select>``, for each backend."""
    return Sql(sqlite=f"WITH {_SPANS.sqlite} {select}", postgres=f"WITH {_SPANS.postgres} {select}")


# Days counted as they were logged (migration 6): one row per rep and local day, read by a
# range of the primary key per rep; a period's totals come out as one row per rep.
COUNTED_DAYS_SQL = """
    SELECT d.owner_id, d.day, d.calls, d.polite_nos, d.balls, d.in_block
    FROM json_each(:owners) AS o
    JOIN day_counts AS d ON d.owner_id = o.value AND d.day BETWEEN :first AND :last
    WHERE d.calls >= :min_calls
"""
COUNTED_TOTALS_SQL = """
    SELECT d.owner_id, sum(d.calls), sum(d.balls)
    FROM json_each(:owners) AS o
    JOIN day_counts AS d ON d.owner_id = o.value AND d.day BETWEEN :first AND :last
    GROUP BY d.owner_id
"""
# Days from before migration 6 are counted from the calls themselves, one scalar subquery per
# span over the covering index calls(owner_id, at, outcome).
_CALLS_IN_SPAN = (
    "(SELECT count(*) FROM calls AS c WHERE c.owner_id = spans.uid "
    "AND c.at >= spans.s AND c.at < spans.e)"
)
_POLITE_IN_SPAN = (
    "(SELECT count(*) FROM calls AS c WHERE c.owner_id = spans.uid "
    "AND c.at >= spans.s AND c.at < spans.e "
    "AND c.outcome IN (SELECT value FROM json_each(:codes /* text[] */)))"
)
_BALLS_IN_SPAN = (
    "(SELECT count(*) FROM next_steps AS n WHERE n.owner_id = spans.uid "
    "AND n.created_at >= spans.s AND n.created_at < spans.e AND n.kind = 'ball')"
)
CALL_COUNTS = _over_spans(f"SELECT uid, day, {_CALLS_IN_SPAN}, 0, 0, 0 FROM spans")
DAY_COUNTS = _over_spans(
    f"SELECT uid, day, {_CALLS_IN_SPAN}, {_POLITE_IN_SPAN}, {_BALLS_IN_SPAN}, 0 FROM spans"
)
# In SQLite's spelling, as text (for EXPLAIN QUERY PLAN).
CALL_COUNTS_SQL = CALL_COUNTS.sqlite
DAY_COUNTS_SQL = DAY_COUNTS.sqlite
# The summary's day: reps who share a zone (and a calling block) share the bounds, so they are
# asked about together, one query per distinct pair of bounds. (Calls in the block are only
# counted this way on days before day counts.)
BLOCK_CALLS_SQL = """
    SELECT o.value, (SELECT count(*) FROM calls AS c
                     WHERE c.owner_id = o.value AND c.at >= :start AND c.at < :end)
    FROM json_each(:owners) AS o
"""
STEP_COUNTS_SQL = """
    SELECT owner_id,
           count(*) FILTER (WHERE status = 'done') AS done,
           count(*) FILTER (WHERE status = 'dropped') AS dropped,
           count(*) FILTER (WHERE status = 'open') AS lapsed
    FROM next_steps
    WHERE owner_id IN (SELECT value FROM json_each(:owners))
          AND due_at >= :start AND due_at < :end AND due_at <= :now AND kind = 'ball'
    GROUP BY owner_id
"""


def _owners_days(user_ids: Sequence[int], first: date, last: date) -> dict[str, Any]:
    """The parameters of the day counts' queries: these reps, these local days."""
    return {
        "owners": list(user_ids),
        "first": first.toordinal(),
        "last": last.toordinal(),
    }


def _day(span: Span) -> tuple[datetime, datetime]:
    return span.start, span.end


def _block(span: Span) -> tuple[datetime | None, datetime | None]:
    return span.block_start, span.block_end


def _by_bounds(
    spans: Iterable[Span], bounds: Callable[[Span], tuple[datetime | None, datetime | None]]
) -> dict[tuple[int, int], list[int]]:
    """The spans' users, grouped by the UTC instants ``bounds`` picks from each span."""
    groups: dict[tuple[datetime, datetime], list[int]] = {}
    for span in spans:
        start, end = bounds(span)
        if start is not None and end is not None:
            groups.setdefault((start, end), []).append(span.user_id)
    return {(to_ts(start), to_ts(end)): owners for (start, end), owners in groups.items()}


# -- units of work -------------------------------------------------------------------------------
# Each runs as one transaction (Database.transaction), on either backend (storage/sql.py). The
# ones marked repeatable give the same answer when an update is handled again; the others'
# results are recorded for a replay (storage/effects.py).


async def _setup(
    conn: Conn, chat_id: int, title: str, tz: str, lang: str, by: int, ts: int
) -> tuple[Team, bool]:
    existed = await conn.one("SELECT 1 FROM teams WHERE chat_id = ?", (chat_id,))
    row = await conn.one(
        f"""INSERT INTO teams (chat_id, title, tz, setup_lang, created_by, created_at,
                               updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (chat_id) DO UPDATE SET active = 1, title = excluded.title,
                updated_at = excluded.updated_at
            RETURNING {_TEAM_SELECT}""",
        (chat_id, title, tz, lang, by, ts, ts),
    )
    assert row is not None
    return _team(row), existed is None


@effects.repeatable
async def _set_active(conn: Conn, chat_id: int, active: bool, ts: int) -> Team | None:
    row = await conn.one(
        f"""UPDATE teams SET active = ?, updated_at = ? WHERE chat_id = ?
            RETURNING {_TEAM_SELECT}""",
        (int(active), ts, chat_id),
    )
    return _team(row) if row else None


@effects.repeatable
async def _set_title(conn: Conn, chat_id: int, title: str, ts: int) -> None:
    await conn.run(
        "UPDATE teams SET title = ?, updated_at = ? WHERE chat_id = ? AND title != ?",
        (title, ts, chat_id, title),
    )


async def _move_chat(conn: Conn, old_chat_id: int, new_chat_id: int, ts: int) -> bool:
    if await conn.one("SELECT 1 FROM teams WHERE chat_id = ?", (new_chat_id,)):
        return False
    changed = await conn.run(  # the bot is in the new chat: the team is active
        "UPDATE teams SET chat_id = ?, active = 1, updated_at = ? WHERE chat_id = ?",
        (new_chat_id, ts, old_chat_id),
    )
    return changed == 1


@effects.repeatable
async def _apply(conn: Conn, team_id: int, columns: dict[str, Any], ts: int) -> Team:
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    row = await conn.one(
        f"""UPDATE teams SET {assignments}, updated_at = :now WHERE id = :id
            RETURNING {_TEAM_SELECT}""",
        {**columns, "now": ts, "id": team_id},
    )
    assert row is not None
    return _team(row)


async def _join(conn: Conn, team_id: int, user: UserIn, now: datetime) -> JoinResult:
    from storage.repo import _upsert_user

    await _upsert_user(conn, user, now)
    row = await conn.one(
        "SELECT active FROM memberships WHERE team_id = ? AND user_id = ?",
        (team_id, user.id),
    )
    if row is not None and row["active"]:
        return JoinResult.ALREADY
    await conn.run(
        """INSERT INTO memberships (team_id, user_id, joined_at) VALUES (?, ?, ?)
           ON CONFLICT (team_id, user_id) DO UPDATE SET active = 1,
               joined_at = excluded.joined_at, left_at = NULL""",
        (team_id, user.id, to_ts(now)),
    )
    return JoinResult.JOINED if row is None else JoinResult.REJOINED


async def _leave(conn: Conn, team_id: int, user_id: int, ts: int) -> bool:
    changed = await conn.run(
        """UPDATE memberships SET active = 0, left_at = ?
           WHERE team_id = ? AND user_id = ? AND active = 1""",
        (ts, team_id, user_id),
    )
    return changed == 1


@effects.repeatable
async def _set_personal_tz(conn: Conn, user: UserIn, tz: str | None, now: datetime) -> None:
    from storage.repo import _upsert_user

    await _upsert_user(conn, user, now)
    await conn.run("UPDATE users SET tz = ? WHERE id = ?", (tz, user.id))


@effects.repeatable
async def _set_personal_block(conn: Conn, user: UserIn, block: Block | None, now: datetime) -> None:
    from storage.repo import _upsert_user

    await _upsert_user(conn, user, now)
    await conn.run(
        "UPDATE users SET block_start = ?, block_end = ? WHERE id = ?",
        (
            minutes(block.start) if block else None,
            minutes(block.end) if block else None,
            user.id,
        ),
    )


class TeamStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._counted_from: date | None = None

    # -- teams -------------------------------------------------------------------------------

    async def by_chat(self, chat_id: int) -> Team | None:
        row = await self.db.fetchone(
            f"SELECT {_TEAM_SELECT} FROM teams WHERE chat_id = ?", (chat_id,)
        )
        return _team(row) if row else None

    async def get(self, team_id: int) -> Team | None:
        row = await self.db.fetchone(f"SELECT {_TEAM_SELECT} FROM teams WHERE id = ?", (team_id,))
        return _team(row) if row else None

    async def of_user(self, user_id: int) -> list[Team]:
        """Active teams the user is in or set up, most recently joined first."""
        rows = await self.db.fetchall(
            f"""SELECT {_TEAM_SELECT} FROM teams
                WHERE active = 1 AND (created_by = ?1 OR id IN (
                    SELECT team_id FROM memberships WHERE user_id = ?1 AND active = 1))
                ORDER BY id DESC""",
            (user_id,),
        )
        return [_team(row) for row in rows]

    async def setup(
        self, chat_id: int, title: str, *, tz: str, lang: str, by: int, now: datetime
    ) -> tuple[Team, bool]:
        """Make the group a team (or wake up the one it was); ``True`` when it is new."""
        # Recorded: handled again after a crash, the update gets the same answer.
        return await self.db.transaction(_setup, chat_id, title, tz, lang, by, to_ts(now))

    async def set_active(self, chat_id: int, active: bool, now: datetime) -> Team | None:
        """The bot left (or came back to) the group: stop (or resume) posting there."""
        return await self.db.transaction(_set_active, chat_id, active, to_ts(now))

    async def set_title(self, chat_id: int, title: str, now: datetime) -> None:
        await self.db.transaction(_set_title, chat_id, title, to_ts(now))

    async def move_chat(self, old_chat_id: int, new_chat_id: int, now: datetime) -> bool:
        """A group became a supergroup: the team follows the new chat id, nothing is lost.

        Safe to call twice (Telegram reports the move in both the old and the new chat). The
        team is active afterwards: the bot is in the new chat, whatever the old one reported.
        """
        return await self.db.transaction(_move_chat, old_chat_id, new_chat_id, to_ts(now))

    async def apply(self, team_id: int, setting: Setting, now: datetime) -> Team:
        """Store one validated setting; returns the team as it is now."""
        columns = team_columns(setting)
        if not columns.keys() <= _WRITABLE:
            raise ValueError(f"not a team setting: {sorted(columns)}")
        return await self.db.transaction(_apply, team_id, columns, to_ts(now))

    # -- membership --------------------------------------------------------------------------

    async def join(self, team_id: int, user: UserIn, now: datetime) -> JoinResult:
        # Recorded: handled again after a crash, the update gets the same answer.
        return await self.db.transaction(_join, team_id, user, now)

    async def leave(self, team_id: int, user_id: int, now: datetime) -> bool:
        """Mark the rep inactive in the team; their calls and history stay."""
        # Recorded: handled again after a crash, the update gets the same answer.
        return await self.db.transaction(_leave, team_id, user_id, to_ts(now))

    async def members(self, team_id: int) -> list[Member]:
        rows = await self.db.fetchall(
            """SELECT u.id, u.first_name, u.last_name, u.username, u.tz, u.block_start,
                      u.block_end, m.joined_at
               FROM memberships AS m JOIN users AS u ON u.id = m.user_id
               WHERE m.team_id = ? AND m.active = 1
               ORDER BY m.joined_at, u.id""",
            (team_id,),
        )
        return [  # by position: faster than by name, and a big team has a thousand rows
            Member(
                user_id=row[0],
                first_name=row[1],
                last_name=row[2],
                username=row[3],
                tz=row[4],
                block_start=row[5],
                block_end=row[6],
                joined_at=datetime.fromtimestamp(row[7], UTC),
            )
            for row in rows
        ]

    async def profile(self, user_id: int) -> Profile:
        """The rep's own settings and current team, in ONE indexed read.

        The current team is the active team they joined most recently (ties: the higher team
        id), so a rep in several teams always gets the same, predictable rules.
        """
        # Every update reads this: a point read, an index search (inline on SQLite, see
        # storage.db on Database.read).
        row: Row | None = await self.db.one(PROFILE_SQL, (user_id,))
        if row is None:
            return Profile()
        return Profile(
            known=True,
            lang=row["u_lang"],
            tz=row["u_tz"],
            block_start=row["u_bs"],
            block_end=row["u_be"],
            team=_team(row, "t_") if row["t_id"] is not None else None,
            teams=row["n_teams"],
        )

    async def set_personal_tz(self, user: UserIn, tz: str | None, now: datetime) -> None:
        await self.db.transaction(_set_personal_tz, user, tz, now)

    async def set_personal_block(self, user: UserIn, block: Block | None, now: datetime) -> None:
        await self.db.transaction(_set_personal_block, user, block, now)

    # -- activity ----------------------------------------------------------------------------

    async def first_counted_day(self) -> date:
        """The first local date whose calls and balls :meth:`counted_days` holds in full, in
        every time zone (day counts are kept since migration 6; see ``day_counts_since``)."""
        if self._counted_from is None:
            row = await self.db.fetchone("SELECT min(at) FROM day_counts_since")
            since = datetime.fromtimestamp(row[0] if row and row[0] is not None else 0, UTC)
            # A local date starts at most 14 hours before the UTC one: two days on, it is whole.
            self._counted_from = since.date() + timedelta(days=2)
        return self._counted_from

    async def counted_days(
        self, user_ids: Sequence[int], first: date, last: date, *, min_calls: int = 0
    ) -> list[DayCount]:
        """Calls and balls back per rep per local day from ``first`` to ``last``, as counted when
        they were logged: the day is the rep's local date then. Days with none may be missing,
        and so are days with fewer than ``min_calls`` calls (a quota streak needs only the days
        that met the quota). Only complete from :meth:`first_counted_day` on.
        """
        if not user_ids:
            return []
        params = {**_owners_days(user_ids, first, last), "min_calls": min_calls}
        return [DayCount(*row) for row in await self.db.fetchall(COUNTED_DAYS_SQL, params)]

    async def counted_totals(
        self, user_ids: Sequence[int], first: date, last: date
    ) -> list[PeriodCount]:
        """Calls and balls back per rep over the local days ``first`` to ``last``, as
        :meth:`counted_days` counts them; reps with no row are left out."""
        if not user_ids:
            return []
        params = _owners_days(user_ids, first, last)
        return [PeriodCount(*row) for row in await self.db.fetchall(COUNTED_TOTALS_SQL, params)]

    async def day_counts(self, spans: Sequence[Span], *, balls: bool = True) -> list[DayCount]:
        """Calls (and, with ``balls``, polite no's and balls back) per span, counted from the
        calls themselves: for days before :meth:`first_counted_day`."""
        if not spans:
            return []
        params = {"spans": _spans_json(spans), "codes": sorted(POLITE_NOS)}
        rows = await self.db.fetchall(DAY_COUNTS if balls else CALL_COUNTS, params)
        return [DayCount(*row) for row in rows]

    async def block_calls(self, spans: Sequence[Span]) -> list[BlockCount]:
        """Calls inside each span's calling block (``block_start`` to ``block_end``)."""
        rows: list[Row] = []
        for (start, end), owners in _by_bounds(spans, _block).items():
            params = {"owners": owners, "start": start, "end": end}
            rows.extend(await self.db.fetchall(BLOCK_CALLS_SQL, params))
        return [BlockCount(row[0], row[1]) for row in rows]

    async def step_counts(self, spans: Sequence[Span], now: datetime) -> list[StepCount]:
        """Ball-type Next Steps due inside the spans and no later than ``now``, by outcome;
        reps with none are left out.

        ``lapsed`` are the ones still open although their date has come.
        """
        rows: list[Row] = []
        for (start, end), owners in _by_bounds(spans, _day).items():
            params = {"owners": owners, "start": start, "end": end, "now": to_ts(now)}
            rows.extend(await self.db.fetchall(STEP_COUNTS_SQL, params))
        return [StepCount(row[0], row[1], row[2], row[3]) for row in rows]
