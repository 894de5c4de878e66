"""``ballback run|check|backup``: the command line entry point (``python -m bot`` is the same)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import ops
from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

log = logging.getLogger("ballback")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ballback", description="The Ballback Telegram bot.")
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the bot (long polling, or a webhook if one is configured)")
    check = sub.add_parser(
        "check", help="check the configuration, the database and the token; exit 1 on a failure"
    )
    check.add_argument(
        "--offline", action="store_true", help="skip the call to Telegram (for health checks)"
    )
    backup = sub.add_parser("backup", help="copy the database safely, even while the bot runs")
    backup.add_argument("file", type=Path, help="where to write the copy")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
    except ConfigError as exc:
        if command == "check":
            print(f"FAIL  config: {exc}")
            return 1
        print(f"ballback: {exc}", file=sys.stderr)
        return 2
    if command == "run":
        secrets = [settings.token.get_secret_value()]
        if settings.webhook_secret is not None:
            secrets.append(settings.webhook_secret.get_secret_value())
        setup_logging(settings.log_level, secrets)
        return run(settings)
    # The one-shot commands print their own verdict; their logs are only for trouble.
    setup_logging("DEBUG" if settings.log_level == "DEBUG" else "WARNING")
    if command == "check":
        return asyncio.run(ops.check(settings, offline=args.offline))
    if command == "backup":
        return backup(settings, args.file)
    return 2


def backup(settings: Settings, dest: Path) -> int:
    try:
        result = ops.backup_database(settings.database, dest)
    except ops.BackupError as exc:
        print(f"ballback: backup failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"ok    backup: {result.path} ({result.size / 2**20:.1f} MiB, "
        f"schema version {result.schema_version}, integrity ok) in {result.seconds:.2f} s"
    )
    return 0


def run(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM: updates already received are finished before the exit."""
    from telegram import Update

    from bot.app import build_app
    from storage.migrations import SchemaTooNewError

    app = build_app(settings)
    log.info("starting: %s", ops.describe_config(settings))
    try:
        if settings.webhook_url:
            app.run_webhook(allowed_updates=Update.ALL_TYPES, **ops.webhook_options(settings))
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except SchemaTooNewError as exc:
        print(f"ballback: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
