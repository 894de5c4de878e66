"""The guided Next Step flow as a pure state machine.

A :class:`Draft` is filled one answer at a time (a button or typed text); :func:`next_prompt`
says what is still missing. Handlers store the draft between messages and render the prompt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from bot.domain.rules import DueVerdict, Rules, judge_due


class Kind(StrEnum):
    BALL = "ball"
    REMINDER = "reminder"


class Prompt(StrEnum):
    DAY = "day"  # when?
    TIME = "time"  # what time on that day?
    BEYOND = "beyond"  # the date is beyond the cycle: save as a reminder instead?
    ACTION = "action"  # what exactly will happen?
    READY = "ready"  # everything known: save it


# Action presets offered as buttons: code -> catalog key.
ACTION_PRESETS: tuple[str, ...] = ("mt", "dm", "pr", "cl")


@dataclass(frozen=True, slots=True)
class Draft:
    contact_id: int
    call_id: int | None = None
    day: date | None = None
    at: time | None = None
    action: str | None = None
    kind: Kind = Kind.BALL
    reminder_ok: bool = False  # the rep agreed to keep a beyond-cycle date as a reminder

    def due(self, rules: Rules) -> datetime | None:
        if self.day is None or self.at is None:
            return None
        return datetime.combine(self.day, self.at, rules.tz)

    def with_when(self, day: date, at: time | None) -> Draft:
        return replace(self, day=day, at=at, kind=Kind.BALL, reminder_ok=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat() if self.day else None
        data["at"] = self.at.strftime("%H:%M") if self.at else None
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(
            contact_id=int(data["contact_id"]),
            call_id=data.get("call_id"),
            day=date.fromisoformat(data["day"]) if data.get("day") else None,
            at=time.fromisoformat(data["at"]) if data.get("at") else None,
            action=data.get("action"),
            kind=Kind(data.get("kind", Kind.BALL.value)),
            reminder_ok=bool(data.get("reminder_ok", False)),
        )


@dataclass(frozen=True, slots=True)
class Step:
    prompt: Prompt
    draft: Draft
    verdict: DueVerdict | None = None  # why the date was refused, when it was


def next_prompt(draft: Draft, now: datetime, rules: Rules) -> Step:
    """What to ask next. A past date sends the rep back to DAY with the verdict attached."""
    if draft.day is None:
        return Step(Prompt.DAY, draft)
    due = draft.due(rules)
    if due is None:
        if draft.day < rules.today(now):
            return Step(Prompt.DAY, replace(draft, day=None), DueVerdict.PAST)
        return Step(Prompt.TIME, draft)
    verdict = judge_due(due, now, rules)
    if verdict is DueVerdict.PAST:
        return Step(Prompt.DAY, replace(draft, day=None, at=None), verdict)
    if verdict is DueVerdict.BEYOND_CYCLE and not draft.reminder_ok:
        return Step(Prompt.BEYOND, draft, verdict)
    kind = Kind.REMINDER if verdict is DueVerdict.BEYOND_CYCLE else Kind.BALL
    draft = replace(draft, kind=kind)
    if draft.action is None:
        return Step(Prompt.ACTION, draft)
    return Step(Prompt.READY, draft)
