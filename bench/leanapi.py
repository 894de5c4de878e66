"""A lean fake Bot API in a process of its own: what the bench measures is then the bot's cost.

    python -m bench.leanapi [--delay-ms 0] [--echo]    # normally started by LeanAPI below

``tests/fakeapi.FakeBotAPI`` is an aiohttp application in the benchmark's own process that
records and fully parses every request: on a 2-core machine its CPU (~0.3-0.5 ms per request,
measured in ``bench/README.md``) is charged to the same timing loop that measures the bots, and
it dilutes every ratio between them. This server is a raw :class:`asyncio.Protocol`: HTTP/1.1
keep-alive, ``Content-Length`` bodies (chunked ones too), one ``json.loads`` (or
``parse_qsl``) of the body, canned JSON answers, no recording. It serves one bot:

* ``getUpdates``: long polling with ``offset`` confirmation and ``timeout`` (``limit`` too);
* ``sendMessage`` / ``editMessageText``: a message with a fresh (or the edited) ``message_id``,
  the chat, ``date`` and the text (``--echo``: also the ``reply_markup``, as Telegram does);
* ``getMe``: the bot; anything else (``answerCallbackQuery``, ``setMyCommands``,
  ``deleteWebhook``, ...): ``true``.

The benchmark drives it over the process's stdin/stdout, one JSON object per line:

* in: ``{"push": [update, ...]}`` (without ``update_id``; the server numbers them) and
  ``{"stop": true}``;
* out: ``{"port": N}`` once listening, then ``{"e": "pushed", "t": T}`` for each push, and one
  event per answering request: ``{"e": "sendMessage", "k": chat_id, "t": T, "mid": message_id,
  "na": callback data of the "No answer" button or null}``, ``{"e": "answerCallbackQuery", "k":
  query_id, "t": T}``, ``{"e": "editMessageText", "k": chat_id, "t": T}``, and
  ``{"e": "getUpdates", "t": T}`` for the first poll only (the bot is up).

``T`` is ``time.monotonic()`` in the server's process (``CLOCK_MONOTONIC``: the same clock in
every process), taken when the push was queued or the request's body was complete, so a latency
is measured without the control channel's own delay. ``--delay-ms`` holds every answer but
``getUpdates`` that long (the round trip of a real server, if wanted; default 0).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["LeanAPI", "LeanEvent"]

BOT_USER = {
    "id": 1000,
    "is_bot": True,
    "first_name": "Ballback",
    "username": "ballback_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_BOT_FROM = json.dumps({"id": 1000, "is_bot": True, "first_name": "Ballback"})
_TRUE = b'{"ok":true,"result":true}'
_GET_ME = json.dumps({"ok": True, "result": BOT_USER}).encode()
_EMPTY = b'{"ok":true,"result":[]}'
_INT_FIELDS = ("chat_id", "offset", "timeout", "limit", "message_id")
_MAX_POLL = 50.0  # seconds: a longer timeout asked for is cut to this
_MAX_HEADER = 64 * 1024
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _head(status: bytes, length: int) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(length).encode()
        + b"\r\nConnection: keep-alive\r\n\r\n"
    )  # fmt: skip


def _no_answer(markup: Any) -> str | None:
    """The callback data ending ``:na`` in an inline keyboard (dict or JSON text), or None."""
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return None
    if not isinstance(markup, dict):
        return None
    for row in markup.get("inline_keyboard") or ():
        for button in row:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if isinstance(data, str) and data.endswith(":na"):
                return data
    return None


class _Poll:
    __slots__ = ("conn", "limit", "timer")

    def __init__(self, conn: _Conn, limit: int, timer: asyncio.TimerHandle | None) -> None:
        self.conn = conn
        self.limit = limit
        self.timer = timer


class Server:
    """The state of one fake Bot API: the update queue, the parked poll, the event sink."""

    def __init__(self, emit: Callable[[dict[str, Any]], None], delay: float, echo: bool) -> None:
        self.emit = emit
        self.delay = delay
        self.echo = echo
        self.updates: deque[tuple[int, bytes]] = deque()  # (update_id, JSON with the id)
        self.next_id = 1
        self.poll: _Poll | None = None
        self.polled = False
        self.message_ids = itertools.count(1)
        self.loop = asyncio.get_running_loop()

    # -- control --------------------------------------------------------------------------

    def push(self, updates: list[Any]) -> None:
        for update in updates:
            body = json.dumps(update, ensure_ascii=False, separators=(",", ":"))
            self.updates.append((self.next_id, f'{{"update_id":{self.next_id},{body[1:]}'.encode()))
            self.next_id += 1
        self.emit({"e": "pushed", "t": time.monotonic()})
        poll, self.poll = self.poll, None
        if poll is not None:
            if poll.timer is not None:
                poll.timer.cancel()
            self.answer_updates(poll.conn, poll.limit)

    # -- requests -------------------------------------------------------------------------

    def answer_updates(self, conn: _Conn, limit: int) -> None:
        batch = [body for _, body in itertools.islice(self.updates, limit)]
        conn.send(b'{"ok":true,"result":[' + b",".join(batch) + b"]}" if batch else _EMPTY)

    def expire(self, poll: _Poll) -> None:
        if self.poll is poll:
            self.poll = None
            poll.conn.send(_EMPTY)

    def handle(self, conn: _Conn, method: str, params: dict[str, Any]) -> None:
        t = time.monotonic()
        if method == "getUpdates":
            if not self.polled:
                self.polled = True
                self.emit({"e": "getUpdates", "t": t})
            offset = params.get("offset") or 0
            while self.updates and self.updates[0][0] < offset:
                self.updates.popleft()
            limit = params.get("limit") or 100
            if self.updates:
                self.answer_updates(conn, limit)
                return
            old, self.poll = self.poll, None
            if old is not None:  # a poll replaced by a newer one: answer it empty
                if old.timer is not None:
                    old.timer.cancel()
                old.conn.send(_EMPTY)
            timeout = min(float(params.get("timeout") or 0), _MAX_POLL)
            if timeout <= 0:
                conn.send(_EMPTY)
                return
            poll = _Poll(conn, limit, None)
            poll.timer = self.loop.call_later(timeout, self.expire, poll)
            self.poll = poll
            return
        if method in ("sendMessage", "editMessageText"):
            chat = params.get("chat_id", 0)
            edited = params.get("message_id") if method == "editMessageText" else None
            mid = edited or next(self.message_ids)
            message: dict[str, Any] = {
                "message_id": mid,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
                "text": params.get("text", ""),
            }
            if self.echo and (markup := params.get("reply_markup")):
                message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
            body = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
            answer = ('{"ok":true,"result":{"from":' + _BOT_FROM + "," + body[1:] + "}").encode()
            event: dict[str, Any] = {"e": method, "k": chat, "t": t, "mid": mid}
            if method == "sendMessage":
                event["na"] = _no_answer(params.get("reply_markup"))
            self.emit(event)
            self.reply(conn, answer)
            return
        if method == "answerCallbackQuery":
            self.emit({"e": method, "k": str(params.get("callback_query_id")), "t": t})
            self.reply(conn, _TRUE)
            return
        self.reply(conn, _GET_ME if method == "getMe" else _TRUE)

    def reply(self, conn: _Conn, body: bytes) -> None:
        if self.delay > 0:
            self.loop.call_later(self.delay, conn.send, body)
        else:
            conn.send(body)


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: requests parsed as their bytes complete."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        poll = self.server.poll
        if poll is not None and poll.conn is self:
            self.server.poll = None
            if poll.timer is not None:
                poll.timer.cancel()
        self.transport = None

    def send(self, body: bytes, status: bytes = b"200 OK") -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_head(status, len(body)) + body)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for _ in range(1000):  # requests already complete in the buffer (pipelining)
            if not self.parse_one():
                break

    def parse_one(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > _MAX_HEADER and self.transport is not None:
                self.transport.close()
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        parts = head[0].split(" ")
        path = parts[1] if len(parts) > 1 else "/"
        length, chunked, ctype = 0, False, ""
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "content-type":
                ctype = value.strip().lower()
        start = end + 4
        if chunked:
            decoded = self.dechunk(start)
            if decoded is None:
                return False
            body, consumed = decoded
        else:
            if len(self.buffer) < start + length:
                return False
            body, consumed = bytes(self.buffer[start : start + length]), start + length
        del self.buffer[:consumed]
        method = path.rsplit("/", 1)[-1].partition("?")[0]
        self.server.handle(self, method, self.params(ctype, body))
        return True

    def dechunk(self, at: int) -> tuple[bytes, int] | None:
        out = bytearray()
        for _ in range(100_000):
            line_end = self.buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size = int(bytes(self.buffer[at:line_end]).split(b";")[0], 16)
            at = line_end + 2
            if size == 0:
                trailer = self.buffer.find(b"\r\n", at)
                return (bytes(out), trailer + 2) if trailer >= 0 else None
            if len(self.buffer) < at + size + 2:
                return None
            out += self.buffer[at : at + size]
            at += size + 2
        raise ValueError("too many chunks")

    @staticmethod
    def params(ctype: str, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        if ctype.startswith("application/json"):
            params: dict[str, Any] = json.loads(body)
            return params
        if ctype.startswith("multipart/"):
            return {}  # uploads are not part of the benchmark
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        for name in _INT_FIELDS:
            value = params.get(name)
            if isinstance(value, str) and value.lstrip("-").isdigit():
                params[name] = int(value)
        return params


async def serve(delay: float, echo: bool) -> None:
    loop = asyncio.get_running_loop()
    out = sys.stdout.buffer

    def emit(event: dict[str, Any]) -> None:
        out.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
        out.flush()

    server = Server(emit, delay, echo)
    listener = await loop.create_server(lambda: _Conn(server), "127.0.0.1", 0, backlog=1024)
    emit({"port": listener.sockets[0].getsockname()[1]})
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if "push" in command:
            server.push(command["push"])
        elif command.get("stop"):
            break
    listener.close()


# -- the benchmark's side -------------------------------------------------------------------------


@dataclass
class LeanEvent:
    """A request that answered an update, as the lean server saw it (``t``: its arrival)."""

    method: str
    key: str
    t: float
    message_id_: int | None = None
    na: str | None = None  # the "No answer" button's callback data, for a sendMessage

    @property
    def message_id(self) -> int:
        if self.message_id_ is None:
            raise AssertionError(f"{self.method} produced no message")
        return self.message_id_


class LeanAPI:
    """Starts ``python -m bench.leanapi`` and talks to it; the benchmark's handle on it."""

    def __init__(self, delay_ms: float = 0.0, echo: bool = False) -> None:
        self.delay_ms = delay_ms
        self.echo = echo
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.waiting: dict[tuple[str, str], deque[asyncio.Future[LeanEvent]]] = {}
        self.pushes: deque[asyncio.Future[float]] = deque()
        self.polled: asyncio.Future[float] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.seen = 0

    async def __aenter__(self) -> LeanAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        args = [sys.executable, "-m", "bench.leanapi", "--delay-ms", str(self.delay_ms)]
        if self.echo:
            args.append("--echo")
        self.process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**26,
            cwd=_REPO,
        )
        assert self.process.stdout is not None
        first = json.loads(await asyncio.wait_for(self.process.stdout.readline(), 30))
        self.port = int(first["port"])
        self.polled = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.write(b'{"stop":true}\n')
            process.stdin.close()
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        if self.reader is not None:
            self.reader.cancel()

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        while line := await stdout.readline():
            event = json.loads(line)
            kind = event["e"]
            if kind == "pushed":
                future = self.pushes.popleft()
                if not future.done():
                    future.set_result(event["t"])
                continue
            if kind == "getUpdates":
                if self.polled is not None and not self.polled.done():
                    self.polled.set_result(event["t"])
                continue
            self.seen += 1
            queue = self.waiting.get((kind, str(event["k"])))
            if queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(
                        LeanEvent(
                            kind, str(event["k"]), event["t"], event.get("mid"), event.get("na")
                        )
                    )

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> None:
        """Until the bot's first ``getUpdates`` (the only method waited for this way)."""
        assert method == "getUpdates" and self.polled is not None
        await asyncio.wait_for(asyncio.shield(self.polled), timeout)

    def expect(self, method: str, key: int | str) -> asyncio.Future[LeanEvent]:
        """The next ``method`` request for chat ``key`` (or callback query ``key``)."""
        future: asyncio.Future[LeanEvent] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault((method, str(key)), deque()).append(future)
        return future

    async def push(self, updates: list[dict[str, Any]]) -> float:
        """Make ``updates`` available to ``getUpdates``; the server's time when it did."""
        assert self.process is not None and self.process.stdin is not None
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.pushes.append(future)
        self.process.stdin.write(
            json.dumps({"push": updates}, ensure_ascii=False, separators=(",", ":")).encode()
            + b"\n"
        )
        return await asyncio.wait_for(future, 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--echo", action="store_true", help="echo reply_markup in messages")
    args = parser.parse_args()
    asyncio.run(serve(args.delay_ms / 1000, args.echo))


if __name__ == "__main__":
    main()
