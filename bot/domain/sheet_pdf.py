"""Drawing the call sheet as a PDF with fpdf2.

A module of its own so that fpdf2 (and what it imports) is loaded the first time a rep asks for
a call sheet, not when the bot starts: it costs about 0.4 s and tens of megabytes.
"""

from __future__ import annotations

from fpdf import FPDF

from bot.domain.sheet import (
    BOX,
    BOX_COLUMNS,
    FAMILY,
    FONT_SIZE,
    FOOTER_SPACE,
    HEADER_HEIGHT,
    MARGIN,
    MAX_TALLY,
    ROW_HEIGHT,
    TALLY_PER_ROW,
    WIDTHS,
    Sheet,
)
from bot.fonts import BOLD, REGULAR


class _SheetPDF(FPDF):
    def __init__(self, sheet: Sheet) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.sheet = sheet
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.add_font(FAMILY, "", str(REGULAR))
        self.add_font(FAMILY, "B", str(BOLD))
        self.alias_nb_pages("{pages}")
        self.set_title(sheet.title)
        self.set_creator("Ballback")

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(110)
        text = self.sheet.footer.replace("{page}", str(self.page_no()))
        self.cell(0, 4, text, align="R")
        self.set_text_color(0)


def _printable(pdf: FPDF, text: str) -> str:
    """``text`` without the characters the font has no glyph for (emoji, mostly)."""
    font = pdf.current_font
    cmap = getattr(font, "cmap", None)
    if not cmap:
        return text
    kept = "".join(ch for ch in text if ord(ch) in cmap or ch == " ")
    return " ".join(kept.split())


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis so that it fits ``width`` mm of the current font."""
    text = _printable(pdf, text)
    room = width - 2 * pdf.c_margin
    if pdf.get_string_width(text) <= room:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with "…"
        mid = (low + high + 1) // 2
        if pdf.get_string_width(text[:mid].rstrip() + "…") <= room:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


def _table_header(pdf: _SheetPDF) -> None:
    pdf.set_font(FAMILY, "B", FONT_SIZE)
    pdf.set_fill_color(230)
    for width, title in zip(WIDTHS, pdf.sheet.columns, strict=True):
        pdf.cell(width, HEADER_HEIGHT, _fit(pdf, title, width), border=1, fill=True, align="C")
    pdf.ln(HEADER_HEIGHT)
    pdf.set_font(FAMILY, "", FONT_SIZE)


def _box(pdf: FPDF, x: float, y: float) -> None:
    pdf.rect(x, y, BOX, BOX)


def _heading(pdf: _SheetPDF) -> None:
    sheet = pdf.sheet
    pdf.set_font(FAMILY, "B", 14)
    pdf.cell(0, 8, _fit(pdf, sheet.title, pdf.epw), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    pdf.cell(0, 6, _fit(pdf, sheet.subtitle, pdf.epw), new_x="LMARGIN", new_y="NEXT")
    if 0 < sheet.quota <= MAX_TALLY:
        pdf.ln(1)
        label_width = 22.0
        pdf.cell(label_width, BOX + 2, _fit(pdf, sheet.tally, label_width))
        x0, y = pdf.get_x(), pdf.get_y() + 1
        for n in range(sheet.quota):
            row, col = divmod(n, TALLY_PER_ROW)
            _box(pdf, x0 + col * (BOX + 2), y + row * (BOX + 2))
        rows = (sheet.quota + TALLY_PER_ROW - 1) // TALLY_PER_ROW
        pdf.set_xy(MARGIN, y - 1 + rows * (BOX + 2))
    pdf.ln(1)
    pdf.set_font(FAMILY, "", 8)
    pdf.set_text_color(90)
    pdf.multi_cell(0, 4, _printable(pdf, sheet.hint), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(2)


def draw(sheet: Sheet) -> bytes:
    """The printable call sheet."""
    pdf = _SheetPDF(sheet)
    pdf.add_page()
    _heading(pdf)
    _table_header(pdf)
    bottom = pdf.h - MARGIN - FOOTER_SPACE
    for n, row in enumerate(sheet.rows, 1):
        if pdf.get_y() + ROW_HEIGHT > bottom:
            pdf.add_page()
            _table_header(pdf)
        cells = (str(n), row.name, row.company, row.phone, row.last_call, "", "", "")
        y = pdf.get_y()
        for index, (width, text) in enumerate(zip(WIDTHS, cells, strict=True)):
            x = pdf.get_x()
            align = "R" if index == 0 else "L"
            pdf.cell(width, ROW_HEIGHT, _fit(pdf, text, width), border=1, align=align)
            if index in BOX_COLUMNS:
                _box(pdf, x + (width - BOX) / 2, y + (ROW_HEIGHT - BOX) / 2)
        pdf.ln(ROW_HEIGHT)
    return bytes(pdf.output())
