"""The scheduler's rate limiter against Telegram's limits, with a fake clock."""

from __future__ import annotations

from collections import deque

from bot.scheduler import Limits, RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def send_all(limiter: RateLimiter, time: FakeTime, chats: list[int]) -> list[tuple[float, int]]:
    """Send to each chat in turn as soon as the limiter allows; returns (time, chat)."""
    sent = []
    for chat in chats:
        wait = limiter.delay(chat)
        time.now += wait
        assert limiter.delay(chat) == 0
        limiter.take(chat)
        sent.append((time.now, chat))
    return sent


def most_in_window(times: list[float], window: float) -> int:
    best, inside = 0, deque[float]()
    for moment in times:
        inside.append(moment)
        while moment - inside[0] >= window:
            inside.popleft()
        best = max(best, len(inside))
    return best


def test_a_thousand_reps_go_at_thirty_a_second_at_most() -> None:
    time = FakeTime()
    limiter = RateLimiter(time)
    sent = send_all(limiter, time, list(range(1, 1001)))
    times = [moment for moment, _ in sent]
    assert most_in_window(times, 1.0) <= 30
    took = times[-1] - times[0]
    assert 1000 / 30 < took < 1000 / 30 * 1.05  # the minimum, plus the jitter margin


def test_a_group_gets_twenty_a_minute_and_a_chat_one_a_second() -> None:
    time = FakeTime()
    limiter = RateLimiter(time, Limits(margin=0.0))
    group = [t for t, _ in send_all(limiter, time, [-100] * 25)]
    assert group[:20] == [1000.0 + n for n in range(20)]  # one a second to one chat
    assert group[20] == 1060.0  # the 21st waits for the first to leave the minute
    assert most_in_window(group, 60.0) == 20
    private = [t for t, _ in send_all(limiter, time, [7, 7, 8])]
    assert private[1] - private[0] == 1.0 and private[2] == private[1] + 1 / 30


def test_a_429_pauses_everything_or_one_chat() -> None:
    time = FakeTime()
    limiter = RateLimiter(time)
    limiter.pause(5)
    assert limiter.delay(7) == 5
    time.now += 5
    limiter.pause(30, chat_id=-100)
    assert limiter.delay(-100) == 30 and limiter.delay(7) == 0
