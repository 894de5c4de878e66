"""Moving a rep's contacts in and out.

Import reads a table (:mod:`bot.domain.tables`): the header row names the columns, in Russian or
English (``Имя``/``Name``, ``Телефон``/``Phone``, ``Компания``/``Company``,
``Примечание``/``Note``, or first and last name apart). The exports of amoCRM (``Имя (контакт)``,
``Рабочий телефон (контакт)``), Bitrix24, Google Contacts (``Phone 1 - Type``/``Phone 1 -
Value``) and Outlook (``Mobile Phone``, ``Телефон переносной``) read as they are. A row may have
several phones: the mobile one becomes the contact's, the others go into the note with their
labels (``Рабочий: +7 343 123-45-67``). vCard files (:mod:`bot.domain.vcard`) end up in the same
:func:`make_row`.

Every row is checked the way ``/call`` checks what is typed, and the rows that pass are matched
against the rep's contacts by :func:`plan_import`: the same phone, or the same name and company,
is the same person, and merges instead of doubling.

Plain Python: no Telegram, no SQL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

import phonenumbers

from bot.domain.contacts import (
    DEFAULT_REGION,
    MAX_COMPANY,
    MAX_NAME,
    MAX_NOTE,
    MIN_PHONE_DIGITS,
    clean,
    format_phone,
    name_key,
    normalise_phone,
)
from bot.domain.tables import HEADER_ROWS, MAX_COLUMNS, MAX_ROWS, Table


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
    numbers = phone_numbers(text, region)
    return numbers[0] if numbers else None


# -- the header ----------------------------------------------------------------------------------


class Column(StrEnum):
    NAME = "name"  # the whole name
    FIRST = "first"
    MIDDLE = "middle"
    LAST = "last"
    COMPANY = "company"
    PHONE = "phone"
    PHONE_TYPE = "phone_type"  # what the phone beside it is: "Phone 1 - Type" says "Mobile"
    NOTE = "note"


class PhoneKind(StrEnum):
    """What a phone is, as a header, a type cell or a vCard says. The order is the preference for
    the contact's own phone; a fax or a pager never is one (they go into the note)."""

    MOBILE = "mobile"
    MAIN = "main"
    PHONE = "phone"  # just "Phone"
    WORK = "work"
    HOME = "home"
    OTHER = "other"
    FAX = "fax"
    PAGER = "pager"


_RANK = {kind: rank for rank, kind in enumerate(PhoneKind)}
_NEVER_PRIMARY = frozenset({PhoneKind.FAX, PhoneKind.PAGER})
# How the other phones are labelled in the note: Russian for a contact with a Cyrillic name.
_LABELS: dict[PhoneKind, tuple[str, str]] = {
    PhoneKind.MOBILE: ("Мобильный", "Mobile"),
    PhoneKind.MAIN: ("Основной", "Main"),
    PhoneKind.PHONE: ("Телефон", "Phone"),
    PhoneKind.WORK: ("Рабочий", "Work"),
    PhoneKind.HOME: ("Домашний", "Home"),
    PhoneKind.OTHER: ("Другой", "Other"),
    PhoneKind.FAX: ("Факс", "Fax"),
    PhoneKind.PAGER: ("Пейджер", "Pager"),
}
# Word beginnings that tell a phone's kind, checked in this order ("Рабочий факс" is a fax,
# "Основной телефон организации" the company's line). vCard types use the same words.
_KIND_STEMS: tuple[tuple[PhoneKind, tuple[str, ...]], ...] = (
    (PhoneKind.FAX, ("fax", "факс")),
    (PhoneKind.PAGER, ("pager", "пейджер")),
    (PhoneKind.MOBILE, ("mobile", "cell", "iphone", "моб", "сотов", "переносн")),
    (
        PhoneKind.WORK,
        ("work", "business", "office", "company", "раб", "служебн", "офис", "организац", "компан"),
    ),
    (PhoneKind.HOME, ("home", "personal", "private", "дом", "личн")),
    (PhoneKind.MAIN, ("main", "primary", "основн", "главн")),
    (PhoneKind.OTHER, ("other", "друг", "доп")),
)
# A header with one of these words is a phone column ("Рабочий телефон (контакт)", "Phone 1 -
# Value", "Mobile Phone", "Тел.", "Номер телефона"); with a type word too, it says what the phone
# beside it is ("Phone 1 - Type", "Тип телефона"), and is never a phone itself.
_PHONE_WORDS = frozenset(
    (
        *("phone", "phones", "telephone", "tel", "mobile", "mob", "cell", "cellphone", "cellular"),
        *("телефон", "телефона", "телефоны", "тел", "моб", "мобильный", "сотовый"),
    )
)
_FAX_STEMS = ("fax", "факс")
_TYPE_WORDS = frozenset(("type", "label", "kind", "тип", "вид"))
# A phone header that says nothing more than "phone": its phones are labelled by their kind.
_PLAIN_PHONE_WORDS = _PHONE_WORDS | {"number", "value", "номер", "1", "2", "3", "4", "5"}

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
            "основной контакт",
            "имя контакта",
            "полное имя контакта",
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
# Headers that begin with one of these words: "Organization 1 - Name", "Компания клиента",
# "Комментарий менеджера", "Примечание 1" (amoCRM has several)...
_PREFIXES: dict[Column, tuple[str, ...]] = {
    Column.COMPANY: ("company", "organization", "organisation", "компания", "организация"),
    Column.NOTE: ("note", "notes", "comment", "примечание", "заметка", "комментарий"),
}
# ...unless another word says they hold something else: "Organization 1 - Title" (Google),
# "Организация ИНН".
_NOT_PREFIXED = frozenset(
    (
        *("title", "department", "job", "symbol", "location", "type", "yomi", "phonetic"),
        *("address", "email", "e", "mail", "website", "id", "label", "domain"),
        *("должность", "отдел", "адрес", "инн", "кпп", "огрн", "тип", "сайт", "id"),
    )
)
# amoCRM puts what a column belongs to after it: "Имя (контакт)", "Название (компания)",
# "Бюджет (сделка)".
_SECTION = re.compile(r"\(\s*(контакт|компания|сделка)\s*\)\s*$", re.IGNORECASE)
_COMPANY_SECTION_NAMES = frozenset(("название", "наименование", "имя", "компания", "name"))
_NON_WORD = re.compile(r"[^\w]+")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def header_key(cell: str) -> str:
    """``"Телефон (моб.)"`` → ``"телефон моб"``: case, ё, punctuation and spacing do not count."""
    return " ".join(_NON_WORD.sub(" ", cell.casefold().replace("ё", "е")).replace("_", " ").split())


def phone_kind(text: str) -> PhoneKind | None:
    """The kind a header, a type cell or vCard types name: ``"Рабочий телефон"`` is work,
    ``"Mobile"`` mobile; ``None`` when the words do not say."""
    words = header_key(text).split()
    for kind, stems in _KIND_STEMS:
        if any(word.startswith(stems) for word in words):
            return kind
    return None


def _phone_column(words: list[str]) -> Column | None:
    phone = words == ["номер"] or any(w in _PHONE_WORDS or w.startswith(_FAX_STEMS) for w in words)
    if not phone:
        return None
    return Column.PHONE_TYPE if _TYPE_WORDS.intersection(words) else Column.PHONE


def _split_section(cell: str) -> tuple[str, str | None]:
    match = _SECTION.search(cell)
    if match is None:
        return cell, None
    return cell[: match.start()].strip(), match.group(1).casefold()


def column_of(cell: str) -> Column | None:
    cell, section = _split_section(cell)
    key = header_key(cell)
    if not key or section == "сделка":  # a deal's field in amoCRM's export of deals
        return None
    words = key.split()
    phone = _phone_column(words)
    if phone is not None:
        return phone
    if section == "компания":  # the company's other fields are not the contact's
        return Column.COMPANY if key in _COMPANY_SECTION_NAMES else None
    for column, names in _HEADERS.items():
        if key in names:
            return column
    for column, prefixes in _PREFIXES.items():
        if any(key.startswith(prefix + " ") for prefix in prefixes):
            return None if _NOT_PREFIXED.intersection(words[1:]) else column
    return None


@dataclass(frozen=True, slots=True)
class PhoneColumn:
    index: int
    kind: PhoneKind
    label: str | None = None  # the header's own words when they say more than its kind
    type_index: int | None = None  # the column that says what each row's phone is


@dataclass(frozen=True, slots=True)
class Header:
    columns: dict[Column, list[int]]  # a column may repeat: several notes
    phones: tuple[PhoneColumn, ...] = ()


def _phone_stem(cell: str) -> list[str]:
    """``"Phone 1 - Type"`` and ``"Phone 1 - Value"`` → ``["phone", "1"]``: a pair."""
    return [w for w in header_key(cell).split() if w not in _TYPE_WORDS and w != "value"]


def _phone_columns(cells: list[str], columns: dict[Column, list[int]]) -> tuple[PhoneColumn, ...]:
    phones = columns.get(Column.PHONE, [])
    typed: dict[int, int] = {}  # phone position -> its type column's
    for type_index in columns.get(Column.PHONE_TYPE, []):
        stem = _phone_stem(cells[type_index])
        free = [i for i in phones if i not in typed]
        pair = next((i for i in free if _phone_stem(cells[i]) == stem), None)
        if pair is None:  # "Тип телефона; Телефон": the nearest on the right, else on the left
            right = [i for i in free if i > type_index]
            left = [i for i in free if i < type_index]
            pair = right[0] if right else (left[-1] if left else None)
        if pair is not None:
            typed[pair] = type_index
    found = []
    for index in phones:
        header, section = _split_section(cells[index])
        kind = phone_kind(header) or (PhoneKind.WORK if section == "компания" else None)
        plain = set(header_key(header).split()) <= _PLAIN_PHONE_WORDS
        label = None if kind is not None or plain else clean(header)
        found.append(PhoneColumn(index, kind or PhoneKind.PHONE, label, typed.get(index)))
    return tuple(found)


def map_header(cells: list[str]) -> Header:
    """Which cell positions hold which column, and what each phone column holds."""
    columns: dict[Column, list[int]] = {}
    for index, cell in enumerate(cells):
        column = column_of(cell)
        if column is not None:
            columns.setdefault(column, []).append(index)
    return Header(columns, _phone_columns(cells, columns))


# -- the rows ------------------------------------------------------------------------------------


class FileProblem(StrEnum):
    """Why a whole file is refused (nothing of it is stored)."""

    NO_NAME_COLUMN = "no_name_column"
    EMPTY = "empty"  # a header and no contacts
    TOO_MANY_ROWS = "too_many_rows"
    NOT_A_VCARD = "not_a_vcard"  # a .vcf file with no readable vCard in it
    NO_NAMED_CARDS = "no_named_cards"  # vCards, and none with a name
    TOO_MANY_CARDS = "too_many_cards"


class Problem(StrEnum):
    """Why one row is left out."""

    NO_NAME = "no_name"
    NAME_TOO_LONG = "name_too_long"
    COMPANY_TOO_LONG = "company_too_long"
    NOTE_TOO_LONG = "note_too_long"
    BAD_PHONE = "bad_phone"
    NAME_TAKEN = "name_taken"  # another contact has the name, and nothing tells them apart
    UNREADABLE = "unreadable"  # a damaged vCard


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int  # the row number as the spreadsheet shows it (a vCard's place in its file)
    name: str
    company: str | None = None
    phone: str | None = None  # E.164
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    problem: Problem
    value: str = ""  # what was wrong, shown back to the rep (a phone that is not one)


@dataclass(frozen=True, slots=True)
class Phone:
    """One phone as a file gives it, before it is read."""

    text: str
    kind: PhoneKind = PhoneKind.PHONE
    label: str | None = None  # the file's own word for it, when it is none of the kinds
    preferred: bool = False  # vCard's PREF: first among phones of its kind


def phone_numbers(text: str, region: str = DEFAULT_REGION) -> list[str]:
    """Every number (E.164) in a cell: ``"+7 912 … ::: +7 913 …"`` (Google puts several in one
    cell so), ``"8 912 …, 8 913 …"``, ``"tel:+7-912-…"`` (vCard 4.0)."""
    found: list[str] = []
    for part in text.split(":::"):
        part = part.strip()
        if part[:4].casefold() == "tel:":
            part = part[4:]
        if not part:
            continue
        phone = normalise_phone(part, region)
        if phone is not None:
            found.append(phone)
            continue
        if sum(ch.isdigit() for ch in part) < MIN_PHONE_DIGITS:
            continue
        matches = [
            phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            for match in phonenumbers.PhoneNumberMatcher(part, region)
        ]
        if not matches:
            digits = re.sub(r"[\s()\-.]", "", part)
            if digits.isdigit() and len(digits) >= 8:  # an international number without its +
                matches = [p for p in (normalise_phone("+" + digits, region),) if p]
        found.extend(matches)
    return list(dict.fromkeys(found))


def _shorten(text: str, room: int) -> str:
    """``text`` in at most ``room`` characters, cut at a space and ended with "…"."""
    if len(text) <= room:
        return text
    cut = text[: max(room - 1, 0)]
    space = cut.rfind(" ")
    if space > room // 2:
        cut = cut[:space]
    return cut.rstrip(" \n,;:-") + "…"


def fit_note(text: str | None, extra: list[str]) -> str | None:
    """The note and the lines for the other phones within MAX_NOTE: the note's text is shortened
    first (the phones are what would be lost), and if the phones alone are too many, the last
    lines give way to "…"."""
    text = text or ""
    tail = "\n".join(extra)
    if not tail:
        return _shorten(text, MAX_NOTE) or None
    if not text and len(tail) <= MAX_NOTE:
        return tail
    if len(text) + 1 + len(tail) <= MAX_NOTE:
        return f"{text}\n{tail}"
    room = MAX_NOTE - len(tail) - 1
    if text and room >= 40:  # enough of the note to be worth keeping
        return f"{_shorten(text, room)}\n{tail}"
    lines = [line for line in (text, *extra) if line]
    kept: list[str] = []
    for line in lines:
        if len("\n".join([*kept, line, "…"])) > MAX_NOTE:
            break
        kept.append(line)
    if not kept:
        return _shorten(lines[0], MAX_NOTE)
    return "\n".join([*kept, "…"])


def full_name(first: str, middle: str, last: str) -> str:
    """``Петров Иван Иванович`` with a patronymic, ``Иван Петров`` without."""
    parts = (last, first, middle) if middle.strip() else (first, last)
    return clean(" ".join(part.strip() for part in parts if part.strip()))


def make_row(
    line: int,
    name: str,
    company: str | None,
    phones: list[Phone],
    notes: list[str],
    region: str = DEFAULT_REGION,
) -> ImportRow | Rejected:
    """One contact checked the way ``/call`` checks one: a name, at most one company; the best
    phone (a mobile one first) is the contact's, the others go into the note with their labels.
    """
    name = clean(name)
    if not name:
        return Rejected(line, Problem.NO_NAME)
    if len(name) > MAX_NAME:
        return Rejected(line, Problem.NAME_TOO_LONG)
    company = clean(company or "") or None
    if company is not None and len(company) > MAX_COMPANY:
        return Rejected(line, Problem.COMPANY_TOO_LONG)
    texts = list(dict.fromkeys(note.strip() for note in notes if note.strip()))
    if any(len(note) > MAX_NOTE for note in texts):
        return Rejected(line, Problem.NOTE_TOO_LONG)
    numbered: list[tuple[str, Phone]] = []
    unreadable: list[Phone] = []
    for phone in phones:
        if not phone.text.strip():
            continue
        numbers = phone_numbers(phone.text, region)
        numbered.extend((number, phone) for number in numbers)
        if not numbers:
            unreadable.append(phone)
    if not numbered and unreadable:
        first = min(unreadable, key=lambda p: (_RANK[p.kind], not p.preferred))
        return Rejected(line, Problem.BAD_PHONE, clean(first.text)[:40])
    candidates = [item for item in numbered if item[1].kind not in _NEVER_PRIMARY]
    primary = (
        min(candidates, key=lambda item: (_RANK[item[1].kind], not item[1].preferred))[0]
        if candidates
        else None
    )
    russian = _CYRILLIC.search(name) is not None
    shown: set[str] = {primary} if primary else set()
    extra: list[str] = []
    for number, phone in numbered:  # in the file's order
        if number not in shown:
            shown.add(number)
            extra.append(f"{_label(phone, russian)}: {format_phone(number)}")
    extra.extend(  # "123-45", "доб. 12": kept as written; "нет", "-" are no phones at all
        f"{_label(phone, russian)}: {clean(phone.text)}"
        for phone in unreadable
        if sum(ch.isdigit() for ch in phone.text) >= 3
    )
    note = fit_note("\n".join(texts), extra)
    return ImportRow(line=line, name=name, company=company, phone=primary, note=note)


def _label(phone: Phone, russian: bool) -> str:
    if phone.label:
        return phone.label
    ru, en = _LABELS[phone.kind]
    return ru if russian else en


def _first(cells: list[str], positions: list[int] | None) -> str:
    for index in positions or ():
        if index < len(cells) and cells[index].strip():
            return cells[index].strip()
    return ""


def _all(cells: list[str], positions: list[int] | None) -> list[str]:
    return [cells[index] for index in positions or () if index < len(cells)]


def _name(cells: list[str], columns: dict[Column, list[int]]) -> str:
    whole = _first(cells, columns.get(Column.NAME))
    if whole:
        return clean(whole)
    first = _first(cells, columns.get(Column.FIRST))
    middle = _first(cells, columns.get(Column.MIDDLE))
    last = _first(cells, columns.get(Column.LAST))
    return full_name(first, middle, last)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _phones(cells: list[str], header: Header) -> list[Phone]:
    phones: list[Phone] = []
    for column in header.phones:
        text = _cell(cells, column.index)
        if not text:
            continue
        kind, label = column.kind, column.label
        said = _cell(cells, column.type_index).lstrip("* ").strip()  # Google: "* Mobile"
        if said:
            told = phone_kind(said)
            kind, label = (told, None) if told is not None else (PhoneKind.PHONE, clean(said))
        phones.append(Phone(text, kind, label))
    return phones


def read_row(line: int, cells: list[str], header: Header) -> ImportRow | Rejected:
    columns = header.columns
    return make_row(
        line,
        _name(cells, columns),
        _first(cells, columns.get(Column.COMPANY)),
        _phones(cells, header),
        _all(cells, columns.get(Column.NOTE)),
    )


def find_header(table: Table) -> tuple[int, Header] | None:
    """The header row's index and columns: the first of the first few rows naming a name."""
    for index, (_, cells) in enumerate(table.rows[:HEADER_ROWS]):
        header = map_header(cells)
        if header.columns.keys() & {Column.NAME, Column.FIRST, Column.LAST}:
            return index, header
    return None


def body_problem(table: Table, header_index: int = 0) -> FileProblem | None:
    """Why the rows below the header cannot be imported at all: none, or too many."""
    body = len(table.rows) - header_index - 1
    if body <= 0:
        return FileProblem.EMPTY
    if body > MAX_ROWS:
        return FileProblem.TOO_MANY_ROWS
    return None


def read_contacts(
    table: Table, choice: ColumnChoice | None = None
) -> tuple[list[ImportRow], list[Rejected]] | FileProblem:
    """The contacts in a table: the rows that can be imported, and the ones left out and why.

    The header is the first row (of the first few) that names a name column; with a ``choice``
    (the rep said which column is which), the first row, read as the choice says.
    """
    if choice is not None:
        found: tuple[int, Header] | None = (0, choice.header(table.rows[0][1]))
    else:
        found = find_header(table)
    if found is None:
        return FileProblem.NO_NAME_COLUMN
    index, header = found
    problem = body_problem(table, index)
    if problem is not None:
        return problem
    body = table.rows[index + 1 :]
    rows: list[ImportRow] = []
    rejected: list[Rejected] = []
    for line, cells in body:
        read = read_row(line, cells, header)
        if isinstance(read, ImportRow):
            rows.append(read)
        else:
            rejected.append(read)
    return rows, rejected


# -- columns the rep names ------------------------------------------------------------------------

MAX_OFFERED = 20  # columns offered as buttons when the header says nothing known


@dataclass(frozen=True, slots=True)
class ColumnChoice:
    """Which column is which, as the rep said when the header named no name column: positions
    in the row (``None``: no such column). A name is whole, or first and (maybe) last apart."""

    name: int | None = None
    first: int | None = None
    last: int | None = None
    phone: int | None = None
    company: int | None = None
    note: int | None = None

    def header(self, cells: list[str]) -> Header:
        """The :class:`Header` this choice makes of the header row ``cells``; a phone column's
        header says what its phones are, as a recognised one would (``Моб.``: mobile)."""
        columns: dict[Column, list[int]] = {}
        for column, index in (
            (Column.NAME, self.name),
            (Column.FIRST, self.first),
            (Column.LAST, self.last),
            (Column.PHONE, self.phone),
            (Column.COMPANY, self.company),
            (Column.NOTE, self.note),
        ):
            if index is not None:
                columns[column] = [index]
        padded = [*cells, *[""] * (max(columns.get(Column.PHONE, [0])) + 1 - len(cells))]
        return Header(columns, _phone_columns(padded, columns))

    def to_json(self) -> dict[str, int]:
        return {
            key: value
            for key in ("name", "first", "last", "phone", "company", "note")
            if (value := getattr(self, key)) is not None
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnChoice | None:
        """The choice stored as :meth:`to_json` made it; ``None`` when it is not one."""
        values: dict[str, int] = {}
        for key in ("name", "first", "last", "phone", "company", "note"):
            value = data.get(key)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                return None
            if not 0 <= value < MAX_COLUMNS:
                return None
            values[key] = value
        choice = cls(**values)
        if (choice.name is None) == (choice.first is None):  # a name, one way or the other
            return None
        return choice


def header_signature(cells: list[str]) -> str:
    """A key for a header row: the same for ``Client;Tel.`` and ``client ; TEL``, so a choice
    the rep made for one file is used for the next file with these columns."""
    keys = [header_key(cell) for cell in cells]
    while keys and not keys[-1]:
        keys.pop()
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()[:32]


def _short(text: str, room: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def offered_columns(table: Table, room: int = 40) -> list[tuple[int, str, str]]:
    """The columns to ask about: position, header cell and the first data row's value (both
    shortened to ``room``), for at most :data:`MAX_OFFERED` columns that hold anything."""
    rows = [cells for _, cells in table.rows]
    header = rows[0] if rows else []
    sample = rows[1] if len(rows) > 1 else []
    width = max((len(cells) for cells in rows), default=0)
    filled = [False] * width
    for cells in rows:
        for index, cell in enumerate(cells):
            if not filled[index] and cell.strip():
                filled[index] = True
    offered: list[tuple[int, str, str]] = []
    for index in range(width):
        if not filled[index]:
            continue
        label = header[index] if index < len(header) else ""
        value = sample[index] if index < len(sample) else ""
        offered.append((index, _short(label, room), _short(value, room)))
        if len(offered) == MAX_OFFERED:
            break
    return offered


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
