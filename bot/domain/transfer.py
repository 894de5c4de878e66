"""Moving a rep's contacts in and out.

Import reads a table (:mod:`bot.domain.tables`): the header row names the columns, in Russian or
English (``Имя``/``Name``, ``Телефон``/``Phone``, ``Компания``/``Company``,
``Примечание``/``Note``, or first and last name apart); every row is checked the way ``/call``
checks what is typed, and the rows that pass are matched against the rep's contacts by
:func:`plan_import`: the same phone, or the same name and company, is the same person, and
merges instead of doubling.

Plain Python: no Telegram, no SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

import phonenumbers

from bot.domain.contacts import (
    DEFAULT_REGION,
    MAX_COMPANY,
    MAX_NAME,
    MAX_NOTE,
    clean,
    format_phone,
    name_key,
    normalise_phone,
)
from bot.domain.tables import HEADER_ROWS, MAX_ROWS, Table


def phone_for_excel(e164: str) -> str:
    """A phone as a spreadsheet should hold it: text that Excel leaves alone and that reads back.

    Numbers of the +7 plan (Russia, Kazakhstan) as dialled at home, ``8 (912) 345-67-89``;
    others in international format (the CSV writer keeps Excel from taking the ``+`` for a
    formula).
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 7:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def import_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for what a spreadsheet cell holds: ``8 (912) 345-67-89``, ``79123456789`` (a number
    cell), ``тел. +7 912 …, доб. 12``; ``None`` when no valid number is in it."""
    phone = normalise_phone(text, region)
    if phone is not None:
        return phone
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"[\s()\-.]", "", text)
    if digits.isdigit() and len(digits) >= 8:
        return normalise_phone("+" + digits, region)  # an international number without its +
    return None


# -- the header ----------------------------------------------------------------------------------


class Column(StrEnum):
    NAME = "name"  # the whole name
    FIRST = "first"
    MIDDLE = "middle"
    LAST = "last"
    COMPANY = "company"
    PHONE = "phone"
    NOTE = "note"


_HEADERS: dict[Column, frozenset[str]] = {
    Column.NAME: frozenset(
        (
            "name",
            "full name",
            "contact",
            "contact name",
            "contact person",
            "person",
            "display name",
            "фио",
            "ф и о",
            "полное имя",
            "контакт",
            "контактное лицо",
            "имя контакта",
            "имя и фамилия",
            "фамилия имя",
            "фамилия имя отчество",
        )
    ),
    Column.FIRST: frozenset(("имя", "first name", "firstname", "given name")),
    Column.MIDDLE: frozenset(("отчество", "middle name", "additional name", "patronymic")),
    Column.LAST: frozenset(("фамилия", "last name", "lastname", "surname", "family name")),
    Column.COMPANY: frozenset(
        (
            "company",
            "company name",
            "organisation",
            "organization",
            "org",
            "firm",
            "employer",
            "account",
            "account name",
            "business",
            "компания",
            "название компании",
            "организация",
            "название организации",
            "фирма",
            "предприятие",
            "юрлицо",
            "юр лицо",
        )
    ),
    Column.PHONE: frozenset(
        (
            "phone",
            "phone number",
            "telephone",
            "tel",
            "mobile",
            "mobile phone",
            "cell",
            "cell phone",
            "work phone",
            "business phone",
            "primary phone",
            "телефон",
            "тел",
            "номер",
            "номер телефона",
            "мобильный",
            "мобильный телефон",
            "моб телефон",
            "сотовый",
            "рабочий телефон",
            "контактный телефон",
        )
    ),
    Column.NOTE: frozenset(
        (
            "note",
            "notes",
            "comment",
            "comments",
            "remark",
            "remarks",
            "description",
            "примечание",
            "примечания",
            "заметка",
            "заметки",
            "комментарий",
            "комментарии",
            "описание",
        )
    ),
}
# Headers that begin with one of these words: "Телефон (моб.)", "Phone 1 - Value",
# "Organization 1 - Name", "Комментарий менеджера".
_PREFIXES: dict[Column, tuple[str, ...]] = {
    Column.PHONE: ("phone", "telephone", "mobile", "телефон", "тел", "мобильный"),
    Column.COMPANY: ("company", "organization", "organisation", "компания", "организация"),
    Column.NOTE: ("note", "notes", "comment", "примечание", "заметка", "комментарий"),
}
_NON_WORD = re.compile(r"[^\w]+")


def header_key(cell: str) -> str:
    """``"Телефон (моб.)"`` → ``"телефон моб"``: case, ё, punctuation and spacing do not count."""
    return " ".join(_NON_WORD.sub(" ", cell.casefold().replace("ё", "е")).replace("_", " ").split())


def column_of(cell: str) -> Column | None:
    key = header_key(cell)
    if not key:
        return None
    for column, names in _HEADERS.items():
        if key in names:
            return column
    for column, prefixes in _PREFIXES.items():
        if any(key.startswith(prefix + " ") for prefix in prefixes):
            return column
    return None


def map_header(cells: list[str]) -> dict[Column, list[int]]:
    """Which cell positions hold which column (a column may repeat: Phone 1, Phone 2)."""
    columns: dict[Column, list[int]] = {}
    for index, cell in enumerate(cells):
        column = column_of(cell)
        if column is not None:
            columns.setdefault(column, []).append(index)
    return columns


# -- the rows ------------------------------------------------------------------------------------


class FileProblem(StrEnum):
    """Why a whole file is refused (nothing of it is stored)."""

    NO_NAME_COLUMN = "no_name_column"
    EMPTY = "empty"  # a header and no contacts
    TOO_MANY_ROWS = "too_many_rows"


class Problem(StrEnum):
    """Why one row is left out."""

    NO_NAME = "no_name"
    NAME_TOO_LONG = "name_too_long"
    COMPANY_TOO_LONG = "company_too_long"
    NOTE_TOO_LONG = "note_too_long"
    BAD_PHONE = "bad_phone"
    NAME_TAKEN = "name_taken"  # another contact has the name, and nothing tells them apart


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int  # the row number as the spreadsheet shows it
    name: str
    company: str | None = None
    phone: str | None = None  # E.164
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    problem: Problem
    value: str = ""  # what was wrong, shown back to the rep (a phone that is not one)


def _first(cells: list[str], positions: list[int] | None) -> str:
    for index in positions or ():
        if index < len(cells) and cells[index].strip():
            return cells[index].strip()
    return ""


def _name(cells: list[str], columns: dict[Column, list[int]]) -> str:
    whole = _first(cells, columns.get(Column.NAME))
    if whole:
        return clean(whole)
    first = _first(cells, columns.get(Column.FIRST))
    middle = _first(cells, columns.get(Column.MIDDLE))
    last = _first(cells, columns.get(Column.LAST))
    parts = (last, first, middle) if middle else (first, last)  # Петров Иван Иванович
    return clean(" ".join(part for part in parts if part))


def read_row(line: int, cells: list[str], columns: dict[Column, list[int]]) -> ImportRow | Rejected:
    name = _name(cells, columns)
    if not name:
        return Rejected(line, Problem.NO_NAME)
    if len(name) > MAX_NAME:
        return Rejected(line, Problem.NAME_TOO_LONG)
    company = clean(_first(cells, columns.get(Column.COMPANY))) or None
    if company is not None and len(company) > MAX_COMPANY:
        return Rejected(line, Problem.COMPANY_TOO_LONG)
    note = _first(cells, columns.get(Column.NOTE)) or None
    if note is not None and len(note) > MAX_NOTE:
        return Rejected(line, Problem.NOTE_TOO_LONG)
    phone_text = _first(cells, columns.get(Column.PHONE))
    phone = import_phone(phone_text) if phone_text else None
    if phone_text and phone is None:
        return Rejected(line, Problem.BAD_PHONE, phone_text[:40])
    return ImportRow(line=line, name=name, company=company, phone=phone, note=note)


def find_header(table: Table) -> tuple[int, dict[Column, list[int]]] | None:
    """The header row's index and columns: the first of the first few rows naming a name."""
    for index, (_, cells) in enumerate(table.rows[:HEADER_ROWS]):
        columns = map_header(cells)
        if columns.keys() & {Column.NAME, Column.FIRST, Column.LAST}:
            return index, columns
    return None


def read_contacts(table: Table) -> tuple[list[ImportRow], list[Rejected]] | FileProblem:
    """The contacts in a table: the rows that can be imported, and the ones left out and why.

    The header is the first row (of the first few) that names a name column.
    """
    found = find_header(table)
    if found is None:
        return FileProblem.NO_NAME_COLUMN
    index, columns = found
    body = table.rows[index + 1 :]
    if not body:
        return FileProblem.EMPTY
    if len(body) > MAX_ROWS:
        return FileProblem.TOO_MANY_ROWS
    rows: list[ImportRow] = []
    rejected: list[Rejected] = []
    for line, cells in body:
        read = read_row(line, cells, columns)
        if isinstance(read, ImportRow):
            rows.append(read)
        else:
            rejected.append(read)
    return rows, rejected


# -- merging with what the rep has ---------------------------------------------------------------


class KnownContact(Protocol):
    """What the planner needs of a contact the rep already has."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def company(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def note(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class NewContact:
    name: str
    name_key: str
    company: str | None
    phone: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Fill:
    """Values for a stored contact's empty fields (``None``: leave that one alone)."""

    id: int
    company: str | None = None
    phone: str | None = None
    note: str | None = None


@dataclass
class ImportPlan:
    creates: list[NewContact] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    merged: int = 0  # rows that matched a stored contact or an earlier row
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return len(self.creates)


@dataclass
class _Entry:
    id: int | None  # None: created by this import
    name: str
    company: str | None
    phone: str | None
    note: str | None
    filled: dict[str, str] = field(default_factory=dict)


def _same_company(a: str | None, b: str | None) -> bool:
    return a is None or b is None or name_key(a) == name_key(b)


def _compatible(entry: _Entry, row: ImportRow) -> bool:
    """Nothing tells them apart: no two different companies, no two different phones."""
    phones_agree = entry.phone is None or row.phone is None or entry.phone == row.phone
    return _same_company(entry.company, row.company) and phones_agree


@lru_cache(maxsize=MAX_ROWS)
def _shown_phone(e164: str) -> str:
    return format_phone(e164)  # parsing a number is the slow part of planning: once each


def _names(row: ImportRow) -> list[str]:
    """The names this row's contact may be stored under: a second "Александр" with another
    company or phone is kept as "Александр (ООО Лютик)" (the name is unique per rep)."""
    names = [row.name]
    if row.company:
        names.append(f"{row.name} ({row.company})")
    if row.phone:
        names.append(f"{row.name} ({_shown_phone(row.phone)})")
    return names


def lookup_keys(rows: Iterable[ImportRow]) -> tuple[list[str], list[str]]:
    """The phones and name keys of stored contacts that rows may merge with."""
    phones: set[str] = set()
    keys: set[str] = set()
    for row in rows:
        if row.phone:
            phones.add(row.phone)
        keys.update(name_key(name) for name in _names(row))
    return sorted(phones), sorted(keys)


def plan_import(rows: Iterable[ImportRow], known: Iterable[KnownContact]) -> ImportPlan:
    """What to create and what to fill in so the file's contacts are there once each.

    A row is the contact with its phone, or else the one with its name (or its name with the
    company or phone added, see :func:`_names`) when companies and phones do not differ. A match
    gets the row's company, phone and note where it has none (what is stored wins); anything
    else is a new contact.
    """
    by_phone: dict[str, _Entry] = {}
    by_name: dict[str, _Entry] = {}
    stored: list[_Entry] = []
    for contact in known:
        entry = _Entry(contact.id, contact.name, contact.company, contact.phone, contact.note)
        stored.append(entry)
        by_name[name_key(contact.name)] = entry
        if contact.phone:
            by_phone.setdefault(contact.phone, entry)
    plan = ImportPlan()
    created: list[_Entry] = []
    for row in rows:
        match = by_phone.get(row.phone) if row.phone else None
        if match is None:
            for name in _names(row):
                same_name = by_name.get(name_key(name))
                if same_name is not None and _compatible(same_name, row):
                    match = same_name
                    break
        if match is not None:
            plan.merged += 1
            for attr in ("company", "phone", "note"):
                value = getattr(row, attr)
                if value and not getattr(match, attr):
                    setattr(match, attr, value)
                    match.filled[attr] = value
            if row.phone and match.phone == row.phone:
                by_phone.setdefault(row.phone, match)
            continue
        free = next((n for n in _names(row) if name_key(n) not in by_name), None)
        if free is None:
            plan.rejected.append(Rejected(row.line, Problem.NAME_TAKEN, row.name[:40]))
            continue
        new = _Entry(None, free, row.company, row.phone, row.note)
        created.append(new)
        by_name[name_key(free)] = new
        if row.phone:
            by_phone[row.phone] = new
    plan.creates = [
        NewContact(e.name, name_key(e.name), e.company, e.phone, e.note) for e in created
    ]
    plan.fills = [
        Fill(e.id, e.filled.get("company"), e.filled.get("phone"), e.filled.get("note"))
        for e in stored
        if e.filled and e.id is not None
    ]
    return plan
