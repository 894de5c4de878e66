"""The call sheet the method asks a rep to print before the calling block.

A4 portrait, the rep's name and the date, the quota as boxes to tick, then one row per prospect
(name, company, phone, last outcome and its date) with empty boxes for "called" and "ball" and
room for a note. The same rows also go out as CSV.

The PDF is drawn with fpdf2 (pure Python, fast: 300 rows take a fraction of a second) in DejaVu
Sans Condensed, embedded and subset, so Cyrillic prints and copies correctly; the font files ship
in ``bot/assets/fonts`` with their license. Every text comes in already translated: this module
knows no language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.tables import write_csv

FAMILY = "dejavu"

MARGIN = 10.0  # mm
ROW_HEIGHT = 7.0
HEADER_HEIGHT = 7.0
FOOTER_SPACE = 12.0
BOX = 4.0  # a tick box, mm
TALLY_PER_ROW = 20
MAX_TALLY = 60  # a quota above this is printed as a number only
# #, name, company, phone, last call, called, ball, notes: 190 mm, the width of A4 less margins
WIDTHS = (7.0, 42.0, 32.0, 27.0, 33.0, 14.0, 12.0, 23.0)
BOX_COLUMNS = (5, 6)  # "called" and "ball"
FONT_SIZE = 8.5


@dataclass(frozen=True, slots=True)
class SheetRow:
    name: str
    company: str = ""
    phone: str = ""  # as printed
    phone_csv: str = ""  # as Excel should get it (when it differs)
    last_call: str = ""  # last outcome and its date, e.g. "“Call me later” 26 Nov"
    note: str = ""  # CSV only: the paper has an empty notes column instead


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str  # "Call sheet: Ivan Petrov"
    subtitle: str  # "Fri 27 Nov 2026 · quota 20 calls · 57 prospects"
    hint: str  # how to fill it in
    tally: str  # the label before the quota boxes, e.g. "Calls:"
    quota: int
    columns: tuple[str, str, str, str, str, str, str, str]  # #, name, …, called, ball, notes
    footer: str  # "Page {page} of {pages}"
    rows: Sequence[SheetRow] = field(default_factory=list)


def render_pdf(sheet: Sheet) -> bytes:
    """The printable call sheet (fpdf2 is imported on first use: see ``sheet_pdf``)."""
    from bot.domain.sheet_pdf import draw

    return draw(sheet)


def render_csv(sheet: Sheet) -> bytes:
    """The same rows as CSV (the boxes as empty columns, the contact's note in the last)."""
    rows = (
        [n, row.name, row.company, row.phone_csv or row.phone, row.last_call, "", "", row.note]
        for n, row in enumerate(sheet.rows, 1)
    )
    return write_csv(sheet.columns, rows)
