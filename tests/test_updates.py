"""Concurrent updates: different chats overlap, one chat's updates run strictly in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User

from bot.app import build_app
from bot.config import Settings
from bot.updates import PerChatUpdateProcessor, chat_key

WHEN = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
_ids = iter(range(1, 10_000))


def message_update(chat_id: int) -> Update:
    user = User(abs(chat_id), "Rep", False)
    chat = Chat(chat_id, Chat.PRIVATE if chat_id > 0 else Chat.GROUP)
    return Update(next(_ids), message=Message(next(_ids), WHEN, chat, from_user=user, text="hi"))


class Recorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    async def work(self, name: str, gate: asyncio.Event | None = None) -> None:
        self.log.append(("start", name))
        if gate is not None:
            await gate.wait()
        for _ in range(3):  # give every other task a chance to run in between
            await asyncio.sleep(0)
        self.log.append(("end", name))


async def feed(processor: PerChatUpdateProcessor, jobs: list[tuple[Update, Any]]) -> None:
    """Like the application: one task per update, started in update order."""
    tasks = [asyncio.create_task(processor.process_update(u, c)) for u, c in jobs]
    await asyncio.gather(*tasks)


async def test_one_chat_in_order_while_two_chats_overlap() -> None:
    processor = PerChatUpdateProcessor(8)
    rec = Recorder()
    release_a1 = asyncio.Event()

    async def b1() -> None:
        rec.log.append(("start", "B1"))
        release_a1.set()  # A1 can only finish because B1 ran while A1 was still running
        rec.log.append(("end", "B1"))

    a, b = 111, 222
    await feed(
        processor,
        [
            (message_update(a), rec.work("A1", release_a1)),
            (message_update(a), rec.work("A2")),
            (message_update(b), b1()),
            (message_update(a), rec.work("A3")),
        ],
    )
    order_a = [entry for entry in rec.log if entry[1].startswith("A")]
    assert order_a == [
        ("start", "A1"),
        ("end", "A1"),
        ("start", "A2"),
        ("end", "A2"),
        ("start", "A3"),
        ("end", "A3"),
    ]
    assert rec.log.index(("start", "B1")) < rec.log.index(("end", "A1"))
    assert processor.busy_chats == 0  # per-chat locks are dropped when idle


async def test_running_updates_are_bounded() -> None:
    processor = PerChatUpdateProcessor(2)
    running = peak = 0
    gate = asyncio.Event()

    async def job() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    tasks = [
        asyncio.create_task(processor.process_update(message_update(chat), job()))
        for chat in range(1, 7)
    ]
    for _ in range(10):
        await asyncio.sleep(0)
    assert running == 2
    gate.set()
    await asyncio.gather(*tasks)
    assert peak == 2 and processor.busy_chats == 0


async def test_a_failing_update_does_not_block_its_chat() -> None:
    processor = PerChatUpdateProcessor(4)
    rec = Recorder()

    async def boom() -> None:
        raise RuntimeError("handler bug")

    first = asyncio.create_task(processor.process_update(message_update(5), boom()))
    second = asyncio.create_task(processor.process_update(message_update(5), rec.work("after")))
    with pytest.raises(RuntimeError):
        await first
    await second
    assert rec.log == [("start", "after"), ("end", "after")]
    assert processor.busy_chats == 0


def test_updates_are_keyed_by_chat_then_user() -> None:
    assert chat_key(message_update(-100)) == -100
    user = User(77, "Rep", False)
    inline = Update(1, callback_query=CallbackQuery("q", user, "ci", inline_message_id="im"))
    assert chat_key(inline) == 77
    assert chat_key(Update(2)) is None
    assert chat_key("not an update") is None
    with pytest.raises(ValueError):
        PerChatUpdateProcessor(0)


def test_build_app_processes_chats_concurrently(settings: Settings) -> None:
    app = build_app(settings)
    assert isinstance(app.update_processor, PerChatUpdateProcessor)
    assert app.update_processor.limit == settings.concurrent_updates
    # One at a time still goes through it: it is what marks each update done in the inbox.
    one_by_one = build_app(settings.model_copy(update={"concurrent_updates": 1}))
    assert isinstance(one_by_one.update_processor, PerChatUpdateProcessor)
    assert one_by_one.update_processor.limit == 1
