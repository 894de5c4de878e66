"""The durable inbox's rows: updates stored on arrival, marked done when handled.

Every statement here is a small indexed write or read on the update's path, so it runs inline
(``Database.transaction`` / ``read``), except pruning, which may touch many rows and runs as a bulk
unit (on SQLite, on the writer's thread).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.models import to_ts
from storage.sql import Conn, Row

__all__ = ["Arrival", "InboxStore", "Pending"]


@dataclass(frozen=True, slots=True)
class Arrival:
    """An update as it arrived: its id, whose order it keeps, who sent it, its JSON."""

    update_id: int
    chat_id: int | None
    user_id: int | None
    payload: str


@dataclass(frozen=True, slots=True)
class Pending:
    """An update stored and not yet handled to the end."""

    update_id: int
    chat_id: int | None
    user_id: int | None
    payload: str
    attempts: int


async def _store(conn: Conn, arrivals: Sequence[Arrival], ts: int) -> None:
    await conn.many(
        "INSERT INTO inbox (update_id, chat_id, user_id, payload, received_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
        [(a.update_id, a.chat_id, a.user_id, a.payload, ts) for a in arrivals],
    )


async def _known(conn: Conn, update_ids: list[int]) -> list[Row]:
    return await conn.all(
        "SELECT update_id FROM inbox WHERE update_id IN (SELECT value FROM json_each(?))",
        (update_ids,),
    )


async def _finish(conn: Conn, update_id: int, outcome: str, ts: int, recorded: bool = True) -> None:
    await conn.run(
        "UPDATE inbox SET done_at = ?, outcome = ?, payload = NULL WHERE update_id = ?",
        (ts, outcome, update_id),
    )
    if recorded:
        await conn.run("DELETE FROM inbox_effects WHERE update_id = ?", (update_id,))


async def _reopen(conn: Conn) -> list[Pending]:
    """The pending updates, oldest first; the first of each chat counted as cut short."""
    rows = await conn.all(
        "SELECT update_id, chat_id, user_id, payload, attempts FROM inbox "
        "WHERE done_at IS NULL ORDER BY update_id"
    )
    heads: dict[int | None, int] = {}
    for row in rows:
        key = row[1] if row[1] is not None else row[2]
        if key is None or key not in heads:
            heads[key] = row[0]
    started = [update_id for update_id in heads.values()]
    await conn.many(
        "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", [(u,) for u in started]
    )
    bumped = set(started)
    return [Pending(r[0], r[1], r[2], r[3], r[4] + (1 if r[0] in bumped else 0)) for r in rows]


async def _turn(conn: Conn, key: int, update_id: int) -> tuple[bool, list[Pending]]:
    """Whether ``update_id`` is done, and the updates of chat ``key`` before it still
    pending (stored by another instance, or left by one that died), oldest first."""
    done = await conn.one(
        "SELECT 1 FROM inbox WHERE update_id = ? AND done_at IS NOT NULL", (update_id,)
    )
    rows = await conn.all(
        "SELECT update_id, chat_id, user_id, payload, attempts FROM inbox "
        "WHERE done_at IS NULL AND update_id < ? AND coalesce(chat_id, user_id) = ? "
        "ORDER BY update_id",
        (update_id, key),
    )
    return done is not None, [Pending(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def _stale(conn: Conn, before: int) -> list[Pending]:
    """The first pending update of each chat whose updates wait since before ``before``,
    each counted as an attempt cut short (its instance died, or is stuck)."""
    rows = await conn.all(
        "SELECT update_id, chat_id, user_id, payload, attempts FROM inbox AS i "
        "WHERE done_at IS NULL AND received_at < ? AND NOT EXISTS ("
        "SELECT 1 FROM inbox AS e WHERE e.done_at IS NULL AND e.update_id < i.update_id "
        "AND coalesce(e.chat_id, e.user_id) = coalesce(i.chat_id, i.user_id)) "
        "ORDER BY update_id",
        (before,),
    )
    await conn.many(
        "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", [(r[0],) for r in rows]
    )
    return [Pending(r[0], r[1], r[2], r[3], r[4] + 1) for r in rows]


async def _prune(conn: Conn, before: int) -> int:
    return await conn.run("DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < ?", (before,))


class _Arrivals:
    """Rider: updates stored on arrival (``on_commit`` hears when they are)."""

    __slots__ = ("arrivals", "on_commit", "ts")

    def __init__(
        self, arrivals: Sequence[Arrival], ts: int, on_commit: Callable[[Sequence[Arrival]], None]
    ) -> None:
        self.arrivals = arrivals
        self.ts = ts
        self.on_commit = on_commit

    async def write(self, conn: Conn) -> None:
        await _store(conn, self.arrivals, self.ts)

    def committed(self) -> None:
        self.on_commit(self.arrivals)


class _Done:
    """Rider: an update whose handling is over."""

    __slots__ = ("outcome", "recorded", "ts", "update_id")

    def __init__(self, update_id: int, outcome: str, ts: int, recorded: bool) -> None:
        self.update_id = update_id
        self.outcome = outcome
        self.ts = ts
        self.recorded = recorded

    async def write(self, conn: Conn) -> None:
        await _finish(conn, self.update_id, self.outcome, self.ts, self.recorded)

    def committed(self) -> None:
        pass


class InboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def highest(self) -> int:
        """The highest update id stored (0 when none is)."""
        row = await self.db.fetchone("SELECT max(update_id) FROM inbox")
        return int(row[0]) if row and row[0] is not None else 0

    async def known(self, update_ids: Sequence[int]) -> set[int]:
        """Which of these updates are stored already (handled, or waiting to be)."""
        if len(update_ids) == 1:
            row = await self.db.one("SELECT 1 FROM inbox WHERE update_id = ?", update_ids)
            return set(update_ids) if row else set()
        rows = await self.db.read(_known, list(update_ids))
        return {row[0] for row in rows}

    def store_soon(
        self,
        arrivals: Sequence[Arrival],
        now: datetime,
        on_commit: Callable[[Sequence[Arrival]], None],
    ) -> None:
        """Store the updates with the next write transaction (the first unit of work of the
        first of them, usually), or on their own a few milliseconds from now."""
        self.db.ride(_Arrivals(arrivals, to_ts(now), on_commit))

    def finish_soon(
        self, update_id: int, now: datetime, outcome: str = "ok", recorded: bool = True
    ) -> None:
        """The update's handling is over: recorded with the next write transaction (the next
        update's, usually), or on its own a few milliseconds from now. ``recorded``: units
        of work recorded results for it, to be deleted."""
        self.db.ride(_Done(update_id, outcome, to_ts(now), recorded))

    async def finish(
        self, update_id: int, now: datetime, outcome: str = "ok", recorded: bool = True
    ) -> None:
        """The update's handling is over (replies included): it is not handled again, now."""
        await self.db.bookkeeping(_finish, update_id, outcome, to_ts(now), recorded)

    async def reopen(self) -> list[Pending]:
        """On start: the updates that were stored and not finished, oldest first.

        Updates of one chat are handled strictly in order, so only the first pending update
        of each chat can have been under way when the process died: its ``attempts`` is
        raised here, which is how an update that kills the process every time is found.
        """
        return await self.db.bookkeeping(_reopen)

    async def turn(self, key: int, update_id: int) -> tuple[bool, list[Pending]]:
        """With several instances, inside chat ``key``'s turn: whether ``update_id`` was
        handled already (by another instance), and the chat's earlier updates that wait."""
        return await self.db.read(_turn, key, update_id)

    async def stale(self, before: datetime) -> list[Pending]:
        """With several instances: the first waiting update of each chat that has waited
        since before ``before`` (its instance died), an attempt counted against it."""
        return await self.db.bookkeeping(_stale, to_ts(before))

    async def prune(self, before: datetime) -> int:
        """Forget updates handled before ``before``: long enough for Telegram's redeliveries
        of an unconfirmed batch to be recognised as handled."""
        return await self.db.bulk(_prune, to_ts(before))


async def forget(conn: Conn, user_id: int, current: int | None = None) -> None:
    """Delete the updates the user sent, and those of their private chat (``/forget``).

    The update doing the forgetting (``current``) stays until it is handled, so that a crash
    cannot lose its reply, but no longer says whose it is; its JSON goes when it is done."""
    await conn.run(
        "DELETE FROM inbox_effects WHERE update_id IN (SELECT update_id FROM inbox "
        "WHERE (user_id = ?1 OR chat_id = ?1) AND update_id IS NOT ?2)",
        (user_id, current),
    )
    await conn.run(
        "DELETE FROM inbox WHERE (user_id = ?1 OR chat_id = ?1) AND update_id IS NOT ?2",
        (user_id, current),
    )
    await conn.run(
        "UPDATE inbox SET user_id = NULL, chat_id = NULL WHERE update_id = ?", (current,)
    )
