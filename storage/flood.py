"""Flood control shared by the instances on one database: when Telegram answers one of them
429 ("retry after N seconds"), all of them hold their requests back until then."""

from __future__ import annotations

from storage.db import Database
from storage.sql import Conn

__all__ = ["pause_until", "paused_until"]


async def _pause(conn: Conn, until_ms: int) -> None:
    await conn.run(
        "INSERT INTO flood (id, until_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE "
        "SET until_ms = excluded.until_ms WHERE flood.until_ms < excluded.until_ms",
        (until_ms,),
    )


async def pause_until(db: Database, until_ms: int) -> None:
    """Nothing goes to Telegram before ``until_ms`` (Unix milliseconds), from any instance."""
    await db.bookkeeping(_pause, until_ms)


async def paused_until(db: Database) -> int:
    """Until when (Unix milliseconds) the instances hold back; 0 when they do not."""
    row = await db.one("SELECT until_ms FROM flood WHERE id = 1")
    return int(row[0]) if row else 0
