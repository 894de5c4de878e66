"""Crashes for real: ``python -m bot run`` is SIGKILLed in the middle of bursts and restarted.

Whatever a rep sent must survive: every ``/call`` logged exactly once, every button press applied
exactly once, and every rep answered. A crash may repeat a reply (the bot sent it, then died
before it could note that it had), but at most one per chat: a chat's updates are handled one
after another, so only one of them can be cut short. The bot runs as its own process on a real
SQLite file, against the fake Bot API in this process (``tests/fakeapi.py``); in webhook mode the
test plays Telegram and POSTs the updates itself, retrying each until it is answered with 200.

The kill moments are random: the seed is printed, and ``BALLBACK_CRASH_SEED=<seed>`` replays a
run. (A clean exit on SIGTERM with in-flight updates finished is ``tests/test_running.py``.)
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import signal
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import pytest

from bench.common import button_data, button_update, chat_of, command_update
from tests.fakeapi import FakeBotAPI, RecordedRequest
from tests.subproc import bot_env, start_cli
from tests.test_running import SECRET, free_port, listening

# About the SQLite file itself (its snapshots, its processes): PostgreSQL has its own tests.
pytestmark = pytest.mark.sqlite_only

Mode = Literal["polling", "webhook"]

SEED_VARIABLE = "BALLBACK_CRASH_SEED"
REPS = 16
CALLS_PER_BURST = 2
KILLS = 5
ROUNDS = KILLS + 1  # the last round runs to the end, then SIGTERM
KILL_JITTER = 0.015  # seconds after the first answer of a round
START_SECONDS = 20.0  # for a (re)started bot to be polling or listening
CATCH_UP_SECONDS = 10.0  # for a restarted bot to answer everything sent so far
AFTER_LOSS_SECONDS = 1.0  # for the answers of the later rounds, once something was lost
QUIET_SECONDS = 1.0  # after the one expected reply, to be sure no second one comes
RETRY_SECONDS = 0.02  # Telegram's pause before it posts an unanswered update again
ANSWERS = frozenset({"sendMessage", "answerCallbackQuery", "editMessageText"})
SHOWN = 12  # names listed in a failure message per kind of problem
_BOLD = re.compile(r"<b>(.*?)</b>")


# -- the bot process ------------------------------------------------------------------------------


class BotProcess:
    """``python -m bot run`` on one database, started, SIGKILLed and restarted at will."""

    def __init__(self, api: FakeBotAPI, workdir: Path, mode: Mode) -> None:
        self.api = api
        self.workdir = workdir
        self.mode = mode
        self.database = workdir / "ballback.db"
        self.log = workdir / "bot.log"
        self.port = free_port() if mode == "webhook" else 0
        self.url = f"http://127.0.0.1:{self.port}/hook"
        extra: dict[str, str] = {}
        if mode == "webhook":
            extra = {
                "BALLBACK_WEBHOOK_URL": self.url,
                "BALLBACK_WEBHOOK_SECRET": SECRET,
                "BALLBACK_LISTEN": f"127.0.0.1:{self.port}",
            }
        self.env = bot_env(api, self.database, **extra)
        self.process: asyncio.subprocess.Process | None = None
        self.starts: list[float] = []  # time.monotonic() just before each process was started
        self.kills = 0

    async def start(self) -> None:
        """Start the bot and wait until it polls (or listens for Telegram's posts)."""
        ready_method = "setWebhook" if self.mode == "webhook" else "getUpdates"
        before = len(self.api.calls(ready_method))
        self.starts.append(time.monotonic())
        with self.log.open("ab") as log:
            self.process = await start_cli(
                "run", env=self.env, cwd=self.workdir, stdout=log, stderr=log
            )
        try:
            await self.api.wait_for(ready_method, before + 1, timeout=START_SECONDS)
            if self.mode == "webhook":
                await listening(self.port, START_SECONDS)
        except (TimeoutError, OSError) as exc:
            raise AssertionError(f"the bot did not start: {exc}\n{self.log_tail()}") from None

    async def kill(self) -> None:
        assert self.process is not None and self.process.returncode is None, self.log_tail()
        self.process.kill()
        await self.process.wait()
        self.kills += 1

    async def terminate(self) -> int:
        """SIGTERM, as a service manager stops it; the exit code."""
        assert self.process is not None
        if self.process.returncode is not None:  # it died on its own
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                return await self.process.wait()
        except TimeoutError:
            await self.close()
            return -1

    async def close(self) -> None:
        """Kill what is still running (the test's ``finally``)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "bot log, last lines:\n" + "\n".join(text.splitlines()[-lines:])

    def lives(self, t: float) -> int:
        """Which start of the bot a request that arrived at ``t`` came from (0 = the first)."""
        return sum(1 for started in self.starts if started <= t) - 1


# -- playing Telegram -----------------------------------------------------------------------------


class Polling:
    """Updates for ``getUpdates``: the fake API serves again what the bot did not confirm."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    def deliver(self, bursts: list[list[dict[str, Any]]]) -> None:
        # Round-robin over the reps, so one getUpdates batch mixes every chat.
        for updates in itertools.zip_longest(*bursts):
            for update in updates:
                if update is not None:
                    self.api.push_update(update)

    async def close(self) -> None:
        """Nothing runs in the background."""


class Webhook:
    """Telegram posting to the bot's webhook: a chat's updates one at a time, in order, each
    again and again until the bot answers 200 (also across a crash and the restart); different
    chats at the same time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        self.queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self.workers: list[asyncio.Task[None]] = []
        self.update_ids = itertools.count(1)
        self.retries = 0

    def deliver(self, bursts: list[list[dict[str, Any]]]) -> None:
        for updates in bursts:
            for update in updates:
                chat = _chat_of_update(update)
                queue = self.queues.get(chat)
                if queue is None:
                    queue = self.queues[chat] = asyncio.Queue()
                    self.workers.append(asyncio.create_task(self._post_all(queue)))
                queue.put_nowait({"update_id": next(self.update_ids), **update})

    async def _post_all(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            update = await queue.get()
            while not await self._post(update):
                self.retries += 1
                await asyncio.sleep(RETRY_SECONDS)

    async def _post(self, update: dict[str, Any]) -> bool:
        try:
            async with self.session.post(self.url, json=update, headers=self.headers) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False  # refused while the bot is down, or cut off by the crash

    async def close(self) -> None:
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        await self.session.close()


def _chat_of_update(update: dict[str, Any]) -> int:
    if "message" in update:
        return int(update["message"]["chat"]["id"])
    return int(update["callback_query"]["message"]["chat"]["id"])


# -- what the reps sent, and what the bot answered ------------------------------------------------


@dataclass
class Dial:
    """One ``/call <name>`` a rep sent."""

    rep: int
    name: str
    round: int

    @property
    def chat(self) -> int:
        return chat_of(self.rep)


@dataclass
class Press:
    """The "No answer" button pressed under the bot's reply to a :class:`Dial`."""

    dial: Dial
    message_id: int
    data: str
    query_id: str
    round: int


@dataclass
class Replies:
    """The bot's answers as the fake API got them, indexed as they arrive."""

    api: FakeBotAPI
    seen: int = 0
    sends: dict[tuple[int, str], list[RecordedRequest]] = field(
        default_factory=lambda: defaultdict(list)
    )  # (chat, bold name in the text) -> sendMessage
    edits: dict[tuple[int, int], list[RecordedRequest]] = field(
        default_factory=lambda: defaultdict(list)
    )  # (chat, message_id) -> editMessageText
    answers: dict[str, list[RecordedRequest]] = field(
        default_factory=lambda: defaultdict(list)
    )  # callback_query_id -> answerCallbackQuery

    def refresh(self) -> None:
        requests = self.api.requests
        for record in itertools.islice(requests, self.seen, None):
            params = record.params
            if record.method == "sendMessage":
                for name in set(_BOLD.findall(str(params.get("text", "")))):
                    self.sends[int(params["chat_id"]), name].append(record)
            elif record.method == "editMessageText" and "message_id" in params:
                self.edits[int(params["chat_id"]), int(params["message_id"])].append(record)
            elif record.method == "answerCallbackQuery":
                self.answers[str(params["callback_query_id"])].append(record)
        self.seen = len(requests)

    def to_dial(self, dial: Dial) -> list[RecordedRequest]:
        return self.sends.get((dial.chat, dial.name), [])

    def to_press(self, press: Press) -> list[RecordedRequest]:
        """The edits of the pressed message (what the rep sees)."""
        return self.edits.get((press.dial.chat, press.message_id), [])

    def answered(self, press: Press) -> bool:
        return bool(self.to_press(press) or self.answers.get(press.query_id))


@dataclass
class Ledger:
    """Everything the reps sent in one run, and which of it still waits for an answer."""

    replies: Replies
    dials: list[Dial] = field(default_factory=list)
    presses: list[Press] = field(default_factory=list)
    waiting_dials: list[Dial] = field(default_factory=list)
    waiting_presses: list[Press] = field(default_factory=list)

    def all_answered(self) -> bool:
        self.replies.refresh()
        self.waiting_dials = [d for d in self.waiting_dials if not self.replies.to_dial(d)]
        self.waiting_presses = [p for p in self.waiting_presses if not self.replies.answered(p)]
        return not self.waiting_dials and not self.waiting_presses

    def burst(self, rep: int, round_: int, query_ids: Iterator[int]) -> list[dict[str, Any]]:
        """A rep's burst: two new ``/call``s, and "No answer" under every reply not pressed."""
        self.replies.refresh()
        pressed = {id(p.dial) for p in self.presses}
        presses: list[Press] = []
        for dial in self.dials:
            sent = self.replies.to_dial(dial)
            if dial.rep == rep and sent and id(dial) not in pressed:
                reply = sent[0]
                data = button_data(reply, ":na")
                presses.append(Press(dial, reply.message_id, data, "", round_))
        dials = [
            Dial(rep, f"Lead R{round_} P{rep} {'ABCDEFGH'[i]}", round_)
            for i in range(CALLS_PER_BURST)
        ]
        updates: list[dict[str, Any]] = []
        for dial, press in itertools.zip_longest(dials, presses):
            if dial is not None:
                updates.append(command_update(rep, f"/call {dial.name}"))
                self.dials.append(dial)
                self.waiting_dials.append(dial)
            if press is not None:
                update = button_update(rep, press.data, press.message_id)
                press.query_id = update["callback_query"]["id"] = f"q{next(query_ids)}"
                updates.append(update)
                self.presses.append(press)
                self.waiting_presses.append(press)
        return updates


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f", … ({len(items) - SHOWN} more)" if len(items) > SHOWN else "")


def _answering_since(api: FakeBotAPI, mark: int) -> Callable[[], bool]:
    """Whether the bot has begun answering what arrived after request number ``mark``."""

    def begun() -> bool:
        return any(r.method in ANSWERS for r in itertools.islice(api.requests, mark, None))

    return begun


def _confirmed(api: FakeBotAPI, update_id: int) -> bool:
    """Whether the bot has confirmed the update to the fake API (asked for later ones)."""
    return any(int(r.params.get("offset") or 0) > update_id for r in api.calls("getUpdates"))


def _call_rows(database: Path) -> dict[str, list[str | None]]:
    """Contact name -> the outcome of each of its rows in ``calls``."""
    with closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT contacts.name, calls.outcome FROM calls "
            "JOIN contacts ON contacts.id = calls.contact_id ORDER BY calls.id"
        ).fetchall()
    found: dict[str, list[str | None]] = defaultdict(list)
    for name, outcome in rows:
        found[str(name)].append(outcome)
    return found


def _repeats(
    copies: list[RecordedRequest], bot: BotProcess
) -> tuple[list[int], list[tuple[float, float]]]:
    """The extra copies of one reply: the restarts each came after (a crash between the reply
    reaching Telegram and the update being marked done repeats it once, after the restart),
    and the pairs (times) of copies sent twice by one and the same run of the bot."""
    ordered = sorted(copies, key=lambda r: r.t)
    across: list[int] = []
    within: list[tuple[float, float]] = []
    for first, second in itertools.pairwise(ordered):
        life = bot.lives(second.t)
        if bot.lives(first.t) < life:
            across.append(life)
        else:
            within.append((first.t, second.t))
    return across, within


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sigkill_during_bursts_loses_and_doubles_nothing(
    api: FakeBotAPI, tmp_path: Path, mode: Mode
) -> None:
    seed = int(os.environ.get(SEED_VARIABLE) or random.randrange(2**32))
    print(f"crash test seed {seed} ({mode}): replay with {SEED_VARIABLE}={seed}")
    rng = random.Random(seed)
    bot = BotProcess(api, tmp_path, mode)
    telegram: Polling | Webhook = Polling(api) if mode == "polling" else Webhook(bot.url)
    ledger = Ledger(Replies(api))
    query_ids = itertools.count(1)
    stuck: str | None = None  # the first time the bot did not catch up after a restart
    exit_code: int | None = None
    started = time.monotonic()
    try:
        await bot.start()
        for round_ in range(ROUNDS):
            bursts = [ledger.burst(rep, round_, query_ids) for rep in range(REPS)]
            mark = len(api.requests)
            telegram.deliver(bursts)
            if round_ < KILLS:
                begun = await api.wait_until(_answering_since(api, mark), START_SECONDS)
                assert begun, f"round {round_}: the bot answered nothing\n{bot.log_tail()}"
                await asyncio.sleep(rng.uniform(0, KILL_JITTER))
                await bot.kill()
                await bot.start()
            # Each round starts once all before it is answered: an update is then cut short
            # by one crash at most (the bot gives up one that crashes it again and again).
            patience = CATCH_UP_SECONDS if stuck is None else AFTER_LOSS_SECONDS
            if not await api.wait_until(ledger.all_answered, patience) and stuck is None:
                stuck = (
                    f"after round {round_} (kill {bot.kills}) the bot still owed "
                    f"{len(ledger.waiting_dials)} /call replies and "
                    f"{len(ledger.waiting_presses)} button answers {patience:.0f} s after its "
                    f"restart (later rounds waited only {AFTER_LOSS_SECONDS:.0f} s)"
                )
        exit_code = await bot.terminate()
    finally:
        await bot.close()
        await telegram.close()
    took = time.monotonic() - started

    replies = ledger.replies
    replies.refresh()
    rows = _call_rows(bot.database)
    dials, presses = ledger.dials, ledger.presses
    lost = [d.name for d in dials if not rows.get(d.name)]
    doubled = [f"{d.name} x{len(rows[d.name])}" for d in dials if len(rows.get(d.name, [])) > 1]
    not_applied = [
        f"{p.dial.name}: {rows.get(p.dial.name)}"
        for p in presses
        if rows.get(p.dial.name) and any(o != "na" for o in rows[p.dial.name])
    ]
    unanswered_dials = [d.name for d in dials if not replies.to_dial(d)]
    unanswered_presses = [p.dial.name for p in presses if not replies.answered(p)]
    repeated: dict[tuple[int, int], list[str]] = defaultdict(list)  # (chat, restart) -> replies
    twice_in_one_run: list[str] = []
    for what, chat, copies in [
        *((f"reply to /call {d.name}", d.chat, replies.to_dial(d)) for d in dials),
        *(
            (f"edit after pressing {p.dial.name}", p.dial.chat, replies.to_press(p))
            for p in presses
        ),
    ]:
        across, within = _repeats(copies, bot)
        for restart in across:
            repeated[chat, restart].append(what)
        twice_in_one_run += [f"{what} (at +{b - a:.3f} s)" for a, b in within]
    # One chat's updates are handled one after another: a crash can cut short only one of them,
    # so it can repeat at most one reply per chat.
    too_many = [
        f"restart {restart}, chat {chat}: {', '.join(whats)}"
        for (chat, restart), whats in sorted(repeated.items())
        if len(whats) > 1
    ]
    repeats = sum(len(whats) for whats in repeated.values())

    summary = (
        f"{mode}, seed {seed} ({SEED_VARIABLE}={seed} replays it): {bot.kills} SIGKILLs, "
        f"{REPS} reps, {len(dials)} /calls, {len(presses)} button presses, "
        f"{len(api.requests)} Bot API requests, {took:.1f} s"
        + (f", {telegram.retries} webhook posts retried" if isinstance(telegram, Webhook) else "")
        + f"; {repeats} replies repeated after a restart (allowed: one per chat and crash)"
    )
    print(summary)
    problems: list[str] = []
    if stuck:
        problems.append(stuck)
    if lost:
        problems.append(f"{len(lost)} of {len(dials)} /calls LOST (no calls row): {_listed(lost)}")
    if doubled:
        problems.append(f"{len(doubled)} /calls DOUBLED (rows in calls): {_listed(doubled)}")
    if not_applied:
        problems.append(
            f"{len(not_applied)} of {len(presses)} button presses NOT APPLIED "
            f"(outcome should be 'na'): {_listed(not_applied)}"
        )
    if unanswered_dials:
        problems.append(
            f"{len(unanswered_dials)} of {len(dials)} /calls never answered (no sendMessage "
            f"naming the contact): {_listed(unanswered_dials)}"
        )
    if unanswered_presses:
        problems.append(
            f"{len(unanswered_presses)} of {len(presses)} button presses never answered (no "
            f"editMessageText of the message, no answerCallbackQuery): "
            f"{_listed(unanswered_presses)}"
        )
    if twice_in_one_run:
        problems.append(
            f"{len(twice_in_one_run)} replies sent twice by the same run of the bot (no crash "
            f"in between): {_listed(twice_in_one_run)}"
        )
    if too_many:
        problems.append(
            f"more than one reply of a chat repeated after one crash: {_listed(too_many)}"
        )
    if exit_code != 0:
        problems.append(f"the bot exited with {exit_code} on SIGTERM")
    assert not problems, "\n".join([summary, *(f"- {p}" for p in problems), bot.log_tail()])


@pytest.mark.parametrize("what", ["call", "button"])
async def test_reply_lost_between_commit_and_send_is_sent_once_after_restart(
    api: FakeBotAPI, tmp_path: Path, what: str
) -> None:
    """The bot committed the work and sent its reply, which Telegram never answered: it died
    first. After the restart the rep gets that reply once, and the work is not done again."""
    bot = BotProcess(api, tmp_path, "polling")
    rep, chat = 0, chat_of(0)
    reply: Callable[[RecordedRequest], bool]
    try:
        await bot.start()
        if what == "call":

            def reply(r: RecordedRequest) -> bool:
                text = str(r.params.get("text", ""))
                return r.method == "sendMessage" and "<b>Anna</b>" in text

            api.hang_next("sendMessage", match=lambda p: "<b>Anna</b>" in str(p.get("text")))
            update_id = api.push_update(command_update(rep, "/call Anna"))
            shown = "the reply to /call Anna (sendMessage)"
        else:
            api.push_update(command_update(rep, "/call Anna"))
            replies = Replies(api)
            anna = Dial(rep, "Anna", 0)

            def logged_call() -> bool:
                replies.refresh()
                return bool(replies.to_dial(anna))

            assert await api.wait_until(logged_call, START_SECONDS), bot.log_tail()
            logged = replies.to_dial(anna)[0]
            message_id = logged.message_id

            def reply(r: RecordedRequest) -> bool:
                return r.method == "editMessageText" and r.params.get("message_id") == message_id

            api.hang_next("editMessageText", match=lambda p: p.get("message_id") == message_id)
            update_id = api.push_update(button_update(rep, button_data(logged, ":na"), message_id))
            shown = "the edit after pressing No answer under Anna's call (editMessageText)"

        def count(since: float = 0.0) -> int:
            """The replies that arrived at ``since`` or later."""
            return sum(
                1
                for r in api.requests
                if r.t >= since and reply(r) and r.params.get("chat_id") == chat
            )

        # The reply reached Telegram (its answer never reaches the bot), and the bot has told
        # Telegram it received the update (it asked for the ones after it): then it dies.
        assert await api.wait_until(
            lambda: bool(api.hung) and _confirmed(api, update_id), START_SECONDS
        ), f"hung: {api.hung}, getUpdates: {[r.params for r in api.calls('getUpdates')]}"
        await bot.kill()
        before_restart = _call_rows(bot.database).get("Anna")
        await bot.start()
        restarted = bot.starts[-1]
        if await api.wait_until(lambda: count(restarted) >= 1, CATCH_UP_SECONDS):
            await api.wait_until(lambda: count(restarted) >= 2, QUIET_SECONDS)
        exit_code = await bot.terminate()
    finally:
        await bot.close()

    outcome = "na" if what == "button" else None
    rows = _call_rows(bot.database).get("Anna")
    after = count(restarted)
    assert after == 1 and rows == [outcome], (
        f"{shown}: sent {after} times after the restart (expected once); calls rows for Anna "
        f"(their outcomes): {rows} (expected [{outcome!r}]; before the restart: "
        f"{before_restart})\n{bot.log_tail()}"
    )
    assert exit_code == 0, bot.log_tail()
