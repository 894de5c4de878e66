"""The storage API: every query the bot runs, each write in one transaction.

Handlers and the scheduler talk to :class:`Store` only; nothing outside ``storage/`` writes SQL.
Arguments are plain values and results are pydantic models, so another backend can implement the
same methods later without touching a handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.domain.rules import Moment
from storage import effects
from storage.db import Database
from storage.models import (
    Call,
    Contact,
    DayStats,
    Flow,
    LoggedCall,
    NextStep,
    UndoTarget,
    User,
    UserIn,
    from_ts,
    to_ts,
)
from storage.sql import Conn, Row
from storage.teams import TeamStore

if TYPE_CHECKING:
    from storage.inbox import InboxStore
    from storage.pipeline import PipelineStore
    from storage.rhythm import RhythmStore

_CONTACT_COLS = "id, owner_id, name, company, phone, note, callback_at, archived, created_at"
_CALL_COLS = "id, owner_id, contact_id, at, outcome, note"
_STEP_COLS = (
    "s.id, s.owner_id, s.contact_id, s.call_id, s.action, s.due_at, s.kind, s.status, "
    "s.created_at, c.name AS contact_name, c.company AS contact_company"
)


class OutcomeResult(StrEnum):
    SAVED = "saved"
    ALREADY = "already"  # the same outcome was saved before (a double tap)
    DIFFERENT = "different"  # another outcome was saved before
    NOT_FOUND = "not_found"  # no such call (undone, or a stale button)
    NOT_OWNER = "not_owner"  # somebody else's call


class UndoResult(StrEnum):
    DONE = "done"
    GONE = "gone"  # no such entry (already undone, or never was)
    NOT_OWNER = "not_owner"  # somebody else's entry: nothing changed
    TOO_OLD = "too_old"  # outside the undo window: nothing changed


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        username=row["username"],
        language_code=row["language_code"],
        lang=row["lang"],
        tz=row["tz"],
        started_at=from_ts(row["started_at"]),
    )


def _contact(row: Row) -> Contact:
    return Contact(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        company=row["company"],
        phone=row["phone"],
        note=row["note"],
        callback_at=from_ts(row["callback_at"]),
        archived=bool(row["archived"]),
        created_at=from_ts(row["created_at"]),
    )


def _call(row: Row) -> Call:
    return Call(
        id=row["id"],
        owner_id=row["owner_id"],
        contact_id=row["contact_id"],
        at=from_ts(row["at"]),
        outcome=row["outcome"],
        note=row["note"],
    )


def _step(row: Row) -> NextStep:
    return NextStep(
        id=row["id"],
        owner_id=row["owner_id"],
        contact_id=row["contact_id"],
        call_id=row["call_id"],
        action=row["action"],
        due_at=from_ts(row["due_at"]),
        kind=row["kind"],
        status=row["status"],
        created_at=from_ts(row["created_at"]),
        contact_name=row["contact_name"],
        contact_company=row["contact_company"],
    )


# -- units of work -------------------------------------------------------------------------------
# Each runs as one transaction (Database.transaction), on either backend (storage/sql.py).


_UPSERT_USER = """
    INSERT INTO users (id, first_name, last_name, username, language_code,
                       started_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        first_name = excluded.first_name, last_name = excluded.last_name,
        username = excluded.username, language_code = excluded.language_code,
        updated_at = excluded.updated_at
    WHERE users.first_name IS NOT excluded.first_name
       OR users.last_name IS NOT excluded.last_name
       OR users.username IS NOT excluded.username
       OR users.language_code IS NOT excluded.language_code
"""


async def _upsert_user(conn: Conn, user: UserIn, now: datetime) -> None:
    ts = to_ts(now)
    await conn.run(
        _UPSERT_USER,
        (user.id, user.first_name, user.last_name, user.username, user.language_code, ts, ts),
    )


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


async def _ensure_contact(
    conn: Conn,
    owner_id: int,
    *,
    name: str,
    name_key: str,
    company: str | None,
    phone: str | None,
    now: datetime,
) -> Contact:
    """The owner's contact with this name (or, failing that, this phone), created if new.

    A phone or company given again fills in or corrects what was stored.
    """
    row = await conn.one(
        f"SELECT {_CONTACT_COLS} FROM contacts WHERE owner_id = ? AND name_key = ?",
        (owner_id, name_key),
    )
    if row is None and phone is not None:
        row = await conn.one(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE owner_id = ? AND phone = ? "
            "ORDER BY archived, id LIMIT 1",
            (owner_id, phone),
        )
        if row is not None and _has_letters(name) and not _has_letters(row["name"]):
            # First logged by the number alone: it gets the real name now.
            row = await conn.one(
                f"UPDATE contacts SET name = ?, name_key = ? WHERE id = ? "
                f"RETURNING {_CONTACT_COLS}",
                (name, name_key, row["id"]),
            )
    if row is None:
        row = await conn.one(
            f"""INSERT INTO contacts (owner_id, name, name_key, company, phone, created_at)
                VALUES (?, ?, ?, ?, ?, ?) RETURNING {_CONTACT_COLS}""",
            (owner_id, name, name_key, company, phone, to_ts(now)),
        )
    elif (phone and phone != row["phone"]) or (company and company != row["company"]):
        row = await conn.one(
            f"""UPDATE contacts SET phone = coalesce(?, phone), company = coalesce(?, company),
                archived = 0 WHERE id = ? RETURNING {_CONTACT_COLS}""",
            (phone, company, row["id"]),
        )
    assert row is not None
    return _contact(row)


async def _call_by_source(conn: Conn, src_chat: int, src_message: int) -> LoggedCall | None:
    row = await conn.one(
        f"SELECT {_CALL_COLS} FROM calls WHERE src_chat = ? AND src_message = ?",
        (src_chat, src_message),
    )
    if row is None:
        return None
    contact = await conn.one(
        f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ?", (row["contact_id"],)
    )
    assert contact is not None
    return LoggedCall(call=_call(row), contact=_contact(contact), created=False)


async def _insert_call(
    conn: Conn,
    contact: Contact,
    note: str | None,
    when: Moment,
    src_chat: int,
    src_message: int,
) -> LoggedCall:
    row = await conn.one(
        f"""INSERT INTO calls (owner_id, contact_id, at, day, in_block, note, src_chat,
                               src_message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_CALL_COLS}""",
        (
            contact.owner_id,
            contact.id,
            to_ts(when.at),
            when.day.toordinal(),
            int(when.in_block),
            note,
            src_chat,
            src_message,
        ),
    )
    assert row is not None
    return LoggedCall(call=_call(row), contact=contact, created=True)


@effects.repeatable
async def _log_call(
    conn: Conn,
    user: UserIn,
    *,
    name: str,
    name_key: str,
    company: str | None,
    phone: str | None,
    note: str | None,
    when: Moment,
    src_chat: int,
    src_message: int,
) -> LoggedCall:
    existing = await _call_by_source(conn, src_chat, src_message)
    if existing is not None:  # this message logged it: a double delivery, or this update's replay
        return existing.model_copy(update={"created": effects.replaying()})
    await _upsert_user(conn, user, when.at)
    contact = await _ensure_contact(
        conn, user.id, name=name, name_key=name_key, company=company, phone=phone, now=when.at
    )
    return await _insert_call(conn, contact, note, when, src_chat, src_message)


@effects.repeatable
async def _log_call_to(
    conn: Conn,
    user: UserIn,
    contact_id: int,
    when: Moment,
    src_chat: int,
    src_message: int,
) -> LoggedCall | None:
    existing = await _call_by_source(conn, src_chat, src_message)
    if existing is not None:
        return existing
    row = await conn.one(
        f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ? AND owner_id = ?",
        (contact_id, user.id),
    )
    if row is None:
        return None
    await _upsert_user(conn, user, when.at)
    return await _insert_call(conn, _contact(row), None, when, src_chat, src_message)


@effects.repeatable
async def _set_outcome(
    conn: Conn, owner_id: int, call_id: int, outcome: str
) -> tuple[OutcomeResult, Call | None, Contact | None]:
    row = await conn.one(f"SELECT {_CALL_COLS} FROM calls WHERE id = ?", (call_id,))
    if row is None:
        return OutcomeResult.NOT_FOUND, None, None
    if row["owner_id"] != owner_id:
        return OutcomeResult.NOT_OWNER, None, None
    contact_row = await conn.one(
        f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ?", (row["contact_id"],)
    )
    contact = _contact(contact_row) if contact_row else None
    if row["outcome"] is not None:
        same = row["outcome"] == outcome
        if same and effects.replaying():  # saved by this very press before a crash
            return OutcomeResult.SAVED, _call(row), contact
        result = OutcomeResult.ALREADY if same else OutcomeResult.DIFFERENT
        return result, _call(row), contact
    row = await conn.one(
        f"UPDATE calls SET outcome = ? WHERE id = ? RETURNING {_CALL_COLS}",
        (outcome, call_id),
    )
    assert row is not None
    return OutcomeResult.SAVED, _call(row), contact


@effects.repeatable
async def _save_next_step(
    conn: Conn,
    owner_id: int,
    *,
    contact_id: int,
    call_id: int | None,
    action: str,
    due_at: datetime,
    kind: str,
    when: Moment,
    src_chat: int,
    src_message: int,
    replaces: int | None,
) -> NextStep | None:
    owned = await conn.one(
        "SELECT 1 FROM contacts WHERE id = ? AND owner_id = ?", (contact_id, owner_id)
    )
    if owned is None:
        return None
    row = await conn.one(
        """INSERT INTO next_steps (owner_id, contact_id, call_id, action, due_at, kind,
                                   created_at, day, src_chat, src_message)
           -- the call may have been undone meanwhile: then the step stands alone
           VALUES (?1, ?2, (SELECT id FROM calls WHERE id = ?3 AND owner_id = ?1),
                   ?4, ?5, ?6, ?7, ?8, ?9, ?10)
           ON CONFLICT (src_chat, src_message) DO NOTHING
           RETURNING id""",
        (
            owner_id,
            contact_id,
            call_id,
            action,
            to_ts(due_at),
            kind,
            to_ts(when.at),
            when.day.toordinal(),
            src_chat,
            src_message,
        ),
    )
    if row is None:  # this message saved one already
        if not effects.replaying():  # a double delivery: nothing more to say
            return None
        row = await conn.one(  # this very update saved it before a crash: the same answer
            "SELECT id FROM next_steps WHERE src_chat = ? AND src_message = ?",
            (src_chat, src_message),
        )
        assert row is not None
    step_id = row["id"]
    if replaces is not None:
        await conn.run(
            "UPDATE next_steps SET status = 'rescheduled' "
            "WHERE id = ? AND owner_id = ? AND status = 'open'",
            (replaces, owner_id),
        )
    if call_id is not None and kind == "ball":
        await conn.run(
            "UPDATE calls SET outcome = 'ns' WHERE id = ? AND owner_id = ? AND outcome IS NULL",
            (call_id, owner_id),
        )
    if kind == "ball":
        await conn.run(
            "UPDATE contacts SET callback_at = NULL, archived = 0 WHERE id = ?", (contact_id,)
        )
    await _flow_changes(conn, owner_id)
    await conn.run("DELETE FROM flows WHERE user_id = ?", (owner_id,))
    step = await conn.one(
        f"SELECT {_STEP_COLS} FROM next_steps AS s JOIN contacts AS c "
        "ON c.id = s.contact_id WHERE s.id = ?",
        (step_id,),
    )
    assert step is not None
    return _step(step)


async def _undo(
    conn: Conn, owner_id: int, is_call: bool, item_id: int, since: datetime
) -> UndoResult:
    if is_call:
        sql = "SELECT owner_id, contact_id, at, NULL AS call_id FROM calls WHERE id = ?"
    else:
        sql = "SELECT owner_id, contact_id, created_at AS at, call_id FROM next_steps WHERE id = ?"
    row = await conn.one(sql, (item_id,))
    if row is None:
        return UndoResult.GONE
    if row["owner_id"] != owner_id:
        return UndoResult.NOT_OWNER
    if row["at"] < to_ts(since):
        return UndoResult.TOO_OLD
    table = "calls" if is_call else "next_steps"
    await conn.run(f"DELETE FROM {table} WHERE id = ?", (item_id,))
    if row["call_id"] is not None:
        await conn.run(
            """UPDATE calls SET outcome = NULL WHERE id = ?1 AND outcome = 'ns'
               AND NOT EXISTS (SELECT 1 FROM next_steps WHERE call_id = ?1 AND kind = 'ball')""",
            (row["call_id"],),
        )
    await conn.run(
        """DELETE FROM contacts WHERE id = ?1 AND created_at >= ?2
           AND NOT EXISTS (SELECT 1 FROM calls WHERE contact_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM next_steps WHERE contact_id = ?1)""",
        (row["contact_id"], to_ts(since)),
    )
    return UndoResult.DONE


async def _flow_changes(conn: Conn, user_id: int) -> None:
    """Before a unit of work changes the user's flow: while an update is handled, keep the
    flow as the update found it, so that a replay of the update reads the same question
    (the flow is what decides what a typed answer or a flow button means)."""
    scope = effects.CURRENT.get()
    if scope is None:
        return
    row = await conn.one("SELECT * FROM flows WHERE user_id = ?", (user_id,))
    await effects.keep_flow(conn, scope, dict(row) if row is not None else None)


@effects.repeatable
async def _clear_flow(conn: Conn, user_id: int) -> None:
    await _flow_changes(conn, user_id)
    await conn.run("DELETE FROM flows WHERE user_id = ?", (user_id,))


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.teams = TeamStore(db)  # teams, membership and team activity (storage/teams.py)

    @property
    def pipeline(self) -> PipelineStore:
        """Clients and prospects, the contact card, import, export and forgetting a user."""
        from storage.pipeline import PipelineStore

        return PipelineStore(self.db)

    @property
    def inbox(self) -> InboxStore:
        """The durable inbox: updates stored on arrival, until handled."""
        from storage.inbox import InboxStore

        return InboxStore(self.db)

    @property
    def rhythm(self) -> RhythmStore:
        """The daily rhythm: the outbox, reminders on/off, days away, a team's own calendar."""
        from storage.rhythm import RhythmStore

        return RhythmStore(self.db)

    # -- users -------------------------------------------------------------------------------

    async def register_user(self, user: UserIn, now: datetime) -> User:
        @effects.repeatable
        async def work(conn: Conn) -> User:
            await _upsert_user(conn, user, now)
            row = await conn.one("SELECT * FROM users WHERE id = ?", (user.id,))
            assert row is not None
            return _user(row)

        return await self.db.transaction(work)

    async def get_user(self, user_id: int) -> User | None:
        row = await self.db.one("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    async def set_user_tz(self, user_id: int, tz: str | None) -> bool:
        """Set (or with ``None`` clear) the rep's own IANA time zone; ``False`` if no such user."""

        @effects.repeatable
        async def work(conn: Conn) -> bool:
            return await conn.run("UPDATE users SET tz = ? WHERE id = ?", (tz, user_id)) == 1

        return await self.db.transaction(work)

    # -- contacts ----------------------------------------------------------------------------

    async def ensure_contact(
        self,
        user: UserIn,
        *,
        name: str,
        name_key: str,
        company: str | None,
        phone: str | None,
        now: datetime,
    ) -> Contact:
        @effects.repeatable
        async def work(conn: Conn) -> Contact:
            await _upsert_user(conn, user, now)
            return await _ensure_contact(
                conn, user.id, name=name, name_key=name_key, company=company, phone=phone, now=now
            )

        return await self.db.transaction(work)

    async def get_contact(self, owner_id: int, contact_id: int) -> Contact | None:
        row = await self.db.one(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ? AND owner_id = ?",
            (contact_id, owner_id),
        )
        return _contact(row) if row else None

    async def find_contact(self, owner_id: int, name_key: str) -> Contact | None:
        row = await self.db.one(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE owner_id = ? AND name_key = ?",
            (owner_id, name_key),
        )
        return _contact(row) if row else None

    async def recent_contacts(self, owner_id: int, limit: int = 8) -> list[Contact]:
        """The rep's most recently called (or added) live contacts, newest first."""
        rows = await self.db.fetchall(
            f"""
            SELECT {_CONTACT_COLS} FROM contacts AS k
            WHERE owner_id = ? AND archived = 0
            ORDER BY coalesce((SELECT max(at) FROM calls WHERE contact_id = k.id), created_at)
                     DESC, id DESC
            LIMIT ?
            """,
            (owner_id, limit),
        )
        return [_contact(row) for row in rows]

    # -- calls -------------------------------------------------------------------------------

    async def log_call(
        self,
        user: UserIn,
        *,
        name: str,
        name_key: str,
        company: str | None,
        phone: str | None,
        note: str | None,
        when: Moment,
        src_chat: int,
        src_message: int,
    ) -> LoggedCall:
        """Log one dial. The same Telegram message logs it once, however often it arrives.

        ``when`` is the moment as it counts for the rep in reports: their local day then, and
        whether it fell in their calling block.
        """
        return await self.db.transaction(
            _log_call,
            user,
            name=name,
            name_key=name_key,
            company=company,
            phone=phone,
            note=note,
            when=when,
            src_chat=src_chat,
            src_message=src_message,
        )

    async def log_call_to(
        self,
        user: UserIn,
        contact_id: int,
        *,
        when: Moment,
        src_chat: int,
        src_message: int,
    ) -> LoggedCall | None:
        """Log a dial to a contact the rep already has; ``None`` if it is not theirs."""
        return await self.db.transaction(
            _log_call_to, user, contact_id, when, src_chat, src_message
        )

    async def get_call(self, call_id: int) -> Call | None:
        row = await self.db.one(f"SELECT {_CALL_COLS} FROM calls WHERE id = ?", (call_id,))
        return _call(row) if row else None

    async def set_outcome(
        self, owner_id: int, call_id: int, outcome: str
    ) -> tuple[OutcomeResult, Call | None, Contact | None]:
        """Record what happened on a call, once: a second tap changes nothing."""
        return await self.db.transaction(_set_outcome, owner_id, call_id, outcome)

    async def set_callback(self, owner_id: int, contact_id: int, when: datetime | None) -> bool:
        @effects.repeatable
        async def work(conn: Conn) -> bool:
            changed = await conn.run(
                "UPDATE contacts SET callback_at = ? WHERE id = ? AND owner_id = ?",
                (to_ts(when) if when else None, contact_id, owner_id),
            )
            return changed == 1

        return await self.db.transaction(work)

    # -- Next Steps --------------------------------------------------------------------------

    async def save_next_step(
        self,
        owner_id: int,
        *,
        contact_id: int,
        call_id: int | None,
        action: str,
        due_at: datetime,
        kind: str,
        when: Moment,
        src_chat: int,
        src_message: int,
        replaces: int | None = None,
    ) -> NextStep | None:
        """Store a Next Step and close the flow that built it, in one transaction.

        ``when`` is now as it counts for the rep: a ball counts as come back on its day.

        ``replaces`` is the owner's open Next Step this one reschedules: it is marked
        ``rescheduled`` in the same transaction.

        Returns ``None`` when the same message already saved one (a redelivery or double tap)
        or when the contact is not the owner's.
        """
        return await self.db.transaction(
            _save_next_step,
            owner_id,
            contact_id=contact_id,
            call_id=call_id,
            action=action,
            due_at=due_at,
            kind=kind,
            when=when,
            src_chat=src_chat,
            src_message=src_message,
            replaces=replaces,
        )

    async def next_steps_due(self, owner_id: int, start: datetime, end: datetime) -> list[NextStep]:
        rows = await self.db.fetchall(
            f"""SELECT {_STEP_COLS} FROM next_steps AS s JOIN contacts AS c ON c.id = s.contact_id
                WHERE s.owner_id = ? AND s.status = 'open' AND s.due_at >= ? AND s.due_at < ?
                ORDER BY s.due_at, s.id""",
            (owner_id, to_ts(start), to_ts(end)),
        )
        return [_step(row) for row in rows]

    # -- the day -----------------------------------------------------------------------------

    async def day_stats(
        self, owner_id: int, start: datetime, end: datetime, polite_nos: Iterable[str]
    ) -> DayStats:
        codes = sorted(polite_nos)
        params: dict[str, Any] = {"owner": owner_id, "start": to_ts(start), "end": to_ts(end)}
        params.update({f"c{i}": code for i, code in enumerate(codes)})
        marks = ", ".join(f":c{i}" for i in range(len(codes))) or "NULL"
        row = await self.db.one(
            f"""
            SELECT
                (SELECT count(*) FROM next_steps WHERE owner_id = :owner AND kind = 'ball'
                    AND created_at >= :start AND created_at < :end) AS balls,
                count(*) AS calls,
                count(*) FILTER (WHERE outcome IN ({marks})) AS polite_nos,
                count(*) FILTER (WHERE outcome IS NULL) AS open_calls
            FROM calls WHERE owner_id = :owner AND at >= :start AND at < :end
            """,
            params,
        )
        assert row is not None
        return DayStats(
            calls=row["calls"],
            balls=row["balls"],
            polite_nos=row["polite_nos"],
            open_calls=row["open_calls"],
        )

    # -- guided flows ------------------------------------------------------------------------

    async def get_flow(self, user_id: int) -> Flow | None:
        row: Any = await self.db.one("SELECT * FROM flows WHERE user_id = ?", (user_id,))
        if replayed := await self.db.flow_before():  # as this update first found it
            (row,) = replayed
        if row is None:
            return None
        return Flow(
            user_id=row["user_id"],
            kind=row["kind"],
            data=json.loads(row["data"]),
            message_id=row["message_id"],
            updated_at=from_ts(row["updated_at"]),
        )

    async def put_flow(
        self,
        user: UserIn,
        kind: str,
        data: dict[str, Any],
        now: datetime,
        message_id: int | None = None,
    ) -> None:
        @effects.repeatable
        async def work(conn: Conn) -> None:
            await _upsert_user(conn, user, now)
            await _flow_changes(conn, user.id)
            await conn.run(
                """INSERT INTO flows (user_id, kind, data, message_id, updated_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind,
                       data = excluded.data, updated_at = excluded.updated_at,
                       message_id = coalesce(excluded.message_id, flows.message_id)""",
                (user.id, kind, json.dumps(data), message_id, to_ts(now)),
            )

        await self.db.transaction(work)

    async def clear_flow(self, user_id: int) -> Flow | None:
        flow = await self.get_flow(user_id)
        await self.db.transaction(_clear_flow, user_id)
        return flow

    # -- column choices for imports ------------------------------------------------------------

    async def import_mapping(self, user_id: int, header_key: str) -> dict[str, Any] | None:
        """The column choice the rep saved for tables with this header row (JSON), if any."""
        row = await self.db.one(
            "SELECT mapping FROM import_mappings WHERE user_id = ? AND header_key = ?",
            (user_id, header_key),
        )
        if row is None:
            return None
        data = json.loads(row["mapping"])
        return data if isinstance(data, dict) else None

    async def finish_import_mapping(
        self, user: UserIn, header_key: str, mapping: dict[str, Any] | None, now: datetime
    ) -> None:
        """Close the rep's column question and, with a ``mapping``, keep it for the next file
        with this header row, in one transaction."""

        @effects.repeatable
        async def work(conn: Conn) -> None:
            await _upsert_user(conn, user, now)
            if mapping is not None:
                await conn.run(
                    """INSERT INTO import_mappings (user_id, header_key, mapping, created_at)
                       VALUES (?, ?, ?, ?)
                       ON CONFLICT (user_id, header_key) DO UPDATE SET
                           mapping = excluded.mapping, created_at = excluded.created_at""",
                    (user.id, header_key, json.dumps(mapping), to_ts(now)),
                )
            await _clear_flow(conn, user.id)

        await self.db.transaction(work)

    async def forget_import_mappings(self, user_id: int) -> int:
        """Forget every column choice the rep saved; how many there were."""

        async def work(conn: Conn) -> int:
            return await conn.run("DELETE FROM import_mappings WHERE user_id = ?", (user_id,))

        return await self.db.transaction(work)

    # -- undo --------------------------------------------------------------------------------

    _UNDOABLE = """
        SELECT * FROM (
            SELECT 'call' AS kind, l.id, l.owner_id, l.at AS at, k.name AS contact_name,
                   l.outcome AS detail
            FROM calls AS l JOIN contacts AS k ON k.id = l.contact_id
            UNION ALL
            SELECT 'step', s.id, s.owner_id, s.created_at, k.name, s.action
            FROM next_steps AS s JOIN contacts AS k ON k.id = s.contact_id
        ) AS undoable
    """

    @staticmethod
    def _undo_target(row: Row) -> UndoTarget:
        return UndoTarget(
            kind=row["kind"],
            id=row["id"],
            owner_id=row["owner_id"],
            at=from_ts(row["at"]),
            contact_name=row["contact_name"],
            detail=row["detail"],
        )

    async def last_undoable(self, owner_id: int, since: datetime) -> UndoTarget | None:
        """The rep's newest call or Next Step logged at or after ``since``."""
        row = await self.db.fetchone(
            f"""{self._UNDOABLE} WHERE owner_id = ?1 AND at >= ?2
                ORDER BY at DESC, kind = 'call', id DESC LIMIT 1""",
            (owner_id, to_ts(since)),
        )
        return self._undo_target(row) if row else None

    async def undo_target(self, kind: str, item_id: int) -> UndoTarget | None:
        """The call (``kind='call'``) or Next Step (``'step'``) with this id, whoever owns it."""
        row = await self.db.fetchone(
            f"{self._UNDOABLE} WHERE kind = ? AND id = ?",
            ("call" if kind == "call" else "step", item_id),
        )
        return self._undo_target(row) if row else None

    async def undo(self, owner_id: int, kind: str, item_id: int, since: datetime) -> UndoResult:
        """Delete the rep's own recent call (with the Next Steps it produced) or Next Step.

        A Next Step that had marked its call as a ball gives the call back its open outcome,
        and a contact that only this entry had brought in goes with it.
        """
        return await self.db.transaction(_undo, owner_id, kind == "call", item_id, since)
