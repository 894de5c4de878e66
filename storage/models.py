"""What the storage API hands out: pydantic models, never SQL rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


def to_ts(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return int(moment.timestamp())


def from_ts(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class UserIn(Model):
    """Who sent an update, as Telegram describes them."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class User(UserIn):
    lang: str | None = None
    tz: str | None = None
    started_at: datetime

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


class Contact(Model):
    id: int
    owner_id: int
    name: str
    company: str | None = None
    phone: str | None = None
    note: str | None = None
    callback_at: datetime | None = None
    archived: bool = False
    created_at: datetime


class Call(Model):
    id: int
    owner_id: int
    contact_id: int
    at: datetime
    outcome: str | None = None
    note: str | None = None


class NextStep(Model):
    id: int
    owner_id: int
    contact_id: int
    call_id: int | None = None
    action: str
    due_at: datetime
    kind: str
    status: str
    created_at: datetime
    contact_name: str | None = None
    contact_company: str | None = None


class LoggedCall(Model):
    call: Call
    contact: Contact
    created: bool  # False when the same Telegram message had already logged it


class DayStats(Model):
    calls: int
    balls: int
    polite_nos: int
    open_calls: int  # calls still waiting for an outcome


class Flow(Model):
    user_id: int
    kind: str
    data: dict[str, Any]
    message_id: int | None = None
    updated_at: datetime


class UndoTarget(Model):
    kind: str  # 'call' | 'step'
    id: int
    owner_id: int
    at: datetime
    contact_name: str
    detail: str | None = None  # outcome code for a call, action for a Next Step
