"""The daily rhythm's storage: the outbox, who may be written to, reminders, days away, and a
team's own calendar. Reached as ``store.rhythm``.

The outbox is what makes every scheduled send happen once:

- :meth:`RhythmStore.plan` records what is due as ``pending`` rows, unique per
  ``(kind, recipient, key)``; seeing the same send due again (another tick, a restart, a second
  instance) changes nothing;
- :meth:`RhythmStore.claim` moves a batch of them to ``sending`` inside one write transaction
  (``BEGIN IMMEDIATE`` on SQLite, ``SERIALIZABLE`` on PostgreSQL), so two instances can never
  take the same row;
- the sender marks a row ``sent`` right after Telegram accepted the message, ``pending`` again
  with a later ``next_try_at`` to retry, ``failed`` when Telegram refused it for good, or
  ``skipped`` when it was no longer worth sending.

A row is only ever ``sending`` while one send is in flight. If the process dies there, the row
stays ``sending`` until its lease (:data:`LEASE`) is over, and then goes back to ``pending``: if
the crash came after Telegram accepted the message but before the row was marked, that one
message is sent a second time. The lease, rather than "everything ``sending`` at start-up",
is what keeps a second instance started by mistake from resending the first one's messages.

Writes are units of work (``async def unit(conn, ...)``, ``storage/sql.py``): the small ones
(one row by its key) run through ``Database.transaction``, inline on SQLite; the scheduler's
planning, claiming and pruning, which may touch many rows, through ``Database.bulk``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from bot.domain.schedule import Due
from storage import effects
from storage.db import Database
from storage.models import Model, NextStep, UserIn, from_ts, to_ts
from storage.repo import _STEP_COLS, _step, _upsert_user
from storage.sql import Conn, Row
from storage.teams import _TEAM_SELECT, Team, _team

LEASE = timedelta(minutes=2)  # far longer than one send; a crashed instance's rows come back


class OutboxItem(NamedTuple):
    id: int
    kind: str
    recipient: int
    key: str
    day: date
    ref: int
    attempts: int  # including the one now in progress
    due_at: datetime
    until_at: datetime
    parts_sent: int


class RepRow(NamedTuple):
    """A rep the bot may write to in private, in the active team they joined last.

    Plain tuples: the scheduler reads every rep on every tick.
    """

    user_id: int
    first_name: str
    language_code: str | None
    lang: str | None  # the rep's explicit choice
    tz: str | None  # the rep's own zone
    block_start: int | None  # the rep's own block, minutes
    block_end: int | None
    nudges: bool
    snoozed_on: date | None
    team_id: int


class Rhythm(NamedTuple):
    """Everything the scheduler decides from, read in a few queries."""

    reps: list[RepRow]
    teams: dict[int, Team]  # active teams
    away: dict[int, list[tuple[date, date]]]  # user id -> ranges ending on or after ``since``
    team_days: dict[int, dict[date, bool]]  # team id -> day -> is it a working day


class StepAnswer(StrEnum):
    SAVED = "saved"
    ALREADY = "already"  # answered before (a double tap, an older prompt)
    GONE = "gone"  # no such Next Step (undone, forgotten)
    NOT_OWNER = "not_owner"


class SettledStep(Model):
    result: StepAnswer
    step: NextStep | None = None


_OUTBOX_COLS = "id, kind, recipient, key, day, ref, attempts, due_at, until_at, parts_sent"
_REP_COLS = (
    "u.id, u.first_name, u.language_code, u.lang, u.tz, u.block_start, u.block_end, u.nudges, "
    "u.snoozed_on, cur.team_id"
)
# The rep's current team is the active team they joined last (ties: the higher team id), the
# same rule as storage.teams.PROFILE_SQL.
_CURRENT = """
    WITH cur AS (
        SELECT m.user_id, m.team_id,
               row_number() OVER (PARTITION BY m.user_id
                                  ORDER BY m.joined_at DESC, m.team_id DESC) AS n
        FROM memberships AS m JOIN teams AS x ON x.id = m.team_id
        WHERE m.active = 1 AND x.active = 1 {where}
    )
"""
REPS_SQL = f"""
    {_CURRENT.format(where="")}
    SELECT {_REP_COLS} FROM cur JOIN users AS u ON u.id = cur.user_id
    WHERE cur.n = 1 AND u.opened_at IS NOT NULL AND u.unreachable_at IS NULL
    ORDER BY u.id
"""
REP_SQL = f"""
    {_CURRENT.format(where="AND m.user_id = :uid")}
    SELECT {_REP_COLS} FROM cur JOIN users AS u ON u.id = cur.user_id
    WHERE cur.n = 1 AND u.opened_at IS NOT NULL AND u.unreachable_at IS NULL
"""
# Open Next Steps of the given reps dated inside [since, before): one indexed range each.
LAPSED_SQL = """
    SELECT s.id, s.owner_id, s.due_at
    FROM json_each(:ids) AS j
    JOIN next_steps AS s ON s.owner_id = j.value AND s.due_at >= :since AND s.due_at < :before
    WHERE s.status = 'open'
"""
_STEP_SELECT = f"""
    SELECT {_STEP_COLS} FROM next_steps AS s JOIN contacts AS c ON c.id = s.contact_id
    WHERE s.id = ?
"""


def _rep(row: Row) -> RepRow:
    snoozed = row["snoozed_on"]
    return RepRow(
        user_id=row["id"],
        first_name=row["first_name"],
        language_code=row["language_code"],
        lang=row["lang"],
        tz=row["tz"],
        block_start=row["block_start"],
        block_end=row["block_end"],
        nudges=bool(row["nudges"]),
        snoozed_on=date.fromisoformat(snoozed) if snoozed else None,
        team_id=row["team_id"],
    )


def _item(row: Row) -> OutboxItem:
    due_at, until_at = from_ts(row["due_at"]), from_ts(row["until_at"])
    assert due_at is not None and until_at is not None
    return OutboxItem(
        id=row["id"],
        kind=row["kind"],
        recipient=row["recipient"],
        key=row["key"],
        day=date.fromisoformat(row["day"]),
        ref=row["ref"],
        attempts=row["attempts"],
        due_at=due_at,
        until_at=until_at,
        parts_sent=row["parts_sent"],
    )


# -- units of work -------------------------------------------------------------------------------
# Each runs as one transaction (Database.transaction or Database.bulk), on either backend.

_PLAN = """
    INSERT INTO outbox (kind, recipient, key, day, ref, due_at, until_at, next_try_at, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (kind, recipient, key) DO UPDATE SET
        state = 'pending', due_at = excluded.due_at, until_at = excluded.until_at,
        next_try_at = excluded.next_try_at, ref = excluded.ref, attempts = 0,
        claimed_at = NULL, error = NULL
    WHERE outbox.state = 'skipped' AND outbox.due_at != excluded.due_at
"""


@effects.repeatable  # an upsert: seeing the same sends due again changes nothing
async def _plan(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    await conn.many(_PLAN, rows)


async def _claim(conn: Conn, ts: int, limit: int, lease: int) -> tuple[list[OutboxItem], int]:
    resumed = await conn.run(
        """UPDATE outbox SET state = 'pending', claimed_at = NULL,
               error = 'resumed after an interrupted send'
           WHERE state = 'sending' AND claimed_at <= ?""",
        (ts - lease,),
    )
    await conn.run(
        """UPDATE outbox SET state = 'skipped', error = 'expired'
           WHERE state = 'pending' AND until_at <= ?""",
        (ts,),
    )
    rows = await conn.all(
        f"""UPDATE outbox SET state = 'sending', claimed_at = :now, attempts = attempts + 1
            WHERE id IN (SELECT id FROM outbox
                         WHERE state = 'pending' AND next_try_at <= :now
                         ORDER BY due_at, id LIMIT :limit)
            RETURNING {_OUTBOX_COLS}""",
        {"now": ts, "limit": limit},
    )
    items = sorted((_item(row) for row in rows), key=lambda i: (i.due_at, i.id))
    return items, resumed


async def _sent(conn: Conn, item_id: int, ts: int, message_id: int | None) -> None:
    await conn.run(
        """UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?,
               parts_sent = parts_sent + 1, claimed_at = NULL, error = NULL
           WHERE id = ?""",
        (ts, message_id, item_id),
    )


async def _part_sent(conn: Conn, item_id: int, message_id: int | None) -> None:
    await conn.run(
        "UPDATE outbox SET parts_sent = parts_sent + 1, message_id = ? WHERE id = ?",
        (message_id, item_id),
    )


async def _retry(conn: Conn, item_id: int, ts: int, error: str, given_back: int) -> None:
    await conn.run(
        """UPDATE outbox SET state = 'pending', next_try_at = ?, error = ?,
               claimed_at = NULL, attempts = attempts - ?
           WHERE id = ?""",
        (ts, error, given_back, item_id),
    )


@effects.repeatable  # sets values
async def _finish(conn: Conn, item_id: int, state: str, error: str) -> None:
    await conn.run(
        "UPDATE outbox SET state = ?, error = ?, claimed_at = NULL WHERE id = ?",
        (state, error, item_id),
    )


async def _prune(conn: Conn, ts: int) -> int:
    return await conn.run("DELETE FROM outbox WHERE created_at < ? AND state != 'sending'", (ts,))


@effects.repeatable
async def _opened(conn: Conn, user_id: int, now: int) -> bool:
    changed = await conn.run(
        """UPDATE users SET opened_at = coalesce(opened_at, ?), unreachable_at = NULL
           WHERE id = ? AND (opened_at IS NULL OR unreachable_at IS NOT NULL)""",
        (now, user_id),
    )
    if changed:
        return True
    return await conn.one("SELECT 1 FROM users WHERE id = ?", (user_id,)) is not None


@effects.repeatable  # sets a value
async def _unreachable(conn: Conn, user_id: int, now: int) -> None:
    await conn.run("UPDATE users SET unreachable_at = ? WHERE id = ?", (now, user_id))


@effects.repeatable  # an upsert and a value set
async def _set_nudges(conn: Conn, user: UserIn, on: bool, now: datetime) -> None:
    await _upsert_user(conn, user, now)
    await conn.run("UPDATE users SET nudges = ? WHERE id = ?", (int(on), user.id))


async def _snooze(conn: Conn, user_id: int, day: str) -> bool:
    changed = await conn.run(
        "UPDATE users SET snoozed_on = ? WHERE id = ? AND snoozed_on IS NOT ?",
        (day, user_id, day),
    )
    return changed == 1


async def _add_away(conn: Conn, user: UserIn, first: date, last: date, now: datetime) -> None:
    await _upsert_user(conn, user, now)
    await conn.run(
        "INSERT INTO away (user_id, first_day, last_day, created_at) VALUES (?, ?, ?, ?)",
        (user.id, first.isoformat(), last.isoformat(), to_ts(now)),
    )


async def _end_away(conn: Conn, user_id: int, today: date) -> int:
    yesterday = (today - timedelta(days=1)).isoformat()
    removed = await conn.run(
        "DELETE FROM away WHERE user_id = ? AND first_day >= ?", (user_id, today.isoformat())
    )
    ended = await conn.run(
        "UPDATE away SET last_day = ? WHERE user_id = ? AND last_day >= ?",
        (yesterday, user_id, today.isoformat()),
    )
    return removed + ended


async def _set_team_day(conn: Conn, team_id: int, day: date, working: bool | None) -> bool:
    if working is None:
        changed = await conn.run(
            "DELETE FROM team_days WHERE team_id = ? AND day = ?", (team_id, day.isoformat())
        )
    else:
        changed = await conn.run(
            """INSERT INTO team_days (team_id, day, working) VALUES (?, ?, ?)
               ON CONFLICT (team_id, day) DO UPDATE SET working = excluded.working
               WHERE team_days.working != excluded.working""",
            (team_id, day.isoformat(), int(working)),
        )
    return changed == 1


async def _settle_step(
    conn: Conn, owner_id: int, step_id: int, status: str, now: datetime
) -> SettledStep:
    row = await conn.one(_STEP_SELECT, (step_id,))
    if row is None:
        return SettledStep(result=StepAnswer.GONE)
    if row["owner_id"] != owner_id:
        return SettledStep(result=StepAnswer.NOT_OWNER)
    if row["status"] != "open":
        return SettledStep(result=StepAnswer.ALREADY, step=_step(row))
    await conn.run("UPDATE next_steps SET status = ? WHERE id = ?", (status, step_id))
    if status == "dropped":
        await conn.run(
            """UPDATE contacts SET callback_at = :now
               WHERE id = :contact AND archived = 0
                 AND (callback_at IS NULL OR callback_at > :now)
                 AND NOT EXISTS (SELECT 1 FROM next_steps
                                 WHERE contact_id = :contact AND status = 'open'
                                   AND due_at > :now)""",
            {"now": to_ts(now), "contact": row["contact_id"]},
        )
    row = await conn.one(_STEP_SELECT, (step_id,))
    assert row is not None
    return SettledStep(result=StepAnswer.SAVED, step=_step(row))


class RhythmStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- what the scheduler decides from ----------------------------------------------------

    async def rhythm(self, since: date) -> Rhythm:
        """Every rep the bot may nudge, the active teams, days away and team days from ``since``."""
        reps = [_rep(row) for row in await self.db.fetchall(REPS_SQL)]
        teams = {
            team.id: team
            for team in (
                _team(row)
                for row in await self.db.fetchall(
                    f"SELECT {_TEAM_SELECT} FROM teams WHERE active = 1"
                )
            )
        }
        away: dict[int, list[tuple[date, date]]] = {}
        for row in await self.db.fetchall(
            "SELECT user_id, first_day, last_day FROM away WHERE last_day >= ? "
            "ORDER BY user_id, first_day",
            (since.isoformat(),),
        ):
            away.setdefault(row[0], []).append(
                (date.fromisoformat(row[1]), date.fromisoformat(row[2]))
            )
        return Rhythm(reps, teams, away, await self.all_team_days(since))

    async def rep(self, user_id: int) -> RepRow | None:
        """One rep as :meth:`rhythm` sees them; ``None`` if the bot may not nudge them."""
        row = await self.db.fetchone(REP_SQL, {"uid": user_id})
        return _rep(row) if row else None

    async def lapsed_steps(
        self, owner_ids: Sequence[int], since: datetime, before: datetime
    ) -> dict[int, list[tuple[int, datetime]]]:
        """Open Next Steps of these reps dated in ``[since, before)``: owner -> (id, due)."""
        found: dict[int, list[tuple[int, datetime]]] = {}
        if not owner_ids:
            return found
        rows = await self.db.fetchall(
            LAPSED_SQL,
            {"ids": list(owner_ids), "since": to_ts(since), "before": to_ts(before)},
        )
        for step_id, owner_id, due_at in rows:
            moment = from_ts(due_at)
            assert moment is not None
            found.setdefault(owner_id, []).append((step_id, moment))
        return found

    # -- the outbox -----------------------------------------------------------------------------

    async def plan(self, dues: Iterable[Due], now: datetime) -> None:
        """Record what is due, in one transaction. A send already recorded stays as it is,
        except one that was skipped and has moved (the calling block was set later the same
        day): it is pending again, at its new time.
        """
        ts = to_ts(now)
        rows = [
            (
                due.kind.value,
                due.recipient,
                due.key,
                due.day.isoformat(),
                due.ref,
                to_ts(due.at),
                to_ts(due.until),
                ts,
                ts,
            )
            for due in dues
        ]
        if not rows:
            return
        await self.db.bulk(_plan, rows)

    async def has_work(self) -> bool:
        row = await self.db.fetchone(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending') "
            "OR EXISTS (SELECT 1 FROM outbox WHERE state = 'sending')"
        )
        return bool(row and row[0])

    async def claim(
        self, now: datetime, limit: int, lease: timedelta = LEASE
    ) -> tuple[list[OutboxItem], int]:
        """Take up to ``limit`` sends that are due now; also returns how many rows a crashed
        sender had left behind (their lease over) and were put back to ``pending`` first.

        Pending rows whose window has closed are ``skipped`` on the way.
        """
        return await self.db.bulk(_claim, to_ts(now), limit, int(lease.total_seconds()))

    async def next_try(self) -> datetime | None:
        """When the earliest pending send may be tried."""
        row = await self.db.fetchone("SELECT min(next_try_at) FROM outbox WHERE state = 'pending'")
        return from_ts(row[0]) if row and row[0] is not None else None

    async def sent(self, item_id: int, now: datetime, message_id: int | None) -> None:
        await self.db.transaction(_sent, item_id, to_ts(now), message_id)

    async def part_sent(self, item_id: int, message_id: int | None) -> None:
        """One message of several (a long summary) was delivered."""
        await self.db.transaction(_part_sent, item_id, message_id)

    async def retry(
        self, item_id: int, when: datetime, error: str, *, counted: bool = True
    ) -> None:
        """Back to ``pending``, not before ``when``. A flood wait (``counted=False``) does not
        use up one of the attempts."""
        await self.db.transaction(_retry, item_id, to_ts(when), error[:500], 0 if counted else 1)

    async def finish(self, item_id: int, state: str, error: str) -> None:
        """``failed`` (Telegram refused it for good) or ``skipped`` (no longer worth sending)."""
        if state not in ("failed", "skipped"):
            raise ValueError(f"not a final state: {state}")
        await self.db.transaction(_finish, item_id, state, error[:500])

    async def prune(self, before: datetime) -> int:
        """Forget sends recorded before ``before`` (their keys can never be due again)."""
        return await self.db.bulk(_prune, to_ts(before))

    # -- who may be written to ----------------------------------------------------------------

    async def opened(self, user_id: int, now: datetime) -> bool:
        """The user wrote to the bot in private: it may write to them (again).

        Returns whether the user is stored (a first ``/start`` stores them after this runs).
        Runs inline, like the other small writes on an update's path: it comes right after a
        new rep's first update, when their next one is often already on its way.
        """
        return await self.db.transaction(_opened, user_id, to_ts(now))

    async def unreachable(self, user_id: int, now: datetime) -> None:
        """Telegram refused a private message (blocked, deactivated): stop writing to them."""
        await self.db.transaction(_unreachable, user_id, to_ts(now))

    # -- a rep's own switches ---------------------------------------------------------------

    async def nudges(self, user_id: int) -> bool:
        row = await self.db.fetchone("SELECT nudges FROM users WHERE id = ?", (user_id,))
        return bool(row[0]) if row else True

    async def set_nudges(self, user: UserIn, on: bool, now: datetime) -> None:
        await self.db.transaction(_set_nudges, user, on, now)

    async def snooze(self, user_id: int, day: date) -> bool:
        """No more calling-block reminders for the rep on ``day``; ``False`` if already so."""
        return await self.db.transaction(_snooze, user_id, day.isoformat())

    # -- days away --------------------------------------------------------------------------

    async def add_away(self, user: UserIn, first: date, last: date, now: datetime) -> None:
        await self.db.transaction(_add_away, user, first, last, now)

    async def end_away(self, user_id: int, today: date) -> int:
        """Back from today: an absence going on ends yesterday, coming ones are removed.
        Days already past stay away (a streak is not broken after the fact)."""
        return await self.db.transaction(_end_away, user_id, today)

    async def away_of(
        self, user_ids: Sequence[int], since: date
    ) -> dict[int, list[tuple[date, date]]]:
        """Absences of these users that end on or after ``since``, in order."""
        found: dict[int, list[tuple[date, date]]] = {}
        if not user_ids:
            return found
        rows = await self.db.fetchall(
            """SELECT a.user_id, a.first_day, a.last_day FROM json_each(?) AS j
               JOIN away AS a ON a.user_id = j.value AND a.last_day >= ?
               ORDER BY a.user_id, a.first_day""",
            (list(user_ids), since.isoformat()),
        )
        for user_id, first, last in rows:
            found.setdefault(user_id, []).append(
                (date.fromisoformat(first), date.fromisoformat(last))
            )
        return found

    # -- a team's own calendar --------------------------------------------------------------

    async def set_team_day(self, team_id: int, day: date, working: bool | None) -> bool:
        """Make ``day`` a day off (``False``) or a working day (``True``) for the team, or
        (``None``) let the usual calendar decide again; ``False`` if nothing changed."""
        return await self.db.transaction(_set_team_day, team_id, day, working)

    async def team_days(self, team_id: int, since: date) -> dict[date, bool]:
        rows = await self.db.fetchall(
            "SELECT day, working FROM team_days WHERE team_id = ? AND day >= ? ORDER BY day",
            (team_id, since.isoformat()),
        )
        return {date.fromisoformat(day): bool(working) for day, working in rows}

    async def all_team_days(self, since: date) -> dict[int, dict[date, bool]]:
        found: dict[int, dict[date, bool]] = {}
        for team_id, day, working in await self.db.fetchall(
            "SELECT team_id, day, working FROM team_days WHERE day >= ?", (since.isoformat(),)
        ):
            found.setdefault(team_id, {})[date.fromisoformat(day)] = bool(working)
        return found

    # -- lapsed Next Steps ------------------------------------------------------------------

    async def step(self, step_id: int) -> NextStep | None:
        row = await self.db.fetchone(_STEP_SELECT, (step_id,))
        return _step(row) if row else None

    async def settle_step(
        self, owner_id: int, step_id: int, status: str, now: datetime
    ) -> SettledStep:
        """The rep answered "did it happen?": ``done`` or ``dropped``, once.

        A dropped meeting puts its contact back on the rep's list of prospects due for a call
        (unless another Next Step with them still lies ahead, or they are archived). Handled
        again after a crash, the update gets the same answer back (the unit's result is
        recorded: ``storage/effects.py``).
        """
        if status not in ("done", "dropped"):
            raise ValueError(f"not an answer: {status}")
        return await self.db.transaction(_settle_step, owner_id, step_id, status, now)
