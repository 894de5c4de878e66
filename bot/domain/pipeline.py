"""Where a rep's time should go: clients, prospects due for a call, and whom to stop chasing.

:func:`bot.domain.rules.contact_status` stays the one definition of a client (an open ball-type
Next Step ahead inside the sales cycle). :func:`client_window` states the same rule as a pair of
UTC instants, so that storage can gather the candidates with an index; the handlers then pass
every candidate through ``contact_status`` again, and a test checks that the two agree at the
edges.

Plain Python: no Telegram, no SQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.rules import ContactStatus, Rules, contact_status, day_bounds

STOP_CHASING_CALLS = 4  # calls inside the cycle without a ball back: time to let go
PAGE_SIZE = 10  # contacts per page of a /pipeline list


class Section(StrEnum):
    """The lists of ``/pipeline``; the values travel in ``callback_data``."""

    CLIENTS = "c"
    DUE = "p"
    STOP = "s"


def client_window(now: datetime, rules: Rules) -> tuple[datetime, datetime]:
    """``(after, before)``: an open ball-type Next Step due at ``d`` makes its contact a client
    exactly when ``after < d < before``.

    That is :func:`~bot.domain.rules.judge_due` answering OK: ``d`` lies in the future and its
    local date is no more than ``cycle_days`` after today, so ``before`` is the start of the
    local day after the last day of the cycle.
    """
    last_day = rules.today(now) + timedelta(days=rules.cycle_days)
    return now, day_bounds(last_day, rules.tz)[1]


def chase_since(now: datetime, rules: Rules) -> datetime:
    """Where the look-back for "stop chasing" starts: the local day ``cycle_days`` before today.

    The cycle looks the same length back as a Next Step may look ahead.
    """
    first_day = rules.today(now) - timedelta(days=rules.cycle_days)
    return day_bounds(first_day, rules.tz)[0]


def calls_without_ball(
    calls: Iterable[datetime], balls: Iterable[datetime], now: datetime, rules: Rules
) -> int:
    """Calls inside the look-back made after the last ball came back (all of them if none did).

    ``calls`` are when the contact was called; ``balls`` are when ball-type Next Steps were agreed
    with them (whatever became of those Next Steps later).
    """
    since = chase_since(now, rules)
    last_ball = max((b for b in balls if since <= b <= now), default=None)
    return sum(1 for at in calls if since <= at <= now and (last_ball is None or at > last_ball))


def stop_chasing(
    calls: Iterable[datetime],
    balls: Iterable[datetime],
    open_ball_dues: list[datetime],
    now: datetime,
    rules: Rules,
) -> bool:
    """A prospect called :data:`STOP_CHASING_CALLS` times or more in the cycle, no ball back."""
    if contact_status(open_ball_dues, now, rules) is ContactStatus.CLIENT:
        return False
    return calls_without_ball(calls, balls, now, rules) >= STOP_CHASING_CALLS


@dataclass(frozen=True, slots=True)
class PageSpan:
    """One page of a list: ``page`` counts from 1, ``offset`` is where its rows start."""

    page: int
    pages: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_span(total: int, page: int, size: int = PAGE_SIZE) -> PageSpan | None:
    """Page ``page`` of a list of ``total`` rows, or ``None`` if there is no such page.

    An empty list still has its page 1 (which says the list is empty).
    """
    if size <= 0:
        raise ValueError("page size must be positive")
    pages = max(1, math.ceil(max(total, 0) / size))
    if not 1 <= page <= pages:
        return None
    return PageSpan(page=page, pages=pages, size=size)
