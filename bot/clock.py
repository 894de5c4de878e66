"""The one source of "now".

Everything that depends on time (which day a call counts for, whether a Next Step is in the
past, what the scheduler owes whom) asks a :class:`Clock` instead of calling
``datetime.now()``, so tests can move time forward without sleeping.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant as an aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to (tests, simulations, benchmarks)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    async def sleep(self, seconds: float) -> None:
        """Waiting on a manual clock moves it forward at once (the scheduler's waits for
        Telegram's rate limits take no real time in tests)."""
        # Whole microseconds, rounded up (a datetime's resolution): a wait never rounds to 0.
        self.advance(timedelta(microseconds=math.ceil(max(seconds, 0.0) * 1_000_000)))
        await asyncio.sleep(0)
