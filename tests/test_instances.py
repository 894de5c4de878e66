"""Several ``ballback run`` processes on one PostgreSQL database, for real.

- Webhook mode behind a load balancer: each chat's updates are posted alternately to two
  instances (and some again to the other one, as Telegram redelivers); every chat's calls must
  be handled in the order they were sent, each once, each answered once.
- The morning fan-out: the instance sending it is SIGKILLed half-way; the other one must take
  the rhythm over and finish it within a minute, nothing lost, and nothing doubled but what
  Telegram had accepted in the instant before the kill.
- Long polling: the second instance stands by without calling ``getUpdates`` and takes over
  when the first dies.

The processes run against the fake Bot API of this process (``tests/fakeapi.py``) and a real
PostgreSQL server the tests start (``tests/pgserver.py``).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bench.common import chat_of, command_update
from storage.db import Database
from storage.models import to_ts
from tests.dbtools import writing
from tests.fakeapi import FakeBotAPI
from tests.subproc import bot_env, start_cli
from tests.test_running import SECRET, free_port, listening

START_SECONDS = 30.0
_BOLD = re.compile(r"<b>(.*?)</b>")


class Instance:
    """One ``python -m bot run`` on the shared database."""

    def __init__(self, api: FakeBotAPI, dsn: str, workdir: Path, name: str, webhook: bool):
        self.api = api
        self.name = name
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        extra = {"BALLBACK_LOG_LEVEL": "INFO"}
        if webhook:
            extra |= {
                "BALLBACK_WEBHOOK_URL": self.url,
                "BALLBACK_WEBHOOK_SECRET": SECRET,
                "BALLBACK_LISTEN": f"127.0.0.1:{self.port}",
            }
        self.webhook = webhook
        self.env = bot_env(api, dsn, **extra)  # type: ignore[arg-type]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, wait: str | None = None) -> None:
        """Start it; with ``wait``, until the fake API got one more call of that method."""
        before = len(self.api.calls(wait)) if wait else 0
        with self.log.open("ab") as log:
            self.process = await start_cli(
                "run", env=self.env, cwd=self.workdir, stdout=log, stderr=log
            )
        try:
            if wait:
                await self.api.wait_for(wait, before + 1, timeout=START_SECONDS)
            if self.webhook:
                await listening(self.port, START_SECONDS)
        except (TimeoutError, OSError) as exc:
            raise AssertionError(f"{self.name} did not start: {exc}\n{self.tail()}") from None

    def says(self, text: str) -> bool:
        try:
            return text in self.log.read_text(errors="replace")
        except OSError:
            return False

    async def kill(self) -> None:
        assert self.process is not None and self.process.returncode is None, self.tail()
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return f"({self.name}: no log)"
        return f"{self.name} log, last lines:\n" + "\n".join(text.splitlines()[-lines:])


async def _post(session: aiohttp.ClientSession, url: str, update: dict[str, Any]) -> None:
    """Post like Telegram: again until the instance answers 200."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for _ in range(200):
        try:
            async with session.post(url, json=update, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    return
        except (aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"update {update['update_id']} never accepted by {url}")


async def test_two_webhook_instances_keep_each_chats_order_and_handle_nothing_twice(
    pg_dsn: str, tmp_path: Path
) -> None:
    reps, per_rep = 6, 12
    async with FakeBotAPI() as api:
        one = Instance(api, pg_dsn, tmp_path, "one", webhook=True)
        two = Instance(api, pg_dsn, tmp_path, "two", webhook=True)
        try:
            await one.start("setWebhook")
            await two.start("setWebhook")
            urls = [one.url, two.url]
            sent: dict[int, list[str]] = {}
            update_ids = iter(range(1, 100_000))

            async def rep(n: int) -> None:
                names = sent[chat_of(n)] = []
                async with aiohttp.ClientSession() as session:
                    for k in range(per_rep):
                        name = f"Lead {n}-{k:02d}"
                        names.append(name)
                        update = {
                            "update_id": next(update_ids),
                            **command_update(n, f"/call {name}"),
                        }
                        await _post(session, urls[k % 2], update)  # alternately
                        if k % 4 == 3:  # Telegram delivers this one again, to the other one
                            await _post(session, urls[(k + 1) % 2], update)

            await asyncio.gather(*(rep(n) for n in range(reps)))

            def answers() -> Counter[tuple[int, str]]:
                found: Counter[tuple[int, str]] = Counter()
                for r in api.calls("sendMessage"):
                    for name in set(_BOLD.findall(str(r.params.get("text", "")))):
                        found[int(r.params["chat_id"]), name] += 1
                return found

            expected = {(chat, name) for chat, names in sent.items() for name in names}
            assert await api.wait_until(lambda: expected <= set(answers()), timeout=30), (
                f"unanswered: {sorted(expected - set(answers()))[:10]}\n{one.tail()}\n{two.tail()}"
            )
            await asyncio.sleep(0.5)  # a second answer would come now
            doubled = {key: n for key, n in answers().items() if key in expected and n > 1}
            assert doubled == {}, "answered twice"
            db = Database(pg_dsn)
            await db.open()
            try:
                rows = await db.fetchall(
                    "SELECT c.owner_id, k.name FROM calls AS c JOIN contacts AS k "
                    "ON k.id = c.contact_id ORDER BY c.id"
                )
            finally:
                await db.close()
            logged: dict[int, list[str]] = {}
            for owner, name in rows:
                logged.setdefault(int(owner), []).append(str(name))
            assert logged == {chat: names for chat, names in sent.items()}  # in order, once
        finally:
            await one.stop()
            await two.stop()


# -- the morning fan-out, its sender killed half-way --------------------------------------------


def _zone_at_noon(now: datetime) -> tuple[str, datetime]:
    """A fixed-offset zone where it is now about midday, and the local time there."""
    offset = round((12 - (now.hour + now.minute / 60)) % 24)
    offset = offset - 24 if offset > 12 else offset
    name = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"  # Etc/GMT-3 is UTC+3
    return name, now.astimezone(ZoneInfo(name))


async def _fill_team(dsn: str, reps: int, now: datetime) -> None:
    """A team whose calling block starts in 10 minutes, local time: every rep's nudge is due
    now, on a day that works (whatever the calendar says: an extra working day)."""
    zone, local = _zone_at_noon(now)
    minutes = local.hour * 60 + local.minute
    created = to_ts(now - timedelta(days=30))
    db = Database(dsn)
    await db.open()
    try:
        async with writing(db) as conn:
            await conn.execute(
                "INSERT INTO teams (id, chat_id, title, tz, block_start, block_end, summary_at, "
                "workdays, created_at, updated_at) VALUES (1, -1001000000777, 'Fan-out', ?, "
                "?, ?, NULL, 127, ?, ?)",
                (zone, minutes + 10, minutes + 70, created, created),
            )
            today = date(local.year, local.month, local.day).isoformat()
            await conn.execute(
                "INSERT INTO team_days (team_id, day, working) VALUES (1, ?, 1)", (today,)
            )
            await conn.executemany(
                "INSERT INTO users (id, first_name, language_code, started_at, updated_at, "
                "opened_at) VALUES (?, ?, 'en', ?, ?, ?)",
                [(10_000 + n, f"Rep {n}", created, created, created) for n in range(reps)],
            )
            await conn.executemany(
                "INSERT INTO memberships (team_id, user_id, joined_at) VALUES (1, ?, ?)",
                [(10_000 + n, created) for n in range(reps)],
            )
    finally:
        await db.close()


async def test_a_fan_out_whose_sender_dies_is_finished_by_the_other_instance(
    pg_dsn: str, tmp_path: Path
) -> None:
    reps = 150  # five seconds at Telegram's 30 messages a second
    await _fill_team(pg_dsn, reps, datetime.now(UTC))
    recipients = {10_000 + n for n in range(reps)}
    async with FakeBotAPI() as api:
        instances = [Instance(api, pg_dsn, tmp_path, f"i{n}", webhook=True) for n in (1, 2)]
        try:
            for instance in instances:
                await instance.start("setWebhook")

            def nudges() -> list[Any]:
                return [
                    r
                    for r in api.calls("sendMessage")
                    if int(r.params["chat_id"]) in recipients and r.status == 200
                ]

            assert await api.wait_until(lambda: len(nudges()) >= reps // 3, timeout=40), "\n".join(
                i.tail() for i in instances
            )
            sender = next((i for i in instances if i.says("runs the rhythm now")), None)
            assert sender is not None, "\n".join(i.tail() for i in instances)
            survivor = next(i for i in instances if i is not sender)
            await sender.kill()
            killed_at = time.monotonic()
            before = len(nudges())
            assert before < reps, "the fan-out ended before the kill: make it longer"
            finished = await api.wait_until(
                lambda: {int(r.params["chat_id"]) for r in nudges()} >= recipients, timeout=60
            )
            took = time.monotonic() - killed_at
            got = Counter(int(r.params["chat_id"]) for r in nudges())
            assert finished, (
                f"{len(recipients - set(got))} reps never nudged, {took:.0f} s after the kill\n"
                f"{survivor.tail()}"
            )
            assert took < 60
            assert survivor.says("runs the rhythm now")
            await asyncio.sleep(1.0)  # anything sent twice would come now
            got = Counter(int(r.params["chat_id"]) for r in nudges())
            doubled = [chat for chat, n in got.items() if n > 1]
            # Only a message Telegram accepted in the instant before the kill may come twice:
            # the instance died before it could mark it sent.
            first = {
                chat: min(r.t for r in nudges() if int(r.params["chat_id"]) == chat)
                for chat in doubled
            }
            late = [chat for chat, t in first.items() if t < killed_at - 1.0]
            assert late == [], f"sent twice: {late}"
            assert len(doubled) <= 8  # the sends in flight at once
        finally:
            for instance in instances:
                await instance.stop()


# -- long polling: one polls, the other stands by ----------------------------------------------


async def test_a_second_polling_instance_stands_by_and_takes_over(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with FakeBotAPI() as api:
        first = Instance(api, pg_dsn, tmp_path, "first", webhook=False)
        second = Instance(api, pg_dsn, tmp_path, "second", webhook=False)
        try:
            await first.start("getUpdates")
            await second.start()
            deadline = time.monotonic() + START_SECONDS
            while not second.says("standby: another instance is polling"):
                assert time.monotonic() < deadline, second.tail()
                await asyncio.sleep(0.1)
            api.push_update(command_update(1, "/call Before Takeover"))
            assert await api.wait_until(
                lambda: any(
                    "Before Takeover" in str(r.params.get("text")) for r in api.calls("sendMessage")
                ),
                timeout=10,
            )
            await asyncio.sleep(0.5)  # its update marked done too: else it is rightly handled again
            await first.kill()
            deadline = time.monotonic() + START_SECONDS
            while not second.says("this one polls now"):
                assert time.monotonic() < deadline, second.tail()
                await asyncio.sleep(0.1)
            api.push_update(command_update(1, "/call After Takeover"))
            assert await api.wait_until(
                lambda: any(
                    "After Takeover" in str(r.params.get("text")) for r in api.calls("sendMessage")
                ),
                timeout=15,
            ), second.tail()
            replies = [str(r.params.get("text")) for r in api.calls("sendMessage")]
            assert sum("Before Takeover" in text for text in replies) == 1
            assert not second.says("Conflict")
        finally:
            await first.stop()
            await second.stop()
