"""What can happen on a call, and which of it means the ball came back."""

from __future__ import annotations

from enum import StrEnum


class OutcomeGroup(StrEnum):
    BALL = "ball"  # a concrete Next Step with a date was agreed
    NOT_REACHED = "not_reached"  # nobody to talk to: try again
    REACHED = "reached"  # talked, but no Next Step: a prospect still


class Outcome(StrEnum):
    """Two-letter codes: they travel in ``callback_data`` and are stored as they are."""

    NEXT_STEP = "ns"
    NO_ANSWER = "na"
    BUSY = "bz"
    VOICEMAIL = "vm"
    GATEKEEPER = "gk"
    WRONG_NUMBER = "wn"
    THINK_ABOUT_IT = "th"
    CALL_LATER = "cl"
    ASK_BOSS = "bo"
    SEND_INFO = "si"
    NOT_INTERESTED = "ni"

    @property
    def group(self) -> OutcomeGroup:
        if self is Outcome.NEXT_STEP:
            return OutcomeGroup.BALL
        if self in _NOT_REACHED:
            return OutcomeGroup.NOT_REACHED
        return OutcomeGroup.REACHED

    @property
    def is_polite_no(self) -> bool:
        """'I'll think about it', 'call me later', 'ask my boss', 'send info': not a ball yet."""
        return self in POLITE_NOS

    @classmethod
    def parse(cls, code: str) -> Outcome | None:
        try:
            return cls(code)
        except ValueError:
            return None


_NOT_REACHED = frozenset(
    {
        Outcome.NO_ANSWER,
        Outcome.BUSY,
        Outcome.VOICEMAIL,
        Outcome.GATEKEEPER,
        Outcome.WRONG_NUMBER,
    }
)
POLITE_NOS = frozenset(
    {Outcome.THINK_ABOUT_IT, Outcome.CALL_LATER, Outcome.ASK_BOSS, Outcome.SEND_INFO}
)

# The order the buttons are shown in, one tuple per keyboard row.
KEYBOARD: tuple[tuple[Outcome, ...], ...] = (
    (Outcome.NEXT_STEP,),
    (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL),
    (Outcome.GATEKEEPER, Outcome.WRONG_NUMBER),
    (Outcome.THINK_ABOUT_IT, Outcome.CALL_LATER),
    (Outcome.ASK_BOSS, Outcome.SEND_INFO),
    (Outcome.NOT_INTERESTED,),
)
