"""The numbers a team sees: streaks, kept commitments, the calling block, the ranking.

Plain Python over plain data (counts per rep per day), no Telegram and no SQL, so the daily
summary, the leaderboard and a future scheduler all compute them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.rules import calls_per_ball

BLOCK_KEPT_MIN_CALLS = 1  # a rep kept their calling block when they logged a call inside it
PODIUM = 3
BIG_TEAM = 10  # above this many ranked reps the board shows the podium and the asker's spot
AROUND = 1  # ranks shown either side of the asker


@dataclass(frozen=True, slots=True)
class Commitments:
    """Next Steps whose date has come: kept (``done``), ``dropped``, or ``lapsed`` (still open)."""

    done: int = 0
    dropped: int = 0
    lapsed: int = 0

    @property
    def due(self) -> int:
        return self.done + self.dropped + self.lapsed

    def __add__(self, other: Commitments) -> Commitments:
        return Commitments(
            self.done + other.done, self.dropped + other.dropped, self.lapsed + other.lapsed
        )


def kept_rate(commitments: Commitments) -> float | None:
    """done / (done + dropped + lapsed); ``None`` when no Next Step has come due."""
    if commitments.due == 0:
        return None
    return commitments.done / commitments.due


def block_kept(calls_in_block: int) -> bool:
    return calls_in_block >= BLOCK_KEPT_MIN_CALLS


@dataclass(frozen=True, slots=True)
class Streak:
    days: int
    complete: bool  # False: every working day back to the window's start met the quota


def quota_streak(
    calls: Mapping[date, int],
    quota: int,
    workdays: frozenset[int],
    day: date,
    *,
    since: date,
    day_over: bool,
    counts: Callable[[date], bool] | None = None,
) -> Streak:
    """Consecutive working days up to ``day`` on which the rep made at least ``quota`` calls.

    Days off neither count nor break a streak. ``counts``, when given, decides which days are
    working days for the rep instead of ``workdays`` alone: the team's calendar (public holidays,
    its own days off and extra working days) without the rep's days away. While ``day`` is
    still going on (``day_over=False``) an unmet quota does not break it yet: yesterday's
    streak is still alive.
    Only days from ``since`` on are looked at; ``complete=False`` says the streak may reach
    further back, so the caller can look again over a longer window.
    """
    streak = 0
    current = day
    while current >= since:
        working = counts(current) if counts else current.weekday() in workdays
        if working:
            met = calls.get(current, 0) >= quota
            if met:
                streak += 1
            elif current != day or day_over:
                return Streak(streak, complete=True)
        current -= timedelta(days=1)
    return Streak(streak, complete=False)


@dataclass(frozen=True, slots=True)
class Score:
    """One rep's totals over a period."""

    user_id: int
    name: str
    calls: int
    balls: int

    @property
    def ratio(self) -> float | None:
        """Calls per ball, rounded for display; ``None`` before the first ball."""
        return calls_per_ball(self.calls, self.balls)

    @property
    def on_board(self) -> bool:
        return self.calls > 0 or self.balls > 0


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int  # equal scores share a rank (1, 2, 2, 4)
    score: Score


def _merit(score: Score) -> tuple[int, int]:
    """Balls back first, then fewer calls per ball, then more calls.

    With the same balls, fewer calls per ball is simply fewer calls, so the key is two exact
    integers: fewer calls ranks higher among reps with balls, more calls among reps without.
    """
    return (-score.balls, score.calls if score.balls > 0 else -score.calls)


def rank(scores: Iterable[Score]) -> list[Ranked]:
    """Rank the reps who did something; ties share a rank and are listed by name."""
    board = sorted(
        ((_merit(s), s.name.casefold(), s.user_id, s) for s in scores if s.on_board),
        key=lambda entry: entry[:3],
    )
    ranked: list[Ranked] = []
    previous = None
    for position, (merit, _, _, score) in enumerate(board, start=1):
        ranked.append(Ranked(ranked[-1].rank if merit == previous else position, score))
        previous = merit
    return ranked


def board_view(
    ranked: Sequence[Ranked],
    asker_id: int | None,
    *,
    podium: int = PODIUM,
    big: int = BIG_TEAM,
    around: int = AROUND,
) -> list[Ranked | None]:
    """What the leaderboard shows; ``None`` marks a gap ("…").

    A small team sees everyone who is ranked. A big one sees the podium and then the asker with
    the ranks right next to them: never a list of the last places.
    """
    if len(ranked) <= big:
        return list(ranked)
    shown = set(range(min(podium, len(ranked))))
    mine = next((i for i, r in enumerate(ranked) if r.score.user_id == asker_id), None)
    if mine is not None:
        shown |= set(range(max(0, mine - around), min(len(ranked), mine + around + 1)))
    view: list[Ranked | None] = []
    previous = -1
    for index in sorted(shown):
        if index != previous + 1:
            view.append(None)
        view.append(ranked[index])
        previous = index
    return view
