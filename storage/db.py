"""One SQLite file, one writer.

aiosqlite runs each connection on its own thread, and every task that shares a connection shares
its transaction: if task A has inserted half a unit of work and task B commits, A's half is
committed too. So all writes go through :meth:`Database.write`, which holds an asyncio lock for
the whole ``BEGIN IMMEDIATE ... COMMIT`` on the single writer connection. ``IMMEDIATE`` takes the
write lock up front, so a second process (a backup, a second instance started by mistake) waits
on ``busy_timeout`` instead of failing half-way with SQLITE_BUSY.

Reads that need no transaction go to a second connection: in WAL mode readers never block the
writer and only ever see committed data.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import migrate

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA temp_store=MEMORY",
)


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self._writer is not None:
            return
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = await self._connect()
        try:
            await migrate(writer)
        except BaseException:
            await writer.close()
            raise
        self._writer = writer
        self._reader = await self._connect()
        log.info("database ready: %s", self.path)

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            for pragma in PRAGMAS:
                await conn.execute(pragma)
        except BaseException:
            # Not a database, or unreadable: close it, or its thread keeps the process alive.
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        async with self._lock:
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
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()

    async def fetchall(self, sql: str, params: Params = ()) -> Iterable[sqlite3.Row]:
        return await self._require(self._reader).execute_fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = list(await self.fetchall(sql, params))
        return rows[0] if rows else None

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise RuntimeError("database is not open")
        return conn
