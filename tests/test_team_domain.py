"""Pure tests of the team rules: settings parsing, effective rules, streaks, ranking."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.rules import WORKDAYS_MON_FRI, Block
from bot.domain.summary import (
    Commitments,
    Score,
    Streak,
    block_kept,
    board_view,
    kept_rate,
    quota_streak,
    rank,
)
from bot.domain.team import (
    Invalid,
    Key,
    Setting,
    SettingError,
    TeamSettings,
    effective_rules,
    language_choice,
    parse_block,
    parse_key,
    parse_setting,
    parse_time,
    parse_workdays,
    resolve_zone,
    workdays_from_mask,
    workdays_mask,
    zone_label,
)

MOSCOW = ZoneInfo("Europe/Moscow")

# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [("quota", Key.QUOTA), ("QUOTA", Key.QUOTA), ("норма", Key.QUOTA), ("timezone", Key.TZ)],
)
def test_keys_and_aliases(text: str, key: Key) -> None:
    assert parse_key(text) is key


def test_unknown_key() -> None:
    assert parse_key("speed") is None


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        (Key.QUOTA, "1", 1),
        (Key.QUOTA, "500", 500),
        (Key.QUOTA, " 25 ", 25),
        (Key.GOAL, "3", 3),
        (Key.CYCLE, "365", 365),
        (Key.CYCLE, "1", 1),
        (Key.BLOCK, "10:00-11:00", Block(time(10), time(11))),
        (Key.BLOCK, "9-10:30", Block(time(9), time(10, 30))),
        (Key.BLOCK, "09.00 – 10.00", Block(time(9), time(10))),
        (Key.BLOCK, "off", None),
        (Key.SUMMARY, "18:30", time(18, 30)),
        (Key.SUMMARY, "9", time(9)),
        (Key.SUMMARY, "off", None),
        (Key.TZ, "Asia/Yekaterinburg", "Asia/Yekaterinburg"),
        (Key.TZ, "екатеринбург", "Asia/Yekaterinburg"),
        (Key.TZ, "Новосибирск", "Asia/Novosibirsk"),
        (Key.TZ, "Санкт-Петербург", "Europe/Moscow"),
        (Key.TZ, "Vladivostok", "Asia/Vladivostok"),
        (Key.TZ, "UTC+5", "Etc/GMT-5"),
        (Key.TZ, "utc -3", "Etc/GMT+3"),
        (Key.TZ, "МСК+4", "Etc/GMT-7"),
        (Key.TZ, "UTC", "UTC"),
        (Key.WORKDAYS, "mon-fri", WORKDAYS_MON_FRI),
        (Key.WORKDAYS, "mon-sat", frozenset(range(6))),
        (Key.WORKDAYS, "пн-пт", WORKDAYS_MON_FRI),
        (Key.WORKDAYS, "mon,wed,fri", frozenset({0, 2, 4})),
        (Key.WORKDAYS, "sun-thu", frozenset({6, 0, 1, 2, 3})),
        (Key.LANG, "ru", "ru"),
        (Key.LANG, "EN", "en"),
        (Key.LANG, "auto", "auto"),
    ],
)
def test_valid_settings(key: Key, text: str, value: object) -> None:
    assert parse_setting(key, text) == Setting(key, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "text", "error"),
    [
        (Key.QUOTA, "", SettingError.MISSING),
        (Key.QUOTA, "0", SettingError.OUT_OF_RANGE),
        (Key.QUOTA, "501", SettingError.OUT_OF_RANGE),
        (Key.QUOTA, "-3", SettingError.OUT_OF_RANGE),
        (Key.QUOTA, "twenty", SettingError.NOT_A_NUMBER),
        (Key.QUOTA, "2.5", SettingError.NOT_A_NUMBER),
        (Key.GOAL, "0", SettingError.OUT_OF_RANGE),
        (Key.CYCLE, "366", SettingError.OUT_OF_RANGE),
        (Key.BLOCK, "11:00-10:00", SettingError.BLOCK_ORDER),
        (Key.BLOCK, "10:00-10:00", SettingError.BLOCK_ORDER),
        (Key.BLOCK, "10:00", SettingError.BAD_BLOCK),
        (Key.BLOCK, "25:00-26:00", SettingError.BAD_BLOCK),
        (Key.SUMMARY, "18:61", SettingError.BAD_TIME),
        (Key.SUMMARY, "evening", SettingError.BAD_TIME),
        (Key.TZ, "Mars/Olympus", SettingError.BAD_ZONE),
        (Key.TZ, "UTC+15", SettingError.BAD_ZONE),
        (Key.TZ, "UTC+5:30", SettingError.ODD_OFFSET),
        (Key.TZ, "team", SettingError.BAD_ZONE),  # a team always has a zone
        (Key.WORKDAYS, "weekends-ish", SettingError.BAD_WORKDAYS),
        (Key.WORKDAYS, "mon-", SettingError.BAD_WORKDAYS),
        (Key.LANG, "de", SettingError.BAD_LANG),
    ],
)
def test_invalid_settings(key: Key, text: str, error: SettingError) -> None:
    assert parse_setting(key, text) == Invalid(key, error)


def test_personal_reset_words() -> None:
    assert parse_setting(Key.TZ, "team", personal=True) == Setting(Key.TZ, None)
    assert parse_setting(Key.BLOCK, "сброс", personal=True) == Setting(Key.BLOCK, None)


def test_times_blocks_and_days() -> None:
    assert parse_time("7") == time(7)
    assert parse_time("24:00") is None
    assert parse_block("10-9") is SettingError.BLOCK_ORDER
    assert parse_workdays("daily") == frozenset(range(7))
    assert parse_workdays("") is None
    for days in (WORKDAYS_MON_FRI, frozenset({6}), frozenset(range(7))):
        assert workdays_from_mask(workdays_mask(days)) == days
    assert str(Block(time(9), time(10, 30))) == "09:00-10:30"
    with pytest.raises(ValueError):
        Block(time(11), time(10))


def test_zone_labels() -> None:
    assert zone_label("Etc/GMT-5") == "UTC+5"
    assert zone_label("Etc/GMT+3") == "UTC-3"
    assert zone_label("Asia/Omsk") == "Asia/Omsk"
    assert resolve_zone("asia/omsk") == "Asia/Omsk"


# -- effective rules ---------------------------------------------------------------------------


def test_effective_rules_layers() -> None:
    team = TeamSettings(
        tz="Asia/Yekaterinburg",
        quota=30,
        goal=2,
        cycle_days=45,
        block=Block(time(10), time(11)),
        workdays=frozenset(range(6)),
    )
    plain = effective_rules(MOSCOW)
    assert plain.tz == MOSCOW and plain.quota == 20 and plain.block is None
    rules = effective_rules(MOSCOW, team)
    assert rules.tz == ZoneInfo("Asia/Yekaterinburg")
    assert (rules.quota, rules.goal, rules.cycle_days) == (30, 2, 45)
    assert rules.workdays == frozenset(range(6))
    assert rules.block == Block(time(10), time(11))
    own = effective_rules(
        MOSCOW, team, personal_tz="Asia/Novosibirsk", personal_block=Block(time(9), time(10))
    )
    assert own.tz == ZoneInfo("Asia/Novosibirsk")
    assert own.block == Block(time(9), time(10))
    assert own.quota == 30
    broken = effective_rules(MOSCOW, team, personal_tz="Nowhere/Land")
    assert broken.tz == ZoneInfo("Asia/Yekaterinburg")


def test_language_choice() -> None:
    assert language_choice(None, "auto") is None
    assert language_choice(None, None) is None
    assert language_choice(None, "ru") == "ru"
    assert language_choice("en", "ru") == "en"


def test_block_bounds_in_zone() -> None:
    block = Block(time(10), time(11))
    start, end = block.bounds(date(2026, 11, 27), ZoneInfo("Asia/Vladivostok"))
    assert start == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


# -- numbers -------------------------------------------------------------------------------------

FRI = date(2026, 11, 27)  # a Friday


def test_kept_rate() -> None:
    assert kept_rate(Commitments()) is None
    assert kept_rate(Commitments(done=3, dropped=1)) == 0.75
    assert kept_rate(Commitments(done=1, dropped=1, lapsed=2)) == 0.25
    assert (Commitments(1, 2, 3) + Commitments(1, 1, 1)) == Commitments(2, 3, 4)
    assert block_kept(1) and not block_kept(0)


def test_streak_counts_working_days_and_skips_weekends() -> None:
    calls = {FRI: 20, date(2026, 11, 26): 25, date(2026, 11, 25): 20, date(2026, 11, 24): 3}
    streak = quota_streak(calls, 20, WORKDAYS_MON_FRI, FRI, since=date(2026, 11, 1), day_over=True)
    assert streak == Streak(3, complete=True)
    # Monday after: the weekend does not break it.
    monday = date(2026, 11, 30)
    calls[monday] = 20
    assert quota_streak(
        calls, 20, WORKDAYS_MON_FRI, monday, since=date(2026, 11, 1), day_over=True
    ) == Streak(4, complete=True)


def test_streak_today_still_going() -> None:
    calls = {date(2026, 11, 26): 20, date(2026, 11, 25): 20, FRI: 5}
    since = date(2026, 11, 1)
    alive = quota_streak(calls, 20, WORKDAYS_MON_FRI, FRI, since=since, day_over=False)
    assert alive == Streak(2, complete=True)
    over = quota_streak(calls, 20, WORKDAYS_MON_FRI, FRI, since=since, day_over=True)
    assert over == Streak(0, complete=True)


def test_streak_reaching_the_window_is_open_ended() -> None:
    calls = {date(2026, 11, d): 20 for d in range(23, 28)}
    streak = quota_streak(calls, 20, WORKDAYS_MON_FRI, FRI, since=date(2026, 11, 23), day_over=True)
    assert streak == Streak(5, complete=False)


def s(uid: int, calls: int, balls: int, name: str | None = None) -> Score:
    return Score(uid, name or f"rep{uid}", calls, balls)


def test_ranking_order_and_ties() -> None:
    ranked = rank(
        [
            s(1, 40, 2),  # 20 per ball
            s(2, 20, 2),  # 10 per ball: better
            s(3, 60, 3),  # most balls: first
            s(4, 30, 0),
            s(5, 10, 0),
            s(6, 0, 0),  # nothing: not on the board
            s(7, 20, 2, "Aaron"),  # ties with 2
        ]
    )
    assert [(r.rank, r.score.user_id) for r in ranked] == [
        (1, 3),
        (2, 7),
        (2, 2),
        (4, 1),
        (5, 4),
        (6, 5),
    ]


def test_board_small_team_shows_all_ranked() -> None:
    ranked = rank([s(i, 10 * i, 0) for i in range(1, 6)])
    assert board_view(ranked, asker_id=1) == ranked


def test_board_big_team_podium_and_neighbours_never_the_bottom() -> None:
    ranked = rank([s(i, 100 - i, 0) for i in range(1, 41)])  # rep1 first ... rep40 last
    view = board_view(ranked, asker_id=20)
    ids = [r.score.user_id if r else None for r in view]
    assert ids == [1, 2, 3, None, 19, 20, 21]
    last = board_view(ranked, asker_id=40)
    assert [r.score.user_id if r else None for r in last] == [1, 2, 3, None, 39, 40]
    outsider = board_view(ranked, asker_id=None)
    assert [r.score.user_id for r in outsider if r] == [1, 2, 3]
    near_top = board_view(ranked, asker_id=4)
    assert [r.score.user_id if r else None for r in near_top] == [1, 2, 3, 4, 5]


def test_streak_days_that_do_not_count_neither_count_nor_break_it() -> None:
    """Days away and public holidays are neutral; a working Saturday counts."""
    away = {date(2026, 11, 25)}
    calls = {FRI: 20, date(2026, 11, 26): 20, date(2026, 11, 24): 20, date(2026, 11, 23): 2}

    def counts(d: date) -> bool:
        return d.weekday() < 5 and d not in away

    since = date(2026, 11, 1)
    with_away = quota_streak(
        calls, 20, WORKDAYS_MON_FRI, FRI, since=since, day_over=True, counts=counts
    )
    assert with_away == Streak(3, complete=True)
    assert quota_streak(calls, 20, WORKDAYS_MON_FRI, FRI, since=since, day_over=True) == Streak(
        2, complete=True
    )
    saturday = date(2026, 11, 28)
    calls[saturday] = 1

    def working_saturday(d: date) -> bool:
        return counts(d) or d == saturday

    broken = quota_streak(
        calls, 20, WORKDAYS_MON_FRI, saturday, since=since, day_over=True, counts=working_saturday
    )
    assert broken == Streak(0, complete=True)
