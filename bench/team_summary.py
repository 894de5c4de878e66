"""How long the group's numbers take on a big database (run by hand, not in the test suite).

    python -m bench.team_summary [--reps 1000] [--calls 1000000] [--team 200]

Builds a throwaway SQLite file with ``--reps`` reps in teams of ``--team``, ``--calls`` calls
spread over the last 60 days and a ball every tenth call, then times the rep's profile read
(done on every update), the daily summary, and the week and month leaderboards of one team.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.reports import Period, build_leaderboard, build_summary, team_today
from storage.db import Database
from storage.models import to_ts
from storage.repo import Store
from tests.dbtools import writing

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


async def fill(db: Database, reps: int, calls: int, team_size: int) -> None:
    rng = random.Random(7)
    start = NOW - timedelta(days=60)
    span = int((NOW - start).total_seconds())
    async with writing(db) as conn:
        teams = (reps + team_size - 1) // team_size
        for team in range(teams):
            await conn.execute(
                "INSERT INTO teams (id, chat_id, title, tz, quota, created_at, updated_at) "
                "VALUES (?, ?, ?, 'Europe/Moscow', 20, 0, 0)",
                (team + 1, -1000 - team, f"Team {team + 1}"),
            )
        for rep in range(1, reps + 1):
            tz = rng.choice([None, None, "Asia/Vladivostok", "Asia/Yekaterinburg"])
            await conn.execute(
                "INSERT INTO users (id, first_name, tz, started_at, updated_at) "
                "VALUES (?, ?, ?, 0, 0)",
                (rep, f"Rep {rep}", tz),
            )
            await conn.execute(
                "INSERT INTO memberships (team_id, user_id, joined_at) VALUES (?, ?, 0)",
                ((rep - 1) // team_size + 1, rep),
            )
            await conn.execute(
                "INSERT INTO contacts (id, owner_id, name, name_key, created_at) "
                "VALUES (?, ?, 'C', 'c', 0)",
                (rep, rep),
            )
        outcomes = [None, "na", "bz", "th", "cl", "ni", "ns"]
        batch: list[tuple[int, int, int, str | None]] = []
        steps: list[tuple[int, int, int, str, int]] = []
        for n in range(calls):
            rep = rng.randint(1, reps)
            at = to_ts(start) + rng.randrange(span)
            batch.append((rep, rep, at, rng.choice(outcomes)))
            if n % 10 == 0:
                status = rng.choice(["open", "done", "done", "dropped"])
                steps.append((rep, rep, at + 86400 * rng.randint(1, 10), status, at))
            if len(batch) >= 50_000:
                await conn.executemany(
                    "INSERT INTO calls (owner_id, contact_id, at, outcome) VALUES (?, ?, ?, ?)",
                    batch,
                )
                batch.clear()
        await conn.executemany(
            "INSERT INTO calls (owner_id, contact_id, at, outcome) VALUES (?, ?, ?, ?)", batch
        )
        await conn.executemany(
            "INSERT INTO next_steps (owner_id, contact_id, action, due_at, kind, status, "
            "created_at) VALUES (?, ?, 'Meeting', ?, 'ball', ?, ?)",
            steps,
        )
    await db.fetchall("ANALYZE")


async def timed(label: str, runs: int, work: object) -> None:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()  # type: ignore[operator]
        samples.append((time.perf_counter() - began) * 1000)
    print(f"{label:<34} median {statistics.median(samples):8.2f} ms   max {max(samples):8.2f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--team", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.db")
        await db.open()
        began = time.perf_counter()
        await fill(db, args.reps, args.calls, args.team)
        print(f"filled {args.reps} reps, {args.calls} calls in {time.perf_counter() - began:.1f} s")
        store = Store(db)
        team = await store.teams.get(1)
        assert team is not None
        day = team_today(team, NOW)
        await timed("profile (every update)", 2000, lambda: store.teams.profile(17))
        await timed(
            f"summary, team of {args.team}", 5, lambda: build_summary(store, team, day, NOW)
        )
        for period in (Period.DAY, Period.WEEK, Period.MONTH):
            await timed(
                f"leaderboard {period.value}",
                5,
                lambda p=period: build_leaderboard(store, team, p, NOW, asker_id=17),
            )
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
