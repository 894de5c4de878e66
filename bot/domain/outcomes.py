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

    @property
    def asks_callback(self) -> bool:
        """'Call me later' offers to put the prospect back on the list on a date."""
        return self is Outcome.CALL_LATER

    @property
    def settles_callback(self) -> bool:
        """Reaching the prospect settles a due call-back; not reaching them leaves it due."""
        return self.group is not OutcomeGroup.NOT_REACHED and not self.asks_callback

    @classmethod
    def parse(cls, code: str) -> Outcome | None:
        try:
            return cls(code)
        except ValueError:
            return None


class Verdict(StrEnum):
    """The one line a rep reads under a call's result; a catalog key ``result.<value>``."""

    BALL = "ball"  # never shown for a call: a Next Step is saved by its own flow
    NOT_REACHED = "not_reached"
    WRONG_NUMBER = "wrong_number"
    POLITE_NO = "polite_no"
    NOT_INTERESTED = "not_interested"


def verdict(outcome: Outcome) -> Verdict:
    if outcome is Outcome.NEXT_STEP:
        return Verdict.BALL
    if outcome is Outcome.WRONG_NUMBER:
        return Verdict.WRONG_NUMBER
    if outcome.group is OutcomeGroup.NOT_REACHED:
        return Verdict.NOT_REACHED
    if outcome.is_polite_no:
        return Verdict.POLITE_NO
    return Verdict.NOT_INTERESTED


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

# How the outcome buttons are laid out: each group under its heading, one tuple per row.
LAYOUT: tuple[tuple[OutcomeGroup, tuple[tuple[Outcome, ...], ...]], ...] = (
    (OutcomeGroup.BALL, ((Outcome.NEXT_STEP,),)),
    (
        OutcomeGroup.NOT_REACHED,
        (
            (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL),
            (Outcome.GATEKEEPER, Outcome.WRONG_NUMBER),
        ),
    ),
    (
        OutcomeGroup.REACHED,
        (
            (Outcome.THINK_ABOUT_IT, Outcome.CALL_LATER),
            (Outcome.ASK_BOSS, Outcome.SEND_INFO),
            (Outcome.NOT_INTERESTED,),
        ),
    ),
)
# The same buttons without the headings, row by row.
KEYBOARD: tuple[tuple[Outcome, ...], ...] = tuple(row for _, rows in LAYOUT for row in rows)
