"""The guided Next Step flow as a pure state machine.

A :class:`Draft` is filled one answer at a time (a button or typed text); :func:`next_prompt`
says what is still missing, and :func:`read_answer` reads typed text as the answer to the
question that is open. Handlers keep the draft in the database between messages and render
the prompt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from bot.domain.rules import ActionError, DueVerdict, Kind, Rules, check_action, judge_day
from bot.domain.when import When, WhenError, WhenParseError, parse_when


class Prompt(StrEnum):
    DAY = "day"  # when?
    TIME = "time"  # what time on that day?
    BEYOND = "beyond"  # the day is beyond the cycle: save as a reminder instead?
    ACTION = "action"  # what exactly will happen?
    READY = "ready"  # everything known: save it


# Action presets offered as buttons: code -> catalog key ``ns.action.<code>``.
ACTION_PRESETS: tuple[str, ...] = ("mt", "dm", "pr", "cl")

AnswerError = WhenError | ActionError

__all__ = [
    "ACTION_PRESETS",
    "AnswerError",
    "Draft",
    "Kind",
    "Prompt",
    "Step",
    "next_prompt",
    "quick_days",
    "read_answer",
    "split_line",
    "time_slots",
]


@dataclass(frozen=True, slots=True)
class Draft:
    contact_id: int
    call_id: int | None = None  # the call whose "Next Step agreed" button started the flow
    day: date | None = None
    at: time | None = None
    action: str | None = None
    kind: Kind = Kind.BALL
    reminder_ok: bool = False  # the rep agreed to keep a beyond-cycle date as a reminder
    seen: int = 0  # the newest typed answer read (its message id): a redelivered one is skipped
    replaces: int | None = None  # the lapsed Next Step this one reschedules

    def due(self, rules: Rules) -> datetime | None:
        if self.day is None or self.at is None:
            return None
        return datetime.combine(self.day, self.at, rules.tz)

    def with_when(self, day: date, at: time | None) -> Draft:
        """A new date: whether it is a ball is judged afresh; the action stays."""
        return replace(self, day=day, at=at, kind=Kind.BALL, reminder_ok=False)

    def is_new_input(self, number: int) -> bool:
        return number > self.seen

    def to_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "call_id": self.call_id,
            "day": self.day.isoformat() if self.day else None,
            "at": self.at.strftime("%H:%M") if self.at else None,
            "action": self.action,
            "kind": self.kind.value,
            "reminder_ok": self.reminder_ok,
            "seen": self.seen,
            "replaces": self.replaces,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        call_id, replaces = data.get("call_id"), data.get("replaces")
        return cls(
            contact_id=int(data["contact_id"]),
            call_id=None if call_id is None else int(call_id),
            day=date.fromisoformat(data["day"]) if data.get("day") else None,
            at=time.fromisoformat(data["at"]) if data.get("at") else None,
            action=data.get("action"),
            kind=Kind(data.get("kind", Kind.BALL.value)),
            reminder_ok=bool(data.get("reminder_ok", False)),
            seen=int(data.get("seen") or 0),
            replaces=None if replaces is None else int(replaces),
        )


@dataclass(frozen=True, slots=True)
class Step:
    prompt: Prompt
    draft: Draft
    verdict: DueVerdict | None = None  # PAST: the answer was refused; BEYOND_CYCLE: a reminder


def next_prompt(draft: Draft, now: datetime, rules: Rules) -> Step:
    """What to ask next.

    A past day sends the rep back to DAY and a past hour of a coming day back to TIME, with
    the PAST verdict attached; a day beyond the sales cycle is no ball, so BEYOND asks whether
    to keep it as a plain reminder before anything else is asked.
    """
    if draft.day is None:
        return Step(Prompt.DAY, draft)
    day_verdict = judge_day(draft.day, now, rules)
    if day_verdict is DueVerdict.PAST:
        return Step(Prompt.DAY, replace(draft, day=None, at=None), DueVerdict.PAST)
    if day_verdict is DueVerdict.BEYOND_CYCLE and not draft.reminder_ok:
        return Step(Prompt.BEYOND, draft, DueVerdict.BEYOND_CYCLE)
    due = draft.due(rules)
    if due is None:
        return Step(Prompt.TIME, draft)
    if due <= now:
        return Step(Prompt.TIME, replace(draft, at=None), DueVerdict.PAST)
    beyond = day_verdict is DueVerdict.BEYOND_CYCLE
    draft = replace(draft, kind=Kind.REMINDER if beyond else Kind.BALL)
    verdict = DueVerdict.BEYOND_CYCLE if beyond else None
    if draft.action is None:
        return Step(Prompt.ACTION, draft, verdict)
    return Step(Prompt.READY, draft, verdict)


def read_answer(step: Step, text: str, now: datetime, rules: Rules) -> Draft | AnswerError:
    """Typed text as the answer to ``step``'s question: the action, or else a date and time.

    At the TIME question a bare time ("15:30", "3pm", "15") is on the day already chosen; a
    text naming a day of its own ("fri 10:00") replaces the day.
    """
    draft = step.draft
    if step.prompt is Prompt.ACTION:
        action = check_action(text)
        return action if isinstance(action, ActionError) else replace(draft, action=action)
    local_now = rules.local(now)
    on_day: WhenParseError | None = None
    if step.prompt is Prompt.TIME and draft.day is not None:
        hour = text.strip()
        joiner = " в " if hour.isdigit() else " "  # "15" alone is an hour only here
        read = parse_when(f"{draft.day:%d.%m.%Y}{joiner}{hour}", local_now)
        if isinstance(read, When):
            return draft.with_when(read.day, read.at)
        on_day = read
    plain = parse_when(text, local_now)
    if isinstance(plain, When):
        return draft.with_when(plain.day, plain.at)
    if on_day is not None and plain.error is WhenError.UNRECOGNISED:
        return on_day.error  # "25:00", "99" at the TIME question: no such time
    return plain.error


def split_line(text: str) -> tuple[str, str, str]:
    """The one-line form ``contact; when; what``: the parts, each possibly empty."""
    contact, _, rest = text.partition(";")
    when, _, action = rest.partition(";")
    return contact.strip(), when.strip(), action.strip()


def quick_days(now: datetime, rules: Rules, count: int, last_hour: int) -> list[date]:
    """The days offered as buttons: today (while ``last_hour`` is still ahead), tomorrow, then
    the next working days, ``count`` in all."""
    today = rules.today(now)
    days = [today] if rules.local(now).hour < last_hour else []
    days.append(today + timedelta(days=1))
    days += rules.next_workdays(today + timedelta(days=2), count - len(days))
    return days


def time_slots(day: date, hours: Iterable[int], now: datetime, rules: Rules) -> list[time]:
    """The whole hours of ``day`` offered as buttons: only those still ahead."""
    return [time(hour) for hour in hours if datetime.combine(day, time(hour), rules.tz) > now]
