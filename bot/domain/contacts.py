"""Reading a contact out of what a rep types after ``/call``.

``Ivan Petrov, Romashka LLC +7 912 345-67-89; asked to call after lunch`` is a name, an optional
company after the first comma, an optional phone anywhere (found and normalised to E.164 by
``phonenumbers``, Russian ``8 912 ...`` included) and an optional note after ``;``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

import phonenumbers

from bot.domain.rules import Rules, callback_due

MAX_NAME = 100
MAX_COMPANY = 100
MAX_NOTE = 1000
DEFAULT_REGION = "RU"
# No valid phone number anywhere has fewer digits, country code included (a test checks this
# against phonenumbers' metadata). Text with fewer digits cannot hold one, so it skips
# PhoneNumberMatcher, which costs ~0.1 ms per /call even when it finds nothing.
MIN_PHONE_DIGITS = 6

_SPACES = re.compile(r"\s+")


class ContactError(StrEnum):
    MISSING = "missing"
    NAME_TOO_LONG = "name_too_long"
    COMPANY_TOO_LONG = "company_too_long"
    NOTE_TOO_LONG = "note_too_long"


@dataclass(frozen=True, slots=True)
class ContactInput:
    name: str
    company: str | None = None
    phone: str | None = None
    note: str | None = None

    @property
    def key(self) -> str:
        return name_key(self.name)


def name_key(name: str) -> str:
    """The form names are matched by: case- and spacing-insensitive."""
    return _SPACES.sub(" ", name).strip().casefold()


def clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip(" \t\n,;-—")


def normalise_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a valid number, ``None`` otherwise (``8 912 ...`` is a Russian mobile)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parse_contact(text: str, region: str = DEFAULT_REGION) -> ContactInput | ContactError:
    """``name[, company] [phone][; note]``; the phone may stand anywhere before the note."""
    body, _, note_part = text.partition(";")
    note = clean(note_part) or None
    phone: str | None = None
    if sum(ch.isdigit() for ch in body) >= MIN_PHONE_DIGITS:
        for match in phonenumbers.PhoneNumberMatcher(body, region):
            phone = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            body = body[: match.start] + " " + body[match.end :]
            break
    name_part, _, company_part = body.partition(",")
    name = clean(name_part)
    company = clean(company_part) or None
    if not name:
        if phone is None:
            return ContactError.MISSING
        name = format_phone(phone)
    return _checked(ContactInput(name=name, company=company, phone=phone, note=note))


def _checked(contact: ContactInput) -> ContactInput | ContactError:
    if len(contact.name) > MAX_NAME:
        return ContactError.NAME_TOO_LONG
    if contact.company is not None and len(contact.company) > MAX_COMPANY:
        return ContactError.COMPANY_TOO_LONG
    if contact.note is not None and len(contact.note) > MAX_NOTE:
        return ContactError.NOTE_TOO_LONG
    return contact


def shared_contact(
    first_name: str | None,
    last_name: str | None,
    phone_number: str | None,
    region: str = DEFAULT_REGION,
) -> ContactInput | ContactError:
    """A card shared from the phone's address book: the name as it is there, its phone.

    Commas and semicolons in an address-book name are part of the name, not a company or note.
    Telegram sends the number without ``+`` (``79123456789``); ``phonenumbers`` reads that too.
    """
    phone = normalise_phone(phone_number, region) if phone_number else None
    name = clean(" ".join(part for part in (first_name, last_name) if part))
    if not name:
        if phone is None:
            return ContactError.MISSING
        name = format_phone(phone)
    return _checked(ContactInput(name=name, phone=phone))


class Listed(Protocol):
    """What the picker needs to know about a contact."""

    @property
    def id(self) -> int: ...

    @property
    def callback_at(self) -> datetime | None: ...


L = TypeVar("L", bound=Listed)


def pick_prospects(
    recent: Iterable[L], clients: Collection[int], now: datetime, rules: Rules, limit: int
) -> list[L]:
    """The prospects ``/call`` offers, from ``recent`` (most recently called first).

    Clients are left out (their ball is in play), and so is a prospect who asked to be called
    later until that day comes; then they come first.
    """
    due: list[L] = []
    rest: list[L] = []
    for contact in recent:
        if contact.id in clients:
            continue
        if contact.callback_at is None:
            rest.append(contact)
        elif callback_due(contact.callback_at, now, rules):
            due.append(contact)
    return (due + rest)[:limit]
