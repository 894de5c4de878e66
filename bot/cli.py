"""``ballback run``: the command line entry point (``python -m bot`` is the same)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, load_settings
from bot.logs import setup_logging

log = logging.getLogger("ballback")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ballback", description="The Ballback Telegram bot.")
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the bot (long polling)")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"ballback: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    if command == "run":
        return run(settings)
    return 2


def run(settings: object) -> int:
    from telegram import Update

    from bot.app import build_app
    from bot.config import Settings
    from storage.migrations import SchemaTooNewError

    assert isinstance(settings, Settings)
    app = build_app(settings)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except SchemaTooNewError as exc:
        print(f"ballback: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
