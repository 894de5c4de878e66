"""``ballback run``: the command line entry point (``python -m bot run`` is the same).

Everything that can be wrong before the bot starts (a setting, the database file, a token
Telegram refuses) ends the program with one line on stderr naming the cause, exit code 2, and
no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings
from bot.logs import redact, setup_logging

log = logging.getLogger("ballback")

EXIT_OK = 0
EXIT_FAILED = 1  # could not reach Telegram: worth retrying
EXIT_CONFIG = 2  # a setting or the database needs fixing first


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ballback", description="The Ballback Telegram bot.")
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the bot (long polling); the default")
    return root


def fail(message: str) -> None:
    print(f"ballback: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser().parse_args(argv)  # ``run`` is the only command, and the default
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc))
        return EXIT_CONFIG
    setup_logging(settings.log_level, secrets=[settings.token.get_secret_value()])
    return run(settings)


async def prepare_database(settings: Settings) -> None:
    """Open (creating or migrating) the database once, so a bad file stops us before polling."""
    from storage.db import Database

    db = Database(settings.database)
    await db.open()
    await db.close()


def run(settings: Settings) -> int:
    """Check the database and the token, then poll until SIGINT/SIGTERM."""
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
    app = build_app(settings, request=request, get_updates_request=updates_request)
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

    log.info("Ballback is running (database %s); stop it with Ctrl+C", settings.database)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=True)
    except StorageError as exc:  # the file changed under us between the check and post_init
        fail(str(exc))
        return EXIT_CONFIG
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
