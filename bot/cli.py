"""``ballback run|check|backup|migrate-db``: the command line entry point (``python -m bot`` is
the same).

Everything that can be wrong before the bot starts (a setting, the database file, a token
Telegram refuses) ends ``run`` with one line on stderr naming the cause, exit code 2, and no
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import ops
from bot.config import ConfigError, Settings, load_settings
from bot.logs import redact, setup_logging

# The cyclic collector's generation thresholds while serving (Python's default: 700, 10, 10).
GC_THRESHOLDS = (20_000, 50, 100)

log = logging.getLogger("ballback")

EXIT_OK = 0
EXIT_FAILED = 1  # could not reach Telegram, or a check failed: worth retrying
EXIT_CONFIG = 2  # a setting or the database needs fixing first


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ballback", description="The Ballback Telegram bot.")
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "run", help="run the bot (long polling, or a webhook if one is configured); the default"
    )
    check = sub.add_parser(
        "check", help="check the configuration, the database and the token; exit 1 on a failure"
    )
    check.add_argument(
        "--offline", action="store_true", help="skip the call to Telegram (for health checks)"
    )
    backup = sub.add_parser("backup", help="copy the database safely, even while the bot runs")
    backup.add_argument("file", type=Path, help="where to write the copy")
    move = sub.add_parser(
        "migrate-db",
        help="copy a whole database to another backend (SQLite file <-> postgresql:// URL)",
    )
    move.add_argument("source", help="the database to copy: a SQLite file or a postgresql:// URL")
    move.add_argument("target", help="an empty database to copy it into")
    return root


def fail(message: str) -> None:
    print(f"ballback: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = args.command or "run"
    if command == "migrate-db":  # needs no settings: both databases are given
        setup_logging("WARNING")
        return asyncio.run(migrate_db(args.source, args.target))
    try:
        settings = load_settings()
    except ConfigError as exc:
        if command == "check":
            print(f"FAIL  config: {exc}")
            return EXIT_FAILED
        fail(str(exc))
        return EXIT_CONFIG
    if command == "run":
        secrets = [settings.token.get_secret_value()]
        if settings.webhook_secret is not None:
            secrets.append(settings.webhook_secret.get_secret_value())
        setup_logging(settings.log_level, secrets=secrets)
        return run(settings)
    # The one-shot commands print their own verdict; their logs are only for trouble.
    setup_logging("DEBUG" if settings.log_level == "DEBUG" else "WARNING")
    if command == "check":
        return asyncio.run(ops.check(settings, offline=args.offline))
    return backup(settings, args.file)


def backup(settings: Settings, dest: Path) -> int:
    if not isinstance(settings.database, Path):
        fail(
            "backup: the database is PostgreSQL, whose backups are pg_dump's job: "
            f'pg_dump --format=custom --file={dest} "$BALLBACK_DATABASE" (docs/operations.md)'
        )
        return EXIT_FAILED
    try:
        result = ops.backup_database(settings.database, dest)
    except ops.BackupError as exc:
        fail(f"backup failed: {exc}")
        return EXIT_FAILED
    print(
        f"ok    backup: {result.path} ({result.size / 2**20:.1f} MiB, "
        f"schema version {result.schema_version}, integrity ok) in {result.seconds:.2f} s"
    )
    return EXIT_OK


async def migrate_db(source: str, target: str, out: ops.Print = print) -> int:
    """``ballback migrate-db SOURCE TARGET`` (see ``storage/copy.py``)."""
    import sqlite3

    import asyncpg

    from storage.copy import CopyError, copy_database
    from storage.db import Database, StorageError, is_postgres_url

    def where(value: str) -> Path | str:
        return value if is_postgres_url(value) else Path(value).expanduser()

    if not is_postgres_url(source) and not Path(source).expanduser().is_file():  # noqa: ASYNC240
        fail(f"migrate-db: there is no database at {source}")
        return EXIT_CONFIG
    if where(source) == where(target):
        fail("migrate-db: the source and the target are the same database")
        return EXIT_CONFIG
    src, dst = Database(where(source)), Database(where(target))
    try:
        await src.open()
        await dst.open()
        report = await copy_database(src, dst, out)
    except (StorageError, CopyError, OSError, sqlite3.Error, asyncpg.PostgresError) as exc:
        fail(f"migrate-db: {redact(str(exc))}: nothing was written")
        return EXIT_FAILED
    finally:
        await src.close()
        await dst.close()
    out(
        f"ok    migrate-db: {report.total:,} rows in {len(report.rows)} tables copied to "
        f"{redact(target)}, row counts and {report.day_counts:,} day counts verified, "
        f"in {report.seconds:.1f} s"
    )
    return EXIT_OK


async def prepare_database(settings: Settings) -> None:
    """Open (creating or migrating) the database once, so a bad file stops us before polling."""
    from storage.db import Database

    db = Database(settings.database)
    await db.open()
    await db.close()


def run(settings: Settings) -> int:
    """Check the database and the token, then serve until SIGINT/SIGTERM.

    Updates already received are finished before the exit (python-telegram-bot's shutdown).
    """
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.app import build_app
    from bot.transport import AiohttpRequest
    from storage.db import StorageError

    secret = settings.token.get_secret_value()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(prepare_database(settings))
    except StorageError as exc:
        loop.close()
        fail(str(exc))
        return EXIT_CONFIG

    request, updates_request = AiohttpRequest(), AiohttpRequest()
    app = build_app(
        settings,
        request=request,
        get_updates_request=updates_request,
        poller=not settings.webhook_url,
    )
    try:  # getMe: the token works and the API answers; run_polling then skips this step
        loop.run_until_complete(app.initialize())
    except (TelegramError, OSError) as exc:
        loop.run_until_complete(request.shutdown())
        loop.run_until_complete(updates_request.shutdown())
        loop.close()
        if isinstance(exc, InvalidToken):
            fail("BALLBACK_TOKEN was refused by Telegram: check it with @BotFather")
            return EXIT_CONFIG
        kind = "cannot reach" if isinstance(exc, NetworkError | OSError) else "error from"
        fail(f"{kind} the Bot API at {settings.api_url}: {redact(str(exc), [secret])}")
        return EXIT_FAILED

    log.info("starting: %s", ops.describe_config(settings))
    # What start-up made (modules, the application, its handlers) lives as long as the process:
    # keep it out of the cyclic collector's passes, which would otherwise walk all of it every
    # full collection (about 10 ms of a big team's summary went to that). And collect less
    # often: parsing one update makes a few thousand objects, nearly all freed by reference
    # counting at once, so the default (a pass every 700 allocations) mostly walks live ones.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        if settings.webhook_url:
            app.run_webhook(
                allowed_updates=Update.ALL_TYPES, close_loop=True, **ops.webhook_options(settings)
            )
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=True)
    except StorageError as exc:  # the file changed under us between the check and post_init
        fail(str(exc))
        return EXIT_CONFIG
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
