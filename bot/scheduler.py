"""The scheduler: the database decides, one short periodic tick sends.

No per-rep job lives in memory. PTB's JobQueue runs one job, :meth:`Scheduler.job`, every
:data:`TICK_SECONDS`; each tick

1. **plans**: asks the planner (:func:`bot.rhythm.plan_dues`) what is due right now for every
   rep and team and records it in the outbox in one transaction (a send already recorded is
   left alone, so any number of ticks, restarts or instances record it once);
2. **delivers**: claims a batch of due rows (``BEGIN IMMEDIATE``: a second instance can never
   take the same row), renders each from fresh data (a reminder that no longer applies is
   ``skipped``), sends it within Telegram's limits, and marks it ``sent`` the moment Telegram
   accepted it, until nothing is left that may be tried now.

A send that was due while the bot was down is caught up by the first tick after the start if
its window is still open (the planner only returns sends whose window contains "now"), and
skipped otherwise.

**Exactly once.** The row is marked ``sent`` right after Telegram answers, before anything
else. If the process dies between Telegram accepting a message and that write, the row stays
``sending``; when its lease is over (:data:`storage.rhythm.LEASE`) it is pending again and that
one message is sent a second time. That is the only way a copy can repeat, at most once per
crash. A send that timed out is retried too: Telegram may have delivered it before the
connection broke, which is the same window seen from the network side.

**Errors.** ``RetryAfter`` (429) waits the time Telegram asks for and retries without using up
an attempt; a network error or time-out retries with a growing backoff, up to
:data:`MAX_ATTEMPTS`; ``Forbidden`` (403: the rep blocked the bot, the group removed it) marks
the rep unreachable or the team inactive and the row ``failed``; ``BadRequest`` is final for
that message and logged. One failing recipient never holds up the others.

**Limits.** :class:`RateLimiter` keeps every send inside Telegram's broadcast limits: about 30
messages a second overall (paced evenly, a little slower to absorb network jitter), 20 a minute
to one group, one a second to one chat. Replies to people's own messages do not go through it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import warnings
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.clock import Clock
from bot.domain.schedule import Due
from storage.db import lock_key
from storage.repo import Store
from storage.rhythm import LEASE, OutboxItem

log = logging.getLogger(__name__)

TICK_SECONDS = 30
BATCH = 100  # rows claimed at once: about 3 s of sending at the overall limit
CONCURRENCY = 8  # sends in flight at once (Telegram's round trip is ~50-100 ms)
MAX_ATTEMPTS = 6  # network errors and time-outs; 429 waits are not counted
BACKOFF = (5, 15, 30, 60, 120, 300)  # seconds before the next attempt after a network error
CLOSE_ENOUGH = 0.001  # a wait shorter than this is not worth a sleep (inside the margin)
MAX_LIMITER_WAIT = 5.0  # a row that would wait longer for the limiter goes back to pending
MAX_IDLE_WAIT = 60.0  # within a tick, wait for a retry this close instead of leaving it
KEEP_OUTBOX = timedelta(days=35)  # longer than any key can be due again
KEEP_INBOX = timedelta(days=1)  # Telegram redelivers an unconfirmed batch for up to a day
PRUNE_EVERY = timedelta(hours=1)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: HTML text, optional buttons."""

    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True, slots=True)
class Skip:
    """The send is no longer worth making; ``reason`` goes to the outbox row."""

    reason: str


Rendered = Sequence[Outgoing] | Skip
Planner = Callable[[datetime], Awaitable[Sequence[Due]]]
Renderer = Callable[[OutboxItem, datetime], Awaitable[Rendered]]


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: int = 30  # overall
    group_per_minute: int = 20  # to one group
    chat_interval: float = 1.0  # between two messages to one chat
    margin: float = 0.04  # every window is this much longer, against network jitter


class RateLimiter:
    """Telegram's broadcast limits, checked before each send (times in seconds, from ``now``).

    Overall sends are paced evenly (``(1 + margin) / per_second`` apart), which keeps any window
    of ``1 + margin`` seconds at ``per_second`` sends at most; a group gets at most
    ``group_per_minute`` in any ``60 * (1 + margin)`` seconds; one chat one message per
    ``chat_interval``. :meth:`pause` holds everything (or one chat) back after a 429.
    """

    def __init__(self, now: Callable[[], float], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._now = now
        self._interval = (1 + self.limits.margin) / self.limits.per_second
        self._group_window = 60.0 * (1 + self.limits.margin)
        self._next_any = -math.inf
        self._groups: dict[int, deque[float]] = defaultdict(deque)
        self._chats: dict[int, float] = {}
        self._paused_until = -math.inf
        self._chat_paused: dict[int, float] = {}

    def delay(self, chat_id: int) -> float:
        """Seconds to wait before a message to ``chat_id`` may go (0 when it may go now)."""
        now = self._now()
        ready = max(
            self._next_any,
            self._paused_until,
            self._chat_paused.get(chat_id, -math.inf),
            self._chats.get(chat_id, -math.inf) + self.limits.chat_interval,
        )
        if chat_id < 0:
            sent = self._groups[chat_id]
            while sent and now - sent[0] >= self._group_window:
                sent.popleft()
            if len(sent) >= self.limits.group_per_minute:
                ready = max(ready, sent[0] + self._group_window)
        return max(0.0, ready - now)

    def take(self, chat_id: int) -> None:
        """Record a message to ``chat_id`` as sent now (call right after ``delay`` said 0).

        The next slot is counted from now, never from where the last one should have been: a
        sender that woke up late does not catch up with a burst (under load, such bursts
        reached Telegram closer together than they left).
        """
        now = self._now()
        self._next_any = max(now, self._next_any) + self._interval
        self._chats[chat_id] = now
        if chat_id < 0:
            self._groups[chat_id].append(now)

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """Telegram said 429: nothing (or nothing to ``chat_id``) for ``seconds``."""
        until = self._now() + seconds
        if chat_id is None:
            self._paused_until = max(self._paused_until, until)
        else:
            self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, -math.inf), until)


@dataclass
class TickReport:
    """What one tick did (for logs, tests and the benchmark)."""

    busy: bool = False  # another tick was still running: this one did nothing
    planned: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    resumed: int = 0  # rows a crashed sender had left in 'sending', taken up again
    errors: list[str] = field(default_factory=list)


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that the type will become a timedelta
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(1.0, seconds)


class Scheduler:
    """Plans and sends the daily rhythm; see the module docstring."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        plan: Planner,
        render: Renderer,
        sleep: Sleep = asyncio.sleep,
        limits: Limits | None = None,
        batch: int = BATCH,
        concurrency: int = CONCURRENCY,
        lease: timedelta = LEASE,
    ) -> None:
        self.store = store
        self.clock = clock
        self.plan = plan
        self.render = render
        self.sleep = sleep
        self.limiter = RateLimiter(lambda: self.clock.now().timestamp(), limits)
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        self.opened: set[int] = set()  # users known to have written in private (see handlers)
        self._lock = asyncio.Lock()
        self._stopping = False
        self._planned: dict[tuple[str, int, str, datetime], datetime] = {}
        self._pruned_at: datetime | None = None
        self._leading = False  # this instance runs the rhythm (see _lead)
        self._took_over = False  # ... since this tick: what was under way is resumed now

    # -- the tick ---------------------------------------------------------------------------

    async def job(self, context: Any) -> None:
        """PTB's JobQueue callback: one tick. A failure (the database gone for a moment) is
        logged; the next tick starts afresh from the database."""
        try:
            await self.tick(context.bot)
        except Exception:
            log.exception("the rhythm's tick failed; the next one retries")

    async def stop(self, grace: float = 10.0) -> None:
        """Shutting down: claim nothing more, and let the sends in flight finish (up to
        ``grace`` seconds) so they are marked before the database closes."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._lock.acquire(), grace)
        except TimeoutError:
            log.warning("the rhythm was still sending at shutdown: its rows resume later")
            return
        self._lock.release()

    async def tick(self, bot: Bot) -> TickReport:
        """Plan what is due now, then send everything that may be sent now.

        A tick that finds the previous one still running (a big fan-out takes longer than the
        interval) returns at once: the running one picks up whatever becomes due meanwhile.
        """
        if self._lock.locked() or self._stopping:
            return TickReport(busy=True)
        async with self._lock:
            if not await self._lead():  # another instance runs the rhythm
                return TickReport(busy=True)
            report = TickReport()
            now = self.clock.now()
            try:
                report.planned = await self._plan(now)
            except Exception as exc:  # planning must never stop the sending of what is planned
                log.exception("planning the rhythm failed")
                report.errors.append(f"plan: {exc!r}")
            await self._deliver(bot, report)
            await self._prune(self.clock.now())
            if report.sent or report.failed or report.retried or report.resumed:
                log.info(
                    "rhythm: %d sent, %d skipped, %d failed, %d to retry, %d resumed",
                    report.sent,
                    report.skipped,
                    report.failed,
                    report.retried,
                    report.resumed,
                )
            return report

    async def _lead(self) -> bool:
        """Whether this instance runs the rhythm. With several instances on one database,
        one of them does (it holds a lock in the database for as long as it lives); when it
        dies, the first of the others whose tick comes takes over, and resumes at once the
        sends it had under way (nobody else can be sending them)."""
        if self._leading:
            return True
        db = self.store.db
        if not await db.try_lock(lock_key("rhythm")):
            return False
        self._leading = True
        self._took_over = db.shared
        if db.shared:
            log.info("this instance runs the rhythm now")
        return True

    async def _plan(self, now: datetime) -> int:
        """Record the sends due now that this process has not recorded yet."""
        dues = await self.plan(now)
        for key in [k for k, until in self._planned.items() if until <= now]:
            del self._planned[key]
        fresh = [
            due
            for due in dues
            if (due.kind.value, due.recipient, due.key, due.at) not in self._planned
        ]
        if fresh:
            await self.store.rhythm.plan(fresh, now)
            for due in fresh:
                self._planned[(due.kind.value, due.recipient, due.key, due.at)] = due.until
        return len(fresh)

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        removed = await self.store.rhythm.prune(now - KEEP_OUTBOX)
        if removed:
            log.info("outbox: %d old rows removed", removed)
        handled = await self.store.inbox.prune(now - KEEP_INBOX)
        if handled:
            log.info("inbox: %d handled updates removed", handled)

    # -- delivering -------------------------------------------------------------------------

    async def _deliver(self, bot: Bot, report: TickReport) -> None:
        rhythm = self.store.rhythm
        if not await rhythm.has_work():
            return
        while not self._stopping:
            now = self.clock.now()
            lease = timedelta(0) if self._took_over else self.lease
            self._took_over = False
            items, resumed = await rhythm.claim(now, self.batch, lease)
            if resumed:
                log.warning("outbox: %d interrupted sends taken up again", resumed)
                report.resumed += resumed
            if not items:
                next_try = await rhythm.next_try()
                if next_try is None:
                    return
                wait = (next_try - now).total_seconds()
                if wait > MAX_IDLE_WAIT:
                    return
                await self.sleep(max(wait, 0.0))
                continue
            # One recipient's sends go in order (the nudge before the pace check); different
            # recipients' go side by side, CONCURRENCY at a time.
            queues: dict[tuple[str, int], list[OutboxItem]] = {}
            for item in items:
                queues.setdefault(
                    ("team" if item.kind == "summary" else "user", item.recipient), []
                ).append(item)
            gate = asyncio.Semaphore(self.concurrency)
            await asyncio.gather(
                *(self._run_queue(bot, queue, gate, report) for queue in queues.values())
            )

    async def _run_queue(
        self, bot: Bot, queue: list[OutboxItem], gate: asyncio.Semaphore, report: TickReport
    ) -> None:
        async with gate:
            for item in queue:
                await self._one(bot, item, report)

    async def _one(self, bot: Bot, item: OutboxItem, report: TickReport) -> None:
        """Render and send one outbox row; never raises (one recipient never stops others)."""
        rhythm = self.store.rhythm
        try:
            rendered = await self.render(item, self.clock.now())
        except Exception as exc:
            log.exception("rendering %s for %s failed", item.kind, item.recipient)
            await rhythm.finish(item.id, "failed", f"render: {exc!r}")
            report.failed += 1
            report.errors.append(f"render {item.kind}/{item.recipient}: {exc!r}")
            return
        if isinstance(rendered, Skip):
            await rhythm.finish(item.id, "skipped", rendered.reason)
            report.skipped += 1
            # Planned again if it comes due at another time (the block was moved meanwhile).
            for key in [k for k in self._planned if k[:3] == (item.kind, item.recipient, item.key)]:
                del self._planned[key]
            return
        try:
            await self._send_parts(bot, item, rendered, report)
        except Exception as exc:  # a bug, not Telegram: the row fails, the others go on
            log.exception("sending %s to %s failed", item.kind, item.recipient)
            await rhythm.finish(item.id, "failed", f"error: {exc!r}")
            report.failed += 1
            report.errors.append(f"send {item.kind}/{item.recipient}: {exc!r}")

    async def _send_parts(
        self, bot: Bot, item: OutboxItem, parts: Sequence[Outgoing], report: TickReport
    ) -> None:
        rhythm = self.store.rhythm
        if not parts:
            await rhythm.finish(item.id, "skipped", "nothing to say")
            report.skipped += 1
            return
        redirect: dict[int, int] = {}  # a group that became a supergroup, while sending
        for number in range(item.parts_sent, len(parts)):
            part = parts[number]
            chat_id = redirect.get(part.chat_id, part.chat_id)
            for _ in range(2):  # a second try only after following a ChatMigrated
                wait = await self._wait_for_limiter(chat_id)
                if wait is not None:  # a long wait: free the row instead of holding it
                    when = self.clock.now() + timedelta(seconds=wait)
                    await rhythm.retry(item.id, when, "rate limit", counted=False)
                    report.retried += 1
                    return
                try:
                    message = await bot.send_message(chat_id, part.text, reply_markup=part.markup)
                except ChatMigrated as exc:
                    if chat_id > 0:  # only groups migrate; never redirect a private message
                        await self._failed_send(item, chat_id, exc, report)
                        return
                    new_chat = int(exc.new_chat_id)
                    await self.store.teams.move_chat(chat_id, new_chat, self.clock.now())
                    log.info("group %s became supergroup %s: following it", chat_id, new_chat)
                    redirect[part.chat_id] = chat_id = new_chat
                    continue
                except Exception as exc:
                    await self._failed_send(item, chat_id, exc, report)
                    return
                break
            else:
                await rhythm.finish(item.id, "failed", "the group moved more than once")
                report.failed += 1
                return
            # Accepted by Telegram: record it before anything else (see the module docstring).
            message_id = message.message_id if isinstance(message, Message) else None
            if number == len(parts) - 1:
                await rhythm.sent(item.id, self.clock.now(), message_id)
                report.sent += 1
            else:
                await rhythm.part_sent(item.id, message_id)

    async def _wait_for_limiter(self, chat_id: int) -> float | None:
        """Wait for the limiter to let a message to ``chat_id`` go, and take the slot.

        Returns the remaining wait instead when it is over :data:`MAX_LIMITER_WAIT` (a 429
        pause, a group's minute used up), so the row goes back to pending meanwhile and its
        lease never runs out while it waits.
        """
        while True:
            wait = self.limiter.delay(chat_id)
            if wait < CLOSE_ENOUGH:
                self.limiter.take(chat_id)
                return None
            if wait > MAX_LIMITER_WAIT:
                return wait
            # Wake a little early: a timer's overshoot would otherwise add up over a fan-out.
            await self.sleep(max(wait - CLOSE_ENOUGH / 2, 0.0))

    async def _failed_send(
        self, item: OutboxItem, chat_id: int, exc: Exception, report: TickReport
    ) -> None:
        rhythm, now = self.store.rhythm, self.clock.now()
        if isinstance(exc, RetryAfter):
            seconds = _retry_after(exc)
            # A private chat's 429 is Telegram's flood control for the whole bot: everything
            # waits. A group's is usually that group's own minute: only it waits.
            self.limiter.pause(seconds, chat_id if chat_id < 0 else None)
            await rhythm.retry(
                item.id, now + timedelta(seconds=seconds), f"429: {exc}", counted=False
            )
            report.retried += 1
            log.warning("429 for %s: retrying in %.0f s", item.kind, seconds)
            return
        if isinstance(exc, Forbidden):
            if chat_id > 0:
                await rhythm.unreachable(chat_id, now)
                self.opened.discard(chat_id)
                log.info("user %s refused messages (%s): marked unreachable", chat_id, exc)
            else:
                await self.store.teams.set_active(chat_id, False, now)
                log.warning("group %s refused a post (%s): the team is paused", chat_id, exc)
            await rhythm.finish(item.id, "failed", f"403: {exc}")
            report.failed += 1
            return
        if isinstance(exc, BadRequest):
            log.warning("Telegram refused %s for %s: %s", item.kind, chat_id, exc)
            await rhythm.finish(item.id, "failed", f"400: {exc}")
            report.failed += 1
            return
        if isinstance(exc, NetworkError):  # TimedOut included
            if item.attempts >= MAX_ATTEMPTS:
                log.warning(
                    "giving up %s for %s after %d attempts: %s",
                    item.kind,
                    chat_id,
                    item.attempts,
                    exc,
                )
                await rhythm.finish(item.id, "failed", f"network: {exc}")
                report.failed += 1
                return
            backoff = BACKOFF[min(item.attempts, len(BACKOFF)) - 1]
            await rhythm.retry(item.id, now + timedelta(seconds=backoff), f"network: {exc}")
            report.retried += 1
            return
        if isinstance(exc, TelegramError):
            log.warning("Telegram error for %s to %s: %s", item.kind, chat_id, exc)
            await rhythm.finish(item.id, "failed", f"telegram: {exc}")
            report.failed += 1
            return
        raise exc
