"""Tests for bot.transport.AiohttpRequest, run against tests.fakeapi and tiny local servers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import io
import socket
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from telegram import (
    Bot,
    ChatMemberAdministrator,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from bot.transport import AiohttpRequest
from tests.fakeapi import BOT_USER, FakeBotAPI

# PTB 22 warns whenever RetryAfter.retry_after is read (it will become a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore:.*attribute `retry_after`:DeprecationWarning")

TOKEN = "123456:" + "A" * 35
GUARD = 5.0  # no test may hang: every await on the network is bounded by this


def assert_no_token(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc)) + repr(exc)
    assert TOKEN not in text
    assert "A" * 35 not in text


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


def make_bot(base_url: str, **request_kwargs: Any) -> Bot:
    return Bot(
        token=TOKEN,
        base_url=base_url,
        request=AiohttpRequest(**request_kwargs),
        get_updates_request=AiohttpRequest(**request_kwargs),
    )


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(fake.base_url) as ready:
        yield ready


@contextlib.asynccontextmanager
async def serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """Run ``handler`` for every path on 127.0.0.1; yields the base URL ("http://…/bot")."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/bot"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def raw_server(reply: bytes) -> AsyncIterator[str]:
    """A TCP server that reads the request head, writes ``reply`` and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/bot"
    finally:
        server.close()
        await server.wait_closed()


# -- happy paths against the fake Bot API -----------------------------------------------------


async def test_get_me(bot: Bot, fake: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot, me.first_name) == (
        1000,
        "ballback_test_bot",
        True,
        "Ballback",
    )
    assert fake.calls("getMe")[-1].token == TOKEN


async def test_send_message_params(bot: Bot, fake: FakeBotAPI) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Готово ✅", callback_data="done:7")]])
    text = "42 & Привет = ?"
    message = await bot.send_message(chat_id=-1001234567890, text=text, reply_markup=markup)

    (call,) = await fake.wait_for("sendMessage", 1)
    assert call.content_type == "application/json"
    assert call.params["chat_id"] == -1001234567890
    assert call.params["text"] == text
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Готово ✅", "callback_data": "done:7"}]]
    }
    assert message.text == text
    assert message.chat.id == -1001234567890
    assert message.reply_markup == markup
    second = await bot.send_message(chat_id=5, text="42")
    assert second.message_id > message.message_id
    assert fake.calls("sendMessage")[-1].params["text"] == "42"  # stays a string


async def test_send_document_multipart(bot: Bot, fake: FakeBotAPI) -> None:
    content = b"name,calls\nAnna,12\n" * 100
    message = await bot.send_document(
        chat_id=77, document=content, filename="отчёт.csv", caption="Отчёт за день"
    )
    (call,) = fake.calls("sendDocument")
    assert call.content_type == "multipart/form-data"
    assert call.params == {"chat_id": 77, "caption": "Отчёт за день"}
    upload = call.files["document"]
    assert (upload.filename, upload.content_type, upload.data) == ("отчёт.csv", "text/csv", content)
    assert message.document is not None
    assert message.document.file_name == "отчёт.csv"

    await bot.send_photo(chat_id=77, photo=io.BytesIO(b"\x89PNG fake"), filename='a "b".png')
    photo = fake.calls("sendPhoto")[0].files["photo"]
    assert (photo.filename, photo.data) == ("a %22b%22.png", b"\x89PNG fake")  # like httpx


async def test_get_updates_long_polling(bot: Bot, fake: FakeBotAPI) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=4))
    await fake.wait_for("getUpdates", 1)
    update_id = fake.push_update(
        {
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "Anna"},
                "text": "/start",
            }
        }
    )
    (update,) = await asyncio.wait_for(poll, GUARD)
    assert time.monotonic() - started < 2  # answered on push, not at the poll timeout
    assert update.update_id == update_id
    assert update.message is not None and update.message.text == "/start"
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


async def test_long_poll_longer_than_default_read_timeout(fake: FakeBotAPI) -> None:
    # PTB passes read_timeout = default read_timeout + poll timeout for getUpdates.
    async with make_bot(fake.base_url, read_timeout=0.3) as slow_poller:
        started = time.monotonic()
        assert await slow_poller.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9


async def test_other_methods_parse(bot: Bot, fake: FakeBotAPI) -> None:
    sent = await bot.send_message(chat_id=5, text="one")
    edited = await bot.edit_message_text("two", chat_id=5, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "two"
    assert edited.message_id == sent.message_id
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
    await bot.edit_message_reply_markup(chat_id=5, message_id=sent.message_id, reply_markup=markup)
    assert await bot.answer_callback_query("cbq-1", text="ok")
    assert await bot.delete_message(chat_id=5, message_id=sent.message_id)
    assert await bot.set_my_commands([("today", "Today's calls")])
    assert await bot.delete_webhook()
    member = await bot.get_chat_member(chat_id=-100, user_id=9)
    assert isinstance(member, ChatMemberAdministrator)


@pytest.mark.parametrize("status", ["creator", "administrator", "member", "restricted", "left"])
async def test_fake_chat_member_statuses(bot: Bot, fake: FakeBotAPI, status: str) -> None:
    fake.chat_member_status[9] = status
    member = await bot.get_chat_member(chat_id=-100, user_id=9)
    assert (member.status, member.user.id) == (status, 9)


async def test_retrieve_file_via_get(fake: FakeBotAPI) -> None:
    fake.file_contents["documents/report.csv"] = b"a,b\n"
    async with AiohttpRequest() as request:
        assert await request.retrieve(f"{fake.base_file_url}{TOKEN}/documents/report.csv") == (
            b"a,b\n"
        )


# -- Bot API errors ---------------------------------------------------------------------------


async def test_bad_request(bot: Bot, fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found") as info:
        await bot.send_message(chat_id=1, text="x")
    assert_no_token(info.value)
    assert (await bot.send_message(chat_id=1, text="x")).text == "x"  # only once


async def test_forbidden(bot: Bot, fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="bot was blocked by the user") as info:
        await bot.send_message(chat_id=1, text="x")
    assert_no_token(info.value)


async def test_retry_after_times(bot: Bot, fake: FakeBotAPI) -> None:
    fake.fail_next(
        "sendMessage", status=429, description="Too Many Requests", retry_after=7, times=2
    )
    for _ in range(2):
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(chat_id=1, text="x")
        assert info.value.retry_after in (7, dtm.timedelta(seconds=7))
        assert_no_token(info.value)
    await bot.send_message(chat_id=1, text="x")
    assert [r.status for r in fake.calls("sendMessage")] == [429, 429, 200]


async def test_chat_migrated_and_unknown_method(bot: Bot, fake: FakeBotAPI) -> None:
    fake.fail_next(
        "sendMessage", status=400, description="Bad Request: migrated", migrate_to_chat_id=-1009
    )
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(chat_id=-5, text="x")
    assert info.value.new_chat_id == -1009
    with pytest.raises(EndPointNotFound) as not_found:
        await bot.do_api_request("definitelyNotAMethod")
    assert_no_token(not_found.value)


# -- transport failures -----------------------------------------------------------------------


async def test_read_timeout() -> None:
    release = asyncio.Event()

    async def never_answers(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True, "result": True})

    async with serve(never_answers) as base, AiohttpRequest(read_timeout=0.2) as request:
        started = time.monotonic()
        with pytest.raises(TimedOut) as info:
            await asyncio.wait_for(request.post(f"{base}{TOKEN}/getMe"), GUARD)
        assert time.monotonic() - started < 1
        assert_no_token(info.value)
        # a per-call read timeout wins over the default
        async with AiohttpRequest(read_timeout=30) as patient:
            with pytest.raises(TimedOut):
                await asyncio.wait_for(
                    patient.post(f"{base}{TOKEN}/getMe", read_timeout=0.2), GUARD
                )
        release.set()


async def test_pool_timeout() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True, "result": True})

    async with (
        serve(slow) as base,
        AiohttpRequest(connection_pool_size=1, pool_timeout=0.1) as request,
    ):
        first = asyncio.create_task(request.post(f"{base}{TOKEN}/getMe"))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="Pool timeout") as info:
            await asyncio.wait_for(request.post(f"{base}{TOKEN}/getMe"), GUARD)
        assert_no_token(info.value)
        release.set()
        assert await asyncio.wait_for(first, GUARD) is True
        assert await request.post(f"{base}{TOKEN}/getMe") is True  # the slot was released


async def test_stalled_upload_times_out() -> None:
    release = asyncio.Event()

    async def never_reads(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True, "result": True})

    request = AiohttpRequest(read_timeout=0.3, connect_timeout=0.1, media_write_timeout=0.1)
    async with serve(never_reads) as base, request:
        bot = Bot(TOKEN, base_url=base, request=request)
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await asyncio.wait_for(
                bot.send_document(chat_id=1, document=b"x" * (64 * 1024 * 1024)), GUARD
            )
        assert time.monotonic() - started < 2
        release.set()


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError, match=r"^aiohttp\.ClientConnectorError") as info:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert not isinstance(info.value, TimedOut)
    assert_no_token(info.value)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok": tr', "ClientPayloadError"),
        (b"", "ServerDisconnectedError"),
    ],
)
async def test_dropped_connection(reply: bytes, error: str) -> None:
    async with raw_server(reply) as base, AiohttpRequest() as request:
        with pytest.raises(NetworkError, match=rf"^aiohttp\.{error}") as info:
            await asyncio.wait_for(request.post(f"{base}{TOKEN}/sendMessage"), GUARD)
    assert not isinstance(info.value, TimedOut)
    assert_no_token(info.value)


async def test_url_is_scrubbed_from_errors() -> None:
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as info:
            await request.post(f"ftp://127.0.0.1/bot{TOKEN}/getMe")
    assert_no_token(info.value)
    assert "<url>" in str(info.value)


# -- lifecycle --------------------------------------------------------------------------------


async def test_initialize_shutdown_idempotent(fake: FakeBotAPI) -> None:
    url = f"{fake.base_url}{TOKEN}/getMe"
    request = AiohttpRequest(read_timeout=3)
    assert request.read_timeout == 3
    assert await request.post(url) == BOT_USER  # lazily opened without initialize()
    session = request._session
    await request.initialize()
    await request.initialize()
    assert request._session is session  # initialize() does not replace an open session
    await request.shutdown()
    await request.shutdown()
    assert session is not None and session.closed
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(url)
    async with request:  # re-initialising after shutdown works
        assert await request.post(url) == BOT_USER
    assert request._session is None
    with pytest.raises(ValueError, match="connection_pool_size"):
        AiohttpRequest(connection_pool_size=0)


# -- the fake's rate-limit enforcement ---------------------------------------------------------


async def test_fake_enforces_group_limit() -> None:
    async with FakeBotAPI(enforce_limits=True) as fake, make_bot(fake.base_url) as bot:
        for i in range(20):
            await bot.send_message(chat_id=-100, text=str(i))
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id=-100, text="one too many")
        await bot.send_message(chat_id=-200, text="other group is fine")
    assert [(v.kind, v.chat_id, v.count) for v in fake.violations] == [("group", -100, 20)]


async def test_fake_enforces_global_limit() -> None:
    async with FakeBotAPI(enforce_limits=True) as fake, make_bot(fake.base_url) as bot:
        results = await asyncio.gather(
            *(bot.send_message(chat_id=1000 + i, text="hi") for i in range(35)),
            return_exceptions=True,
        )
    refused = [r for r in results if isinstance(r, RetryAfter)]
    assert len(refused) == 5
    assert len(fake.violations) == 5
    assert {v.kind for v in fake.violations} == {"global"}


# -- the whole stack -------------------------------------------------------------------------


async def test_application_polling_end_to_end(fake: FakeBotAPI) -> None:
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await seen.put(update.effective_message.text or "")
        await update.effective_message.reply_text("hi")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest())
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=2)
        fake.push_update(
            {
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 5, "type": "private"},
                    "from": {"id": 5, "is_bot": False, "first_name": "Anna"},
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                }
            }
        )
        assert await asyncio.wait_for(seen.get(), GUARD) == "/start"
        (reply,) = await fake.wait_for("sendMessage", 1)
        assert reply.params["text"] == "hi"
        await app.updater.stop()
        await app.stop()
