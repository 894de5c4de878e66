"""Concurrent update processing that keeps each chat's updates in order.

python-telegram-bot processes updates one at a time unless told otherwise, so one slow Bot API
round trip holds up every other rep. :class:`PerChatUpdateProcessor` lets updates from different
chats run at the same time while the updates of one chat still run strictly one after another,
in the order Telegram sent them: a rep who taps a button and then types an answer must never have
the answer handled first.

How the order is kept: the application starts one task per update, in update order, and each
task first passes PTB's (wide, FIFO) semaphore and then queues on its chat's ``asyncio.Lock``
(also FIFO). Only a task holding its chat's lock takes one of the ``limit`` running slots, so a
chat with a backlog waits on its own lock without crowding other chats out. A chat's lock is
dropped as soon as nobody holds or waits for it, so the table stays as small as the number of
chats with work in flight.

With the durable inbox (``bot/inbox.py``), each update's turn also covers marking it done (the
mark goes with the next write transaction, usually the chat's next update's first), so after a
crash at most the last finished update of a chat, besides the one under way, is handled again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

if TYPE_CHECKING:
    from bot.inbox import Inbox

__all__ = ["PerChatUpdateProcessor", "chat_key"]

# Updates admitted to wait for their chat; the running ones are bounded separately by ``limit``.
_ADMITTED_PER_SLOT = 16


def chat_key(update: object) -> int | None:
    """The chat whose order an update belongs to (the user's id when there is no chat)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class _ChatSlot:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # tasks holding or waiting for the lock


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Up to ``limit`` updates at once, never two of the same chat."""

    __slots__ = ("_chats", "_inbox", "_limit", "_running")

    def __init__(self, limit: int, inbox: Inbox | None = None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        super().__init__(limit * _ADMITTED_PER_SLOT)
        self._limit = limit
        self._running = asyncio.Semaphore(limit)
        self._chats: dict[int, _ChatSlot] = {}
        self._inbox = inbox

    @property
    def limit(self) -> int:
        """How many updates may run at the same time."""
        return self._limit

    @property
    def busy_chats(self) -> int:
        """Chats with an update running or waiting (for tests and diagnostics)."""
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._inbox is not None:  # marks the update done when its handling is over
            coroutine = self._inbox.handle(update, coroutine)
        key = chat_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        slot = self._chats.get(key)
        if slot is None:
            slot = self._chats[key] = _ChatSlot()
        slot.users += 1
        try:
            async with slot.lock, self._running:
                await coroutine
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._chats[key]

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close: the application waits for running updates before calling this."""
