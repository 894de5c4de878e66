"""Log lines: one per event, no secrets."""

from __future__ import annotations

import logging
import sys

from bot import logs
from tests.conftest import TOKEN


def render(record: logging.LogRecord, secrets: tuple[str, ...] = ()) -> str:
    formatter = logs.RedactingFormatter("%(levelname)s %(name)s: %(message)s", secrets=secrets)
    return formatter.format(record)


def test_a_traceback_stays_on_its_line_without_the_token() -> None:
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage\nfailed")
    except RuntimeError:
        info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "handler failed", (), info)
    line = render(record)
    assert "\n" not in line
    assert line.startswith("ERROR x: handler failed | Traceback (most recent call last):")
    assert TOKEN not in line and "<token>" in line


def test_given_secrets_are_scrubbed() -> None:
    secret = "webhook-secret-value-42"
    record = logging.LogRecord(
        "telegram.Bot", logging.DEBUG, __file__, 1, "setWebhook %s", ({"secret": secret},), None
    )
    line = render(record, secrets=(secret,))
    assert secret not in line and "<token>" in line
