"""Where Ballback keeps everything: one SQLite file with one writer (the default), or PostgreSQL
(``storage/postgres.py``).

The rest of these notes are about SQLite.

aiosqlite runs each connection on its own thread, and every task that shares a connection shares
its transaction: if task A has inserted half a unit of work and task B commits, A's half is
committed too. So all writes go through :meth:`Database.transaction`, which holds an asyncio
lock for the whole ``BEGIN IMMEDIATE ... COMMIT`` on the single writer connection.
``IMMEDIATE`` takes the write lock up front, so a second process (a backup, a second instance
started by mistake) waits on ``busy_timeout`` instead of failing half-way with SQLITE_BUSY.

Reads that need no transaction go to a second connection: in WAL mode readers never block the
writer and only ever see committed data.

The hot path runs inline. Every ``await`` on an aiosqlite connection is a round trip to its
thread: a queue put, a thread wake-up, a callback back into the event loop, and while it is out
the loop runs whatever else is ready, so one round trip costs 0.05-1 ms of latency, and a
cursor-based query takes three. The queries on every update's path are indexed lookups and
small writes that SQLite answers in microseconds, so they run directly on the event loop on a
third, plain ``sqlite3`` connection: :meth:`Database.transaction` (a whole unit of work,
``BEGIN IMMEDIATE ... COMMIT``, under the single-writer lock; :meth:`Database.bulk` runs the
ones that touch many rows on the writer's thread instead) and :meth:`Database.read` (point
reads). A unit of work is a coroutine, written once for both backends (``storage/sql.py``),
and on SQLite it never suspends, so it runs to its end without giving the loop away. Nothing
there can block for long: the inline connection does not wait for locks (``busy_timeout=0``;
if another process holds the write lock the unit of work goes to the writer thread instead,
which waits), and it
never checkpoints the WAL itself (that fsyncs); a checkpoint runs on the reader's thread every
few hundred inline commits. Durability is unchanged: a unit of work is committed (WAL,
``synchronous=NORMAL``) before ``transaction`` returns. Queries that scan (reports, exports)
use :meth:`Database.scan` and :meth:`Database.fetchall`, on the reader's thread, so the loop
stays responsive.

Small bookkeeping writes that every update makes (the durable inbox's rows: an update's arrival,
its "done") *ride* (:meth:`Database.ride`): they are written inside whichever write transaction
comes next, usually the update's own first unit of work, so they cost no commit of their own,
or in one of their own a few milliseconds later (:data:`RIDE_WINDOW`) if nothing comes. A
transaction that rolls back gives its riders back to the next one.

The write lock is not re-entrant: never open a ``transaction()`` inside another.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import aiosqlite

from storage import effects
from storage.errors import SchemaTooNewError, StorageError
from storage.migrations import LATEST, migrate, schema_version
from storage.sql import Conn, Dialect, Params, SqliteConn, Statement, drive

__all__ = [
    "Database",
    "SchemaTooNewError",
    "SqliteDatabase",
    "StorageError",
    "is_postgres_url",
    "lock_key",
]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
Unit = Callable[Concatenate[Conn, P], Coroutine[Any, Any, T]]


def lock_key(*parts: object) -> int:
    """A stable signed 64-bit key for a lock in the database (``("chat", chat_id)``)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def is_postgres_url(target: str | Path) -> bool:
    """``BALLBACK_DATABASE`` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class Rider(Protocol):
    """A small write that goes with the next transaction (:meth:`Database.ride`)."""

    async def write(self, conn: Conn) -> None: ...

    def committed(self) -> None: ...


class Loader(Protocol):
    """Inside :meth:`Database.loading`: one transaction, for copying whole tables."""

    async def rows(self, table: str, columns: Sequence[str], batch: Sequence[Any]) -> None:
        """Insert ``batch`` (tuples in ``columns``' order) into ``table``."""

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]: ...

    async def execute(self, sql: str) -> None: ...


class Database:
    """Where Ballback keeps everything: a SQLite file (:class:`SqliteDatabase`, the default)
    or a PostgreSQL database (:class:`storage.postgres.PostgresDatabase`).

    ``Database(target)`` opens the right one for ``target``: a file path, or a
    ``postgresql://`` URL. Units of work (``async def unit(conn, ...)``, ``storage/sql.py``)
    run through :meth:`transaction` (small ones, on the update's path), :meth:`bulk` (ones that
    touch many rows), :meth:`read` (point reads) and :meth:`scan` (reads that scan).
    """

    dialect: Dialect

    def __new__(cls, target: str | Path) -> Database:
        if cls is Database:
            if is_postgres_url(target):
                from storage.postgres import PostgresDatabase

                return super().__new__(PostgresDatabase)
            return super().__new__(SqliteDatabase)
        return super().__new__(cls)

    def __init__(self, target: str | Path) -> None:
        self._riders: list[Rider] = []  # small writes that go with the next transaction
        self._ride_timer: asyncio.TimerHandle | None = None
        self._ride_task: asyncio.Task[None] | None = None

    # -- what each backend provides -----------------------------------------------------------

    async def open(self) -> None:
        """Connect and migrate the schema; :class:`StorageError` if impossible."""
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    @property
    def is_open(self) -> bool:
        raise NotImplementedError

    async def _transaction(
        self,
        fn: Callable[..., Coroutine[Any, Any, T]],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        riders: list[Rider],
        bulk: bool,
    ) -> T:
        """``fn(conn, *args, **kwargs)`` after the riders' writes, in one transaction."""
        raise NotImplementedError

    async def read(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """A read by key, through an index: committed data only, as fast as the backend
        answers (inline on SQLite). Anything that scans goes to :meth:`scan`."""
        raise NotImplementedError

    async def scan(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """A read that may scan: off the event loop on SQLite."""
        raise NotImplementedError

    async def fetchall(self, sql: Statement, params: Params = ()) -> list[Any]:
        """Every row of one query that may scan."""
        raise NotImplementedError

    async def describe(self) -> dict[str, str | int]:
        """For ``ballback check``: the backend, its version, the schema version."""
        raise NotImplementedError

    def loading(self) -> AbstractAsyncContextManager[Loader]:
        """One transaction for loading whole tables (``migrate-db``): committed when the
        block ends, rolled back if it raises."""
        raise NotImplementedError

    @property
    def shared(self) -> bool:
        """Several instances may use this database at once (PostgreSQL): what must happen
        once takes the database's locks (:meth:`try_lock`)."""
        return False

    async def try_lock(self, key: int) -> bool:
        """Take the lock ``key`` (:func:`lock_key`) for this instance if no
        other instance holds it; one instance per SQLite file: always granted."""
        return True

    async def unlock(self, key: int) -> None:
        """Release a lock taken with :meth:`try_lock`."""

    async def lock(self, key: int, pause: float = 0.01) -> None:
        """Take the lock ``key``, waiting (polling every ``pause`` seconds, holding nothing
        of the pool meanwhile) while another instance has it; :meth:`unlock` releases it."""
        while not await self.try_lock(key):  # noqa: ASYNC110 (another process holds it)
            await asyncio.sleep(pause)

    # -- shared ----------------------------------------------------------------------------------

    async def close(self) -> None:
        if self.is_open:
            try:
                await self.flush()  # nothing that rides is left behind by a clean stop
            except Exception:
                log.exception("could not write the last bookkeeping before closing")
        if self._ride_timer is not None:
            self._ride_timer.cancel()
            self._ride_timer = None
        await self._close()

    async def fetchone(self, sql: Statement, params: Params = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def one(self, sql: Statement, params: Params = ()) -> Any:
        """The first row of a point read (:meth:`read`), or ``None``."""
        return await self.read(_one, sql, params)

    async def transaction(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(conn, ...)`` as one write transaction: committed when it returns, rolled back
        if it raises. On SQLite it runs on the event loop (see the module notes): it should do
        only a few indexed statements; one that touches many rows is :meth:`bulk`.

        While an update is handled (:data:`storage.effects.CURRENT`), the result is recorded
        in the same transaction, and a replay of that update gets the recorded result back
        instead of running ``fn`` again (``storage/effects.py``).
        """
        scope = effects.CURRENT.get()
        if scope is not None:
            return await self._unit_of_update(scope, fn, args, kwargs, bulk=False)
        return await self._carrying(fn, args, kwargs, bulk=False)

    async def bulk(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """:meth:`transaction` for a unit that touches many rows (an import, forgetting a
        user): on SQLite it runs on the writer's thread, so the event loop goes on."""
        scope = effects.CURRENT.get()
        if scope is not None:
            return await self._unit_of_update(scope, fn, args, kwargs, bulk=True)
        return await self._carrying(fn, args, kwargs, bulk=True)

    async def bookkeeping(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """:meth:`transaction`, never recorded as a unit of the update being handled: for the
        inbox's own rows, written around the handling."""
        return await self._carrying(fn, args, kwargs, bulk=False)

    async def _carrying(
        self,
        fn: Callable[..., Coroutine[Any, Any, T]],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        bulk: bool,
    ) -> T:
        riders, self._riders = self._riders, []
        try:
            result = await self._transaction(fn, args, kwargs, riders, bulk)
        except BaseException:
            self._unride(riders)
            raise
        for rider in riders:
            rider.committed()
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
        if not self.is_open:
            return
        if self._riders:
            await self.bookkeeping(_nothing)
        else:  # those taken already are in a transaction: wait for its end
            await self._settled()

    async def _settled(self) -> None:
        """Wait for the transactions under way to end (SQLite: the writer's lock)."""

    @property
    def riding(self) -> int:
        """How many riders wait for a transaction."""
        return len(self._riders)

    def _ride_alone(self) -> None:
        self._ride_timer = None
        if self._riders and self.is_open:
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
            if self._ride_timer is None and self.is_open:
                loop = asyncio.get_running_loop()
                self._ride_timer = loop.call_later(RIDE_WINDOW, self._ride_alone)

    # -- units of work of the update being handled -------------------------------------------

    async def _unit_of_update(
        self,
        scope: effects.UpdateScope,
        fn: Callable[..., Coroutine[Any, Any, T]],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        bulk: bool,
    ) -> T:
        seq = scope.next_unit()
        if effects.is_repeatable(fn):  # it still counts, so the recorded ones keep their numbers
            return await self._carrying(fn, args, kwargs, bulk)
        name = getattr(fn, "__qualname__", "unit")
        if scope.replay:
            done = await self.read(effects.recall, scope, seq, name)
            if done is not effects.MISSING:
                return cast(T, done)

        async def unit(conn: Conn) -> T:
            result: T = await fn(conn, *args, **kwargs)
            await effects.record(conn, scope, seq, name, result)
            return result

        return await self._carrying(unit, (), {}, bulk)

    async def flow_before(self) -> tuple[Any] | None:
        """On a replay: ``(flow row,)`` as the update first found it, before one of its units
        of work changed it (:func:`storage.effects.keep_flow`); ``None`` otherwise."""
        scope = effects.CURRENT.get()
        if scope is None or not scope.replay:
            return None
        return await self.read(effects.flow_before, scope)


RIDE_WINDOW = 0.005  # seconds a rider waits for a transaction to go with before going alone


async def _one(conn: Conn, sql: Statement, params: Params) -> Any:
    return await conn.one(sql, params)


async def _nothing(conn: Conn) -> None:
    """A transaction with nothing of its own: it only carries the riders."""


# -- SQLite ------------------------------------------------------------------------------------


async def run_on(
    conn: aiosqlite.Connection, fn: Callable[..., T], /, *args: Any, **kwargs: Any
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


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, target: str | Path) -> None:
        super().__init__(target)
        self.path = Path(target)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def open(self) -> None:
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

    async def _close(self) -> None:
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

    async def _transaction(
        self,
        fn: Callable[..., Coroutine[Any, Any, T]],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        riders: list[Rider],
        bulk: bool,
    ) -> T:
        async with self._lock:
            if not bulk:
                inline = _require(self._inline)
                try:
                    inline.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                        raise
                    # Another process holds the write lock: wait for it off the event loop.
                else:
                    result = _commit_or_roll_back(inline, fn, args, kwargs, riders)
                    self._committed()
                    return result
            writer = _require(self._writer)
            return await run_on(writer, _in_transaction, fn, args, kwargs, riders)

    async def _settled(self) -> None:
        async with self._lock:
            pass

    async def read(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return drive(fn(SqliteConn(_require(self._inline)), *args, **kwargs))

    async def scan(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        def run(raw: sqlite3.Connection) -> T:
            return drive(fn(SqliteConn(raw), *args, **kwargs))

        return await run_on(_require(self._reader), run)

    async def fetchall(self, sql: Statement, params: Params = ()) -> list[Any]:
        return await self.scan(_all, sql, params)

    async def describe(self) -> dict[str, str | int]:
        reader = _require(self._reader)
        return {
            "backend": "SQLite",
            "server": sqlite3.sqlite_version,
            "schema": await schema_version(reader),
            "latest": LATEST,
            "where": str(self.path),
        }

    @asynccontextmanager
    async def loading(self) -> AsyncIterator[Loader]:
        async with self._lock:
            writer = _require(self._writer)
            await writer.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteLoader(writer)
            except BaseException:
                await writer.rollback()
                raise
            await writer.commit()

    @property
    def raw_writer(self) -> aiosqlite.Connection:
        """The writer connection, for what only SQLite has (a backup, PRAGMAs)."""
        return _require(self._writer)

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


class _SqliteLoader:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def rows(self, table: str, columns: Sequence[str], batch: Sequence[Any]) -> None:
        marks = ", ".join("?" for _ in columns)
        await self.conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch
        )

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.conn.execute_fetchall(sql)]

    async def execute(self, sql: str) -> None:
        await self.conn.execute(sql)


C = TypeVar("C", aiosqlite.Connection, sqlite3.Connection)


def _require(conn: C | None) -> C:
    if conn is None:
        raise RuntimeError("database is not open")
    return conn


async def _all(conn: Conn, sql: Statement, params: Params) -> list[Any]:
    return await conn.all(sql, params)


def _in_transaction(
    raw: sqlite3.Connection,
    fn: Callable[..., Coroutine[Any, Any, T]],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    riders: Sequence[Rider] = (),
) -> T:
    raw.execute("BEGIN IMMEDIATE")
    return _commit_or_roll_back(raw, fn, args, kwargs, riders)


def _commit_or_roll_back(
    raw: sqlite3.Connection,
    fn: Callable[..., Coroutine[Any, Any, T]],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    riders: Sequence[Rider] = (),
) -> T:
    """``fn(conn, ...)`` inside the transaction just begun, after the riders' writes:
    committed, or rolled back if anything raises."""
    conn = SqliteConn(raw)
    try:
        for rider in riders:
            drive(rider.write(conn))
        result = drive(fn(conn, *args, **kwargs))
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result
