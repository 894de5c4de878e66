"""The weekly picture: calls and balls per member per day, as a PNG a phone shows well.

matplotlib is imported inside :func:`render_week_chart`, not at start-up, and only the
object-oriented API with the Agg canvas is used (no ``pyplot`` global state), so rendering is
safe in a worker thread.
"""

from __future__ import annotations

import gc
import math
import warnings
from io import BytesIO
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.reports import WeekChart

BALL_COLOUR = "#c0392b"
NAME_MAX = 18  # characters of a name beside its row: the cells keep the width
EMPTY_COLOUR = "#eeeeee"


def _plain(name: str) -> str:
    """Drop what the default font cannot draw (emoji and other pictographs)."""
    kept = "".join(ch for ch in name if ord(ch) < 0x2190 or 0x2C00 <= ord(ch) < 0x2E00)
    return " ".join(kept.split()) or "?"


def _short(name: str) -> str:
    name = _plain(name)
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1].rstrip() + "…"


def render_week_chart(chart: WeekChart) -> bytes:
    """A heat map: one row per member, one column per day; the number is calls, ``● n`` balls.

    The colour is the share of the daily quota, so a full row of green is a week of quotas met.
    """
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows, cols = len(chart.names), len(chart.days)
    quota = max(chart.quota, 1)
    shares = np.array(
        [[math.nan if c is None else c / quota for c in row] for row in chart.calls],
        dtype=float,
    ).reshape(rows, cols)
    cmap = colormaps["YlGn"].with_extremes(bad=EMPTY_COLOUR)

    figure = Figure(figsize=(7.2, 1.7 + 0.62 * rows), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.imshow(np.ma.masked_invalid(shares), cmap=cmap, vmin=0.0, vmax=1.25, aspect="auto")
    for i in range(rows):
        for j in range(cols):
            calls, balls = chart.calls[i][j], chart.balls[i][j]
            if calls is None:
                continue
            dark = shares[i, j] > 0.85
            colour = "white" if dark else "#222222"
            offset = -0.14 if balls else 0.0
            axes.text(j, i + offset, str(calls), ha="center", va="center", fontsize=12,
                      fontweight="bold", color=colour)  # fmt: skip
            if balls:
                axes.text(j, i + 0.24, f"● {balls}", ha="center", va="center", fontsize=9,
                          color="white" if dark else BALL_COLOUR, fontweight="bold")  # fmt: skip
    axes.set_xticks(range(cols), labels=chart.day_labels, fontsize=10)
    axes.set_yticks(range(rows), labels=[_short(name) for name in chart.names], fontsize=10)
    axes.tick_params(top=True, bottom=False, labeltop=True, labelbottom=False, length=0)
    axes.set_xticks([x - 0.5 for x in range(1, cols)], minor=True)
    axes.set_yticks([y - 0.5 for y in range(1, rows)], minor=True)
    axes.grid(which="minor", color="white", linewidth=2)
    axes.tick_params(which="minor", length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    figure.suptitle(_plain(chart.title), fontsize=13, fontweight="bold")
    figure.supxlabel(chart.note, fontsize=9, color="#555555")
    buffer = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph missing from the font is not worth a warning
        figure.savefig(buffer, format="png")
    # A figure is a web of reference cycles: free its ~45 MB now, not whenever the cyclic
    # collector next runs, so that weekly charts do not stack up in the bot's memory.
    figure.clear()
    del figure
    gc.collect()
    return buffer.getvalue()
