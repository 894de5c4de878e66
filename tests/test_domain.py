"""The method's rules as plain Python: contacts, outcomes, the sales cycle, the Next Step flow."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.contacts import (
    MAX_COMPANY,
    MAX_NAME,
    MAX_NOTE,
    ContactError,
    ContactInput,
    format_phone,
    name_key,
    normalise_phone,
    parse_contact,
    pick_prospects,
    shared_contact,
)
from bot.domain.nextstep import (
    Draft,
    Kind,
    Prompt,
    next_prompt,
    quick_days,
    read_answer,
    split_line,
    time_slots,
)
from bot.domain.outcomes import (
    KEYBOARD,
    LAYOUT,
    POLITE_NOS,
    Outcome,
    OutcomeGroup,
    Verdict,
    verdict,
)
from bot.domain.rules import (
    ActionError,
    Block,
    ContactStatus,
    DueVerdict,
    Moment,
    Rules,
    callback_due,
    callback_moment,
    check_action,
    client_ids,
    contact_status,
    judge_day,
    judge_due,
)
from bot.domain.when import WhenError

MSK = ZoneInfo("Europe/Moscow")
RULES = Rules(tz=MSK)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=MSK)  # a Friday
TODAY = NOW.date()
PHONE = "+79123456789"


def msk(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), MSK)


# -- parse_contact ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ivan Petrov, Romashka LLC +7 912 345-67-89",
        "Ivan Petrov, Romashka LLC 8 912 345-67-89",
        "Ivan Petrov, Romashka LLC +7 (912) 345 67 89",
        "Ivan Petrov, Romashka LLC 89123456789",
        "Ivan Petrov +7 912 345-67-89, Romashka LLC",
        "  Ivan   Petrov ,  Romashka LLC   8 (912) 345-67-89  ",
    ],
)
def test_parse_contact_name_company_phone(text: str) -> None:
    assert parse_contact(text) == ContactInput(
        name="Ivan Petrov", company="Romashka LLC", phone=PHONE
    )


def test_parse_contact_only_a_phone_is_named_by_it() -> None:
    parsed = parse_contact("+7 (912) 345 67 89")
    assert parsed == ContactInput(name="+7 912 345-67-89", phone=PHONE)


def test_parse_contact_note_after_semicolon_keeps_later_semicolons() -> None:
    parsed = parse_contact("Ivan; asked to call after lunch; busy till 2")
    assert parsed == ContactInput(name="Ivan", note="asked to call after lunch; busy till 2")


def test_parse_contact_without_phone_or_company() -> None:
    assert parse_contact("Иван Петров") == ContactInput(name="Иван Петров")


def test_parse_contact_keeps_html_and_emoji_as_typed() -> None:
    parsed = parse_contact("<Ivan & Co> 🚀, A&B <Ltd>")
    assert parsed == ContactInput(name="<Ivan & Co> 🚀", company="A&B <Ltd>")


def test_parse_contact_an_invalid_number_stays_in_the_name() -> None:
    parsed = parse_contact("Ivan 12345")
    assert isinstance(parsed, ContactInput)
    assert parsed.name == "Ivan 12345" and parsed.phone is None


@pytest.mark.parametrize("text", ["", "   ", "; just a note", ", Romashka LLC", " , ; "])
def test_parse_contact_missing_name(text: str) -> None:
    assert parse_contact(text) is ContactError.MISSING


def test_parse_contact_limits() -> None:
    assert isinstance(parse_contact("N" * MAX_NAME), ContactInput)
    assert parse_contact("N" * (MAX_NAME + 1)) is ContactError.NAME_TOO_LONG
    assert isinstance(parse_contact("Ivan, " + "C" * MAX_COMPANY), ContactInput)
    assert parse_contact("Ivan, " + "C" * (MAX_COMPANY + 1)) is ContactError.COMPANY_TOO_LONG
    assert isinstance(parse_contact("Ivan; " + "n" * MAX_NOTE), ContactInput)
    assert parse_contact("Ivan; " + "n" * (MAX_NOTE + 1)) is ContactError.NOTE_TOO_LONG


def test_parse_contact_limits_count_characters_not_bytes() -> None:
    assert isinstance(parse_contact("Я" * MAX_NAME), ContactInput)


def test_name_key_ignores_case_and_spacing() -> None:
    assert name_key("  IVAN   petrov ") == name_key("ivan Petrov") == "ivan petrov"
    parsed = parse_contact("ИВАН петров")
    assert isinstance(parsed, ContactInput) and parsed.key == "иван петров"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("79123456789", PHONE),  # as Telegram shares it: no plus
        ("+79123456789", PHONE),
        ("89123456789", PHONE),
        ("8 912 345-67-89", PHONE),
        ("+7 (912) 345 67 89", PHONE),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("not a phone", None),
    ],
)
def test_normalise_phone(raw: str, e164: str | None) -> None:
    assert normalise_phone(raw) == e164


def test_format_phone() -> None:
    assert format_phone(PHONE) == "+7 912 345-67-89"
    assert format_phone("garbage") == "garbage"


# -- a contact shared from the address book --------------------------------------------------


def test_shared_contact_name_and_phone() -> None:
    shared = shared_contact("Ivan", "Petrov", "79123456789")
    assert shared == ContactInput(name="Ivan Petrov", phone=PHONE)


def test_shared_contact_punctuation_belongs_to_the_name() -> None:
    shared = shared_contact("Romashka, reception; 2nd line", None, "+7 912 345 67 89")
    assert shared == ContactInput(name="Romashka, reception; 2nd line", phone=PHONE)


def test_shared_contact_without_a_valid_phone_keeps_the_name() -> None:
    assert shared_contact("Ivan", None, "123") == ContactInput(name="Ivan")


def test_shared_contact_without_name_is_named_by_phone() -> None:
    assert shared_contact("", None, "79123456789") == ContactInput(
        name="+7 912 345-67-89", phone=PHONE
    )


def test_shared_contact_errors() -> None:
    assert shared_contact(" ", None, None) is ContactError.MISSING
    assert shared_contact("I" * 64, "P" * 64, PHONE) is ContactError.NAME_TOO_LONG


# -- the /call picker ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    id: int
    callback_at: datetime | None = None


def test_pick_prospects_leaves_out_clients_and_callbacks_not_yet_due() -> None:
    recent = [
        Listed(1),
        Listed(2),  # a client
        Listed(3, callback_at=msk(TODAY + timedelta(days=3), 9)),  # not yet
        Listed(4, callback_at=msk(TODAY, 18)),  # due today (later today still counts)
        Listed(5, callback_at=msk(TODAY - timedelta(days=2), 9)),  # overdue
        Listed(6),
    ]
    picked = pick_prospects(recent, {2}, NOW.astimezone(UTC), RULES, limit=10)
    assert [c.id for c in picked] == [4, 5, 1, 6]
    assert [c.id for c in pick_prospects(recent, {2}, NOW, RULES, limit=3)] == [4, 5, 1]


def test_callback_due_uses_the_reps_day() -> None:
    assert not callback_due(None, NOW, RULES)
    assert callback_due(msk(TODAY, 23, 59), NOW, RULES)
    assert not callback_due(msk(TODAY + timedelta(days=1)), NOW, RULES)


def test_callback_moment() -> None:
    tomorrow = TODAY + timedelta(days=1)
    assert callback_moment(tomorrow, None, NOW, RULES) == msk(tomorrow, 9)
    assert callback_moment(tomorrow, time(15), NOW, RULES) == msk(tomorrow, 15)
    assert callback_moment(TODAY, None, NOW, RULES) == msk(TODAY, 9)  # due at once
    assert callback_moment(TODAY, time(8), NOW, RULES) is None  # that hour has gone
    assert callback_moment(TODAY - timedelta(days=1), None, NOW, RULES) is None


# -- judge_due, the sales cycle and clients ----------------------------------------------------


def test_judge_due_cycle_edge_is_a_ball() -> None:
    assert judge_due(NOW + timedelta(days=30), NOW, RULES) is DueVerdict.OK
    last_minute = msk(TODAY + timedelta(days=30), 23, 59)
    assert judge_due(last_minute, NOW, RULES) is DueVerdict.OK


def test_judge_due_one_day_beyond_the_cycle_is_not() -> None:
    assert judge_due(NOW + timedelta(days=31), NOW, RULES) is DueVerdict.BEYOND_CYCLE
    first_minute = msk(TODAY + timedelta(days=31))
    assert judge_due(first_minute, NOW, RULES) is DueVerdict.BEYOND_CYCLE


def test_judge_due_past_and_now() -> None:
    assert judge_due(NOW - timedelta(minutes=1), NOW, RULES) is DueVerdict.PAST
    assert judge_due(NOW, NOW, RULES) is DueVerdict.PAST
    assert judge_due(NOW + timedelta(minutes=1), NOW, RULES) is DueVerdict.OK


def test_judge_due_counts_days_in_the_reps_zone() -> None:
    now = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)  # already 28.11 00:30 in Moscow
    edge = datetime(2026, 12, 28, 20, 59, tzinfo=UTC)  # 28.12 23:59 Moscow: 30 local days
    assert judge_due(edge, now, RULES) is DueVerdict.OK
    assert judge_due(edge, now, Rules(tz=ZoneInfo("UTC"))) is DueVerdict.BEYOND_CYCLE


def test_judge_due_honours_a_teams_cycle() -> None:
    short = Rules(tz=MSK, cycle_days=7)
    assert judge_due(NOW + timedelta(days=7), NOW, short) is DueVerdict.OK
    assert judge_due(NOW + timedelta(days=8), NOW, short) is DueVerdict.BEYOND_CYCLE


def test_judge_day() -> None:
    assert judge_day(TODAY, NOW, RULES) is DueVerdict.OK
    assert judge_day(TODAY - timedelta(days=1), NOW, RULES) is DueVerdict.PAST
    assert judge_day(TODAY + timedelta(days=30), NOW, RULES) is DueVerdict.OK
    assert judge_day(TODAY + timedelta(days=31), NOW, RULES) is DueVerdict.BEYOND_CYCLE


def test_cycle_end_is_after_the_last_local_day() -> None:
    assert RULES.cycle_end(NOW) == msk(TODAY + timedelta(days=31))


@dataclass(frozen=True)
class OpenStep:
    contact_id: int
    kind: str
    due_at: datetime


def test_client_ids_and_contact_status() -> None:
    steps = [
        OpenStep(1, "ball", NOW + timedelta(days=2)),
        OpenStep(2, "reminder", NOW + timedelta(days=2)),  # a reminder is no ball
        OpenStep(3, "ball", NOW - timedelta(hours=1)),  # lapsed
        OpenStep(4, "ball", NOW + timedelta(days=40)),  # beyond the cycle
        OpenStep(3, "ball", NOW + timedelta(days=1)),
    ]
    assert client_ids(steps, NOW, RULES) == {1, 3}
    assert contact_status([NOW + timedelta(days=1)], NOW, RULES) is ContactStatus.CLIENT
    assert contact_status([], NOW, RULES) is ContactStatus.PROSPECT


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("demo at their office", "demo at their office"),
        ("  Meeting   at\n10 ", "Meeting at 10"),
        ("", ActionError.TOO_SHORT),
        ("x", ActionError.TOO_SHORT),
        ("15:00", ActionError.TOO_SHORT),  # no word in it
        ("a" * 300, "a" * 300),
        ("a" * 301, ActionError.TOO_LONG),
    ],
)
def test_check_action(text: str, result: str | ActionError) -> None:
    assert check_action(text) == result


# -- outcomes ----------------------------------------------------------------------------------


def test_outcome_groups() -> None:
    groups = {o: o.group for o in Outcome}
    assert [o for o, g in groups.items() if g is OutcomeGroup.BALL] == [Outcome.NEXT_STEP]
    assert {o.value for o, g in groups.items() if g is OutcomeGroup.NOT_REACHED} == {
        "na",
        "bz",
        "vm",
        "gk",
        "wn",
    }
    assert {o.value for o, g in groups.items() if g is OutcomeGroup.REACHED} == {
        "th",
        "cl",
        "bo",
        "si",
        "ni",
    }


def test_polite_nos_are_reached_but_no_ball() -> None:
    assert {o.value for o in POLITE_NOS} == {"th", "cl", "bo", "si"}
    assert all(o.is_polite_no and o.group is OutcomeGroup.REACHED for o in POLITE_NOS)
    assert not Outcome.NOT_INTERESTED.is_polite_no
    assert not Outcome.NEXT_STEP.is_polite_no


def test_layout_shows_every_outcome_once_under_its_own_group() -> None:
    assert [group for group, _ in LAYOUT] == list(OutcomeGroup)
    shown = [o for _, rows in LAYOUT for row in rows for o in row]
    assert sorted(shown) == sorted(Outcome) and len(shown) == len(set(shown))
    for group, rows in LAYOUT:
        assert all(o.group is group for row in rows for o in row)
    assert [o for row in KEYBOARD for o in row] == shown


def test_outcome_codes_fit_callback_data() -> None:
    for outcome in Outcome:
        assert len(outcome.value) == 2 and outcome.value.isascii() and outcome.value.islower()
        assert len(f"o:{10**12 - 1}:{outcome.value}".encode()) <= 64
    assert Outcome.parse("na") is Outcome.NO_ANSWER
    assert Outcome.parse("zz") is None


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome.NEXT_STEP, Verdict.BALL),
        (Outcome.NO_ANSWER, Verdict.NOT_REACHED),
        (Outcome.GATEKEEPER, Verdict.NOT_REACHED),
        (Outcome.WRONG_NUMBER, Verdict.WRONG_NUMBER),
        (Outcome.THINK_ABOUT_IT, Verdict.POLITE_NO),
        (Outcome.CALL_LATER, Verdict.POLITE_NO),
        (Outcome.NOT_INTERESTED, Verdict.NOT_INTERESTED),
    ],
)
def test_verdict(outcome: Outcome, expected: Verdict) -> None:
    assert verdict(outcome) is expected


def test_which_outcomes_settle_a_callback() -> None:
    assert Outcome.CALL_LATER.asks_callback
    assert [o.value for o in Outcome if o.asks_callback] == ["cl"]
    assert Outcome.THINK_ABOUT_IT.settles_callback and Outcome.NEXT_STEP.settles_callback
    assert not Outcome.NO_ANSWER.settles_callback  # not reached: still due
    assert not Outcome.CALL_LATER.settles_callback  # asks for a new date instead


# -- the Next Step flow ------------------------------------------------------------------------

TOMORROW = TODAY + timedelta(days=1)


def test_next_prompt_walks_day_time_action_ready() -> None:
    draft = Draft(contact_id=1, call_id=7)
    assert next_prompt(draft, NOW, RULES).prompt is Prompt.DAY
    draft = draft.with_when(TOMORROW, None)
    assert next_prompt(draft, NOW, RULES).prompt is Prompt.TIME
    draft = replace(draft, at=time(15))
    step = next_prompt(draft, NOW, RULES)
    assert (step.prompt, step.draft.kind, step.verdict) == (Prompt.ACTION, Kind.BALL, None)
    step = next_prompt(replace(draft, action="demo"), NOW, RULES)
    assert step.prompt is Prompt.READY and step.draft.kind is Kind.BALL
    assert step.draft.due(RULES) == msk(TOMORROW, 15)


def test_next_prompt_a_past_day_goes_back_to_day() -> None:
    draft = Draft(contact_id=1, action="demo").with_when(TODAY - timedelta(days=1), time(15))
    step = next_prompt(draft, NOW, RULES)
    assert (step.prompt, step.verdict) == (Prompt.DAY, DueVerdict.PAST)
    assert step.draft.day is None and step.draft.at is None and step.draft.action == "demo"


def test_next_prompt_a_past_hour_today_goes_back_to_time() -> None:
    one_minute_ago = (NOW - timedelta(minutes=1)).time()
    step = next_prompt(Draft(contact_id=1).with_when(TODAY, one_minute_ago), NOW, RULES)
    assert (step.prompt, step.verdict) == (Prompt.TIME, DueVerdict.PAST)
    assert step.draft.day == TODAY and step.draft.at is None
    step = next_prompt(Draft(contact_id=1).with_when(TODAY, time(9, 1)), NOW, RULES)
    assert step.prompt is Prompt.ACTION


def test_next_prompt_beyond_the_cycle_asks_first_then_makes_a_reminder() -> None:
    far = TODAY + timedelta(days=31)
    draft = Draft(contact_id=1).with_when(far, None)
    step = next_prompt(draft, NOW, RULES)
    assert (step.prompt, step.verdict) == (Prompt.BEYOND, DueVerdict.BEYOND_CYCLE)
    draft = replace(draft, reminder_ok=True)
    assert next_prompt(draft, NOW, RULES).prompt is Prompt.TIME
    step = next_prompt(replace(draft, at=time(10)), NOW, RULES)
    assert (step.prompt, step.draft.kind) == (Prompt.ACTION, Kind.REMINDER)
    step = next_prompt(replace(draft, at=time(10), action="call"), NOW, RULES)
    assert (step.prompt, step.draft.kind, step.verdict) == (
        Prompt.READY,
        Kind.REMINDER,
        DueVerdict.BEYOND_CYCLE,
    )


def test_next_prompt_the_cycle_edge_is_a_ball() -> None:
    edge = Draft(contact_id=1, action="demo").with_when(TODAY + timedelta(days=30), time(23, 59))
    step = next_prompt(edge, NOW, RULES)
    assert (step.prompt, step.draft.kind) == (Prompt.READY, Kind.BALL)


def test_a_new_date_is_judged_afresh() -> None:
    draft = Draft(contact_id=1, action="demo", kind=Kind.REMINDER, reminder_ok=True)
    moved = draft.with_when(TOMORROW, time(10))
    assert (moved.kind, moved.reminder_ok, moved.action) == (Kind.BALL, False, "demo")


def test_draft_json_round_trip() -> None:
    draft = Draft(
        contact_id=3,
        call_id=9,
        day=TOMORROW,
        at=time(15, 30),
        action="<demo> & co",
        kind=Kind.REMINDER,
        reminder_ok=True,
        seen=42,
    )
    assert Draft.from_json(draft.to_json()) == draft
    assert Draft.from_json(Draft(contact_id=3).to_json()) == Draft(contact_id=3)
    assert Draft.from_json({"contact_id": "3"}) == Draft(contact_id=3)  # older rows


def test_draft_skips_an_answer_it_has_read() -> None:
    draft = Draft(contact_id=1, seen=500)
    assert not draft.is_new_input(500) and not draft.is_new_input(499)
    assert draft.is_new_input(501)


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("завтра 15:00", TOMORROW, time(15)),
        ("пт 10:30", date(2026, 12, 4), time(10, 30)),
        ("29.11 14:00", date(2026, 11, 29), time(14)),
        ("tomorrow 3pm", TOMORROW, time(15)),
        ("in 3 days", date(2026, 11, 30), None),
        ("завтра", TOMORROW, None),
    ],
)
def test_read_answer_at_the_day_question(text: str, day: date, at: time | None) -> None:
    step = next_prompt(Draft(contact_id=1, action="demo"), NOW, RULES)
    answer = read_answer(step, text, NOW, RULES)
    assert isinstance(answer, Draft)
    assert (answer.day, answer.at, answer.action) == (day, at, "demo")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("31.02", WhenError.IMPOSSIBLE_DATE),
        ("25:00", WhenError.IMPOSSIBLE_TIME),
        ("someday maybe", WhenError.UNRECOGNISED),
        ("  ", WhenError.EMPTY),
    ],
)
def test_read_answer_bad_dates(text: str, error: WhenError) -> None:
    step = next_prompt(Draft(contact_id=1), NOW, RULES)
    assert read_answer(step, text, NOW, RULES) is error


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("15:30", TOMORROW, time(15, 30)),
        ("15", TOMORROW, time(15)),
        ("3pm", TOMORROW, time(15)),
        ("в 11", TOMORROW, time(11)),
        ("пн 10:00", date(2026, 11, 30), time(10)),  # a day of its own replaces the day
        ("пн", date(2026, 11, 30), None),
    ],
)
def test_read_answer_at_the_time_question(text: str, day: date, at: time | None) -> None:
    step = next_prompt(Draft(contact_id=1).with_when(TOMORROW, None), NOW, RULES)
    assert step.prompt is Prompt.TIME
    answer = read_answer(step, text, NOW, RULES)
    assert isinstance(answer, Draft) and (answer.day, answer.at) == (day, at)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("25:00", WhenError.IMPOSSIBLE_TIME),
        ("99", WhenError.IMPOSSIBLE_TIME),
        ("31.02", WhenError.IMPOSSIBLE_DATE),
        ("whenever", WhenError.UNRECOGNISED),
    ],
)
def test_read_answer_bad_times(text: str, error: WhenError) -> None:
    step = next_prompt(Draft(contact_id=1).with_when(TOMORROW, None), NOW, RULES)
    assert read_answer(step, text, NOW, RULES) is error


def test_read_answer_at_the_action_question() -> None:
    step = next_prompt(Draft(contact_id=1).with_when(TOMORROW, time(15)), NOW, RULES)
    assert step.prompt is Prompt.ACTION
    answer = read_answer(step, "  demo at their   office ", NOW, RULES)
    assert isinstance(answer, Draft) and answer.action == "demo at their office"
    assert read_answer(step, "x", NOW, RULES) is ActionError.TOO_SHORT
    assert read_answer(step, "d" * 301, NOW, RULES) is ActionError.TOO_LONG


def test_read_answer_beyond_question_takes_a_closer_date() -> None:
    step = next_prompt(Draft(contact_id=1).with_when(TODAY + timedelta(days=40), None), NOW, RULES)
    assert step.prompt is Prompt.BEYOND
    answer = read_answer(step, "завтра 10:00", NOW, RULES)
    assert isinstance(answer, Draft) and next_prompt(answer, NOW, RULES).prompt is Prompt.ACTION


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "Ivan Petrov; tomorrow 3pm; demo at their office",
            ("Ivan Petrov", "tomorrow 3pm", "demo at their office"),
        ),
        ("Ivan Petrov", ("Ivan Petrov", "", "")),
        ("Ivan;  ; demo; bring slides", ("Ivan", "", "demo; bring slides")),
        (" Ivan ; пт 10:30 ", ("Ivan", "пт 10:30", "")),
    ],
)
def test_split_line(text: str, parts: tuple[str, str, str]) -> None:
    assert split_line(text) == parts


def test_quick_days_today_tomorrow_then_working_days() -> None:
    days = quick_days(NOW, RULES, 5, last_hour=18)
    assert days == [
        TODAY,
        TOMORROW,  # Saturday: "tomorrow" is always offered
        date(2026, 11, 30),
        date(2026, 12, 1),
        date(2026, 12, 2),
    ]
    evening = msk(TODAY, 18, 30)
    assert quick_days(evening, RULES, 5, last_hour=18)[0] == TOMORROW


def test_time_slots_only_ahead() -> None:
    hours = range(9, 19)
    assert time_slots(TODAY, hours, NOW, RULES) == [time(h) for h in range(10, 19)]
    assert time_slots(TOMORROW, hours, NOW, RULES) == [time(h) for h in hours]
    assert time_slots(TODAY, hours, msk(TODAY, 18), RULES) == []


def test_a_moment_counts_for_the_rep_s_local_day_and_block() -> None:
    block = Block(time(10), time(11))
    rules = Rules(tz=MSK, block=block)
    at = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    assert rules.moment(at) == Moment(at, date(2026, 11, 27), in_block=True)
    assert rules.moment(at - timedelta(seconds=1)).in_block is False
    assert rules.moment(at + timedelta(minutes=59, seconds=59)).in_block is True
    assert rules.moment(at + timedelta(hours=1)).in_block is False  # the block's end is out
    assert Rules(tz=MSK).moment(at).in_block is False  # no block, nothing is inside it
    late = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # already Saturday in Vladivostok
    assert Rules(tz=ZoneInfo("Asia/Vladivostok")).moment(late).day == date(2026, 11, 28)
    assert RULES.moment(late).day == date(2026, 11, 27)
