"""Two processes opening a new database at once: both end up with the same, whole schema."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrations import LATEST

# About the SQLite file itself (its snapshots, its processes): PostgreSQL has its own tests.
pytestmark = pytest.mark.sqlite_only


async def test_two_openers_migrate_once(tmp_path: Path) -> None:
    for attempt in range(5):
        path = tmp_path / f"b{attempt}.db"
        first, second = Database(path), Database(path)  # each with its own connections
        try:
            await asyncio.gather(first.open(), second.open())
        finally:
            await first.close()
            await second.close()
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
