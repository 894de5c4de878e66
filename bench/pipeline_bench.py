"""How fast the pipeline stays with a big database. Run by hand:

    python -m bench.pipeline_bench            # 200,000 contacts in all
    python -m bench.pipeline_bench --contacts 50000 --reps 10

Seeds a fresh SQLite file (in a temporary folder) with ``--contacts`` contacts spread over
``--reps`` reps (the first rep gets ``--share`` of them: all 200,000 by default, the worst
case), every 7th with a call-back date, every 50th with a Next Step; each rep made
``--calls-per-day`` calls a day to their own contacts over the last year. Then times, for the
first rep, what /pipeline, /contact and /list run, and an import of a 10,000-row CSV. Prints one
line per measurement (the median of ``--repeat`` runs).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.pipeline import STOP_CHASING_CALLS, chase_since, client_window
from bot.domain.rules import Rules
from bot.domain.sheet import Sheet, SheetRow, render_pdf
from bot.domain.tables import read_table
from bot.domain.transfer import lookup_keys, plan_import, read_contacts
from storage.db import Database
from storage.models import UserIn, to_ts
from storage.repo import Store
from tests.dbtools import writing

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
RULES = Rules(tz=ZoneInfo("Europe/Moscow"))
DAY = 86_400


async def seed(db: Database, contacts: int, reps: int, share: float, per_day: int) -> None:
    rng = random.Random(7)
    now = to_ts(NOW)
    first = int(contacts * share)

    def owner(i: int) -> int:
        return 1 if i <= first else 2 + i % max(1, reps - 1)

    async with writing(db) as conn:
        await conn.executemany(
            "INSERT INTO users (id, first_name, started_at, updated_at) VALUES (?, ?, 0, 0)",
            [(r, f"Rep {r}") for r in range(1, reps + 1)],
        )
        rows = []
        for i in range(1, contacts + 1):
            callback = now + rng.randint(-20, 20) * DAY if i % 7 == 0 else None
            name = f"Contact {i}"
            rows.append(
                (i, owner(i), name, name.casefold(), f"+7912{i:07d}", callback, now - 90 * DAY + i)
            )
        await conn.executemany(
            """INSERT INTO contacts (id, owner_id, name, name_key, phone, callback_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
        owned: dict[int, list[int]] = {}
        for i in range(1, contacts + 1):
            owned.setdefault(owner(i), []).append(i)
        calls = [
            (rep, rng.choice(ids), now - rng.randint(0, 365 * DAY), "na")
            for rep, ids in owned.items()
            for _ in range(per_day * 365)
        ]
        await conn.executemany(
            "INSERT INTO calls (owner_id, contact_id, at, outcome) VALUES (?, ?, ?, ?)", calls
        )
        steps = [
            (owner(i), i, "Meeting", now + rng.randint(-10, 40) * DAY, "ball", now - DAY)
            for i in range(1, contacts + 1, 50)
        ]
        await conn.executemany(
            """INSERT INTO next_steps (owner_id, contact_id, action, due_at, kind, created_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            steps,
        )
    print(f"seeded {contacts} contacts ({first} for rep 1), {len(calls)} calls, {len(steps)} steps")


async def timed(label: str, repeat: int, work: Callable[[], Awaitable[Any]]) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    print(f"{label:<48} {statistics.median(times) * 1000:8.1f} ms")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.db")
        await db.open()
        try:
            await seed(db, args.contacts, args.reps, args.share, args.calls_per_day)
            store = Store(db)
            pipe = store.pipeline
            after, before = client_window(NOW, RULES)
            since = chase_since(NOW, RULES)
            await timed(
                "/pipeline: count clients",
                args.repeat,
                lambda: pipe.count_clients(1, after, before),
            )
            await timed(
                "/pipeline: count due (never called up to 1000)",
                args.repeat,
                lambda: pipe.count_due(1, NOW, after, before, cap=1000),
            )
            await timed(
                "/pipeline: stop-chasing candidates",
                args.repeat,
                lambda: pipe.chase_candidates(
                    1, since, NOW, after, before, min_calls=STOP_CHASING_CALLS
                ),
            )
            await timed(
                "/pipeline: a page of clients",
                args.repeat,
                lambda: pipe.clients(1, after, before, offset=0, limit=10),
            )
            await timed(
                "/pipeline: page 50 of the due list",
                args.repeat,
                lambda: pipe.due(1, NOW, after, before, offset=490, limit=10),
            )
            await timed(
                "/contact: a full name (index)",
                args.repeat,
                lambda: store.find_contact(1, "contact 12"),
            )
            await timed(
                "/contact: part of a name (scans the rep's)",
                args.repeat,
                lambda: pipe.search(1, "ntact 12", None, limit=9),
            )
            await timed(
                "/contact: the card's history",
                args.repeat,
                lambda: pipe.history(1, 3, calls=15, steps=10),
            )
            due = await pipe.due(1, NOW, after, before, offset=0, limit=300)
            sheet = Sheet(
                title="Call sheet: Rep 1",
                subtitle="Fri 27 Nov 2026",
                hint="Tick the boxes.",
                tally="Calls:",
                quota=20,
                columns=("#", "Name", "Company", "Phone", "Last", "Called", "Ball", "Notes"),
                footer="page {page} of {pages}",
                rows=[SheetRow(name=r.contact.name, phone=r.contact.phone or "") for r in due],
            )

            async def pdf() -> None:
                await asyncio.to_thread(render_pdf, sheet)

            await timed(f"/list: the PDF of {len(sheet.rows)} prospects", args.repeat, pdf)

            csv = "Имя;Телефон;Компания\r\n" + "".join(
                f"Новый {n};8 913 {n:07d};ООО {n % 97}\r\n" for n in range(10_000)
            )
            data = csv.encode("cp1251")
            user = UserIn(id=1, first_name="Rep 1")

            async def import_file() -> None:
                table = read_table(data)
                assert not isinstance(table, str)
                parsed = read_contacts(table)
                assert not isinstance(parsed, str)
                rows, _ = parsed
                phones, keys = lookup_keys(rows)
                await pipe.import_contacts(
                    user,
                    phones=phones,
                    name_keys=keys,
                    plan=lambda known: plan_import(rows, known),
                    now=NOW + timedelta(seconds=1),
                )

            await timed("import: 10,000 rows (the first run inserts)", 1, import_file)
            await timed("import: the same 10,000 rows again (all merge)", 1, import_file)
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--share", type=float, default=1.0, help="rep 1's share of contacts")
    parser.add_argument("--calls-per-day", type=int, default=60, help="per rep, for a year")
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
