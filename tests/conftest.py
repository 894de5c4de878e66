"""End-to-end harness: real ``Update`` JSON in, the real application, a real SQLite file, and
every Bot API request captured by a fake Bot API server on 127.0.0.1 (``tests/fakeapi.py``),
reached through python-telegram-bot's ``base_url`` and Ballback's own HTTP transport.

Time is a :class:`~bot.clock.ManualClock`: tests move it, nothing sleeps.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.app import BallbackApp, build_app
from bot.clock import ManualClock
from bot.config import Settings
from tests.backends import database, pytest_configure, pytest_generate_tests
from tests.fakeapi import FakeBotAPI, RecordedRequest
from tests.pgserver import PgServer, find_pg_bindir

# Every test that uses ``database`` (``settings``, ``bot``) runs on SQLite and on PostgreSQL.
__all__ = ["database", "pytest_configure", "pytest_generate_tests"]

TOKEN = "123456789:AAHtestTOKENtestTOKENtestTOKENtest123"
BOT_USERNAME = "ballback_test_bot"
# Friday 27 November 2026, 09:00 in Moscow.
START = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)

_update_ids = itertools.count(1)
# User messages get ids far from the ones the fake server gives the bot's own messages.
_message_ids = itertools.count(500_000)


@dataclass
class Person:
    id: int
    first_name: str
    language_code: str | None = "en"
    last_name: str | None = None
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


IVAN = Person(111, "Ivan", "en")
OLGA = Person(222, "Ольга", "ru")


def private_chat(person: Person) -> dict[str, Any]:
    return {"id": person.id, "type": "private", "first_name": person.first_name}


def group_chat(chat_id: int = -100200300, title: str = "Sales") -> dict[str, Any]:
    return {"id": chat_id, "type": "group", "title": title}


def message_json(
    text: str | None,
    person: Person,
    *,
    chat: dict[str, Any] | None = None,
    message_id: int | None = None,
    date: datetime,
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "date": int(date.timestamp()),
        "chat": chat or private_chat(person),
        "from": person.as_dict(),
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return message


class BotHarness:
    """Drives one Ballback application the way Telegram would."""

    def __init__(self, app: BallbackApp, api: FakeBotAPI, clock: ManualClock, db_path: Path):
        self.app = app
        self.api = api
        self.clock = clock
        self.db_path = db_path

    @property
    def store(self) -> Any:
        return self.app.bot_data["services"].store

    @property
    def db(self) -> Any:
        return self.app.bot_data["services"].db

    async def feed(self, update: dict[str, Any]) -> list[RecordedRequest]:
        """Process one update the way it goes in production (stored in the inbox on arrival,
        handled in its chat's turn, marked done), to the end; return the Bot API requests it
        caused. Updates the inbox queued again at start are handled first, as they would be."""
        update.setdefault("update_id", next(_update_ids))
        before = len(self.api.requests)
        await self.app.update_queue.put(Update.de_json(update, self.app.bot))
        await self.handle_queued()
        return self.api.requests[before:]

    async def handle_queued(self) -> None:
        """Handle every update in the application's queue, in order, each to the end."""
        queue, processor = self.app.update_queue, self.app.update_processor
        while not queue.empty():
            queued = queue.get_nowait()
            await processor.process_update(queued, self.app.process_update(queued))
        await self.db.flush()  # the inbox's "done" goes with the next write, or a moment later

    async def send(
        self,
        text: str | None,
        person: Person = IVAN,
        *,
        chat: dict[str, Any] | None = None,
        edited: bool = False,
        **extra: Any,
    ) -> list[RecordedRequest]:
        message = message_json(text, person, chat=chat, date=self.clock.now(), **extra)
        key = "edited_message" if edited else "message"
        if edited:
            message["edit_date"] = int(self.clock.now().timestamp())
        return await self.feed({key: message})

    async def tap(
        self, data: str, message_id: int, person: Person = IVAN, chat: dict[str, Any] | None = None
    ) -> list[RecordedRequest]:
        """Press an inline button ``data`` on the bot's message ``message_id``."""
        query = {
            "id": str(next(_update_ids)),
            "from": person.as_dict(),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(self.clock.now().timestamp()),
                "chat": chat or private_chat(person),
                "from": {"id": 1000, "is_bot": True, "first_name": "Ballback"},
                "text": "…",
            },
        }
        return await self.feed({"callback_query": query})

    def sent(self, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.api.requests if method is None or r.method == method]

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.db.fetchall(sql, params)]


def texts(requests: list[RecordedRequest]) -> list[str]:
    return [r.params["text"] for r in requests if "text" in r.params]


def last_text(requests: list[RecordedRequest]) -> str:
    found = texts(requests)
    assert found, f"no text sent; requests: {[r.method for r in requests]}"
    return found[-1]


def buttons(request: RecordedRequest) -> list[tuple[str, str]]:
    markup = request.params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", b.get("url", "")))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def with_buttons(requests: list[RecordedRequest]) -> RecordedRequest:
    for request in reversed(requests):
        if buttons(request):
            return request
    raise AssertionError(f"no buttons in {[(r.method, r.params) for r in requests]}")


@pytest.fixture
def settings(database: Path | str) -> Settings:
    return Settings(token=TOKEN, database=database)  # type: ignore[arg-type]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


async def start_app(settings: Settings, api: FakeBotAPI, clock: ManualClock) -> BallbackApp:
    settings = settings.model_copy(update={"api_url": api.base_url, "file_url": api.base_file_url})
    app = build_app(settings, clock=clock)
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    return app


async def stop_app(app: BallbackApp) -> None:
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


@pytest.fixture
async def bot(settings: Settings, api: FakeBotAPI) -> AsyncIterator[BotHarness]:
    clock = ManualClock(START)
    app = await start_app(settings, api, clock)
    harness = BotHarness(app, api, clock, settings.database)
    try:
        yield harness
    finally:
        await stop_app(harness.app)


async def restart(harness: BotHarness, settings: Settings) -> None:
    """Stop the application and start a new one on the same database file."""
    await stop_app(harness.app)
    harness.app = await start_app(settings, harness.api, harness.clock)


# -- PostgreSQL: one real server for the whole run, started when a test first asks for it ------

# CI sets it: a missing server is then a failure, not a skip.
REQUIRE_POSTGRES = "BALLBACK_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throw-away PostgreSQL cluster (``tests/pgserver.py``), stopped and removed at the end."""
    bindir = find_pg_bindir()
    if bindir is None:
        if os.environ.get(REQUIRE_POSTGRES, "") not in ("", "0"):
            pytest.fail(
                f"{REQUIRE_POSTGRES} is set, but no PostgreSQL server binaries were found "
                "(no initdb in `pg_config --bindir` nor in /usr/lib/postgresql/*/bin): "
                "apt-get install postgresql",
                pytrace=False,
            )
        pytest.skip("PostgreSQL tests need the server binaries: apt-get install postgresql")
    server = PgServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> Iterator[str]:
    """The URL of a new, empty database (no tables) of its own for this test; dropped after
    it, with whatever connections it left open."""
    name = pg_server.fresh_database()
    yield pg_server.dsn(name)
    pg_server.drop_database(name)
