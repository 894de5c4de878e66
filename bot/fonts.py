"""The fonts Ballback draws with: DejaVu Sans Condensed, shipped in ``bot/assets/fonts``.

It covers Latin, Cyrillic, Greek, Hebrew and Arabic; the call sheet (PDF) and the weekly chart
(PNG) both use it, so what they print does not depend on the fonts of the machine.
"""

from __future__ import annotations

from pathlib import Path

FONTS = Path(__file__).resolve().parent / "assets" / "fonts"
REGULAR = FONTS / "DejaVuSansCondensed.ttf"
BOLD = FONTS / "DejaVuSansCondensed-Bold.ttf"
