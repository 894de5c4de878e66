"""The daily rhythm as pure functions: working days, windows, keys, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import (
    DayError,
    WorkCalendar,
    format_workdays,
    parse_day,
    parse_range,
    parse_workdays,
)
from bot.domain.schedule import (
    DEFAULT_MORNING,
    LAPSED_PER_DAY,
    RepRhythm,
    SendKind,
    behind_pace,
    block_midpoint,
    calls_left,
    due_for_rep,
    due_for_team,
    due_lapsed,
)

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def rep(tz: ZoneInfo = MSK, **kw: object) -> RepRhythm:
    return RepRhythm(user_id=1, tz=tz, block_start=time(10), block_end=time(11), **kw)  # type: ignore[arg-type]


def kinds(now: datetime, r: RepRhythm | None = None) -> list[str]:
    return [d.kind.value for d in due_for_rep(r or rep(), now)]


def msk(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=MSK)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("mon-sat", {0, 1, 2, 3, 4, 5}),
        ("Mon, Wed, Fri", {0, 2, 4}),
        ("пн-пт", {0, 1, 2, 3, 4}),
        ("sun", {6}),
    ],
)
def test_parse_workdays(text: str, days: set[int]) -> None:
    assert parse_workdays(text) == frozenset(days)


@pytest.mark.parametrize("text", ["", "fri-mon", "monday-friday", "mon-", "xyz"])
def test_parse_workdays_rejects(text: str) -> None:
    assert parse_workdays(text) is None


def test_format_workdays() -> None:
    assert format_workdays({0, 1, 2, 3, 4}) == "mon-fri"
    assert format_workdays({0, 2, 4}) == "mon,wed,fri"


def test_russian_calendar_holidays_and_transfers() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 11, 27))  # Friday
    assert not cal.is_workday(date(2026, 11, 28))  # Saturday
    assert not cal.is_workday(date(2026, 11, 4))  # Unity Day, a Wednesday
    assert not cal.is_workday(date(2026, 12, 31))  # transferred day off
    assert not cal.is_workday(date(2027, 1, 5))  # New Year holidays
    assert cal.is_workday(date(2027, 2, 20))  # a Saturday made a working day by decree


def test_team_exceptions_win() -> None:
    cal = WorkCalendar(
        days_off=frozenset({date(2026, 11, 27)}), extra_workdays=frozenset({date(2026, 11, 4)})
    )
    assert not cal.is_workday(date(2026, 11, 27))
    assert cal.is_workday(date(2026, 11, 4))
    assert cal.previous_workday(date(2026, 11, 30)) == date(2026, 11, 26)


def test_windows_of_a_working_day() -> None:
    assert kinds(msk(2026, 11, 27, 9, 44)) == []
    assert kinds(msk(2026, 11, 27, 9, 45)) == ["nudge"]
    assert kinds(msk(2026, 11, 27, 10, 30)) == ["nudge", "pace"]
    assert kinds(msk(2026, 11, 27, 11, 0)) == ["quota"]
    assert kinds(msk(2026, 11, 27, 23, 59)) == ["quota"]
    assert kinds(msk(2026, 11, 28, 9, 50)) == []  # Saturday


def test_keys_are_the_local_date() -> None:
    [nudge] = due_for_rep(rep(), msk(2026, 11, 27, 9, 50))
    assert nudge.key == "2026-11-27" and nudge.kind is SendKind.NUDGE
    assert nudge.at == msk(2026, 11, 27, 9, 45).astimezone(UTC)
    assert nudge.until == msk(2026, 11, 27, 11).astimezone(UTC)


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Kaliningrad",
        "Europe/Moscow",
        "Europe/Samara",
        "Asia/Yekaterinburg",
        "Asia/Omsk",
        "Asia/Novosibirsk",
        "Asia/Krasnoyarsk",
        "Asia/Irkutsk",
        "Asia/Yakutsk",
        "Asia/Vladivostok",
        "Asia/Magadan",
        "Asia/Kamchatka",
    ],
)
def test_every_russian_zone_nudges_at_local_time(zone: str) -> None:
    tz = ZoneInfo(zone)
    r = rep(tz)
    local = datetime(2026, 11, 27, 9, 45, tzinfo=tz)
    assert [d.kind for d in due_for_rep(r, local)] == [SendKind.NUDGE]
    assert due_for_rep(r, local - timedelta(minutes=1)) == []
    assert {d.key for d in due_for_rep(r, local)} == {"2026-11-27"}


def test_dst_switch_days_keep_one_key_per_day() -> None:
    """In a zone with DST, a repeated or missing hour neither doubles nor loses a nudge."""
    every_day = WorkCalendar(workdays=frozenset(range(7)), country=None)
    r = RepRhythm(
        user_id=1, tz=BERLIN, block_start=time(2, 30), block_end=time(4, 0), calendar=every_day
    )

    def nudge_keys(start: datetime) -> list[str]:
        ticks = [start + timedelta(minutes=5 * i) for i in range(72)]
        return [d.key for now in ticks for d in due_for_rep(r, now) if d.kind is SendKind.NUDGE]

    # 2026-10-25: 03:00 -> 02:00, the hour from 02:00 to 03:00 happens twice.
    autumn = nudge_keys(datetime(2026, 10, 24, 22, 0, tzinfo=UTC))
    assert set(autumn) == {"2026-10-25"}
    # 2026-03-29: 02:00 -> 03:00, the nudge time 02:15 does not exist that day.
    spring = nudge_keys(datetime(2026, 3, 28, 22, 0, tzinfo=UTC))
    assert set(spring) == {"2026-03-29"}


def test_off_snoozed_and_away() -> None:
    now = msk(2026, 11, 27, 10, 30)
    assert kinds(now, rep(nudges_on=False)) == []
    assert kinds(now, rep(snoozed_on=date(2026, 11, 27))) == []
    # A snooze silences the rest of the day's calling block, the quota reminder too.
    assert kinds(msk(2026, 11, 27, 11, 5), rep(snoozed_on=date(2026, 11, 27))) == []
    assert kinds(now, rep(snoozed_on=date(2026, 11, 26))) == ["nudge", "pace"]
    away = rep(away=((date(2026, 11, 25), date(2026, 11, 27)),))
    assert kinds(now, away) == []
    assert kinds(msk(2026, 11, 30, 10, 30), away) == ["nudge", "pace"]


def test_block_midpoint() -> None:
    assert block_midpoint(time(10), time(11)) == time(10, 30)
    assert block_midpoint(time(9, 15), time(12, 0)) == time(10, 37)


def test_lapsed_steps_asked_the_next_working_morning() -> None:
    steps = [(7, msk(2026, 11, 26, 15)), (8, msk(2026, 11, 27, 15))]
    assert due_lapsed(rep(), steps, msk(2026, 11, 27, 9, 0)) == []
    [due] = due_lapsed(rep(), steps, msk(2026, 11, 27, 9, 45))
    assert (due.kind, due.key, due.ref) == (SendKind.LAPSED, "s7", 7)
    assert due_lapsed(rep(), steps, msk(2026, 11, 28, 9, 45)) == []  # Saturday


def test_team_summary_window() -> None:
    cal = WorkCalendar()
    assert due_for_team(5, -100, MSK, time(18, 30), cal, msk(2026, 11, 27, 18, 29)) is None
    due = due_for_team(5, -100, MSK, time(18, 30), cal, msk(2026, 11, 27, 23, 59))
    # The recipient is the team (its chat id may change when the group is upgraded).
    assert due is not None and (due.key, due.recipient, due.ref) == ("2026-11-27", 5, -100)
    assert due_for_team(5, -100, MSK, time(18, 30), cal, msk(2026, 11, 28, 18, 30)) is None


# -- the rest of the rhythm's decisions ----------------------------------------------------------


def test_no_calling_block_means_no_block_reminders_but_lapsed_steps_at_nine() -> None:
    free = RepRhythm(user_id=1, tz=MSK, block_start=None, block_end=None)
    assert due_for_rep(free, msk(2026, 11, 27, 10, 30)) == []
    steps = [(7, msk(2026, 11, 26, 15))]
    assert due_lapsed(free, steps, msk(2026, 11, 27, 8, 59)) == []
    [due] = due_lapsed(free, steps, msk(2026, 11, 27, 9, 0))
    assert due.at == msk(2026, 11, 27, 9).astimezone(UTC)
    assert time(9) == DEFAULT_MORNING


def test_lapsed_steps_oldest_first_at_most_a_few_a_day_and_not_too_old() -> None:
    now = msk(2026, 11, 27, 10, 0)
    steps = [(n, msk(2026, 11, 26, 9) - timedelta(hours=n)) for n in range(1, 16)]
    steps.append((99, msk(2026, 10, 1, 12)))  # older than the look-back: not asked any more
    dues = due_lapsed(rep(), steps, now)
    assert len(dues) == LAPSED_PER_DAY
    assert [d.ref for d in dues] == list(range(15, 5, -1))  # oldest first
    assert all(d.key == f"s{d.ref}" and d.day == date(2026, 11, 27) for d in dues)
    assert due_lapsed(rep(nudges_on=False), steps, now) == []
    away = rep(away=((date(2026, 11, 27), date(2026, 11, 27)),))
    assert due_lapsed(away, steps, now) == []


def test_previous_working_day_skips_weekends_holidays_and_days_away() -> None:
    r = rep(away=((date(2026, 11, 26), date(2026, 11, 26)),))
    assert r.previous_working_day(date(2026, 11, 30)) == date(2026, 11, 27)  # Monday -> Friday
    assert r.previous_working_day(date(2026, 11, 27)) == date(2026, 11, 25)  # away on Thursday
    assert rep().previous_working_day(date(2026, 11, 5)) == date(2026, 11, 3)  # 4 Nov: holiday


def test_a_block_starting_at_midnight_has_its_morning_at_midnight() -> None:
    r = RepRhythm(user_id=1, tz=MSK, block_start=time(0, 5), block_end=time(1, 0))
    assert r.morning() == time.min
    assert rep().morning() == time(9, 45)


@pytest.mark.parametrize(
    ("calls", "minutes", "behind"),
    [
        (9, 30, True),
        (10, 30, False),
        (13, 40, True),
        (14, 40, False),
        (0, 0, False),
        (20, 30, False),
    ],
)
def test_behind_pace_compares_with_the_elapsed_share_of_the_block(
    calls: int, minutes: int, behind: bool
) -> None:
    start, end = msk(2026, 11, 27, 10), msk(2026, 11, 27, 11)
    now = start + timedelta(minutes=minutes)
    assert behind_pace(calls, 20, start, end, now) is behind


def test_calls_left() -> None:
    assert calls_left(12, 20) == 8 and calls_left(25, 20) == 0


TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-31", date(2026, 12, 31)),
        ("31.12.2026", date(2026, 12, 31)),
        ("31.12.26", date(2026, 12, 31)),
        ("31/12/2026", date(2026, 12, 31)),
        ("31.12", date(2026, 12, 31)),
        ("09.01", date(2027, 1, 9)),  # the nearest 9 January is the coming one
        ("01.09", date(2026, 9, 1)),  # ... the nearest 1 September the last one
        (" 4.11 ", date(2026, 11, 4)),
        ("31.02", DayError.NO_SUCH_DAY),
        ("2026-02-30", DayError.NO_SUCH_DAY),
        ("13.13", DayError.NO_SUCH_DAY),
        ("tomorrow", DayError.UNREADABLE),
        ("", DayError.UNREADABLE),
    ],
)
def test_parse_day(text: str, expected: date | DayError) -> None:
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01.12-10.12", (date(2026, 12, 1), date(2026, 12, 10))),
        ("01.12 – 10.12", (date(2026, 12, 1), date(2026, 12, 10))),
        ("01.12.2026-10.12.2026", (date(2026, 12, 1), date(2026, 12, 10))),
        ("2026-12-01..2026-12-10", (date(2026, 12, 1), date(2026, 12, 10))),
        ("2026-12-01 - 2026-12-10", (date(2026, 12, 1), date(2026, 12, 10))),
        ("25.12-10.01", (date(2026, 12, 25), date(2027, 1, 10))),  # over the new year
        ("01.12", (date(2026, 12, 1), date(2026, 12, 1))),
        ("20.11-24.11", (date(2026, 11, 20), date(2026, 11, 24))),  # a past week still counts
        ("10.12-01.12.2026", DayError.ORDER),
        ("01.12.2026-01.12.2028", DayError.TOO_LONG),
        ("01.09.2026-05.09.2026", DayError.PAST),
        ("next week", DayError.UNREADABLE),
        ("01.12-", DayError.UNREADABLE),
        ("30.02-03.03", DayError.NO_SUCH_DAY),
    ],
)
def test_parse_range(text: str, expected: tuple[date, date] | DayError) -> None:
    assert parse_range(text, TODAY) == expected
