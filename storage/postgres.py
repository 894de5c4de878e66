"""PostgreSQL: the second backend, for teams that outgrow one process and one file.

The driver is asyncpg: a native asyncio protocol implementation with its own connection pool
and a per-connection cache of prepared statements, so a unit of work's statements are parsed
and planned once per connection, not on every call; its ``Record`` rows answer by name and by
position as ``sqlite3.Row`` does, so the units of work read rows the same way on both backends.

Every unit of work runs in a ``SERIALIZABLE`` transaction. The units were written for SQLite,
where one writer at a time makes every transaction serial; at ``SERIALIZABLE`` PostgreSQL gives
the same result or refuses with a serialization failure, and the unit is then run again from
the start (the transaction was rolled back), as it is after a deadlock, or after a unique
violation that two units racing to insert the same row cause (the second run finds it).

Several instances can share one database. What must happen once, happens under the
database's locks: :meth:`PostgresDatabase.exclusive` holds a session-level advisory lock on a
connection of its own (a chat's turn, the poller's role), released when the block ends or when
the instance dies (its session ends with it).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import asyncpg

from storage.db import Database, Loader, Rider, Unit, lock_key
from storage.errors import SchemaTooNewError, StorageError
from storage.pg_migrations import PG_MIGRATIONS, migrate_pg, pg_schema_version
from storage.sql import Conn, Dialect, Params, Statement, to_postgres

__all__ = ["PgConn", "PostgresDatabase", "lock_key", "sync_identities"]

log = logging.getLogger(__name__)

# A connection of its own, or one lent by the pool.
Raw = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

P = ParamSpec("P")
T = TypeVar("T")

POOL_MIN = 2
POOL_MAX = 20
UNIQUE_RETRIES = 3  # a unique violation that persists is the unit's own: it is raised
RETRIES = 30  # runs of a unit of work refused by a serialization failure, before giving up
# After these a unit of work is run again: a serialization failure, a deadlock, and a unique
# violation, which is how two units racing to insert the same row can end too (each checked
# first that it was not there; the second run finds it).
_RETRY = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.UniqueViolationError,
)


def _count(status: str) -> int:
    """Rows changed, from a command tag: ``UPDATE 3``, ``INSERT 0 1``, ``DELETE 0``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PgConn:
    """:class:`storage.sql.Conn` over an asyncpg connection."""

    dialect: Dialect = "postgres"
    __slots__ = ("raw",)

    def __init__(self, raw: Raw) -> None:
        self.raw = raw

    async def one(self, sql: Statement, params: Params = ()) -> Any:
        compiled = to_postgres(sql if isinstance(sql, str) else sql.postgres)
        return await self.raw.fetchrow(compiled.text, *compiled.args(params))

    async def all(self, sql: Statement, params: Params = ()) -> list[Any]:
        compiled = to_postgres(sql if isinstance(sql, str) else sql.postgres)
        rows: list[Any] = await self.raw.fetch(compiled.text, *compiled.args(params))
        return rows

    async def run(self, sql: Statement, params: Params = ()) -> int:
        compiled = to_postgres(sql if isinstance(sql, str) else sql.postgres)
        return _count(await self.raw.execute(compiled.text, *compiled.args(params)))

    async def many(self, sql: Statement, rows: Iterable[Params]) -> None:
        compiled = to_postgres(sql if isinstance(sql, str) else sql.postgres)
        args = [compiled.args(params) for params in rows]
        if args:
            await self.raw.executemany(compiled.text, args)


class PostgresDatabase(Database):
    dialect: Dialect = "postgres"

    def __init__(self, target: str | Path) -> None:
        super().__init__(target)
        self.url = str(target)
        self._pool: asyncpg.Pool | None = None
        self._locks: asyncpg.Connection | None = None  # holds this instance's advisory locks
        self._locks_mutex = asyncio.Lock()
        self._held: dict[int, int] = {}  # lock key -> how many holders in this process

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            pool = await asyncpg.create_pool(
                self.url, min_size=POOL_MIN, max_size=POOL_MAX, command_timeout=120
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(f"cannot connect to PostgreSQL at {self.where}: {exc}") from exc
        try:
            async with pool.acquire() as conn:
                version = conn.get_server_version()
                if version.major < 14:
                    raise StorageError(
                        f"PostgreSQL {version.major} is too old: Ballback needs 14 or newer"
                    )
                await migrate_pg(conn)
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, SchemaTooNewError):
                raise StorageError(f"cannot use the database {self.where}: {exc}") from exc
            raise
        self._pool = pool
        log.debug("database ready: PostgreSQL at %s", self.where)

    @property
    def where(self) -> str:
        """The URL without its password, for messages and logs."""
        head, sep, tail = self.url.rpartition("@")
        if not sep:
            return self.url
        scheme, _, credentials = head.partition("://")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}@{tail}" if user else f"{scheme}://{tail}"

    async def _close(self) -> None:
        if self._locks is not None:
            await self._locks.close()
            self._locks = None
            self._held.clear()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def _transaction(
        self,
        fn: Callable[..., Coroutine[Any, Any, T]],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        riders: list[Rider],
        bulk: bool,
    ) -> T:
        for attempt in range(1, RETRIES + 1):
            async with self.pool.acquire() as raw:
                try:
                    async with raw.transaction(isolation="serializable"):
                        conn = PgConn(raw)
                        for rider in riders:
                            await rider.write(conn)
                        return await fn(conn, *args, **kwargs)
                except _RETRY as exc:
                    unique = isinstance(exc, asyncpg.exceptions.UniqueViolationError)
                    if attempt == (UNIQUE_RETRIES if unique else RETRIES):
                        raise
                    log.debug("unit of work run again (%s): %s", type(exc).__name__, exc)
            # Apart, at random: units that collided once would collide again in step.
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
        raise AssertionError("unreachable")

    async def read(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self.pool.acquire() as raw:
            return await fn(PgConn(raw), *args, **kwargs)

    async def scan(self, fn: Unit[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self.pool.acquire() as raw, raw.transaction(readonly=True):
            return await fn(PgConn(raw), *args, **kwargs)

    async def fetchall(self, sql: Statement, params: Params = ()) -> list[Any]:
        compiled = to_postgres(sql if isinstance(sql, str) else sql.postgres)
        rows: list[Any] = await self.pool.fetch(compiled.text, *compiled.args(params))
        return rows

    async def describe(self) -> dict[str, str | int]:
        async with self.pool.acquire() as raw:
            server = await raw.fetchval("SHOW server_version")
            schema = await pg_schema_version(raw)
        return {
            "backend": "PostgreSQL",
            "server": str(server).split()[0],
            "schema": schema,
            "latest": len(PG_MIGRATIONS),
            "where": self.where,
        }

    @asynccontextmanager
    async def loading(self) -> AsyncIterator[Loader]:
        async with self.pool.acquire() as raw, raw.transaction():
            yield _PgLoader(raw)
            await sync_identities(PgConn(raw))

    # -- advisory locks: what one instance does at a time ---------------------------------------

    @property
    def shared(self) -> bool:
        return True

    async def _lock_conn(self) -> asyncpg.Connection:
        if self._pool is None:
            raise RuntimeError("database is not open")
        if self._locks is None or self._locks.is_closed():
            self._locks = await asyncpg.connect(self.url)
            self._held.clear()
        return self._locks

    async def try_lock(self, key: int) -> bool:
        """Take the advisory lock ``key`` for this instance, if nobody else holds it; it is
        held until :meth:`unlock`, or until this instance's session ends (it dies)."""
        async with self._locks_mutex:
            if key in self._held:
                self._held[key] += 1
                return True
            conn = await self._lock_conn()
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                return False
            self._held[key] = 1
            return True

    async def unlock(self, key: int) -> None:
        async with self._locks_mutex:
            count = self._held.get(key, 0)
            if count > 1:
                self._held[key] = count - 1
                return
            self._held.pop(key, None)
            if count and self._locks is not None and not self._locks.is_closed():
                await self._locks.execute("SELECT pg_advisory_unlock($1)", key)


__all__ += ["SchemaTooNewError"]


class _PgLoader:
    def __init__(self, conn: Raw) -> None:
        self.conn = conn

    async def rows(self, table: str, columns: Sequence[str], batch: Sequence[Any]) -> None:
        await self.conn.copy_records_to_table(table, records=batch, columns=list(columns))

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.conn.fetch(sql)]

    async def execute(self, sql: str) -> None:
        await self.conn.execute(sql)


async def sync_identities(conn: Conn) -> None:
    """Move every identity sequence past the largest id in its table: after rows were
    inserted with their ids given (``migrate-db``, a restore), so that the next generated
    id does not collide with one of them."""
    rows = await conn.all(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    for row in rows:
        table, column = row["table_name"], row["column_name"]
        await conn.one(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
        )
