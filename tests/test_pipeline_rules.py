"""The pipeline's rules as pure functions: client or prospect, stop chasing, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.pipeline import (
    STOP_CHASING_CALLS,
    calls_without_ball,
    chase_since,
    client_window,
    page_span,
    stop_chasing,
)
from bot.domain.rules import ContactStatus, Rules, contact_status

MSK = ZoneInfo("Europe/Moscow")
RULES = Rules(tz=MSK)  # a 30-day cycle
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=MSK)  # Friday, 09:00 in Moscow
MINUTE = timedelta(minutes=1)


def local(day: int, month: int, year: int = 2026, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


# -- client or prospect ------------------------------------------------------------------------


def test_no_next_step_is_a_prospect() -> None:
    assert contact_status([], NOW, RULES) is ContactStatus.PROSPECT


def test_next_step_on_the_last_day_of_the_cycle_is_a_client() -> None:
    last_moment = local(27, 12, hour=23, minute=59)  # 27.11 + 30 days, the cycle's last minute
    assert contact_status([last_moment], NOW, RULES) is ContactStatus.CLIENT


def test_next_step_a_minute_past_the_cycle_is_a_prospect() -> None:
    first_beyond = local(28, 12)  # midnight starting the 31st day
    assert contact_status([first_beyond], NOW, RULES) is ContactStatus.PROSPECT


def test_next_step_lapsed_by_a_minute_is_a_prospect() -> None:
    assert contact_status([NOW - MINUTE], NOW, RULES) is ContactStatus.PROSPECT
    assert contact_status([NOW], NOW, RULES) is ContactStatus.PROSPECT
    assert contact_status([NOW + MINUTE], NOW, RULES) is ContactStatus.CLIENT


def test_one_live_next_step_among_lapsed_ones_keeps_a_client() -> None:
    dues = [NOW - timedelta(days=3), local(28, 12, hour=10), NOW + timedelta(days=2)]
    assert contact_status(dues, NOW, RULES) is ContactStatus.CLIENT


def test_client_window_agrees_with_contact_status_minute_by_minute() -> None:
    after, before = client_window(NOW, RULES)
    assert after == NOW
    assert before == local(28, 12)
    edges = [NOW, local(28, 12)]
    for edge in edges:
        for minutes in range(-90, 91):
            due = edge + minutes * MINUTE
            in_window = after < due < before
            is_client = contact_status([due], NOW, RULES) is ContactStatus.CLIENT
            assert in_window == is_client, due


def test_client_window_agrees_with_contact_status_across_the_cycle_in_another_zone() -> None:
    rules = Rules(tz=ZoneInfo("America/New_York"), cycle_days=7)  # crosses no DST change here
    now = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 18:30 in New York
    after, before = client_window(now, rules)
    for hours in range(-24, 24 * 10):
        due = now + timedelta(hours=hours, minutes=17)
        is_client = contact_status([due], now, rules) is ContactStatus.CLIENT
        assert (after < due < before) == is_client, due


# -- stop chasing --------------------------------------------------------------------------------


def calls_on(*days: int) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


def test_four_calls_in_the_cycle_without_a_ball_means_stop() -> None:
    calls = calls_on(1, 5, 10, 20)
    assert calls_without_ball(calls, [], NOW, RULES) == 4
    assert stop_chasing(calls, [], [], NOW, RULES)


def test_three_calls_are_not_yet_enough() -> None:
    calls = calls_on(1, 5, 10)
    assert not stop_chasing(calls, [], [], NOW, RULES)
    assert STOP_CHASING_CALLS == 4


def test_calls_before_the_cycle_do_not_count() -> None:
    since = chase_since(NOW, RULES)
    assert since == local(28, 10)  # 30 local days before today, from midnight
    calls = [*calls_on(1, 2, 3), since - MINUTE, since - timedelta(days=10)]
    assert calls_without_ball(calls, [], NOW, RULES) == 3
    assert not stop_chasing(calls, [], [], NOW, RULES)
    assert stop_chasing([*calls, since], [], [], NOW, RULES)  # the first minute counts


def test_a_ball_back_resets_the_count() -> None:
    calls = calls_on(1, 2, 3, 10, 12, 14)
    ball = NOW - timedelta(days=5)  # agreed after the call 10 days ago
    assert calls_without_ball(calls, [ball], NOW, RULES) == 3
    assert not stop_chasing(calls, [ball], [], NOW, RULES)
    assert stop_chasing([*calls, NOW - timedelta(days=4)], [ball], [], NOW, RULES)


def test_a_ball_before_the_cycle_does_not_reset() -> None:
    calls = calls_on(1, 2, 3, 4)
    old_ball = NOW - timedelta(days=45)
    assert stop_chasing(calls, [old_ball], [], NOW, RULES)


def test_a_client_is_never_told_to_stop() -> None:
    calls = calls_on(1, 2, 3, 4, 5)
    assert not stop_chasing(calls, [], [NOW + timedelta(days=2)], NOW, RULES)
    # the same Next Step lapsed: a prospect again, and the calls count
    assert stop_chasing(calls, [], [NOW - MINUTE], NOW, RULES)


# -- pages ---------------------------------------------------------------------------------------


def test_pages() -> None:
    span = page_span(25, 3, size=10)
    assert span is not None
    assert (span.page, span.pages, span.offset, span.has_prev, span.has_next) == (
        3,
        3,
        20,
        True,
        False,
    )
    first = page_span(25, 1, size=10)
    assert first is not None and first.has_next and not first.has_prev


@pytest.mark.parametrize(("total", "page"), [(25, 0), (25, 4), (0, 2), (10, 2), (5, -1)])
def test_pages_out_of_range(total: int, page: int) -> None:
    assert page_span(total, page, size=10) is None


def test_an_empty_list_has_one_page() -> None:
    span = page_span(0, 1)
    assert span is not None and span.pages == 1 and not span.has_next
