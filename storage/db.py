"""One SQLite file, one writer.

aiosqlite runs each connection on its own thread, and every task that shares a connection shares
its transaction: if task A has inserted half a unit of work and task B commits, A's half is
committed too. So all writes go through :meth:`Database.write`, which holds an asyncio lock for
the whole ``BEGIN IMMEDIATE ... COMMIT`` on the single writer connection. ``IMMEDIATE`` takes the
write lock up front, so a second process (a backup, a second instance started by mistake) waits
on ``busy_timeout`` instead of failing half-way with SQLITE_BUSY.

Reads that need no transaction go to a second connection: in WAL mode readers never block the
writer and only ever see committed data.

The hot path runs inline. Every ``await`` on an aiosqlite connection is a round trip to its
thread: a queue put, a thread wake-up, a callback back into the event loop, and while it is out
the loop runs whatever else is ready, so one round trip costs 0.05-1 ms of latency, and a
cursor-based query takes three. The queries on every update's path are indexed lookups and
small writes that SQLite answers in microseconds, so they run directly on the event loop on a
third, plain ``sqlite3`` connection: :meth:`Database.transaction` (a whole unit of work,
``BEGIN IMMEDIATE ... COMMIT``, under the same single-writer lock as :meth:`Database.write`, so
the two never interleave) and :meth:`Database.peek` (point reads). Nothing there can block for
long: the inline connection does not wait for locks (``busy_timeout=0``; if another process
holds the write lock the unit of work goes to the writer thread instead, which waits), and it
never checkpoints the WAL itself (that fsyncs); a checkpoint runs on the reader's thread every
few hundred inline commits. Durability is unchanged: a unit of work is committed (WAL,
``synchronous=NORMAL``) before ``transaction`` returns. Queries that scan (reports, exports)
keep using :meth:`Database.fetchall` on the reader's thread, so the loop stays responsive.

Small bookkeeping writes that every update makes (the durable inbox's rows: an update's arrival,
its "done") *ride* (:meth:`Database.ride`): they are written inside whichever write transaction
comes next, usually the update's own first unit of work, so they cost no commit of their own,
or in one of their own a few milliseconds later (:data:`RIDE_WINDOW`) if nothing comes. A
transaction that rolls back gives its riders back to the next one.

The write lock is not re-entrant: never open a ``write()`` or ``transaction()`` inside another.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import aiosqlite

from storage import effects
from storage.errors import SchemaTooNewError, StorageError
from storage.migrations import migrate

__all__ = ["Database", "SchemaTooNewError", "StorageError"]

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")
C = TypeVar("C", aiosqlite.Connection, sqlite3.Connection)
SyncWork = Callable[Concatenate[sqlite3.Connection, P], T]


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Any = ()) -> sqlite3.Row | None:
    """The first row of ``sql`` on an open aiosqlite connection (inside a write, say)."""
    async with conn.execute(sql, params) as cursor:
        row: sqlite3.Row | None = await cursor.fetchone()
        return row


async def run_on(
    conn: aiosqlite.Connection, fn: SyncWork[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``fn(sqlite3_connection, ...)`` on ``conn``'s own thread, in one round trip.

    This is aiosqlite's own mechanism (every aiosqlite method is such a call); the connection
    object is only touched from its thread, and calls queued on it run strictly one by one.
    """
    execute = cast(Callable[..., Awaitable[T]], conn._execute)
    return await execute(lambda: fn(conn._conn, *args, **kwargs))


PRAGMAS = (
    "PRAGMA busy_timeout=5000",  # first: switching a new file to WAL may wait for another process
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
)
# The inline connection: never waits for a lock, never checkpoints on the event loop.
INLINE_PRAGMAS = (*PRAGMAS, "PRAGMA busy_timeout=0", "PRAGMA wal_autocheckpoint=0")
CHECKPOINT_EVERY = 200  # inline commits between two background WAL checkpoints
RIDE_WINDOW = 0.005  # seconds a rider waits for a transaction to go with before going alone
# STRICT tables need 3.37; RETURNING and aggregate FILTER are older than that.
MIN_SQLITE = (3, 37, 0)


async def _pragma(conn: aiosqlite.Connection, pragma: str, seconds: float = 10.0) -> None:
    """Run a PRAGMA, waiting while another process holds the lock it needs.

    Switching a new file to WAL needs an exclusive lock, and SQLite may refuse it at once
    (without its busy handler) while another process is opening the same new file.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            await conn.execute(pragma)
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.02)


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None
        self._riders: list[Rider] = []  # small writes that go with the next transaction
        self._ride_timer: asyncio.TimerHandle | None = None
        self._ride_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the connections and migrate the schema; :class:`StorageError` if impossible."""
        if self._writer is not None:
            return
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            needed = ".".join(map(str, MIN_SQLITE))
            raise StorageError(
                f"SQLite {sqlite3.sqlite_version} is too old: Ballback needs {needed} or newer"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = await self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc
        try:
            await migrate(writer)
            reader = await self._connect()
            inline = sqlite3.connect(self.path, isolation_level=None)
        except BaseException as exc:
            await writer.close()
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot use the database {self.path}: {exc}") from exc
            raise
        inline.row_factory = sqlite3.Row
        for pragma in INLINE_PRAGMAS:
            inline.execute(pragma)
        self._writer, self._reader, self._inline = writer, reader, inline
        log.debug("database ready: %s", self.path)

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            for pragma in PRAGMAS:
                await _pragma(conn, pragma)
        except BaseException:
            # Not a database, or unreadable: close it, or its thread keeps the process alive.
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        if self._inline is not None:
            try:
                await self.flush()  # nothing that rides is left behind by a clean stop
            except Exception:
                log.exception("could not write the last bookkeeping before closing")
        if self._ride_timer is not None:
            self._ride_timer.cancel()
            self._ride_timer = None
        async with self._lock:
            if self._checkpoint is not None:
                await self._checkpoint
                self._checkpoint = None
            if self._inline is not None:
                self._inline.close()
                self._inline = None
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.close()
            self._reader = self._writer = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: committed when the block exits, rolled back if it raises."""
        async with self._lock:
            conn = self._require(self._writer)
            await conn.execute("BEGIN IMMEDIATE")
            riders, self._riders = self._riders, []
            try:
                if riders:
                    await run_on(conn, _write_riders, riders)
                yield conn
            except BaseException:
                await conn.rollback()
                self._unride(riders)
                raise
            else:
                await conn.commit()
                _committed(riders)

    async def transaction(self, fn: SyncWork[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(conn, ...)`` as one write transaction: committed when it returns, rolled back
        if it raises.

        ``fn`` is plain synchronous code that runs on the event loop (see the module notes): it
        must not await, and it should do only a few indexed statements.

        While an update is handled (:data:`storage.effects.CURRENT`), the result is recorded
        in the same transaction, and a replay of that update gets the recorded result back
        instead of running ``fn`` again (``storage/effects.py``).
        """
        scope = effects.CURRENT.get()
        if scope is not None:
            return await self._unit_of_update(scope, fn, args, kwargs)
        return await self.bookkeeping(fn, *args, **kwargs)

    async def bookkeeping(self, fn: SyncWork[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """:meth:`transaction`, never recorded as a unit of the update being handled: for the
        inbox's own rows, written around the handling."""
        async with self._lock:
            inline = self._require(self._inline)
            riders, self._riders = self._riders, []
            try:
                try:
                    inline.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                        raise
                    # Another process holds the write lock: wait for it off the event loop.
                    writer = self._require(self._writer)
                    result = await run_on(writer, _in_transaction, fn, args, kwargs, riders)
                else:
                    result = _commit_or_roll_back(inline, fn, args, kwargs, riders)
                    self._committed()
            except BaseException:
                self._unride(riders)
                raise
            _committed(riders)
            return result

    # -- riders: small writes that go with whichever transaction comes next ------------------

    def ride(self, rider: Rider) -> None:
        """Write ``rider`` inside the next write transaction, whichever it is, or in one of
        its own :data:`RIDE_WINDOW` seconds from now at the latest.

        For bookkeeping on every update's path (the inbox's rows): an update's arrival and
        the previous update's "done" then share one commit with the update's own unit of
        work instead of costing two more. ``rider.committed()`` is called once it is."""
        self._riders.append(rider)
        if self._ride_timer is None:
            self._ride_timer = asyncio.get_running_loop().call_later(RIDE_WINDOW, self._ride_alone)

    async def flush(self) -> None:
        """Commit the riders waiting, now (in a transaction of their own if need be). While
        the database is closed they wait for it to be opened again."""
        if self._inline is None:
            return
        if self._riders:
            await self.bookkeeping(_nothing)
        else:  # those taken already are in a transaction under the lock: wait for its end
            async with self._lock:
                pass

    @property
    def riding(self) -> int:
        """How many riders wait for a transaction."""
        return len(self._riders)

    def _ride_alone(self) -> None:
        self._ride_timer = None
        if self._riders and self._inline is not None:
            self._ride_task = asyncio.create_task(self._flush_quietly())

    async def _flush_quietly(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # the next transaction takes them along, or the next timer
            log.warning("bookkeeping not written yet (%d waiting): %s", len(self._riders), exc)

    def _unride(self, riders: list[Rider]) -> None:
        """A transaction that carried ``riders`` rolled back: they wait for the next one."""
        if riders:
            self._riders[:0] = riders
            if self._ride_timer is None and self._inline is not None:
                loop = asyncio.get_running_loop()
                self._ride_timer = loop.call_later(RIDE_WINDOW, self._ride_alone)

    async def _unit_of_update(
        self,
        scope: effects.UpdateScope,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        if effects.is_repeatable(fn):
            scope.next_unit()  # it still counts, so the recorded ones keep their numbers
            return await self.bookkeeping(fn, *args, **kwargs)
        done, remember = self._next_unit(scope, getattr(fn, "__qualname__", "unit"))
        if done is not effects.MISSING:
            return cast(T, done)

        def unit(conn: sqlite3.Connection) -> T:
            result: T = fn(conn, *args, **kwargs)
            remember(conn, result)
            return result

        return await self.bookkeeping(unit)

    def recall(self) -> tuple[Any, Callable[[sqlite3.Connection, Any], None]]:
        """For a unit of work written as a ``write()`` block (it awaits inside): what a
        previous run of the current update recorded for it, or :data:`storage.effects.MISSING`,
        and the function that records its result (call it inside the block, on
        ``conn._conn`` via :func:`run_on`, before it commits). Outside an update both are
        no-ops."""
        scope = effects.CURRENT.get()
        if scope is None:
            return effects.MISSING, _no_record
        return self._next_unit(scope, "write")

    def _next_unit(
        self, scope: effects.UpdateScope, name: str
    ) -> tuple[Any, Callable[[sqlite3.Connection, Any], None]]:
        """The update's next unit of work: its result if a previous run recorded it (else
        :data:`storage.effects.MISSING`), and what records it inside its transaction."""
        seq = scope.next_unit()
        if scope.replay:
            done = effects.recall(self._require(self._inline), scope, seq, name)
            if done is not effects.MISSING:
                return done, _no_record

        def remember(conn: sqlite3.Connection, result: Any) -> None:
            effects.record(conn, scope, seq, name, result)

        return effects.MISSING, remember

    def flow_before(self) -> tuple[Any] | None:
        """On a replay: ``(flow row,)`` as the update first found it, before one of its units
        of work changed it (:func:`storage.effects.keep_flow`); ``None`` otherwise."""
        scope = effects.CURRENT.get()
        if scope is None or not scope.replay:
            return None
        return effects.flow_before(self._require(self._inline), scope)

    def peek(self, fn: SyncWork[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(conn, ...)`` for point reads (by key, through an index), inline: committed
        data only, as fast as SQLite answers. Anything that scans goes to :meth:`fetchall`."""
        return fn(self._require(self._inline), *args, **kwargs)

    def _committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            self._checkpoint = asyncio.create_task(self._checkpoint_wal())

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL back into the database file, off the event loop (it fsyncs)."""
        reader = self._reader
        if reader is None:
            return
        try:
            await reader.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (sqlite3.Error, ValueError) as exc:  # closed meanwhile, or busy: next time
            log.debug("WAL checkpoint skipped: %s", exc)

    async def fetchall(self, sql: str, params: Params = ()) -> Iterable[sqlite3.Row]:
        return await self._require(self._reader).execute_fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = list(await self.fetchall(sql, params))
        return rows[0] if rows else None

    @staticmethod
    def _require(conn: C | None) -> C:
        if conn is None:
            raise RuntimeError("database is not open")
        return conn


def _no_record(conn: sqlite3.Connection, result: Any) -> None:
    """Outside an update, or a unit already recorded: nothing to record."""


class Rider(Protocol):
    """A small write that goes with the next transaction (:meth:`Database.ride`)."""

    def write(self, conn: sqlite3.Connection) -> None: ...

    def committed(self) -> None: ...


def _nothing(conn: sqlite3.Connection) -> None:
    """A transaction with nothing of its own: it only carries the riders."""


def _write_riders(conn: sqlite3.Connection, riders: list[Rider]) -> None:
    for rider in riders:
        rider.write(conn)


def _committed(riders: list[Rider]) -> None:
    for rider in riders:
        rider.committed()


def _in_transaction(
    raw: sqlite3.Connection,
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    riders: Sequence[Rider] = (),
) -> T:
    raw.execute("BEGIN IMMEDIATE")
    return _commit_or_roll_back(raw, fn, args, kwargs, riders)


def _commit_or_roll_back(
    raw: sqlite3.Connection,
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    riders: Sequence[Rider] = (),
) -> T:
    """``fn(raw, ...)`` inside the transaction just begun, after the riders' writes:
    committed, or rolled back if anything raises."""
    try:
        for rider in riders:
            rider.write(raw)
        result = fn(raw, *args, **kwargs)
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result
