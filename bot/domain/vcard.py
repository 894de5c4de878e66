"""Contacts from vCard files (``.vcf``): what Android, iPhone, Google Contacts and Outlook export.

vCard 2.1, 3.0 and 4.0 are read by ``vobject``: folded lines, quoted-printable values with their
``CHARSET`` (2.1's soft line breaks too), backslash escapes, the parts of ``N`` and ``ORG``. Each
card becomes a contact the way a table's row does (:func:`bot.domain.transfer.make_row`): ``FN``
(else ``N``, else ``ORG``) is the name, ``ORG`` the company, the mobile ``TEL`` the phone (the
others go into the note with their labels), ``NOTE`` the note.

Before vobject sees a card, only the lines that matter here are kept: a photo, a logo or any field
vobject might choke on (a bad base64 picture is common) then cannot cost the card. A card that
still cannot be read is left out, and the others are imported.
"""

from __future__ import annotations

import io
import re
from typing import Any

from bot.domain.tables import MAX_BYTES, MAX_ROWS, TableError, decode_text
from bot.domain.transfer import (
    FileProblem,
    ImportRow,
    Phone,
    PhoneKind,
    Problem,
    Rejected,
    full_name,
    make_row,
    phone_kind,
)

VCARD_SUFFIXES = frozenset({".vcf", ".vcard"})
VCARD_TYPES = frozenset({"text/vcard", "text/x-vcard", "text/directory"})
# The properties read here; every other line (PHOTO, LOGO, ADR, X-…) is dropped before parsing.
_KEPT = frozenset({"BEGIN", "END", "VERSION", "FN", "N", "ORG", "TEL", "NOTE", "X-ABLABEL"})
_PROPERTY = re.compile(r"^\s*(?:[\w-]+\.)?([\w-]+)\s*[;:]")
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")  # "_$!<Mobile>!$_": an iPhone's own label


def is_vcard(data: bytes) -> bool:
    """Whether a file's content is vCards, whatever it is called."""
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:11].upper() == b"BEGIN:VCARD"


def _property(line: str) -> str:
    match = _PROPERTY.match(line)
    return match.group(1).upper() if match else ""


def _value(line: str) -> str:
    return line.partition(":")[2].strip().upper()


def split_cards(text: str) -> list[list[str]] | FileProblem:
    """Each card's logical lines (unfolded), only the properties read here.

    A card nested in another (vCard 2.1's AGENT) is skipped; a card cut off at the end of the file
    is closed.
    """
    from vobject.base import getLogicalLines  # imported here: only a vCard import needs it

    cards: list[list[str]] = []
    depth = 0
    for line, _ in getLogicalLines(io.StringIO(text), allowQP=True):
        name = _property(line)
        if name == "BEGIN" and _value(line) == "VCARD":
            depth += 1
            if depth == 1:
                if len(cards) == MAX_ROWS:
                    return FileProblem.TOO_MANY_CARDS
                cards.append([line])
            continue
        if name == "END" and _value(line) == "VCARD" and depth:
            depth -= 1
            if depth == 0:
                cards[-1].append(line)
            continue
        if depth == 1 and name in _KEPT and name not in ("BEGIN", "END"):
            cards[-1].append(line)
    if depth:
        cards[-1].append("END:VCARD")
    return cards


def _text(value: Any) -> str:
    """A value as one string: vobject gives the parts of N and ORG as lists or strings."""
    if isinstance(value, list | tuple):
        return " ".join(_text(part) for part in value if part)
    return value.strip() if isinstance(value, str) else ""


def _types(line: Any) -> list[str]:
    """A TEL's types: ``TEL;CELL;PREF`` (2.1), ``TEL;TYPE=CELL,VOICE`` (3.0),
    ``TEL;TYPE="work,voice";PREF=1`` (4.0), ``TEL;type=CELL;type=pref`` (iPhone)."""
    types = [str(value) for value in line.singletonparams]
    for value in line.params.get("TYPE", []):
        types.extend(str(value).split(","))
    return [t.strip().casefold() for t in types if t.strip()]


def _phone(line: Any, labels: dict[str, str]) -> Phone:
    types = _types(line)
    preferred = "pref" in types or bool(line.params.get("PREF"))
    said = [t for t in types if t not in ("pref", "voice", "internet", "x400")]
    kind = phone_kind(" ".join(said))
    label: str | None = None
    own = labels.get((line.group or "").casefold(), "")
    if kind is None and own:  # an iPhone's or Google's label for the number: "Склад"
        kind = phone_kind(own)
        label = None if kind is not None else own
    return Phone(_text(line.value), kind or PhoneKind.PHONE, label, preferred)


def _name(card: Any) -> str:
    for line in card.contents.get("fn", []):
        if _text(line.value):
            return _text(line.value)
    for line in card.contents.get("n", []):
        n = line.value
        if isinstance(n, str):  # a card vobject did not split
            parts = [*n.split(";"), "", "", ""]
            family, given, additional = parts[0], parts[1], parts[2]
        else:
            family = _text(getattr(n, "family", ""))
            given = _text(getattr(n, "given", ""))
            additional = _text(getattr(n, "additional", ""))
        name = full_name(given, additional, family)
        if name:
            return name
    return ""


def _company(card: Any) -> str:
    for line in card.contents.get("org", []):
        value = line.value
        first = value[0] if isinstance(value, list) and value else value
        if _text(first):
            return _text(first)
    return ""


def read_card(number: int, lines: list[str]) -> ImportRow | Rejected:
    """One card, ``number`` its place in the file (shown when it is left out)."""
    import vobject

    try:
        card = vobject.readOne("\r\n".join(lines), allowQP=True)
        labels: dict[str, str] = {}
        for line in card.contents.get("x-ablabel", []):
            if line.group:
                own = _text(line.value)
                match = _APPLE_LABEL.match(own)
                labels[str(line.group).casefold()] = match.group(1) if match else own
        phones = [_phone(line, labels) for line in card.contents.get("tel", [])]
        notes = [_text(line.value).replace("\r\n", "\n") for line in card.contents.get("note", [])]
        name, company = _name(card), _company(card)
    except Exception:  # any failure to parse untrusted input: this card is damaged
        return Rejected(number, Problem.UNREADABLE)
    return make_row(number, name or company, company, phones, notes)


def read_vcards(data: bytes) -> tuple[list[ImportRow], list[Rejected]] | TableError | FileProblem:
    """The contacts in a .vcf file, and the cards left out and why."""
    if len(data) > MAX_BYTES:
        return TableError.TOO_BIG
    text = decode_text(data)
    if text is None:
        return FileProblem.NOT_A_VCARD
    cards = split_cards(text)
    if isinstance(cards, FileProblem):
        return cards
    rows: list[ImportRow] = []
    rejected: list[Rejected] = []
    for number, lines in enumerate(cards, 1):
        read = read_card(number, lines)
        if isinstance(read, ImportRow):
            rows.append(read)
        else:
            rejected.append(read)
    if not rows:
        problems = {item.problem for item in rejected}
        if problems <= {Problem.UNREADABLE}:  # no cards, or none that could be read
            return FileProblem.NOT_A_VCARD
        if problems <= {Problem.UNREADABLE, Problem.NO_NAME}:
            return FileProblem.NO_NAMED_CARDS
    return rows, rejected
