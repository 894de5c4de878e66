"""Data scale: how Ballback answers with years of a big team's data in one SQLite file.

    python -m bench.datascale                  # 1,000 reps, 1,000,000 calls, 200,000 contacts
    python -m bench.datascale --db /tmp/big.db --keep   # reuse the generated file next time

1. Generates the database (deterministic, seeded): reps with Telegram ids, contacts with names,
   companies and phones, calls spread over the last 13 weeks of workdays (09:00-18:00 in the
   reps' zone) with a realistic mix of outcomes, a Next Step for every call that got one, and
   ``ANALYZE`` like a long-running install gets from ``PRAGMA optimize``.
2. Times the queries behind ``/today`` (and the team summary and weekly leaderboard when this
   checkout has them) through the real storage API, and prints their query plans.
3. Starts the real bot (``python -m bot run``) on that file against the fake Bot API, sends
   ``/today`` for 200 reps and 200 ``/call`` + button round trips, times the answers end to end,
   and reads the bot process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import (
    FIRST_REP,
    BotProcess,
    button_data,
    button_update,
    chat_of,
    command_update,
    machine,
    percentile,
    track,
)
from tests.fakeapi import FakeBotAPI

ZONE = ZoneInfo("Europe/Moscow")
WEEKS = 13
OUTCOMES = (  # (code, weight): most dials reach nobody, about one in ten brings a ball back
    ("na", 30), ("bz", 8), ("vm", 10), ("gk", 6), ("wn", 2), ("th", 8), ("cl", 8),
    ("bo", 4), ("si", 6), ("ni", 8), ("ns", 10),
)  # fmt: skip
FIRST_NAMES = ("Ivan", "Olga", "Anna", "Boris", "Pavel", "Maria", "Oleg", "Irina", "Yuri", "Nina")
LAST_NAMES = ("Petrov", "Smirnova", "Ivanov", "Kuznetsova", "Popov", "Sokolova", "Lebedev")
COMPANIES = ("Romashka LLC", "Vector", "Orbita", "Severstal Trade", "Alfa Print", "Kometa")


def workdays(today: date, weeks: int) -> list[date]:
    days = [today - timedelta(days=n) for n in range(weeks * 7)]
    return [d for d in days if d.weekday() < 5 or d == today]


def generate(path: Path, reps: int, calls: int, contacts: int, seed: int = 7) -> dict[str, int]:
    """Write the database; returns row counts. Uses the real migrations for the schema."""
    from storage.db import Database

    async def schema() -> None:
        db = Database(path)
        await db.open()
        await db.close()

    asyncio.run(schema())
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    days = workdays(today, WEEKS)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    started = time.monotonic()

    def in_batches(rows: Iterator[tuple[Any, ...]], sql: str, size: int = 100_000) -> None:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                conn.execute("BEGIN")
                conn.executemany(sql, batch)
                conn.execute("COMMIT")
                batch.clear()
        if batch:
            conn.execute("BEGIN")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")

    start_ts = int(datetime.combine(days[-1], dtime(9), ZONE).timestamp())
    in_batches(
        (
            (
                FIRST_REP + r,
                f"Rep{r}",
                rng.choice(LAST_NAMES),
                "ru" if r % 2 else "en",
                start_ts,
                start_ts,
            )
            for r in range(reps)
        ),
        "INSERT INTO users (id, first_name, last_name, language_code, started_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
    )

    def contact_rows() -> Iterator[tuple[Any, ...]]:
        for c in range(1, contacts + 1):
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {c}"
            phone = f"+79{rng.randrange(10**9):09d}" if rng.random() < 0.7 else None
            company = rng.choice(COMPANIES) if rng.random() < 0.6 else None
            yield (c, FIRST_REP + c % reps, name, name.casefold(), company, phone, start_ts)

    in_batches(
        contact_rows(),
        "INSERT INTO contacts (id, owner_id, name, name_key, company, phone, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    codes = [code for code, _ in OUTCOMES]
    weights = [weight for _, weight in OUTCOMES]
    per_rep = max(1, contacts // reps)
    steps: list[tuple[Any, ...]] = []

    def call_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, calls + 1):
            rep = rng.randrange(reps)
            contact = (
                rep + reps * rng.randrange(per_rep)
                if rep > 0
                else reps * rng.randrange(1, per_rep + 1)
            )
            day = rng.choice(days)
            local = datetime.combine(day, dtime(9), ZONE) + timedelta(seconds=rng.randrange(32400))
            at = int(local.timestamp())
            outcome = rng.choices(codes, weights)[0]
            if outcome == "ns":
                due = at + rng.randrange(3600, 30 * 86400)
                done = due < now.timestamp()
                steps.append(
                    (FIRST_REP + rep, contact, i, "meeting at their office", due, "ball",
                     "done" if done else "open", at)
                )  # fmt: skip
            # src_message far from the ids the benchmark's own messages get (1,000,000 up).
            yield (i, FIRST_REP + rep, contact, at, outcome, FIRST_REP + rep, 10**9 + i)

    in_batches(
        call_rows(),
        "INSERT INTO calls (id, owner_id, contact_id, at, outcome, src_chat, src_message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    in_batches(
        iter(steps),
        "INSERT INTO next_steps (owner_id, contact_id, call_id, action, due_at, kind, status, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {
        table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        for table in ("users", "contacts", "calls", "next_steps")
    }
    conn.close()
    print(
        f"generated {counts} in {time.monotonic() - started:.1f} s, "
        f"{path.stat().st_size / 2**20:.0f} MiB"
    )
    return counts


# -- the queries, through the storage API ------------------------------------------------------


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    """(p50, max) in seconds of ``runs`` calls."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples)


def busiest_reps(path: Path, count: int) -> list[int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT owner_id FROM calls GROUP BY owner_id ORDER BY count(*) DESC LIMIT ?",
            (count,),
        ).fetchall()
    return [int(row[0]) for row in rows]


def plans(path: Path, queries: dict[str, tuple[str, tuple[Any, ...]]]) -> None:
    with sqlite3.connect(path) as conn:
        for name, (sql, params) in queries.items():
            print(f"  {name}:")
            for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params):
                print(f"    {row[3]}")


async def storage_timings(path: Path, reps: list[int]) -> None:
    from bot.domain.outcomes import POLITE_NOS
    from bot.domain.rules import Rules
    from storage.db import Database
    from storage.repo import Store

    db = Database(path)
    await db.open()
    store = Store(db)
    rules = Rules(tz=ZONE)
    now = datetime.now(UTC)
    start, end = rules.day_bounds(rules.today(now))
    week_start = start - timedelta(days=rules.today(now).weekday())
    polite = [o.value for o in POLITE_NOS]
    rep_cycle = iter(reps * 1000)
    print("\nstorage API, busiest reps, p50 / max over 200 calls:")

    async def today() -> None:
        rep = next(rep_cycle)
        await store.day_stats(rep, start, end, polite)
        await store.next_steps_due(rep, start, end)

    p50, worst = await timed(today, 200)
    print(f"  /today (day_stats + next_steps_due): {p50 * 1000:.2f} ms / {worst * 1000:.2f} ms")
    team = [n for n in ("team_summary", "leaderboard", "weekly_leaderboard") if hasattr(store, n)]
    if not team:
        print(
            "  team summary, weekly leaderboard: not in this checkout (the team features are "
            "not merged yet), skipped"
        )
    for name in team:
        method = getattr(store, name)
        try:
            p50, worst = await timed(lambda m=method: m(reps, week_start, end), 50)  # type: ignore[misc]
        except TypeError as exc:
            print(f"  {name}: present but with another signature ({exc}); time it by hand")
            continue
        print(f"  {name}: {p50 * 1000:.2f} ms / {worst * 1000:.2f} ms")
    await db.close()
    rep = reps[0]
    print("\nquery plans:")
    plans(
        path,
        {
            "day_stats": (
                "SELECT (SELECT count(*) FROM next_steps WHERE owner_id = ?1 AND kind = 'ball' "
                "AND created_at >= ?2 AND created_at < ?3), count(*), "
                "count(*) FILTER (WHERE outcome IN ('th', 'cl', 'bo', 'si')), "
                "count(*) FILTER (WHERE outcome IS NULL) "
                "FROM calls WHERE owner_id = ?1 AND at >= ?2 AND at < ?3",
                (rep, int(start.timestamp()), int(end.timestamp())),
            ),
            "next_steps_due": (
                "SELECT s.id FROM next_steps AS s JOIN contacts AS c ON c.id = s.contact_id "
                "WHERE s.owner_id = ? AND s.status = 'open' AND s.due_at >= ? AND s.due_at < ? "
                "ORDER BY s.due_at, s.id",
                (rep, int(start.timestamp()), int(end.timestamp())),
            ),
            "log_call: contact by name": (
                "SELECT id FROM contacts WHERE owner_id = ? AND name_key = ?",
                (rep, "ivan petrov 1"),
            ),
            "log_call: redelivery check": (
                "SELECT id FROM calls WHERE src_chat = ? AND src_message = ?",
                (rep, 1),
            ),
        },
    )


# -- the bot process on that database ----------------------------------------------------------


async def bot_on(path: Path, reps: list[int], runs: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-datascale-"))
    async with FakeBotAPI() as api:
        tracker = track(api)
        process = BotProcess("ballback", api, workdir)
        process.env["BALLBACK_DATABASE"] = str(path)
        await process.start(seconds=60)
        rss_idle = process.peak_rss_mib()
        try:
            indexes = [rep - FIRST_REP for rep in reps]
            today: list[float] = []
            for i in range(runs):
                rep = indexes[i % len(indexes)]
                replied = tracker.expect("sendMessage", chat_of(rep))
                started = time.monotonic()
                api.push_update(command_update(rep, "/today"))
                today.append((await asyncio.wait_for(replied, 30)).t - started)
            call: list[float] = []
            button: list[float] = []
            for i in range(runs):
                rep = indexes[i % len(indexes)]
                replied = tracker.expect("sendMessage", chat_of(rep))
                started = time.monotonic()
                api.push_update(command_update(rep, f"/call Scale Client {i}"))
                reply = await asyncio.wait_for(replied, 30)
                call.append(reply.t - started)
                update = button_update(rep, button_data(reply, ":na"), reply.message_id)
                answered = tracker.expect("answerCallbackQuery", update["callback_query"]["id"])
                edited = tracker.expect("editMessageText", chat_of(rep))
                started = time.monotonic()
                api.push_update(update)
                both = await asyncio.wait_for(asyncio.gather(answered, edited), 30)
                button.append(max(r.t for r in both) - started)
            rss = process.peak_rss_mib()
        finally:
            await process.stop()
    print(f"\nthe bot process on this database, end to end ({runs} each, busiest reps):")
    for name, values in (("/today", today), ("/call", call), ("button", button)):
        print(
            f"  {name}: p50 {percentile(values, 50) * 1000:.2f} ms, "
            f"p99 {percentile(values, 99) * 1000:.2f} ms"
        )
    print(f"  peak RSS: {rss:.0f} MiB (after start-up: {rss_idle:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --db if it exists")
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    path = args.db or Path(tempfile.mkdtemp(prefix="bench-datascale-")) / "big.db"
    if not (args.keep and path.exists()):
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        generate(path, args.reps, args.calls, args.contacts)
    reps = busiest_reps(path, 50)
    asyncio.run(storage_timings(path, reps))
    asyncio.run(bot_on(path, reps, args.runs))


if __name__ == "__main__":
    main()
