"""Operating the bot: ``ballback check``, ``ballback backup`` and the webhook options.

``check`` runs its checks in order, prints one line per check and stops at the first failure, so
an operator (or a container health check, with ``offline=True``) learns in a second what is
wrong. ``backup`` copies the live database with SQLite's online backup API: one read transaction
over the whole copy, so the file is a consistent snapshot even while the bot keeps writing (in WAL
mode a reader never blocks the writer), written next to the target and renamed into place only
once it has passed an integrity check.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.logs import redact

__all__ = [
    "BackupError",
    "BackupResult",
    "backup",
    "backup_database",
    "check",
    "webhook_options",
]

Print = Callable[[str], None]


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments shared by ``Application.run_webhook`` and ``Updater.start_webhook``."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs BALLBACK_WEBHOOK_URL and BALLBACK_WEBHOOK_SECRET")
    host, port = settings.listen_address
    return {
        "listen": host,
        "port": port,
        "url_path": settings.webhook_path,
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret.get_secret_value(),
        "drop_pending_updates": False,
    }


# -- check ----------------------------------------------------------------------------------------


def _line(ok: bool | None, name: str, detail: str) -> str:
    mark = "ok  " if ok else "skip" if ok is None else "FAIL"
    return f"{mark}  {name}: {redact(detail)}"


def describe_config(settings: Settings) -> str:
    if settings.webhook_url:
        host, port = settings.listen_address
        mode = f"webhook {settings.webhook_url} (listening on {host}:{port})"
    else:
        mode = "long polling"
    return (
        f"{mode}, database {settings.database}, time zone {settings.timezone}, "
        f"log level {settings.log_level}"
    )


async def _check_database(settings: Settings) -> str:
    from storage.db import Database
    from storage.migrations import LATEST

    db = Database(settings.database)
    await db.open()
    try:
        about = await db.describe()
        row = await db.fetchone("SELECT count(*) FROM inbox WHERE done_at IS NULL")
        pending = int(row[0]) if row else 0
    finally:
        await db.close()
    version = about["schema"]
    if version != LATEST:
        raise RuntimeError(f"schema version {version}, expected {LATEST}")
    return (
        f"{about['where']} opened ({about['backend']} {about['server']}), schema version "
        f"{version}, {pending} update(s) waiting in the inbox"
    )


async def _check_telegram(settings: Settings) -> str:
    from telegram import Bot

    from bot.transport import AiohttpRequest

    bot = Bot(
        settings.token.get_secret_value(),
        base_url=settings.api_url,
        base_file_url=settings.file_url,
        request=AiohttpRequest(connect_timeout=10.0, read_timeout=10.0),
        get_updates_request=AiohttpRequest(),
    )
    async with bot:  # initialize() calls getMe
        me = bot.bot
    return f"getMe answered: @{me.username} (id {me.id})"


def _failure(exc: BaseException, settings: Settings) -> str:
    from telegram.error import BadRequest, InvalidToken, NetworkError, TimedOut

    if isinstance(exc, InvalidToken):
        return f"the Bot API refused the token ({exc}): check BALLBACK_TOKEN"
    if isinstance(exc, TimedOut):
        return f"the Bot API at {settings.api_url} did not answer in time"
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        return f"could not reach the Bot API at {settings.api_url}: {exc}"
    return str(exc) or type(exc).__name__


async def check(settings: Settings, *, offline: bool = False, out: Print = print) -> int:
    """Run the checks; 0 if all passed, 1 at the first failure."""
    out(_line(True, "config", describe_config(settings)))
    steps: list[tuple[str, Callable[[Settings], Any]]] = [("database", _check_database)]
    if not offline:
        steps.append(("telegram", _check_telegram))
    for name, step in steps:
        try:
            detail = await step(settings)
        except Exception as exc:
            out(_line(False, name, _failure(exc, settings)))
            return 1
        out(_line(True, name, detail))
    if offline:
        out(_line(None, "telegram", "not asked (--offline)"))
    return 0


# -- backup ---------------------------------------------------------------------------------------


class BackupError(Exception):
    """The backup could not be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    schema_version: int
    seconds: float


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def backup_database(source: Path, dest: Path) -> BackupResult:
    """Copy ``source`` to ``dest`` consistently, safe while the bot is writing (blocking)."""
    started = time.monotonic()
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if dest.exists() and dest.resolve() == source.resolve():
        raise BackupError("the backup file must not be the database itself")
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory: give a file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source.resolve().as_uri() + "?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}") from None
    try:
        src.execute("PRAGMA busy_timeout=10000")
        dst = sqlite3.connect(partial)
        try:
            # pages=-1: everything in one step, inside one read transaction: a snapshot.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"the copy failed its integrity check: {verdict}")
            version = int(dst.execute("PRAGMA user_version").fetchone()[0])
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"copying {source} failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    with partial.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, dest)
    _fsync_dir(dest.parent)
    return BackupResult(dest, dest.stat().st_size, version, time.monotonic() - started)


async def backup(source: Path, dest: Path) -> BackupResult:
    """:func:`backup_database` on a worker thread, so a running event loop is not blocked."""
    return await asyncio.to_thread(backup_database, source, dest)
