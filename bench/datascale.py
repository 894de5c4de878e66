"""Data scale: how Ballback answers with years of a big team's data in one SQLite file.

    python -m bench.datascale                  # 1,000 reps, 1,000,000 calls, 200,000 contacts
    python -m bench.datascale --db /tmp/big.db --keep   # reuse the generated file next time

1. Generates the database (deterministic, seeded): reps with Telegram ids, contacts with names,
   companies and phones, calls spread over the last 13 weeks of workdays (09:00-18:00 in the
   reps' zone) with a realistic mix of outcomes, a Next Step for every call that got one, and
   ``ANALYZE`` like a long-running install gets from ``PRAGMA optimize``. Each call and Next
   Step carries its local day (and a call whether it was in the calling block) as the bot
   stores them, so the triggers fill the per-day counts.
2. Times the queries behind ``/today`` through the real storage API and prints their plans.
   Then puts the reps into teams the way ``/setup`` and ``/join`` store them (one team of all
   reps, then teams of 200) and times the team summary, the week and month leaderboards
   (``bot.reports``) and the week chart (``bot.charts``), printing the plan of every statement
   the reports ran.
3. Starts the real bot (``python -m bot run``) on that file against the fake Bot API, sends
   ``/today`` for 200 reps and 200 ``/call`` + button round trips, times the answers end to end,
   and reads the bot process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
                     "done" if done else "open", at, day.toordinal())
                )  # fmt: skip
            # src_message far from the ids the benchmark's own messages get (1,000,000 up).
            in_block = 10 <= local.hour < 12  # the teams' calling block (see make_teams)
            yield (
                i, FIRST_REP + rep, contact, at, day.toordinal(), in_block, outcome,
                FIRST_REP + rep, 10**9 + i,
            )  # fmt: skip

    in_batches(
        call_rows(),
        "INSERT INTO calls (id, owner_id, contact_id, at, day, in_block, outcome, src_chat, "
        "src_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    in_batches(
        iter(steps),
        "INSERT INTO next_steps (owner_id, contact_id, call_id, action, due_at, kind, status, "
        "created_at, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    polite = [o.value for o in POLITE_NOS]
    rep_cycle = iter(reps * 1000)
    print("\nstorage API, busiest reps, p50 / max over 200 calls:")

    async def today() -> None:
        rep = next(rep_cycle)
        await store.day_stats(rep, start, end, polite)
        await store.next_steps_due(rep, start, end)

    p50, worst = await timed(today, 200)
    print(f"  /today (day_stats + next_steps_due): {p50 * 1000:.2f} ms / {worst * 1000:.2f} ms")
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


# -- teams on that database --------------------------------------------------------------------

TEAM_CHAT = -100_000  # the first team's group; team n posts in TEAM_CHAT - n + 1
OTHER_ZONES = ("Asia/Yekaterinburg", "Asia/Vladivostok")  # every 10th rep calls from elsewhere


def make_teams(path: Path, size: int) -> int:
    """Put every rep in a team of ``size`` (the way /setup and /join store them); returns the
    number of teams. Replaces the teams a previous run made. Teams keep the defaults (quota 20,
    a summary at 18:00) with a 10:00-12:00 calling block; every 10th rep has a zone of their own.
    """
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN")
        conn.execute("DELETE FROM memberships")
        conn.execute("DELETE FROM teams")
        users = [int(row[0]) for row in conn.execute("SELECT id FROM users ORDER BY id")]
        teams = (len(users) + size - 1) // size
        for n in range(teams):
            conn.execute(
                "INSERT INTO teams (id, chat_id, title, tz, block_start, block_end, created_by, "
                "created_at, updated_at) VALUES (?, ?, ?, 'Europe/Moscow', 600, 720, ?, 0, 0)",
                (n + 1, TEAM_CHAT - n, f"Sales {n + 1}", users[n * size]),
            )
        conn.executemany(
            "INSERT INTO memberships (team_id, user_id, joined_at) VALUES (?, ?, 0)",
            [(i // size + 1, user) for i, user in enumerate(users)],
        )
        conn.executemany(
            "UPDATE users SET tz = ? WHERE id = ?",
            [
                (OTHER_ZONES[(i // 10) % 2] if i % 10 == 9 else None, user)
                for i, user in enumerate(users)
            ],
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE memberships")
        conn.execute("ANALYZE teams")
    return teams


class Recorder:
    """The distinct statements a report runs on the reader, with the parameters they got."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.seen: dict[str, Any] = {}
        self.on = False
        self._fetchall, self._fetchone = db.fetchall, db.fetchone

        async def fetchall(sql: str, params: Any = ()) -> Any:
            if self.on:
                self.seen.setdefault(sql, params)
            return await self._fetchall(sql, params)

        async def fetchone(sql: str, params: Any = ()) -> Any:
            if self.on:
                self.seen.setdefault(sql, params)
            return await self._fetchone(sql, params)

        db.fetchall, db.fetchone = fetchall, fetchone


async def team_timings(path: Path, size: int, runs: int) -> None:
    from bot.charts import render_week_chart
    from bot.cli import GC_THRESHOLDS
    from bot.reports import Period, build_leaderboard, build_summary, team_today
    from storage.db import Database
    from storage.repo import Store

    db = Database(path)
    await db.open()
    gc.collect()  # the collector as `ballback run` sets it once started (bot/cli.py)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    recorder = Recorder(db)
    store = Store(db)
    team = await store.teams.get(1)
    assert team is not None
    members = await store.teams.members(team.id)
    now = datetime.now(UTC)
    day = team_today(team, now)
    asker = members[len(members) // 2].user_id
    print(f"\nteam of {len(members)} reps, through bot.reports, p50 / max over {runs} runs:")
    board = None
    for name, work in (
        ("summary (build_summary)", lambda: build_summary(store, team, day, now)),
        (
            "leaderboard, week (text)",
            lambda: build_leaderboard(store, team, Period.WEEK, now, asker_id=asker, lang="en"),
        ),
        (
            "leaderboard, month (text)",
            lambda: build_leaderboard(store, team, Period.MONTH, now, asker_id=asker, lang="en"),
        ),
    ):
        recorder.on = True
        result = await work()
        recorder.on = False
        board = result if name.startswith("leaderboard, week") else board
        p50, worst = await timed(work, runs)
        print(f"  {name}: {p50 * 1000:.2f} ms / {worst * 1000:.2f} ms")
    assert board is not None and board.chart is not None
    chart = board.chart
    samples = []
    for _ in range(max(3, runs // 2)):  # the first pays for importing Pillow and loading fonts
        started = time.perf_counter()
        render_week_chart(chart)
        samples.append(time.perf_counter() - started)
    print(
        f"  week chart PNG (render_week_chart, {len(chart.names)} rows): "
        f"{statistics.median(samples) * 1000:.2f} ms / {max(samples) * 1000:.2f} ms "
        f"(the first, with the import of Pillow: {samples[0] * 1000:.0f} ms)"
    )
    await db.close()
    if size == TEAM_PLAN_SIZE:
        print("\nquery plans of the team reports (every statement they ran):")
        seen = enumerate(recorder.seen.items(), start=1)
        plans(path, {f"{n}. {short(sql)}": (sql, params) for n, (sql, params) in seen})


def short(sql: str, width: int = 160) -> str:
    """One line of a statement; the JSON ``spans`` table the activity queries share is elided."""
    text = " ".join(sql.split())
    _, cte, rest = text.partition("FROM json_each(:spans) )")
    if cte:
        text = "WITH spans AS (… json_each(:spans))" + rest
    return text if len(text) <= width else text[: width - 1] + "…"


TEAM_PLAN_SIZE = 200


# -- the bot process on that database ----------------------------------------------------------


async def summary_chunks(path: Path) -> int:
    """How many messages the first team's summary takes (the bot's reply is timed to the last)."""
    from bot.reports import build_summary, team_today
    from storage.db import Database
    from storage.repo import Store

    db = Database(path)
    await db.open()
    try:
        store = Store(db)
        team = await store.teams.get(1)
        assert team is not None
        now = datetime.now(UTC)
        return len(await build_summary(store, team, team_today(team, now), now))
    finally:
        await db.close()


async def bot_on(path: Path, reps: list[int], runs: int) -> None:
    chunks = await summary_chunks(path)
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
            group: dict[str, list[float]] = {"/summary": [], "/leaderboard": [], "chart": []}
            for i in range(GROUP_RUNS):  # in the first team's group, asked by its members
                rep = i % TEAM_PLAN_SIZE
                for command in ("/summary", "/leaderboard"):
                    parts = chunks if command == "/summary" else 1
                    messages = [tracker.expect("sendMessage", TEAM_CHAT) for _ in range(parts)]
                    photo = (
                        tracker.expect("sendPhoto", TEAM_CHAT) if command != "/summary" else None
                    )
                    started = time.monotonic()
                    api.push_update(group_update(rep, command))
                    last = (await asyncio.wait_for(asyncio.gather(*messages), 60))[-1]
                    group[command].append(last.t - started)
                    if photo is not None:
                        group["chart"].append((await asyncio.wait_for(photo, 60)).t - started)
            rss = process.peak_rss_mib()
        finally:
            await process.stop()
    print(f"\nthe bot process on this database, end to end ({runs} each, busiest reps):")
    for name, values in (("/today", today), ("/call", call), ("button", button)):
        print(
            f"  {name}: p50 {percentile(values, 50) * 1000:.2f} ms, "
            f"p99 {percentile(values, 99) * 1000:.2f} ms"
        )
    print(
        f"\nin a team's group of {TEAM_PLAN_SIZE}, end to end ({GROUP_RUNS} each; the summary "
        f"to its last of {chunks} messages):"
    )
    for name, values in group.items():
        what = "leaderboard's chart (photo sent)" if name == "chart" else name
        print(
            f"  {what}: p50 {percentile(values, 50) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms"
        )
    print(f"  peak RSS: {rss:.0f} MiB (after start-up: {rss_idle:.0f} MiB)")


GROUP_RUNS = 20


def group_update(rep: int, text: str) -> dict[str, Any]:
    """``text`` sent by rep ``rep`` in the first team's group."""
    update = command_update(rep, text)
    update["message"]["chat"] = {"id": TEAM_CHAT, "type": "supergroup", "title": "Sales 1"}
    return update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --db if it exists")
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--team-runs", type=int, default=20)
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
    for size in (args.reps, TEAM_PLAN_SIZE):  # the bot below runs with the realistic teams
        teams = make_teams(path, size)
        print(f"\n{teams} team(s) of {size}")
        asyncio.run(team_timings(path, size, args.team_runs))
    asyncio.run(bot_on(path, reps, args.runs))


if __name__ == "__main__":
    main()
