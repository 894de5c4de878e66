"""Telegram's flood control, for all the instances on one database together.

Telegram answers a bot that sends too much with 429 and ``retry_after``: the bot must wait that
long. One instance alone handles that itself (the scheduler's :class:`bot.scheduler.RateLimiter`
pauses, a reply is retried after the pause, ``bot/inbox.py``). With several instances, the 429
one of them gets is about the bot, not the instance: :class:`FloodGateRequest` (the Bot API
requests of an instance on a shared database go through it) writes the pause to the database
(``storage/flood.py``) and every instance holds its requests back until it is over, having
read it within :data:`REFRESH_SECONDS`. The broadcast sends (nudges, summaries) come from one
instance at a time, the one that runs the rhythm (``bot/scheduler.py``), so its rate limiter
keeps the overall and per-group limits for all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from bot.clock import Clock
from storage.db import Database
from storage.flood import pause_until, paused_until

__all__ = ["REFRESH_SECONDS", "FloodGate", "FloodGateRequest"]

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0  # how often an instance reads the pause the others may have written


class FloodGate:
    """Until when this instance holds its requests back (Unix seconds, on the clock)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.clock = clock
        self.sleep = sleep
        self.until = 0.0
        self._read_at = -1.0

    def remaining(self) -> float:
        return max(0.0, self.until - self.clock.now().timestamp())

    async def wait(self) -> None:
        """Return when a request may go: after the pause any instance was given, if any."""
        now = self.clock.now().timestamp()
        if now - self._read_at >= REFRESH_SECONDS:
            self._read_at = now
            try:
                self.until = max(self.until, await paused_until(self.db) / 1000)
            except Exception as exc:  # the database is away: go by what this instance knows
                log.debug("flood pause not read: %s", exc)
        while (wait := self.remaining()) > 0:
            await self.sleep(wait)

    async def hit(self, seconds: float) -> None:
        """Telegram asked this instance to wait ``seconds``: every instance waits."""
        until = self.clock.now().timestamp() + seconds
        self.until = max(self.until, until)
        log.warning("flood control: all instances wait %.0f s", seconds)
        try:
            await pause_until(self.db, int(until * 1000))
        except Exception as exc:
            log.warning("flood pause not shared with the other instances: %s", exc)


def _retry_after(body: bytes) -> float | None:
    try:
        data = json.loads(body)
        seconds = data["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    return float(seconds) if isinstance(seconds, int | float) else None


class FloodGateRequest(BaseRequest):
    """A Bot API request that waits out the shared pause, and shares a 429's."""

    def __init__(self, inner: BaseRequest, gate: FloodGate) -> None:
        self.inner = inner
        self.gate = gate

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

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
        await self.gate.wait()
        status, body = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if status == 429 and (seconds := _retry_after(body)) is not None:
            await self.gate.hit(seconds)
        return status, body
