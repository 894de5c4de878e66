"""Exactly-once units of work for an update that may be handled more than once.

Every update goes through the durable inbox (``bot/inbox.py``): a crash can cut its handling
short anywhere, and on start it is handled again from the beginning. Whatever it had already
committed must not be applied twice, and yet the replay must reach the same reply as the first
run, which the rep may never have seen.

So while an update is handled, :data:`CURRENT` holds its :class:`UpdateScope`, and every write
transaction of the storage layer (``Database.transaction``) records its result in the same
transaction, under ``(update_id, seq)``: the n-th unit of work of that update. A replay
(``scope.replay``) looks the unit up first and, when it was committed, returns the recorded
result instead of running it again; the handler then goes on exactly as the first time did
and sends the reply. A unit is identified by its position *and* its name, so a replay that
takes another path (data changed meanwhile) runs the unit for real rather than returning
something that belongs to another one; the storage functions are written to be safe to
repeat in that case (a call is keyed by its Telegram message, an outcome is set once).

A unit whose repeat gives the same answer anyway (an upsert; a call keyed by its message; an
outcome or a Next Step that this very update saved, recognised by :func:`replaying`) is marked
:func:`repeatable` and not recorded: that keeps the pickle and the insert off the hot path.
Unit 0 is special: the rep's flow (the open question) as the update first found it, kept by
the first unit that changes it (:func:`keep_flow`), because the flow decides what a typed
answer means and the unit that saves a Next Step closes it.

The recorded results live only while the update is pending: they go when it is marked done.
They are pickled: they are the storage layer's own return values (pydantic models, enums,
tuples), written and read by the same process version in the seconds around a crash; one
that no longer loads (an upgrade in between) is treated as not recorded.
"""

from __future__ import annotations

import contextvars
import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from storage.sql import Conn

__all__ = [
    "CURRENT",
    "MISSING",
    "UpdateScope",
    "flow_before",
    "is_repeatable",
    "keep_flow",
    "recall",
    "record",
    "repeatable",
    "replaying",
]

log = logging.getLogger(__name__)

MISSING: Final = object()


@dataclass(slots=True)
class UpdateScope:
    """The update being handled, and how many units of work it has committed so far."""

    update_id: int
    replay: bool = False  # handled before (a crash, a retry): units may be recorded already
    seq: int = 0
    retry: bool = False  # a transient failure (the network): handle it again
    error: BaseException | None = None  # that failure
    recorded: bool = False  # something is in inbox_effects for it (to delete when done)

    def failed(self, error: BaseException) -> None:
        """The error handler saw a transient failure: the update is to be handled again."""
        self.retry = True
        self.error = error

    def next_unit(self) -> int:
        self.seq += 1
        return self.seq

    def restart(self) -> None:
        """Before handling the update again: the units are counted from the first one."""
        self.seq = 0
        self.retry = False
        self.error = None
        self.replay = True


CURRENT: contextvars.ContextVar[UpdateScope | None] = contextvars.ContextVar(
    "ballback_update", default=None
)

F = TypeVar("F", bound=Callable[..., Any])
_REPEATABLE = "__ballback_repeatable__"


def repeatable(fn: F) -> F:
    """Mark a unit of work that returns the same when it runs again for the same update (an
    upsert, a row keyed by the update's message): it is not recorded, which saves a pickle and
    an insert on the hot path. It still counts as a unit, so the others keep their numbers."""
    setattr(fn, _REPEATABLE, True)
    return fn


def is_repeatable(fn: Callable[..., Any]) -> bool:
    return getattr(fn, _REPEATABLE, False) is True


def replaying() -> bool:
    """The update being handled was handled before, up to a crash or a failed reply."""
    scope = CURRENT.get()
    return scope is not None and scope.replay


async def recall(conn: Conn, scope: UpdateScope, seq: int, name: str) -> Any:
    """The recorded result of unit ``seq`` of the scope's update, or :data:`MISSING`."""
    row = await conn.one(
        "SELECT name, result FROM inbox_effects WHERE update_id = ? AND seq = ?",
        (scope.update_id, seq),
    )
    if row is None:
        return MISSING
    if row[0] != name:
        log.info(
            "update %d: unit %d was %s, now %s: running it", scope.update_id, seq, row[0], name
        )
        return MISSING
    try:
        return pickle.loads(row[1])
    except Exception as exc:  # written by another version: run it again
        log.warning("update %d: unit %d not readable (%s): running it", scope.update_id, seq, exc)
        return MISSING


async def record(conn: Conn, scope: UpdateScope, seq: int, name: str, result: Any) -> None:
    """Record unit ``seq``'s result inside its own (still open) transaction.

    A result that cannot be pickled is not recorded (a replay then runs that unit again, so
    such a unit must be safe to repeat): the unit itself must not fail for it."""
    try:
        blob = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("update %d: result of %s not recorded: %s", scope.update_id, name, exc)
        return
    await conn.run(
        "INSERT INTO inbox_effects (update_id, seq, name, result) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (update_id, seq) DO UPDATE SET name = excluded.name, "
        "result = excluded.result",
        (scope.update_id, seq, name, blob),
    )
    scope.recorded = True


async def keep_flow(conn: Conn, scope: UpdateScope, flow: dict[str, Any] | None) -> None:
    """Keep the rep's flow (the open question, which decides what a typed answer or a flow
    button means) as the update first found it, before a unit of work changes it: only the
    first call during the update's handlings counts. A replay reads it back with
    :func:`flow_before`, so it takes the path the first run took. It is unit 0."""
    await conn.run(
        "INSERT INTO inbox_effects (update_id, seq, name, result) VALUES (?, 0, ?, ?) "
        "ON CONFLICT (update_id, seq) DO NOTHING",
        (scope.update_id, "flow", pickle.dumps(flow, pickle.HIGHEST_PROTOCOL)),
    )
    scope.recorded = True


async def flow_before(conn: Conn, scope: UpdateScope) -> tuple[Any] | None:
    """``(flow,)`` kept by :func:`keep_flow` in an earlier handling, or ``None``."""
    row = await conn.one(
        "SELECT result FROM inbox_effects WHERE update_id = ? AND seq = 0 AND name = 'flow'",
        (scope.update_id,),
    )
    return None if row is None else (pickle.loads(row[0]),)
