"""Logging set-up: one line per event on stderr, secrets redacted everywhere.

Multi-line messages and tracebacks are folded onto one line (newlines become `` | ``), so a log
collector (journald, ``docker logs``) sees one event as one line.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so the HTTP client
loggers are quieted and, as a second line of defence, the formatter scrubs anything shaped like a
token (and every secret it is given, such as the webhook secret, and the password of a database
URL) from the finished line: the
message, its arguments, the exception traceback and the stack, whoever logged them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

# ``123456789:AAH...``, also URL-encoded (``%3A``) as it may appear in a logged URL.
TOKEN_PATTERN = re.compile(r"\d{3,20}(?::|%3[Aa])[A-Za-z0-9_-]{30,64}")
REDACTED = "<token>"
# The password in a database URL: ``postgresql://user:secret@host/db``.
URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@")
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp", "hpack", "tornado.access")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return URL_PASSWORD.sub(r"\1***@", TOKEN_PATTERN.sub(REDACTED, text))


class RedactingFormatter(logging.Formatter):
    """Every record on one line, with tokens (and ``secrets``) replaced by ``<token>``."""

    def __init__(
        self, fmt: str = FORMAT, datefmt: str = DATE_FORMAT, secrets: Iterable[str] = ()
    ) -> None:
        super().__init__(fmt, datefmt)
        self.secrets = tuple(s for s in secrets if len(s) >= 4)

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record), self.secrets)
        return line.replace("\r", "").replace("\n", " | ")


def make_handler(stream: TextIO | None = None, secrets: Iterable[str] = ()) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets=secrets))
    return handler


def setup_logging(
    level: str = "INFO", *, stream: TextIO | None = None, secrets: Iterable[str] = ()
) -> logging.Handler:
    """Send every log line, redacted, to ``stream`` (stderr); returns the handler installed."""
    handler = make_handler(stream, secrets)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler
