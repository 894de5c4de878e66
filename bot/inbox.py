"""The durable inbox: nothing Telegram delivered is lost when the process dies.

python-telegram-bot confirms a ``getUpdates`` batch (by asking for the next offset) as soon as
it has queued it, and a webhook answers ``200`` as soon as the update is queued: an update in
the queue, or half-handled, dies with the process. Here every update is written to the
database first, and only then queued:

* **Arrival.** Both ways in end in ``update_queue.put``: the poller puts a batch into the
  queue before it asks for the next one (which confirms the batch), the webhook before it
  answers. :class:`InboxQueue` admits the update there: one that is stored already (Telegram
  sends a batch again when the process died before confirming it) is not queued again; a new
  one is stored from the JSON Telegram sent (:class:`CapturingRequest` keeps it;
  re-serialising a parsed ``Update`` costs 15 times more). The rows *ride* with the next
  write transaction (``storage/db.py``), which is usually the update's own first unit of
  work: one commit for both. Whatever still waits is committed before the next
  ``getUpdates`` goes out and before the webhook's ``200`` (:meth:`Inbox.stored`), so
  Telegram is never told about an update that is not on disk, and an update's writes never
  reach the disk without its inbox row.
* **Done.** :meth:`Inbox.handle` runs each update's handling (inside its chat's turn, see
  ``bot/updates.py``) and marks the update done when it is over, replies included; the mark
  rides with the next transaction (the chat's next update's, usually) or goes alone within
  a few milliseconds.
* **Replay.** On start, before polling or the webhook begins, the updates stored and not done
  are queued again, oldest first, so each chat's order holds. Handling them again applies
  nothing twice: each unit of work an update commits records its result with it, and a replay
  gets those results back instead of writing again (``storage/effects.py``), then renders and
  sends the reply the rep may never have seen.
* **Poison.** Only the first pending update of a chat can have been under way at a crash, so
  each restart counts an attempt against it; at :data:`MAX_ATTEMPTS` it is given up: logged
  with its id, the rep gets the usual friendly error, and the chat's next updates go on. A
  handling that fails on a network error or flood control inside the process (the reply did
  not get through) is retried after a pause, up to the same number of attempts.
* **Housekeeping.** Done rows are kept a day (Telegram redelivers an unconfirmed batch at
  most that late) and pruned by the rhythm's tick; ``/forget`` deletes the user's rows.

On another storage backend the same guarantees need the same three things, all behind the
storage API: the arrival rows committed before the next ``getUpdates`` or the ``200`` (any
transaction may carry them), each unit of work recording its result in its own transaction,
and, with several processes, one poller per bot token and one handler per chat at a time
(a pending update claimed by its chat, e.g. ``FOR UPDATE SKIP LOCKED`` on PostgreSQL).

What is left: a crash after a reply reached Telegram and before its update's "done" was
committed (a few milliseconds) sends that reply again after the restart (nothing is written
twice). The inbox is as
durable as every other write: committed in WAL mode with ``synchronous=NORMAL``, it survives
the process being killed; a power cut can lose the last transactions before a checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.request import BaseRequest, RequestData

from bot.clock import Clock
from bot.locales import pick_lang, t
from bot.updates import chat_key
from storage import effects
from storage.db import lock_key
from storage.inbox import Arrival, InboxStore, Pending

if TYPE_CHECKING:
    from bot.app import BallbackApp

__all__ = ["MAX_ATTEMPTS", "Admitted", "CapturingRequest", "Inbox", "InboxQueue", "transient"]

log = logging.getLogger(__name__)

# An update is given up after this many handlings cut short by a crash (counted in the
# database), or this many failed on the network or flood control within one run.
MAX_ATTEMPTS = 3
RETRY_PAUSES = (0.5, 2.0)  # seconds before the 2nd and 3rd in-process attempt
MAX_RETRY_AFTER = 30.0  # flood control asking for longer than this: give up at once
STORE_PAUSES = (0.1, 5.0)  # first and longest wait while the database refuses an arrival
RIDE_TURNS = 4  # event-loop turns an arrival waits to go with its update's first unit of work
# With several instances: an update waiting this long is taken over by another instance.
STALE_AFTER = timedelta(seconds=20)


def transient(error: BaseException | None) -> bool:
    """A failure that handling the update again may get past: the network, flood control."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def _pauses() -> Iterator[float]:
    """Waits between tries while the database refuses: doubling, up to a ceiling."""
    pause = STORE_PAUSES[0]
    while True:
        yield pause
        pause = min(pause * 2, STORE_PAUSES[1])


def _ids(raw: JSONDict) -> tuple[int | None, int | None]:
    """(chat id, sender id) of an update as Telegram sent it, the way PTB's
    ``effective_chat`` / ``effective_user`` find them."""
    for key, value in raw.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        sender = value.get("from") or value.get("user")
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        return (
            chat.get("id") if isinstance(chat, dict) else None,
            sender.get("id") if isinstance(sender, dict) else None,
        )
    return None, None


class CapturingRequest(BaseRequest):
    """The ``getUpdates`` request: any :class:`BaseRequest`, which also hands the raw JSON of
    each batch to the inbox, so storing an update costs a ``json.dumps`` of what arrived."""

    __slots__ = ("_inbox", "_inner")

    def __init__(self, inner: BaseRequest, inbox: Inbox) -> None:
        self._inner = inner
        self._inbox = inbox

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        await self._inbox.stored()  # this request confirms the last batch to Telegram
        return await self._inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )

    def parse_json_payload(self, payload: bytes) -> JSONDict:  # type: ignore[override]
        data = BaseRequest.parse_json_payload(payload)
        result = data.get("result")
        if data.get("ok") and isinstance(result, list):
            self._inbox.arrived(result)
        return data


class Admitted(Enum):
    """What became of an update that arrived."""

    BATCH = "batch"  # new, from a getUpdates batch: stored before the next getUpdates
    ALONE = "alone"  # new, on its own (a webhook's): stored before ``put`` returns
    SEEN = "seen"  # stored before: not queued again


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue: an update is stored before ``put`` returns."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self._inbox = inbox

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        admitted = await self._inbox.admit(item)
        if admitted is Admitted.SEEN:
            return  # stored before: handled, or queued again at start
        await super().put(item)
        if admitted is Admitted.ALONE:  # a webhook's: stored before the 200 answer
            await self._inbox.stored()


class Inbox:
    """Stores updates on arrival, replays the unfinished ones, marks them done."""

    def __init__(
        self,
        store: InboxStore,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self.sleep = sleep  # the pauses before retries: a ManualClock's own in tests
        self.queue = InboxQueue(self)
        self.app: BallbackApp | None = None
        self._batch: dict[int, Arrival] = {}  # the last getUpdates batch, not stored yet
        self._fresh: set[int] = set()  # stored with its batch, not yet queued
        self._replayed: set[int] = set()  # queued again at start, not yet done
        self._unstored: set[int] = set()  # admitted, their rows not yet committed
        self._highest = 2**63 - 1  # the highest update id stored; known at start (replay)

    def request(self, inner: BaseRequest) -> CapturingRequest:
        return CapturingRequest(inner, self)

    # -- arrival ----------------------------------------------------------------------------

    def arrived(self, raw_updates: list[Any]) -> None:
        """A ``getUpdates`` batch, as Telegram sent it (before PTB parses it)."""
        batch: dict[int, Arrival] = {}
        for raw in raw_updates:
            if isinstance(raw, dict) and isinstance(update_id := raw.get("update_id"), int):
                chat, user = _ids(raw)
                payload = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
                batch[update_id] = Arrival(update_id, chat, user, payload)
        self._batch = batch

    async def admit(self, update: Update) -> Admitted:
        """Whether the update is new (to be queued); if so, it is stored with the next write
        transaction (see :meth:`stored`), its batch with it."""
        update_id = update.update_id
        if update_id in self._fresh:
            self._fresh.discard(update_id)
            return Admitted.BATCH
        batch, self._batch = self._batch, {}
        kind = Admitted.BATCH
        if update_id in batch:
            arrivals = list(batch.values())
        else:
            kind = Admitted.ALONE  # a webhook's update (or a batch from another request)
            self._batch = batch
            chat, user = update.effective_chat, update.effective_user
            arrivals = [
                Arrival(
                    update_id,
                    chat.id if chat else None,
                    user.id if user else None,
                    update.to_json(),
                )
            ]
        # Telegram's update ids grow: one above every id stored so far cannot be stored yet.
        ids = [a.update_id for a in arrivals if a.update_id <= self._highest]
        seen = self._unstored.intersection(ids) | (await self._known(ids) if ids else set())
        fresh = [a for a in arrivals if a.update_id not in seen]
        self._highest = max(self._highest, max(a.update_id for a in arrivals))
        if fresh:
            self._unstored.update(a.update_id for a in fresh)
            self.store.store_soon(fresh, self.clock.now(), self._committed)
        self._fresh.update(a.update_id for a in fresh if a.update_id != update_id)
        if update_id in seen:
            log.info("update %d arrived again: handled already or queued, not queued", update_id)
            return Admitted.SEEN
        return kind

    async def _known(self, update_ids: list[int]) -> set[int]:
        """Stored already; while the database cannot say, wait: the update is not confirmed
        to Telegram meanwhile (see :meth:`stored`)."""
        pauses = _pauses()
        while True:
            try:
                return await self.store.known(update_ids)
            except Exception as exc:
                pause = next(pauses)
                log.error("cannot read the inbox, retrying in %.1f s: %s", pause, exc)
            await self.sleep(pause)

    def _committed(self, arrivals: Sequence[Arrival]) -> None:
        self._unstored.difference_update(a.update_id for a in arrivals)

    async def stored(self) -> None:
        """Return once every update admitted so far is committed: before the next
        ``getUpdates`` (which tells Telegram the last batch arrived) and before a webhook's
        ``200``.

        The handlers get a few turns of the event loop first, so that an update's arrival
        usually goes with its own first unit of work, in one commit. Until the database takes
        them, this waits (and retries): Telegram keeps the updates meanwhile, nothing is lost.
        """
        for _ in range(RIDE_TURNS):
            if not self._unstored:
                return
            await asyncio.sleep(0)
        pauses = _pauses()
        db = self.store.db
        while self._unstored:
            try:
                if not db.is_open:
                    raise RuntimeError("the database is closed")
                await db.flush()
                if self._unstored:  # their carrier failed and gave them back: go again
                    await asyncio.sleep(0)
            except Exception as exc:
                pause = next(pauses)
                log.error(
                    "could not store %d update(s), retrying in %.1f s: %s",
                    len(self._unstored),
                    pause,
                    exc,
                )
                await self.sleep(pause)

    # -- start ------------------------------------------------------------------------------

    async def replay(self, app: BallbackApp) -> int:
        """Queue the updates stored and not done, oldest first; give up the poison ones.
        Call before updates start arriving. Returns how many were queued."""
        self.app = app
        self._highest = await self.store.highest()
        pending = await self.store.reopen()
        queued = 0
        for row in pending:
            try:
                update = Update.de_json(json.loads(row.payload), app.bot)
            except (ValueError, TypeError, TelegramError) as exc:
                log.error("update %d: stored JSON unreadable (%s): given up", row.update_id, exc)
                await self.store.finish(row.update_id, self.clock.now(), "given_up")
                continue
            if row.attempts >= MAX_ATTEMPTS:
                log.error(
                    "update %d: given up after %d attempts cut short (chat %s)",
                    row.update_id,
                    row.attempts,
                    row.chat_id,
                )
                await self._tell_failed(update)
                await self.store.finish(row.update_id, self.clock.now(), "given_up")
                continue
            self._replayed.add(row.update_id)
            self.queue.put_nowait(update)
            queued += 1
        if queued:
            log.info("replaying %d update(s) not finished before the last stop", queued)
        return queued

    # -- handling ---------------------------------------------------------------------------

    async def handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run one update's handling (``coroutine``: PTB's ``process_update``) and mark the
        update done; handle it again on a transient failure.

        With several instances on one database, the update's chat takes its turn across all
        of them (a lock held in the database): the chat's earlier updates that another
        instance stored and has not handled go first, and an update that another instance
        handled already (a redelivery) is not handled again."""
        if not isinstance(update, Update):
            await coroutine
            return
        db = self.store.db
        key = chat_key(update)
        if not db.shared or key is None:
            await self._handle(update, coroutine, update.update_id in self._replayed)
            return
        lock = lock_key("chat", key)
        try:
            await db.lock(lock)
            try:
                done, earlier = await self.store.turn(key, update.update_id)
            except BaseException:
                await db.unlock(lock)
                raise
        except Exception as exc:  # the database is away: handled as by one instance alone,
            log.warning("update %d: chat's turn not taken (%s)", update.update_id, exc)
            await self._handle(update, coroutine, update.update_id in self._replayed)
            return  # ... and its handlers say what went wrong
        try:
            for row in earlier:
                if (waiting := self._parse(row)) is not None:
                    log.info(
                        "update %d: handled here, before update %d of its chat",
                        row.update_id,
                        update.update_id,
                    )
                    await self._handle(waiting, self._process(waiting), replay=True, now=True)
            if done:
                _close(coroutine)
                log.info("update %d: handled by another instance already", update.update_id)
                self._replayed.discard(update.update_id)
                return
            await self._handle(update, coroutine, update.update_id in self._replayed, now=True)
        finally:
            await db.unlock(lock)

    def _process(self, update: Update) -> Awaitable[Any]:
        assert self.app is not None
        return self.app.process_update(update)

    def _parse(self, row: Pending) -> Update | None:
        assert self.app is not None
        try:
            return Update.de_json(json.loads(row.payload), self.app.bot)
        except (ValueError, TypeError, TelegramError) as exc:
            log.error("update %d: stored JSON unreadable (%s): given up", row.update_id, exc)
            self.store.finish_soon(row.update_id, self.clock.now(), "given_up", False)
            return None

    async def _handle(
        self, update: Update, coroutine: Awaitable[Any], replay: bool, now: bool = False
    ) -> None:
        """Handle the update to the end, retrying transient failures, and mark it done:
        with the next transaction, or (``now``) before returning."""
        update_id = update.update_id
        scope = effects.UpdateScope(update_id, replay=replay)
        token = effects.CURRENT.set(scope)
        outcome = "ok"
        try:
            await coroutine
            attempt = 1
            while scope.retry:
                pause = self._pause(scope.error, attempt)
                if pause is None:
                    log.error("update %d: given up after %d attempts", update_id, attempt)
                    outcome = "given_up"
                    await self._tell_failed(update)
                    break
                await self.sleep(pause)
                attempt += 1
                scope.restart()
                await self._process(update)
        finally:
            effects.CURRENT.reset(token)
        self._replayed.discard(update_id)
        recorded = scope.recorded or scope.replay  # a replay's may come from the last run
        if now:  # another instance may take the chat's turn next: it must see this one done
            await self.store.finish(update_id, self.clock.now(), outcome, recorded)
            return
        # Goes with the next transaction (usually the next update's first): a crash before
        # then repeats this update's reply, and writes nothing twice.
        self.store.finish_soon(update_id, self.clock.now(), outcome, recorded)

    # -- several instances: updates an instance left behind -----------------------------------

    async def sweep(self) -> int:
        """Queue the updates that have waited :data:`STALE_AFTER` or longer: the instance that
        stored them died (or is stuck); their chat's turn decides who handles them. Poison
        ones are given up as at start. Returns how many were queued."""
        if self.app is None or not self.store.db.shared:
            return 0
        queued = 0
        for row in await self.store.stale(self.clock.now() - STALE_AFTER):
            update = self._parse(row)
            if update is None or row.update_id in self._replayed:
                continue
            if row.attempts >= MAX_ATTEMPTS:
                log.error(
                    "update %d: given up after %d attempts cut short", row.update_id, row.attempts
                )
                await self._tell_failed(update)
                await self.store.finish(row.update_id, self.clock.now(), "given_up")
                continue
            log.warning("update %d waited %s: taken over", row.update_id, STALE_AFTER)
            self._replayed.add(row.update_id)
            self.queue.put_nowait(update)
            queued += 1
        return queued

    @staticmethod
    def _pause(error: BaseException | None, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None``: give up."""
        if attempt >= MAX_ATTEMPTS:
            return None
        pause = RETRY_PAUSES[min(attempt, len(RETRY_PAUSES)) - 1]
        if isinstance(error, RetryAfter):
            wait = error.retry_after
            seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
            if seconds > MAX_RETRY_AFTER:
                return None
            pause = max(pause, float(seconds))
        return pause

    async def _tell_failed(self, update: Update) -> None:
        """The usual friendly error, to the chat the update came from (best effort)."""
        chat = update.effective_chat or update.effective_user
        if chat is None or self.app is None:
            return
        user = update.effective_user
        text = t(pick_lang(user.language_code if user else None), "error")
        try:
            await self.app.bot.send_message(chat.id, text)
        except TelegramError as exc:
            log.warning("update %d: could not tell the user it failed: %s", update.update_id, exc)


def _close(coroutine: Awaitable[Any]) -> None:
    """A handling that will not run: close its coroutine (no "never awaited" warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
