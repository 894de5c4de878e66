"""Logging set-up: one line per event on stderr, bot tokens redacted everywhere.

Multi-line messages and tracebacks are folded onto one line (newlines become `` | ``), so a log
collector (journald, ``docker logs``) sees one event as one line.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so that logger is
quieted and, as a second line of defence, a filter scrubs anything shaped like a token from every
record before it is formatted.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

TOKEN_PATTERN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,64}")
REDACTED = "<token>"
_SECRETS: set[str] = set()  # literal secrets (the webhook secret) scrubbed as well


def redact(text: str) -> str:
    text = TOKEN_PATTERN.sub(REDACTED, text)
    for secret in _SECRETS:
        text = text.replace(secret, "<secret>")
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


class OneLineFormatter(logging.Formatter):
    """Every record on one line, tracebacks included, so each log line is one event."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", " | ")


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    _SECRETS.update(secret for secret in secrets if len(secret) >= 4)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiohttp.access", "tornado.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
