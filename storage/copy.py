"""``ballback migrate-db``: a whole database copied from one backend to the other.

The target is migrated to the latest schema first and must hold no data. Every table is then
copied, in foreign-key order, inside ONE transaction on the target (:meth:`Database.loading`):
a copy that fails half-way leaves the target as empty as it was. Rows keep their ids; on
PostgreSQL the identity sequences are moved past them afterwards.

``day_counts`` is not copied: the target's triggers count every call and Next Step as it is
inserted, exactly as the source's did when they were logged, and the copy is then verified
against the source's counts (with the row counts of every other table) before the
transaction commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database

__all__ = ["TABLES", "CopyError", "CopyReport", "copy_database"]

# Every table, parents before children, with the columns that order it (its key).
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("users", ("id",)),
    ("teams", ("id",)),
    ("memberships", ("team_id", "user_id")),
    ("contacts", ("id",)),
    ("calls", ("id",)),
    ("next_steps", ("id",)),
    ("flows", ("user_id",)),
    ("outbox", ("id",)),
    ("away", ("id",)),
    ("team_days", ("team_id", "day")),
    ("day_counts_since", ("at",)),
    ("inbox", ("update_id",)),
    ("inbox_effects", ("update_id", "seq")),
    ("import_mappings", ("user_id", "header_key")),
    ("flood", ("id",)),
)
COUNTED = "day_counts"  # rebuilt by the target's own triggers, then compared
# Tables a new database already has rows in (migration 6 writes its one row).
SEEDED = {"day_counts_since"}
CHUNK = 5_000

Progress = Callable[[str], None]


class CopyError(Exception):
    """The copy cannot be made, or did not verify; the message says why."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    day_counts: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


async def _columns(db: Database, table: str) -> list[str]:
    if db.dialect == "sqlite":
        rows = await db.fetchall(f"SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
    else:
        rows = await db.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    return [row[0] for row in rows]


async def _count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT count(*) FROM {table}")
    return int(row[0]) if row else 0


_DAY_COUNTS = (
    "SELECT owner_id, day, calls, polite_nos, in_block, balls FROM day_counts "
    "WHERE calls != 0 OR polite_nos != 0 OR in_block != 0 OR balls != 0 "
    "ORDER BY owner_id, day"
)


def _ints(rows: Any) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in row) for row in rows]


async def _chunks(db: Database, table: str, columns: list[str], key: tuple[str, ...]) -> Any:
    """The table's rows, ``CHUNK`` at a time, in key order (keyset pagination)."""
    select = f"SELECT {', '.join(columns)} FROM {table}"
    order = f" ORDER BY {', '.join(key)} LIMIT {CHUNK}"
    at = [columns.index(k) for k in key]
    last: tuple[Any, ...] | None = None
    while True:
        if last is None:
            rows = await db.fetchall(select + order)
        else:
            marks = ", ".join("?" for _ in key)
            rows = await db.fetchall(f"{select} WHERE ({', '.join(key)}) > ({marks}){order}", last)
        if not rows:
            return
        batch = [tuple(row) for row in rows]
        yield batch
        if len(batch) < CHUNK:
            return
        last = tuple(batch[-1][i] for i in at)


async def copy_database(
    source: Database, target: Database, progress: Progress = lambda line: None
) -> CopyReport:
    """Copy everything in ``source`` (open) to ``target`` (open, empty); see the module notes.
    :class:`CopyError` when the target holds data or the copy does not verify."""
    started = time.monotonic()
    for table, _ in TABLES:
        if table not in SEEDED and await _count(target, table):
            raise CopyError(f"the target already holds data (table {table}): give an empty one")
    if await _count(target, COUNTED):
        raise CopyError(f"the target already holds data (table {COUNTED}): give an empty one")
    report = CopyReport()
    async with target.loading() as load:
        for table in SEEDED:
            await load.execute(f"DELETE FROM {table}")
        for table, key in TABLES:
            columns = await _columns(source, table)
            total = await _count(source, table)
            copied = 0
            async for batch in _chunks(source, table, columns, key):
                await load.rows(table, columns, batch)
                copied += len(batch)
                if total > 10 * CHUNK and copied % (10 * CHUNK) == 0:
                    progress(f"  {table}: {copied:,} of {total:,} rows")
            report.rows[table] = copied
            progress(f"{table}: {copied:,} rows")
        for table, _ in TABLES:
            ((written,),) = await load.fetch(f"SELECT count(*) FROM {table}")
            if written != report.rows[table]:
                raise CopyError(f"{table}: {report.rows[table]} rows read but {written} written")
        expected = _ints(await source.fetchall(_DAY_COUNTS))
        rebuilt = _ints(await load.fetch(_DAY_COUNTS))
        if rebuilt != expected:
            raise CopyError(
                f"day counts differ after the copy ({len(expected)} in the source, "
                f"{len(rebuilt)} rebuilt)"
            )
        report.day_counts = len(rebuilt)
    report.seconds = time.monotonic() - started
    return report
