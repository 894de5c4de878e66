"""Storage for the pipeline: the lists of ``/pipeline``, the contact card, edits.

The queries gather candidates with the indexes (``next_steps_owner_due`` for clients,
``contacts_owner_callback`` for prospects due for a call, ``calls_owner_at_outcome`` for the
ones to stop chasing); the rules that decide (what a client is, when to stop chasing) are in
:mod:`bot.domain.pipeline` and the caller passes their bounds in. Reached from handlers as
``store.pipeline``.

Each read or write is a unit of work (``async def unit(conn, ...)``, ``storage/sql.py``), the
same code on SQLite and PostgreSQL. Lists and the contact card's history scan, so they run
through ``Database.fetchall`` / ``scan`` (off the event loop on SQLite); a contact by id is a
point read (``Database.one``); editing a contact is a small transaction; an import and
forgetting a user touch many rows and run as bulk transactions (on SQLite, on the writer's
thread).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from storage import effects
from storage.db import Database
from storage.inbox import forget
from storage.models import Call, Contact, Model, NextStep, UserIn, from_ts, to_ts
from storage.repo import (
    _CALL_COLS,
    _CONTACT_COLS,
    _STEP_COLS,
    _call,
    _contact,
    _step,
    _upsert_user,
)
from storage.sql import Conn, Row

if TYPE_CHECKING:
    from bot.domain.transfer import ImportPlan

_K_COLS = ", ".join(f"k.{col.strip()}" for col in _CONTACT_COLS.split(","))

# The contacts that are clients now: an open ball-type Next Step inside (after, before).
_CLIENT_IDS = """
    SELECT contact_id FROM next_steps
    WHERE owner_id = :owner AND status = 'open' AND kind = 'ball'
      AND due_at > :after AND due_at < :before
"""
_LAST_CALL = """
    (SELECT max(at) FROM calls WHERE contact_id = k.id) AS last_at,
    (SELECT outcome FROM calls WHERE contact_id = k.id ORDER BY at DESC, id DESC LIMIT 1)
        AS last_outcome
"""

ContactField = Literal["phone", "company"]


class ClientRow(Model):
    """A client with the soonest of their live Next Steps."""

    contact: Contact
    step_id: int
    action: str
    due_at: datetime


class DueRow(Model):
    """A prospect due for a call, with the last call made to them (if any)."""

    contact: Contact
    last_call_at: datetime | None = None
    last_outcome: str | None = None


class DueCount(Model):
    callbacks: int  # "call me later" dates reached
    never_called: int  # counted up to a cap
    capped: bool  # there are more never-called ones than ``never_called``

    @property
    def total(self) -> int:
        return self.callbacks + self.never_called


class ChaseCandidate(Model):
    """A live prospect called often lately: the domain decides whether to stop chasing."""

    contact: Contact
    calls: list[datetime]  # calls since the start of the look-back
    balls: list[datetime]  # ball-type Next Steps agreed since then

    @property
    def last_call(self) -> datetime:
        return max(self.calls)


class ExportCall(Model):
    call: Call
    contact_name: str
    contact_company: str | None = None
    contact_phone: str | None = None


class ExportData(Model):
    """Everything stored about some reps' work, oldest first, grouped by rep."""

    owners: dict[int, str]  # rep id -> full name
    contacts: list[Contact]
    calls: list[ExportCall]
    steps: list[NextStep]
    open_balls: dict[int, list[datetime]]  # contact id -> open ball-type Next Steps' dates


class Footprint(Model):
    """How much the bot stores about one user."""

    contacts: int
    calls: int
    steps: int


class ContactHistory(Model):
    calls: list[Call]  # newest first
    steps: list[NextStep]  # newest first
    total_calls: int
    total_steps: int
    open_balls: list[NextStep]  # every open ball-type Next Step: the contact's status


def _instant(ts: int) -> datetime:
    moment = from_ts(ts)
    assert moment is not None
    return moment


def _window(owner_id: int, after: datetime, before: datetime) -> dict[str, Any]:
    return {"owner": owner_id, "after": to_ts(after), "before": to_ts(before)}


def _due_row(row: Row) -> DueRow:
    return DueRow(
        contact=_contact(row),
        last_call_at=from_ts(row["last_at"]),
        last_outcome=row["last_outcome"],
    )


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- units of work -------------------------------------------------------------------------------
# Reads run through Database.scan, writes through Database.transaction / bulk (storage/db.py).

_CALLBACKS_DUE = f"""
    FROM contacts AS k
    WHERE k.owner_id = :owner AND k.archived = 0 AND k.callback_at <= :now
      AND k.id NOT IN ({_CLIENT_IDS})
"""
_NEVER_CALLED = f"""
    FROM contacts AS k
    WHERE k.owner_id = :owner AND k.archived = 0 AND k.callback_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM calls WHERE contact_id = k.id)
      AND k.id NOT IN ({_CLIENT_IDS})
"""


async def _due(conn: Conn, base: dict[str, Any], offset: int, limit: int) -> list[DueRow]:
    row = await conn.one(f"SELECT count(*) AS n {_CALLBACKS_DUE}", base)
    callbacks = int(row["n"]) if row else 0
    rows: list[DueRow] = []
    if offset < callbacks:
        found = await conn.all(
            f"""SELECT {_K_COLS}, {_LAST_CALL} {_CALLBACKS_DUE}
                ORDER BY k.callback_at, k.id LIMIT :limit OFFSET :offset""",
            base | {"limit": limit, "offset": offset},
        )
        rows.extend(_due_row(row) for row in found)
    if len(rows) < limit:
        found = await conn.all(
            f"""SELECT {_K_COLS}, NULL AS last_at, NULL AS last_outcome {_NEVER_CALLED}
                ORDER BY k.id LIMIT :limit OFFSET :offset""",
            base | {"limit": limit - len(rows), "offset": max(0, offset - callbacks)},
        )
        rows.extend(_due_row(row) for row in found)
    return rows


async def _chase_candidates(conn: Conn, params: dict[str, Any]) -> list[ChaseCandidate]:
    calls: dict[int, list[datetime]] = defaultdict(list)
    for row in await conn.all(
        """
        WITH recent AS (
            SELECT contact_id, at, count(*) OVER (PARTITION BY contact_id) AS n
            FROM calls WHERE owner_id = :owner AND at >= :since AND at <= :now
        )
        SELECT contact_id, at FROM recent WHERE n >= :min_calls
        """,
        params,
    ):
        calls[row["contact_id"]].append(_instant(row["at"]))
    if not calls:
        return []
    ids = sorted(calls)
    contacts = await conn.all(
        f"""SELECT {_K_COLS} FROM contacts AS k
            WHERE k.id IN (SELECT value FROM json_each(:ids)) AND k.archived = 0
              AND k.id NOT IN ({_CLIENT_IDS})""",
        params | {"ids": ids},
    )
    found = {row["id"]: _contact(row) for row in contacts}
    balls: dict[int, list[datetime]] = defaultdict(list)
    for row in await conn.all(
        """SELECT contact_id, created_at FROM next_steps
           WHERE owner_id = ? AND kind = 'ball' AND created_at >= ?
             AND contact_id IN (SELECT value FROM json_each(?))""",
        (params["owner"], params["since"], ids),
    ):
        balls[row["contact_id"]].append(_instant(row["created_at"]))
    return [
        ChaseCandidate(contact=contact, calls=calls[cid], balls=balls[cid])
        for cid, contact in found.items()
    ]


async def _history(
    conn: Conn, owner_id: int, contact_id: int, calls: int, steps: int
) -> ContactHistory:
    call_rows = await conn.all(
        f"""SELECT {_CALL_COLS} FROM calls WHERE contact_id = ? AND owner_id = ?
            ORDER BY at DESC, id DESC LIMIT ?""",
        (contact_id, owner_id, calls),
    )
    step_rows = await conn.all(
        f"""SELECT {_STEP_COLS} FROM next_steps AS s JOIN contacts AS c ON c.id = s.contact_id
            WHERE s.contact_id = ? AND s.owner_id = ?
            ORDER BY s.created_at DESC, s.id DESC LIMIT ?""",
        (contact_id, owner_id, steps),
    )
    totals = await conn.one(
        """SELECT
               (SELECT count(*) FROM calls WHERE contact_id = :c AND owner_id = :o) AS calls,
               (SELECT count(*) FROM next_steps WHERE contact_id = :c AND owner_id = :o)
                   AS steps""",
        {"c": contact_id, "o": owner_id},
    )
    balls = await conn.all(
        f"""SELECT {_STEP_COLS} FROM next_steps AS s JOIN contacts AS c ON c.id = s.contact_id
            WHERE s.contact_id = ? AND s.owner_id = ? AND s.status = 'open'
              AND s.kind = 'ball'""",
        (contact_id, owner_id),
    )
    assert totals is not None
    return ContactHistory(
        calls=[_call(row) for row in call_rows],
        steps=[_step(row) for row in step_rows],
        total_calls=int(totals["calls"]),
        total_steps=int(totals["steps"]),
        open_balls=[_step(row) for row in balls],
    )


async def _activity(
    conn: Conn, owner_id: int, contact_id: int, since: int, now: int
) -> tuple[list[datetime], list[datetime]]:
    calls = await conn.all(
        "SELECT at FROM calls WHERE contact_id = ? AND owner_id = ? AND at >= ? AND at <= ?",
        (contact_id, owner_id, since, now),
    )
    balls = await conn.all(
        """SELECT created_at FROM next_steps
           WHERE contact_id = ? AND owner_id = ? AND kind = 'ball' AND created_at >= ?""",
        (contact_id, owner_id, since),
    )
    return [_instant(r["at"]) for r in calls], [_instant(r["created_at"]) for r in balls]


@effects.repeatable  # sets a value: run again, it gives the same contact back
async def _set_contact(
    conn: Conn, owner_id: int, contact_id: int, column: str, value: str | int | None
) -> Contact | None:
    row = await conn.one(
        f"UPDATE contacts SET {column} = ? WHERE id = ? AND owner_id = ? RETURNING {_CONTACT_COLS}",
        (value, contact_id, owner_id),
    )
    return _contact(row) if row else None


async def _import_contacts(
    conn: Conn,
    user: UserIn,
    phones: Sequence[str],
    name_keys: Sequence[str],
    plan: Callable[[list[Contact]], ImportPlan],
    now: datetime,
) -> ImportPlan:
    await _upsert_user(conn, user, now)
    known: dict[int, Contact] = {}
    for column, values in (("phone", phones), ("name_key", name_keys)):
        if not values:
            continue
        rows = await conn.all(
            f"""SELECT {_CONTACT_COLS} FROM contacts WHERE owner_id = ?
                AND {column} IN (SELECT value FROM json_each(? /* text[] */))""",
            (user.id, list(values)),
        )
        for row in rows:
            known[row["id"]] = _contact(row)
    stored = sorted(known.values(), key=lambda c: c.id)
    result = plan(stored)  # pure CPU work: a bulk unit runs off the event loop on SQLite
    await conn.many(
        """INSERT INTO contacts (owner_id, name, name_key, company, phone, note, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [
            (user.id, c.name, c.name_key, c.company, c.phone, c.note, to_ts(now))
            for c in result.creates
        ],
    )
    await conn.many(
        """UPDATE contacts SET company = coalesce(company, ?),
               phone = coalesce(phone, ?), note = coalesce(note, ?)
           WHERE id = ? AND owner_id = ?""",
        [(f.company, f.phone, f.note, f.id, user.id) for f in result.fills],
    )
    return result


async def _export_data(conn: Conn, owner_ids: list[int]) -> ExportData:
    users = await conn.all(
        """SELECT id, first_name, last_name FROM users
           WHERE id IN (SELECT value FROM json_each(?))""",
        (owner_ids,),
    )
    contacts = await conn.all(
        f"""SELECT {_CONTACT_COLS} FROM contacts
            WHERE owner_id IN (SELECT value FROM json_each(?)) ORDER BY owner_id, id""",
        (owner_ids,),
    )
    calls = await conn.all(
        f"""SELECT {", ".join(f"l.{c.strip()}" for c in _CALL_COLS.split(","))},
                   k.name AS contact_name, k.company AS contact_company,
                   k.phone AS contact_phone
            FROM calls AS l JOIN contacts AS k ON k.id = l.contact_id
            WHERE l.owner_id IN (SELECT value FROM json_each(?))
            ORDER BY l.owner_id, l.at, l.id""",
        (owner_ids,),
    )
    steps = await conn.all(
        f"""SELECT {_STEP_COLS} FROM next_steps AS s JOIN contacts AS c ON c.id = s.contact_id
            WHERE s.owner_id IN (SELECT value FROM json_each(?))
            ORDER BY s.owner_id, s.created_at, s.id""",
        (owner_ids,),
    )
    open_balls: dict[int, list[datetime]] = defaultdict(list)
    for row in await conn.all(
        """SELECT contact_id, due_at FROM next_steps
           WHERE owner_id IN (SELECT value FROM json_each(?))
             AND status = 'open' AND kind = 'ball'""",
        (owner_ids,),
    ):
        open_balls[row["contact_id"]].append(_instant(row["due_at"]))
    return ExportData(
        owners={
            row["id"]: " ".join(p for p in (row["first_name"], row["last_name"]) if p)
            for row in users
        },
        contacts=[_contact(row) for row in contacts],
        calls=[
            ExportCall(
                call=_call(row),
                contact_name=row["contact_name"],
                contact_company=row["contact_company"],
                contact_phone=row["contact_phone"],
            )
            for row in calls
        ],
        steps=[_step(row) for row in steps],
        open_balls=dict(open_balls),
    )


async def _forget_user(conn: Conn, user_id: int, current: int | None) -> bool:
    await conn.run("UPDATE teams SET created_by = NULL WHERE created_by = ?", (user_id,))
    deleted = await conn.run("DELETE FROM users WHERE id = ?", (user_id,))
    await forget(conn, user_id, current)  # what they sent
    return deleted == 1


class PipelineStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- clients -----------------------------------------------------------------------------

    async def count_clients(self, owner_id: int, after: datetime, before: datetime) -> int:
        row = await self.db.fetchone(
            f"""SELECT count(*) AS n FROM contacts AS k
                WHERE k.id IN ({_CLIENT_IDS}) AND k.archived = 0""",
            _window(owner_id, after, before),
        )
        return int(row["n"]) if row else 0

    async def clients(
        self, owner_id: int, after: datetime, before: datetime, *, offset: int, limit: int
    ) -> list[ClientRow]:
        """Clients with their soonest live Next Step, soonest first."""
        params = _window(owner_id, after, before) | {"offset": offset, "limit": limit}
        rows = await self.db.fetchall(
            f"""
            WITH live AS (
                SELECT id, contact_id, action, due_at,
                       row_number() OVER (PARTITION BY contact_id ORDER BY due_at, id) AS n
                FROM next_steps
                WHERE owner_id = :owner AND status = 'open' AND kind = 'ball'
                  AND due_at > :after AND due_at < :before
            )
            SELECT {_K_COLS}, live.id AS step_id, live.action, live.due_at
            FROM live JOIN contacts AS k ON k.id = live.contact_id
            WHERE live.n = 1 AND k.archived = 0
            ORDER BY live.due_at, live.id
            LIMIT :limit OFFSET :offset
            """,
            params,
        )
        return [
            ClientRow(
                contact=_contact(row),
                step_id=row["step_id"],
                action=row["action"],
                due_at=_instant(row["due_at"]),
            )
            for row in rows
        ]

    # -- prospects due for a call ------------------------------------------------------------

    async def count_due(
        self, owner_id: int, now: datetime, after: datetime, before: datetime, *, cap: int
    ) -> DueCount:
        """Live prospects whose call-back date has come, and (up to ``cap``) never-called ones."""
        params = _window(owner_id, after, before) | {"now": to_ts(now), "cap": cap + 1}
        row = await self.db.fetchone(
            f"""
            SELECT
                (SELECT count(*) {_CALLBACKS_DUE}) AS callbacks,
                (SELECT count(*) FROM (SELECT 1 {_NEVER_CALLED} LIMIT :cap) AS capped)
                    AS never_called
            """,
            params,
        )
        assert row is not None
        never_called = int(row["never_called"])
        return DueCount(
            callbacks=int(row["callbacks"]),
            never_called=min(never_called, cap),
            capped=never_called > cap,
        )

    async def due(
        self,
        owner_id: int,
        now: datetime,
        after: datetime,
        before: datetime,
        *,
        offset: int,
        limit: int,
    ) -> list[DueRow]:
        """Call-backs whose date has come (earliest first), then the never called (oldest first).

        Archived contacts and clients are left out.
        """
        base = _window(owner_id, after, before) | {"now": to_ts(now)}
        return await self.db.scan(_due, base, offset, limit)

    # -- stop chasing ------------------------------------------------------------------------

    async def chase_candidates(
        self,
        owner_id: int,
        since: datetime,
        now: datetime,
        after: datetime,
        before: datetime,
        *,
        min_calls: int,
    ) -> list[ChaseCandidate]:
        """Live prospects called ``min_calls`` times or more since ``since``, with their history
        in that stretch (calls, and when balls came back), for the domain to judge."""
        params = _window(owner_id, after, before) | {
            "since": to_ts(since),
            "now": to_ts(now),
            "min_calls": min_calls,
        }
        return await self.db.scan(_chase_candidates, params)

    # -- one contact -------------------------------------------------------------------------

    async def contact_by_id(self, contact_id: int) -> Contact | None:
        """Whoever owns it: the caller checks the owner (to tell "not yours" from "gone")."""
        row = await self.db.one(f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ?", (contact_id,))
        return _contact(row) if row else None

    async def history(
        self, owner_id: int, contact_id: int, *, calls: int, steps: int
    ) -> ContactHistory:
        """The newest ``calls`` calls and ``steps`` Next Steps of one of the owner's contacts."""
        return await self.db.scan(_history, owner_id, contact_id, calls, steps)

    async def activity(
        self, owner_id: int, contact_id: int, since: datetime, now: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        """When one contact was called since ``since``, and when balls came back from them."""
        return await self.db.scan(_activity, owner_id, contact_id, to_ts(since), to_ts(now))

    async def search(
        self, owner_id: int, name_key: str, phone: str | None, *, limit: int
    ) -> list[Contact]:
        """The owner's contacts whose name contains ``name_key`` (or with this phone):
        the exact name first, live ones before archived ones."""
        rows = await self.db.fetchall(
            f"""SELECT {_CONTACT_COLS} FROM contacts
                WHERE owner_id = :owner
                  AND (name_key LIKE :pattern ESCAPE '\\'
                       OR phone = :phone)  -- no phone (NULL): equal to nothing
                ORDER BY name_key = :key DESC, archived, name_key, id
                LIMIT :limit""",
            {
                "owner": owner_id,
                "pattern": _like_pattern(name_key),
                "phone": phone,
                "key": name_key,
                "limit": limit,
            },
        )
        return [_contact(row) for row in rows]

    async def set_field(
        self, owner_id: int, contact_id: int, field: ContactField, value: str | None
    ) -> Contact | None:
        """Change (or clear, with ``None``) a contact's phone or company."""
        column = {"phone": "phone", "company": "company"}[field]
        return await self.db.transaction(_set_contact, owner_id, contact_id, column, value)

    async def set_archived(self, owner_id: int, contact_id: int, archived: bool) -> Contact | None:
        return await self.db.transaction(
            _set_contact, owner_id, contact_id, "archived", int(archived)
        )

    # -- import ------------------------------------------------------------------------------

    async def import_contacts(
        self,
        user: UserIn,
        *,
        phones: Sequence[str],
        name_keys: Sequence[str],
        plan: Callable[[list[Contact]], ImportPlan],
        now: datetime,
    ) -> ImportPlan:
        """Import contacts in one transaction: all of the file, or (on any error) none of it.

        The rep's contacts with one of ``phones`` or ``name_keys`` are read inside the
        transaction and handed to ``plan`` (called inside the unit of work, which runs on the
        writer's thread on SQLite: it must be pure, and must not touch the event loop), which
        says what to create and what to fill in.

        Handled again after a crash, the update gets the plan it committed back (the unit's
        result is recorded with it), so the rep's report is the one they would have seen, and
        nothing is imported twice.
        """
        return await self.db.bulk(_import_contacts, user, phones, name_keys, plan, now)

    # -- export ------------------------------------------------------------------------------

    async def export_data(self, owner_ids: Sequence[int]) -> ExportData:
        """The contacts, calls and Next Steps of these reps (one rep, or a whole team)."""
        return await self.db.scan(_export_data, list(owner_ids))

    # -- forgetting a user -------------------------------------------------------------------

    async def footprint(self, user_id: int) -> Footprint:
        row = await self.db.fetchone(
            """SELECT
                   (SELECT count(*) FROM contacts WHERE owner_id = :u) AS contacts,
                   (SELECT count(*) FROM calls WHERE owner_id = :u) AS calls,
                   (SELECT count(*) FROM next_steps WHERE owner_id = :u) AS steps""",
            {"u": user_id},
        )
        assert row is not None
        return Footprint(contacts=row["contacts"], calls=row["calls"], steps=row["steps"])

    async def forget_user(self, user_id: int) -> bool:
        """Delete everything stored about a user, in one transaction.

        Every table keyed by a user references ``users`` with ``ON DELETE CASCADE`` (contacts,
        and through them calls and Next Steps; flows; team memberships), so deleting the user's
        row deletes the rest. A team they set up stays the group's, without their name on it.
        Returns whether there was anything to delete (on a replay, what the first run said).
        """
        scope = effects.CURRENT.get()
        current = scope.update_id if scope is not None else None
        return await self.db.bulk(_forget_user, user_id, current)
