"""The weekly chart drawn with Pillow: size, colours, names and titles that fit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from io import BytesIO

from PIL import Image

from bot.charts import (
    PAD,
    ROW_HEIGHT,
    WIDTH,
    ChartLayout,
    _font,
    _short,
    chart_layout,
    render_week_chart,
)
from bot.reports import WeekChart

MONDAY = date(2026, 11, 23)
DAYS = [MONDAY + timedelta(days=i) for i in range(7)]
RU_DAYS = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
LONG = "<Ivan & Co> 🚀 with a very long surname indeed"
WHITE = (255, 255, 255)


def week(
    names: list[str],
    calls: list[list[int | None]],
    balls: list[list[int | None]],
    *,
    title: str = "Продажи: звонки и мячи по дням, пн, 23.11 – вс, 29.11",
) -> WeekChart:
    return WeekChart(
        title=title,
        days=DAYS,
        day_labels=[f"{RU_DAYS[i]}\n{d.day}" for i, d in enumerate(DAYS)],
        names=names,
        calls=calls,
        balls=balls,
        quota=20,
        note="Число — звонки · ● — мячи · цвет — доля нормы (20) · первые 10 из 12",
    )


def ten() -> WeekChart:
    names = ["Иван Петров", LONG, "Ольга Смирнова-Кузнецова", "A" * 80, "Kim"]
    names += ["Дмитрий", "Ш" * 30, "Пётр", "Анна-Мария 🚀👩‍👩‍👧", "Наталья"]
    calls = [[(i * 7 + j * 5) % 31 if j < 5 else None for j in range(7)] for i in range(10)]
    balls = [[None if c is None else c % 4 for c in row] for row in calls]
    return week(names, calls, balls)


def picture(chart: WeekChart) -> Image.Image:
    png = render_week_chart(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def corner(image: Image.Image, layout: ChartLayout, row: int, col: int) -> tuple[int, ...]:
    """A pixel just inside a cell's top left corner, away from its text."""
    left, top, _, _ = layout.cell(row, col)
    return tuple(image.getpixel((left + 3, top + 3)))  # type: ignore[arg-type]


def colours(image: Image.Image, box: tuple[int, int, int, int]) -> set[tuple[int, int, int]]:
    left, top, right, bottom = box
    area = image.crop((left, top, right + 1, bottom + 1))
    found = area.getcolors(area.width * area.height) or []
    return {colour for _, colour in found}  # type: ignore[misc]


def test_one_member_colours_and_text() -> None:
    # Mon nothing, Tue 5 calls 2 balls, Wed the quota, Thu 1.25x, Fri huge; the weekend to come.
    calls: list[list[int | None]] = [[0, 5, 20, 25, 999, None, None]]
    balls: list[list[int | None]] = [[0, 2, 1, 0, 99, None, None]]
    chart = week(["Иван"], calls, balls)
    image = picture(chart)
    layout = chart_layout(chart)
    assert image.size == (WIDTH, layout.height) == (1080, layout.height)
    assert corner(image, layout, 0, 5) == corner(image, layout, 0, 6) == (0xEE, 0xEE, 0xEE)
    assert corner(image, layout, 0, 0) == (0xFF, 0xFF, 0xE5)  # 0 calls: the palest yellow
    assert corner(image, layout, 0, 3) == (0x00, 0x45, 0x29)  # 1.25x the quota: the darkest
    red, green, blue = corner(image, layout, 0, 2)  # the quota met: dark green
    assert green > red + 60 and green > blue + 30 and red < 40 and green < 140
    # a 2 px white gap between neighbouring cells
    _, top, right, _ = layout.cell(0, 0)
    assert image.getpixel((right + 1, top + 10)) == image.getpixel((right + 2, top + 10)) == WHITE
    # text colours: dark ink and red balls on a light cell, white on a dark one
    light = colours(image, layout.cell(0, 1))
    assert any(r < 60 and g < 60 and b < 60 for r, g, b in light)
    assert any(r > 150 and g < 90 and b < 90 for r, g, b in light)  # ● 2 in #c0392b
    for col in (2, 4):  # the quota met and far beyond: white numbers, white balls
        dark = colours(image, layout.cell(0, col))
        assert WHITE in dark and not any(r > 150 and g < 90 for r, g, b in dark)
    assert colours(image, layout.cell(0, 0)) - {(0xFF, 0xFF, 0xE5)}  # "0" is written
    assert colours(image, layout.cell(0, 6)) == {(0xEE, 0xEE, 0xEE)}  # nothing on days to come


def test_height_grows_with_the_rows() -> None:
    one = picture(week(["Ольга"], [[1, 2, 3, 4, 5, 6, 7]], [[0] * 7]))
    chart = ten()
    many = picture(chart)
    assert one.width == many.width == 1080
    assert many.height - one.height == 9 * ROW_HEIGHT
    assert 1000 < many.height < 1400  # a phone shows it whole
    layout = chart_layout(chart)
    assert layout.rows == 10 and layout.cell(9, 6)[3] < layout.height - PAD


def test_nothing_drawn_outside_and_long_texts_fit() -> None:
    title = "Отдел продаж Северо-Запад " * 6 + "X" * 200 + " 🚀 звонки и мячи по дням"
    chart = ten()
    chart = week(chart.names, chart.calls, chart.balls, title=title)
    image = picture(chart)
    layout = chart_layout(chart)
    # the white margin all round is untouched: no text ran off the picture
    for band in (
        (0, 0, WIDTH - 1, PAD - 1),
        (0, image.height - PAD, WIDTH - 1, image.height - 1),
        (0, 0, PAD - 1, image.height - 1),
        (WIDTH - PAD, 0, WIDTH - 1, image.height - 1),
    ):
        assert colours(image, band) == {WHITE}, band
    assert len(layout.title) == 2 and layout.title[-1].endswith("…")
    font = _font(True, layout.title_size)
    assert all(font.getlength(line) <= WIDTH - 2 * PAD for line in layout.title)
    assert "🚀" not in "".join(layout.title)
    # each name is written and stops short of its row's first cell
    for row in range(10):
        top, bottom = layout.row(row)
        assert colours(image, (PAD, top, layout.grid_left - 1, bottom)) != {WHITE}
        assert colours(image, (layout.grid_left - 8, top, layout.grid_left - 1, bottom)) == {WHITE}


def test_names_shortened_without_emoji() -> None:
    assert _short(LONG) == "<Ivan & Co> with…"
    assert _short("Анна-Мария 🚀👩‍👩‍👧") == "Анна-Мария"  # the joiners go with the emoji
    assert _short("Ольга") == "Ольга"
    assert _short("🚀🚀") == "?"


def test_cyrillic_is_drawn_not_boxes() -> None:
    def name_strip(name: str) -> Image.Image:
        chart = week([name], [[1] * 7], [[0] * 7])
        top, bottom = chart_layout(chart).row(0)
        return picture(chart).crop((PAD, top, PAD + 290, bottom + 1))

    missing = name_strip("\u0378\u0378\u0378\u0378")  # unassigned: the font's empty box
    for name in ("Жора", "Юлия"):
        assert name_strip(name).tobytes() != missing.tobytes()
    assert name_strip("Жора").tobytes() != name_strip("Юлия").tobytes()


def test_renders_the_same_from_several_threads() -> None:
    chart = ten()
    alone = render_week_chart(chart)
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(render_week_chart, [chart] * 6))
    assert together == [alone] * 6
