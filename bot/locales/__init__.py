"""The message catalog: every user-facing string, in Russian and English.

``t(lang, key, **values)`` formats a template and HTML-escapes every value on the way in, so a
contact called ``<Ivan & Co>`` can never break a message; pass :class:`Html` for a fragment that
is already safe markup. Templates themselves are trusted HTML.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Literal

from bot.locales import en, ru

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")
CATALOG: dict[Lang, dict[str, str]] = {"ru": ru.MESSAGES, "en": en.MESSAGES}


class Html(str):
    """A fragment of already-escaped HTML: inserted into a template as it is."""

    __slots__ = ()


def pick_lang(language_code: str | None, override: str | None = None) -> Lang:
    """The explicit choice if any; otherwise Russian for ``ru*`` Telegram users, else English."""
    if override in ("ru", "en"):
        return override  # type: ignore[return-value]
    if language_code and language_code.lower().split("-")[0] == "ru":
        return "ru"
    return "en"


def t(lang: Lang, key: str, /, **values: object) -> str:
    template = CATALOG[lang][key]
    if not values:
        return template
    for name, value in values.items():  # ``values`` is this call's own dict
        if isinstance(value, str) and not isinstance(value, Html):
            values[name] = html.escape(value, quote=False)
    return template.format(**values)


def plural(lang: Lang, key: str, count: int) -> str:
    """``count`` with the right word form: 1 звонок, 2 звонка, 5 звонков / 1 call, 2 calls."""
    forms = CATALOG[lang][key].split("|")
    if lang == "ru":
        n = abs(count) % 100
        if 11 <= n <= 14:
            form = forms[2]
        elif n % 10 == 1:
            form = forms[0]
        elif 2 <= n % 10 <= 4:
            form = forms[1]
        else:
            form = forms[2]
    else:
        form = forms[0] if abs(count) == 1 else forms[1]
    return f"{count} {form}"


def weekday(lang: Lang, day: date) -> str:
    return CATALOG[lang]["days.short"].split()[day.weekday()]


def format_day(lang: Lang, day: date) -> str:
    """``пт, 29.11`` / ``Fri 29 Nov``."""
    if lang == "ru":
        return f"{weekday(lang, day)}, {day:%d.%m}"
    month = CATALOG[lang]["months.short"].split()[day.month - 1]
    return f"{weekday(lang, day)} {day.day} {month}"


def format_when(lang: Lang, moment: datetime) -> str:
    """``пт, 29.11 14:00`` / ``Fri 29 Nov 14:00`` (``moment`` already in the rep's zone)."""
    return f"{format_day(lang, moment.date())} {moment:%H:%M}"
