"""Raw SQL for tests that set up data the bot's own commands cannot make (old rows, many rows),
on either backend: ``async with writing(db) as conn: await conn.execute(sql, params)``.

The statements are collected and run, on exit, as one unit of work (one transaction). On
PostgreSQL, rows inserted with explicit ids move the identity sequences past them afterwards,
as ``migrate-db`` does, so the bot's own inserts do not collide with them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from storage.db import Database
from storage.sql import Conn


class Statements:
    def __init__(self) -> None:
        self.todo: list[tuple[str, Any, bool]] = []

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.todo.append((sql, params, False))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.todo.append((sql, list(rows), True))

    async def apply(self, conn: Conn) -> None:
        for sql, params, many in self.todo:
            if many:
                await conn.many(sql, params)
            else:
                await conn.run(sql, params)
        if conn.dialect == "postgres":
            from storage.postgres import sync_identities

            await sync_identities(conn)


@asynccontextmanager
async def writing(db: Database) -> AsyncIterator[Statements]:
    statements = Statements()
    yield statements
    await db.bulk(statements.apply)


async def table_columns(db: Database) -> dict[str, list[str]]:
    """Every table of the schema and its columns, in order, on either backend."""
    if db.dialect == "sqlite":
        names = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
        return {
            name: [c[1] for c in await db.fetchall(f"PRAGMA table_info({name})")]
            for (name,) in names
        }
    rows = await db.fetchall(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name != 'ballback_schema' "
        "ORDER BY table_name, ordinal_position"
    )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found
