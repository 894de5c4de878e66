"""The weekly picture: calls and balls per member per day, as a PNG a phone shows well.

Drawn with Pillow in DejaVu Sans Condensed (``bot/fonts.py``), so Cyrillic names and day labels
render on any machine. Pillow is imported the first time a chart is drawn, not at start-up.

One row per member, one column per day. A cell's colour is the member's share of the daily quota
on a YlGn ramp (full green = quota met, with room above it); days still to come are grey. The
number is the calls, ``● n`` the balls back.

The fonts are loaded once and shared; FreeType faces must not be used by two threads at once, so
a render (which runs in a worker thread) holds a lock while it measures and draws.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

from bot.fonts import BOLD, REGULAR

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont

    from bot.reports import WeekChart

RGB = tuple[int, int, int]

BALL_COLOUR = "#c0392b"
NAME_MAX = 18  # characters of a name beside its row: the cells keep the width
EMPTY_COLOUR = "#eeeeee"  # a day still to come
INK = "#222222"
GREY = "#555555"
BACKGROUND = "#ffffff"
# ColorBrewer YlGn, light to dark; a share of the quota maps onto it from 0 to SHARE_MAX.
YLGN = (
    "#ffffe5",
    "#f7fcb9",
    "#d9f0a3",
    "#addd8e",
    "#78c679",
    "#41ab5d",
    "#238443",
    "#006837",
    "#004529",
)
SHARE_MAX = 1.25
DARK_SHARE = 0.85  # above this share the cell is dark enough for white text

WIDTH = 1080  # px: a phone screen's width
PAD = 28  # white margin all round; nothing is drawn in it
LABEL_WIDTH = 290  # the names' column, left of the grid
NAME_GAP = 14  # between a name and its row's first cell
GAP = 2  # white between neighbouring cells
ROW_HEIGHT = 88
HEADER_HEIGHT = 72  # the day labels above the grid
TITLE_SIZES = (34, 30, 26)  # tried in turn until the title fits in TITLE_LINES
TITLE_LINES = 2
TITLE_GAP = 16
NOTE_SIZE = 20
NOTE_LINES = 3
NOTE_GAP = 20
NAME_SIZE = 25
WEEKDAY_SIZE = 21
DAY_SIZE = 25
CALLS_SIZE = 32
BALLS_SIZE = 22
LINE_SPACING = 1.25  # a line's height, in font sizes


def _plain(name: str) -> str:
    """Drop what the font cannot draw (emoji and other pictographs) and invisible controls."""
    kept = "".join(
        ch
        for ch in name
        if (ord(ch) < 0x2190 or 0x2C00 <= ord(ch) < 0x2E00) and unicodedata.category(ch) != "Cf"
    )
    return " ".join(kept.split()) or "?"


def _short(name: str) -> str:
    name = _plain(name)
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1].rstrip() + "…"


def _rgb(colour: str) -> RGB:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


STOPS = tuple(_rgb(colour) for colour in YLGN)


def shade(share: float) -> RGB:
    """The cell colour for ``share`` of the quota: YlGn from 0 to ``SHARE_MAX``, clamped."""
    position = min(max(share / SHARE_MAX, 0.0), 1.0) * (len(STOPS) - 1)
    low = min(int(position), len(STOPS) - 2)
    part = position - low
    a, b = STOPS[low], STOPS[low + 1]
    return (
        round(a[0] + (b[0] - a[0]) * part),
        round(a[1] + (b[1] - a[1]) * part),
        round(a[2] + (b[2] - a[2]) * part),
    )


@functools.cache
def _font(bold: bool, size: int) -> FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(BOLD if bold else REGULAR), size)


_FONTS_IN_USE = threading.RLock()


def _fit(text: str, font: FreeTypeFont, width: float) -> str:
    """``text``, cut with an ellipsis if it is wider than ``width`` px."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text.rstrip() + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _fitting(text: str, size: int, width: float) -> FreeTypeFont:
    """The bold font of ``size`` px, or a smaller one if ``text`` would be wider than ``width``."""
    while size > 12 and _font(True, size).getlength(text) > width:
        size -= 4
    return _font(True, size)


def _wrap(text: str, font: FreeTypeFont, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` px: at spaces, inside a word only if it must."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:  # a word wider than the picture is broken where it has to be
            if line and font.getlength(line + ch) > width:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    return lines


def _clip(lines: list[str], font: FreeTypeFont, width: float, most: int) -> list[str]:
    if len(lines) <= most:
        return lines
    return [*lines[: most - 1], _fit(lines[most - 1] + " " + lines[most], font, width)]


def _inside(start: int, end: int, index: int, count: int) -> tuple[int, int]:
    """Pixels ``start..end`` of a row or column, less its share of the gap to each neighbour."""
    first = start + GAP // 2 if index else start
    last = end - (GAP - GAP // 2) if index < count - 1 else end
    return first, last


@dataclass(frozen=True)
class ChartLayout:
    """Where everything goes: the picture's size, its texts, and the grid's cells."""

    width: int
    height: int
    title: list[str]
    title_size: int
    note: list[str]
    grid_left: int
    grid_top: int
    rows: int
    cols: int

    def column(self, col: int) -> tuple[int, int]:
        """The first and last pixel of column ``col``, the white gaps left out."""
        span = self.width - PAD - self.grid_left
        start = self.grid_left + round(col * span / self.cols)
        end = self.grid_left + round((col + 1) * span / self.cols) - 1
        return _inside(start, end, col, self.cols)

    def row(self, row: int) -> tuple[int, int]:
        """The first and last pixel of row ``row``, the white gaps left out."""
        start = self.grid_top + row * ROW_HEIGHT
        return _inside(start, start + ROW_HEIGHT - 1, row, self.rows)

    def cell(self, row: int, col: int) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` of a cell, all four pixels inside it."""
        left, right = self.column(col)
        top, bottom = self.row(row)
        return left, top, right, bottom


def chart_layout(chart: WeekChart) -> ChartLayout:
    """Measure the title and the note and place the grid under them."""
    inner = WIDTH - 2 * PAD
    with _FONTS_IN_USE:
        title = _plain(chart.title)
        for size in TITLE_SIZES:
            title_font = _font(True, size)
            lines = _wrap(title, title_font, inner)
            if len(lines) <= TITLE_LINES:
                break
        title_lines = _clip(lines, title_font, inner, TITLE_LINES)
        note_font = _font(False, NOTE_SIZE)
        note_lines = _clip(_wrap(chart.note, note_font, inner), note_font, inner, NOTE_LINES)
    rows, cols = len(chart.names), len(chart.days)
    grid_top = PAD + _lines_height(len(title_lines), size) + TITLE_GAP + HEADER_HEIGHT
    height = grid_top + rows * ROW_HEIGHT + NOTE_GAP + _lines_height(len(note_lines), NOTE_SIZE)
    return ChartLayout(
        width=WIDTH,
        height=height + PAD,
        title=title_lines,
        title_size=size,
        note=note_lines,
        grid_left=PAD + LABEL_WIDTH,
        grid_top=grid_top,
        rows=rows,
        cols=cols,
    )


def _lines_height(count: int, size: int) -> int:
    return round(count * size * LINE_SPACING)


def _centred(
    draw: ImageDraw, texts: Sequence[tuple[str, FreeTypeFont, str]], x: float, y: float
) -> None:
    """Lines of text stacked and centred on ``(x, y)`` by their ink, 8 px apart."""
    boxes = [font.getbbox(text, anchor="ms") for text, font, _ in texts]
    total = sum(box[3] - box[1] for box in boxes) + 8 * (len(texts) - 1)
    top = y - total / 2
    for (text, font, colour), box in zip(texts, boxes, strict=True):
        draw.text((x, top - box[1]), text, font=font, fill=colour, anchor="ms")
        top += box[3] - box[1] + 8


def render_week_chart(chart: WeekChart) -> bytes:
    """A heat map: one row per member, one column per day; the number is calls, ``● n`` balls.

    The colour is the share of the daily quota, so a full row of green is a week of quotas met.
    """
    from PIL import Image, ImageDraw

    with _FONTS_IN_USE:
        layout = chart_layout(chart)
        image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        _draw_texts(draw, chart, layout)
        _draw_grid(draw, chart, layout)
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _draw_texts(draw: ImageDraw, chart: WeekChart, layout: ChartLayout) -> None:
    title_font = _font(True, layout.title_size)
    y = float(PAD)
    for line in layout.title:
        draw.text((layout.width / 2, y), line, font=title_font, fill=INK, anchor="ma")
        y += layout.title_size * LINE_SPACING
    weekday_font, day_font = _font(False, WEEKDAY_SIZE), _font(True, DAY_SIZE)
    day_line = layout.grid_top - 16  # baselines, so that every column's labels line up
    for col, label in enumerate(chart.day_labels[: layout.cols]):
        left, right = layout.column(col)
        x, room = (left + right) / 2, right - left - 4
        *above, day = label.split("\n")
        draw.text((x, day_line), _fit(day, day_font, room), font=day_font, fill=INK, anchor="ms")
        if above:  # "Mon" over "23"
            weekday = _fit(" ".join(above), weekday_font, room)
            y = day_line - DAY_SIZE - 8
            draw.text((x, y), weekday, font=weekday_font, fill=GREY, anchor="ms")
    name_font = _font(False, NAME_SIZE)
    for row, name in enumerate(chart.names):
        top, bottom = layout.row(row)
        text = _fit(_short(name), name_font, LABEL_WIDTH - NAME_GAP)
        x = layout.grid_left - NAME_GAP
        draw.text((x, (top + bottom) / 2), text, font=name_font, fill=INK, anchor="rm")
    note_font = _font(False, NOTE_SIZE)
    y = layout.height - PAD - _lines_height(len(layout.note), NOTE_SIZE)
    for line in layout.note:
        draw.text((layout.width / 2, y), line, font=note_font, fill=GREY, anchor="ma")
        y += NOTE_SIZE * LINE_SPACING


def _draw_grid(draw: ImageDraw, chart: WeekChart, layout: ChartLayout) -> None:
    quota = max(chart.quota, 1)
    for row in range(layout.rows):
        for col in range(layout.cols):
            calls, balls = chart.calls[row][col], chart.balls[row][col]
            left, top, right, bottom = layout.cell(row, col)
            if calls is None:
                draw.rectangle((left, top, right, bottom), fill=EMPTY_COLOUR)
                continue
            share = calls / quota
            draw.rectangle((left, top, right, bottom), fill=shade(share))
            dark = share > DARK_SHARE
            room = right - left - 8
            text = str(calls)
            texts = [(text, _fitting(text, CALLS_SIZE, room), "#ffffff" if dark else INK)]
            if balls:
                text = f"● {balls}"
                colour = "#ffffff" if dark else BALL_COLOUR
                texts.append((text, _fitting(text, BALLS_SIZE, room), colour))
            _centred(draw, texts, (left + right) / 2, (top + bottom) / 2)
