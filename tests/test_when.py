"""Tests for bot.domain.when: reading the date/time a rep types for a Next Step."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.when import When, WhenError, WhenParseError, parse_when

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=MSK)  # a Friday
TODAY = NOW.date()

SAT, SUN, MON, TUE, WED, THU, FRI = (date(2026, 11, 28) + timedelta(days=n) for n in range(7))

EMPTY = WhenParseError(WhenError.EMPTY)
UNRECOGNISED = WhenParseError(WhenError.UNRECOGNISED)
BAD_DATE = WhenParseError(WhenError.IMPOSSIBLE_DATE)
BAD_TIME = WhenParseError(WhenError.IMPOSSIBLE_TIME)


def on(day: date, hour: int | None = None, minute: int = 0) -> When:
    return When(day, None if hour is None else time(hour, minute))


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


CASES: list[tuple[str, When | WhenParseError]] = [
    # relative days
    ("сегодня", on(TODAY)),
    ("завтра", on(SAT)),
    ("послезавтра", on(SUN)),
    ("today", on(TODAY)),
    ("tomorrow", on(SAT)),
    ("tmrw", on(SAT)),
    ("tmr", on(SAT)),
    ("day after tomorrow", on(SUN)),
    # weekdays, Russian (today is Friday: "пт" is a week later)
    ("понедельник", on(MON)),
    ("пн", on(MON)),
    ("во вторник", on(TUE)),
    ("вт", on(TUE)),
    ("среда", on(WED)),
    ("в среду", on(WED)),
    ("ср", on(WED)),
    ("четверг", on(THU)),
    ("чт", on(THU)),
    ("пятница", on(FRI)),
    ("в пятницу", on(FRI)),
    ("пт", on(FRI)),
    ("суббота", on(SAT)),
    ("в субботу", on(SAT)),
    ("сб", on(SAT)),
    ("воскресенье", on(SUN)),
    ("вс", on(SUN)),
    # weekdays, English
    ("monday", on(MON)),
    ("mon", on(MON)),
    ("tuesday", on(TUE)),
    ("tue", on(TUE)),
    ("tues", on(TUE)),
    ("wednesday", on(WED)),
    ("wed", on(WED)),
    ("thursday", on(THU)),
    ("thu", on(THU)),
    ("thur", on(THU)),
    ("thurs", on(THU)),
    ("friday", on(FRI)),
    ("fri", on(FRI)),
    ("next fri", on(FRI)),
    ("on friday", on(FRI)),
    ("saturday", on(SAT)),
    ("sat", on(SAT)),
    ("sunday", on(SUN)),
    ("sun", on(SUN)),
    # offsets in days and weeks: a date only, unless a time is also given
    ("in 3 days", on(d(11, 30))),
    ("in a day", on(SAT)),
    ("in 2 weeks", on(d(12, 11))),
    ("in a week", on(FRI)),
    ("через 3 дня", on(d(11, 30))),
    ("через день", on(SAT)),
    ("через 5 дней", on(d(12, 2))),
    ("через неделю", on(FRI)),
    ("через 2 недели", on(d(12, 11))),
    ("через 2 дня в 11:00", on(SUN, 11)),
    ("in 2 days at 3pm", on(SUN, 15)),
    # offsets in hours and minutes: now + offset
    ("in 2 hours", on(TODAY, 14)),
    ("in an hour", on(TODAY, 13)),
    ("in 30 minutes", on(TODAY, 12, 30)),
    ("in 30 min", on(TODAY, 12, 30)),
    ("in 13 hours", on(SAT, 1)),
    ("через час", on(TODAY, 13)),
    ("через 2 часа", on(TODAY, 14)),
    ("через 30 минут", on(TODAY, 12, 30)),
    ("через 30 мин", on(TODAY, 12, 30)),
    ("через полчаса", on(TODAY, 12, 30)),
    # numeric dates, day first
    ("29.11", on(d(11, 29))),
    ("29.11.2026", on(d(11, 29))),
    ("29.11.26", on(d(11, 29))),
    ("29/11", on(d(11, 29))),
    ("29/11/2026", on(d(11, 29))),
    ("2026-11-29", on(d(11, 29))),
    ("03.12", on(d(12, 3))),
    ("3.12", on(d(12, 3))),
    ("12.11", on(d(11, 12))),  # a date, even though 12:11 is a time
    ("20.10", on(d(10, 20))),  # 38 days ago: still this year (the caller rejects the past)
    ("20.09", on(d(9, 20, 2027))),  # 68 days ago: next year
    ("05.01", on(d(1, 5, 2027))),
    ("29.02.2028", on(d(2, 29, 2028))),
    # dates with month names
    ("29 ноября", on(d(11, 29))),
    ("29 нояб", on(d(11, 29))),
    ("29 нояб.", on(d(11, 29))),
    ("29 ноя", on(d(11, 29))),
    ("1 декабря", on(d(12, 1))),
    ("1 декабрь", on(d(12, 1))),
    ("3 янв", on(d(1, 3, 2027))),
    ("15 сент", on(d(9, 15, 2027))),
    ("29 ноября 2026", on(d(11, 29))),
    ("29 ноября 2027 г.", on(d(11, 29, 2027))),
    ("29 nov", on(d(11, 29))),
    ("29 november", on(d(11, 29))),
    ("nov 29", on(d(11, 29))),
    ("november 29th", on(d(11, 29))),
    ("1st dec", on(d(12, 1))),
    ("dec 2nd, 2026", on(d(12, 2))),
    ("may 3rd", on(d(5, 3, 2027))),
    # times alone mean today
    ("15:00", on(TODAY, 15)),
    ("9:05", on(TODAY, 9, 5)),
    ("15.00", on(TODAY, 15)),  # no reading of 15.00 is a date
    ("15ч", on(TODAY, 15)),
    ("в 15", on(TODAY, 15)),
    ("15 часов", on(TODAY, 15)),
    ("в 3 часа дня", on(TODAY, 15)),
    ("в 7 вечера", on(TODAY, 19)),
    ("в 9 утра", on(TODAY, 9)),
    ("в 10.30", on(TODAY, 10, 30)),
    ("3pm", on(TODAY, 15)),
    ("3 pm", on(TODAY, 15)),
    ("3 p.m.", on(TODAY, 15)),
    ("3:30pm", on(TODAY, 15, 30)),
    ("11am", on(TODAY, 11)),
    ("12am", on(TODAY, 0)),
    ("12pm", on(TODAY, 12)),
    ("noon", on(TODAY, 12)),
    ("полдень", on(TODAY, 12)),
    ("утром", on(TODAY, 9)),
    ("днём", on(TODAY, 13)),
    ("днем", on(TODAY, 13)),
    ("вечером", on(TODAY, 18)),
    ("morning", on(TODAY, 9)),
    ("afternoon", on(TODAY, 14)),
    ("evening", on(TODAY, 18)),
    # day and time, in either order
    ("завтра 15:00", on(SAT, 15)),
    ("15:00 завтра", on(SAT, 15)),
    ("завтра в 15", on(SAT, 15)),
    ("завтра 15.00", on(SAT, 15)),
    ("завтра 12.30", on(SAT, 12, 30)),
    ("tomorrow 3pm", on(SAT, 15)),
    ("tomorrow morning", on(SAT, 9)),
    ("tomorrow in the afternoon", on(SAT, 14)),
    ("пт 10:30", on(FRI, 10, 30)),
    ("29.11 14:00", on(d(11, 29), 14)),
    ("29.11 14.00", on(d(11, 29), 14)),
    ("14.00 29.11", on(d(11, 29), 14)),
    ("14:00 12.11", on(d(11, 12), 14)),
    ("в пятницу в 10:30", on(FRI, 10, 30)),
    ("friday at 10:30am", on(FRI, 10, 30)),
    ("on 29 nov at 2pm", on(d(11, 29), 14)),
    ("29 ноября в 14:00", on(d(11, 29), 14)),
    ("сегодня вечером", on(TODAY, 18)),
    ("послезавтра в полдень", on(SUN, 12)),
    # case, spacing and a trailing period are tolerated
    ("  ЗАВТРА   В   15:00. ", on(SAT, 15)),
    ("Tomorrow At 3PM", on(SAT, 15)),
    ("Пт.", on(FRI)),
    ("29.11.", on(d(11, 29))),
    # empty
    ("", EMPTY),
    ("   \t\n", EMPTY),
    # impossible dates
    ("31.02", BAD_DATE),
    ("31.04", BAD_DATE),
    ("29.02.2027", BAD_DATE),
    ("30.02.2027", BAD_DATE),
    ("29.02", BAD_DATE),  # neither 2026 nor 2027 has one
    ("00.12", BAD_DATE),
    ("12.13", BAD_DATE),
    ("32 ноября", BAD_DATE),
    ("2026-13-01", BAD_DATE),
    ("31/11/2026 10:00", BAD_DATE),
    # impossible times
    ("25:00", BAD_TIME),
    ("24:00", BAD_TIME),
    ("14:61", BAD_TIME),
    ("13pm", BAD_TIME),
    ("0am", BAD_TIME),
    ("в 25", BAD_TIME),
    ("завтра 25.00", BAD_TIME),
    ("25.00", BAD_TIME),
    ("завтра в 24 часа", BAD_TIME),
    # unrecognised
    ("когда-нибудь", UNRECOGNISED),
    ("soon", UNRECOGNISED),
    ("next month", UNRECOGNISED),
    ("next week", UNRECOGNISED),
    ("asap", UNRECOGNISED),
    ("blah 15:00", UNRECOGNISED),
    ("завтра blah", UNRECOGNISED),
    ("15", UNRECOGNISED),  # a bare number is too ambiguous
    ("at 3", UNRECOGNISED),  # 3am or 3pm?
    ("2026", UNRECOGNISED),
    ("29th", UNRECOGNISED),
    ("nov", UNRECOGNISED),
    ("завтра пт", UNRECOGNISED),  # two days
    ("15:00 16:00", UNRECOGNISED),  # two times
    ("вечером в 7", UNRECOGNISED),  # a period and a clock time
    ("через 2 часа завтра", UNRECOGNISED),
    ("в", UNRECOGNISED),
    ("в в 15", UNRECOGNISED),
    ("in", UNRECOGNISED),
    ("in days", UNRECOGNISED),
    ("через", UNRECOGNISED),
    ("через 3 года", UNRECOGNISED),
    ("29-11", UNRECOGNISED),
    ("15:00!", UNRECOGNISED),
    ("завтра 🙂", UNRECOGNISED),
    (".", UNRECOGNISED),
    ("123456789", UNRECOGNISED),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(text) for text, _ in CASES])
def test_parse_when(text: str, expected: When | WhenParseError) -> None:
    assert parse_when(text, NOW) == expected


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 80
    assert len({text for text, _ in CASES}) == len(CASES), "duplicate inputs in the table"


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        # typed in late December, an early-January date means next year
        ("05.01", datetime(2026, 12, 20, 9, 0, tzinfo=MSK), on(d(1, 5, 2027))),
        ("5 января", datetime(2026, 12, 20, 9, 0, tzinfo=MSK), on(d(1, 5, 2027))),
        ("jan 5", datetime(2026, 12, 20, 9, 0, tzinfo=MSK), on(d(1, 5, 2027))),
        ("19.12", datetime(2026, 12, 20, 9, 0, tzinfo=MSK), on(d(12, 19))),
        # a leap day typed late in 2027 is 2028's
        ("29.02", datetime(2027, 12, 10, 9, 0, tzinfo=MSK), on(d(2, 29, 2028))),
        ("29 февраля", datetime(2027, 12, 10, 9, 0, tzinfo=MSK), on(d(2, 29, 2028))),
        ("29.02.2027", datetime(2027, 12, 10, 9, 0, tzinfo=MSK), BAD_DATE),
        # a week later on the same weekday; the next day otherwise
        ("пн", datetime(2026, 11, 30, 9, 0, tzinfo=MSK), on(d(12, 7))),
        ("вт", datetime(2026, 11, 30, 9, 0, tzinfo=MSK), on(d(12, 1))),
        # hour offsets roll over midnight and the year
        ("через 2 часа", datetime(2026, 12, 31, 23, 15, 42, tzinfo=MSK), on(d(1, 1, 2027), 1, 15)),
        ("завтра", datetime(2026, 12, 31, 23, 59, tzinfo=MSK), on(d(1, 1, 2027))),
    ],
)
def test_parse_when_depends_on_now(text: str, now: datetime, expected: When) -> None:
    assert parse_when(text, now) == expected


def test_hour_offset_counts_real_time_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before_spring_forward = datetime(2026, 3, 29, 1, 30, tzinfo=berlin)  # 02:00 -> 03:00
    assert parse_when("in 1 hour", before_spring_forward) == on(d(3, 29), 3, 30)


def test_day_offset_counts_calendar_days_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    late_evening = datetime(2026, 3, 28, 23, 30, tzinfo=berlin)
    assert parse_when("завтра", late_evening) == on(d(3, 29))
    assert parse_when("через 2 дня", late_evening) == on(d(3, 30))


def test_combine_uses_time_zone_and_default() -> None:
    day_only = When(d(11, 28), None)
    moment = day_only.combine(MSK, time(10, 0))
    assert moment == datetime(2026, 11, 28, 10, 0, tzinfo=MSK)
    assert moment.utcoffset() == timedelta(hours=3)

    with_time = When(d(11, 28), time(15, 30))
    assert with_time.combine(MSK, time(10, 0)) == datetime(2026, 11, 28, 15, 30, tzinfo=MSK)

    berlin = ZoneInfo("Europe/Berlin")
    assert When(d(7, 1), time(9)).combine(berlin, time(10)).utcoffset() == timedelta(hours=2)
    assert When(d(12, 1), time(9)).combine(berlin, time(10)).utcoffset() == timedelta(hours=1)


def test_combine_round_trip_from_text() -> None:
    parsed = parse_when("завтра в 15:00", NOW)
    assert isinstance(parsed, When)
    assert parsed.combine(MSK, time(10)) == datetime(2026, 11, 28, 15, 0, tzinfo=MSK)


def test_results_are_frozen_values() -> None:
    parsed = parse_when("пт", NOW)
    assert isinstance(parsed, When)
    with pytest.raises(AttributeError):
        parsed.day = TODAY  # type: ignore[misc]
    assert WhenError.IMPOSSIBLE_TIME.value == "impossible_time"
    assert isinstance(WhenError.EMPTY, str)


_VOCABULARY_LINES = (
    "в во at on next in через the a an day after",
    "завтра tomorrow пт fri пятницу ноября nov dec st th г",
    "am pm ч часа дня дней вечера утром noon недели hours min",
    "15 3 29 12 2026 15:00 12.11 15.00 29.11 29.11.2026 2026-11-29 29/11 99:99 31.02 00.00",
)
_VOCABULARY = [word for line in _VOCABULARY_LINES for word in line.split()]
_ALPHABET = (
    "0123456789 .,:/-абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcdefghijklmnopqrstuvwxyz🙂👍🏽\u200b\t"
)


def _fuzz_inputs() -> list[str]:
    rng = random.Random(20261127)
    inputs = ["9" * 5000, "1" * 4301, "🙂" * 1000, "завтра " * 2000, "." * 300, "\x00", "²³"]
    for _ in range(300):
        inputs.append("".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 40))))
    for _ in range(300):
        inputs.append(" ".join(rng.choice(_VOCABULARY) for _ in range(rng.randint(1, 5))))
    for _ in range(100):
        inputs.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12))))
    return inputs


def test_fuzz_never_raises() -> None:
    nows = [
        NOW,
        datetime(2026, 12, 31, 23, 59, tzinfo=MSK),
        datetime(2028, 2, 29, 0, 0, tzinfo=MSK),
    ]
    for text in _fuzz_inputs():
        for now in nows:
            result = parse_when(text, now)
            assert isinstance(result, When | WhenParseError), text
            if isinstance(result, When):
                assert isinstance(result.day, date)
                assert result.at is None or isinstance(result.at, time)
