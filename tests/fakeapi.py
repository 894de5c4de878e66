"""A fake Telegram Bot API server on 127.0.0.1 for tests and benchmarks.

Point a bot at it with ``base_url=fake.base_url`` (and ``base_file_url=fake.base_file_url``);
PTB then calls ``POST {base_url}{token}/{method}``. Every call is recorded in
:attr:`FakeBotAPI.requests`. ``getUpdates`` serves updates queued with :meth:`push_update`,
with long polling and ``offset`` confirmation like the real server. :meth:`fail_next` injects
Bot API errors, and ``enforce_limits=True`` answers 429 when the bot exceeds Telegram's
broadcast limits (30 sends/s overall, 20 sends/min to one group) and records a violation.
:meth:`hang_next` makes the server take a request and never answer it (as when Telegram got it
and the answer was lost with the bot's process); :meth:`wait_until` waits for any condition.

It has no pytest dependency, so a benchmark script can use it too::

    async with FakeBotAPI() as fake:
        bot = Bot(token, base_url=fake.base_url, base_file_url=fake.base_file_url)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

__all__ = ["BOT_USER", "FakeBotAPI", "LimitViolation", "RecordedFile", "RecordedRequest"]

BOT_USER: dict[str, Any] = {
    "id": 1000,
    "is_bot": True,
    "first_name": "Ballback",
    "username": "ballback_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Values of these parameters are plain strings even when they look like JSON ("42", "true").
STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url",
        "secret_token", "query", "description", "short_description", "name", "title",
        "emoji", "file_id", "custom_title", "language_code", "business_connection_id",
    }
)  # fmt: skip
TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery", "setMyCommands", "deleteMyCommands", "deleteWebhook",
        "setWebhook", "deleteMessage", "deleteMessages", "sendChatAction", "pinChatMessage",
        "unpinChatMessage", "setMyDescription", "setMyShortDescription", "setMyName",
        "setChatMenuButton", "close", "logOut",
    }
)  # fmt: skip
MESSAGE_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument", "sendPhoto"}
)
_MEMBER_EXTRAS: dict[str, dict[str, Any]] = {
    "creator": {"is_anonymous": False},
    "administrator": {
        "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
        "can_delete_messages": True, "can_manage_video_chats": True,
        "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
        "can_invite_users": True, "can_post_stories": True, "can_edit_stories": True,
        "can_delete_stories": True,
    },
    "member": {},
    "restricted": {
        "is_member": True, "until_date": 0, "can_change_info": False,
        "can_invite_users": False, "can_pin_messages": False, "can_send_messages": False,
        "can_send_polls": False, "can_send_other_messages": False,
        "can_add_web_page_previews": False, "can_manage_topics": False,
        "can_send_audios": False, "can_send_documents": False, "can_send_photos": False,
        "can_send_videos": False, "can_send_video_notes": False,
        "can_send_voice_notes": False, "can_edit_tag": False,
        "can_react_to_messages": False,
    },
    "left": {},
    "kicked": {"until_date": 0},
}  # fmt: skip


@dataclass(frozen=True)
class RecordedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One Bot API call as the server saw it (``status`` is the HTTP status it answered)."""

    method: str
    params: dict[str, Any]
    t: float  # time.monotonic() at arrival
    files: dict[str, RecordedFile] = field(default_factory=dict)
    token: str = ""
    content_type: str = ""  # of the request body, e.g. "multipart/form-data"
    status: int = 200
    result: Any = None  # the "result" the fake answered with, e.g. the Message sent

    @property
    def message_id(self) -> int:
        """The id of the message this send or edit produced."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return int(self.result["message_id"])
        raise AssertionError(f"{self.method} produced no message")


@dataclass(frozen=True)
class LimitViolation:
    """A send refused with 429 because it broke a Telegram rate limit."""

    kind: Literal["global", "group"]
    method: str
    chat_id: int | str | None
    t: float
    count: int  # sends already accepted inside the window


@dataclass
class _Hang:
    match: Callable[[dict[str, Any]], bool] | None
    times: int


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    migrate_to_chat_id: int | None
    times: int


class _Signal:
    """Wakes every coroutine currently waiting; safe against lost wake-ups."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float | None) -> bool:
        deadline = None if seconds is None else time.monotonic() + seconds
        while not predicate():
            event = self._event
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


def _decode(name: str, value: str) -> Any:
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _ok(result: Any, record: RecordedRequest | None = None) -> web.Response:
    if record is not None:
        record.result = result
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, int] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


class FakeBotAPI:
    """The fake server. Use ``async with FakeBotAPI() as fake`` or ``start()``/``stop()``.

    All methods must be called from the event loop the server runs on.
    """

    def __init__(
        self,
        *,
        enforce_limits: bool = False,
        global_limit_per_second: int = 30,
        group_limit_per_minute: int = 20,
    ) -> None:
        self.enforce_limits = enforce_limits
        self.global_limit_per_second = global_limit_per_second
        self.group_limit_per_minute = group_limit_per_minute
        self.requests: list[RecordedRequest] = []
        self.violations: list[LimitViolation] = []
        self.chat_member_status: dict[int, str] = {}  # user_id -> status for getChatMember
        self.default_member_status = "administrator"
        self.file_contents: dict[str, bytes] = {}  # file_path -> bytes, served at base_file_url
        self.files: dict[str, str] = {}  # file_id -> file_path, answered by getFile
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._message_ids = itertools.count(1)
        self._file_ids_counter = itertools.count(1)
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._hangs: dict[str, list[_Hang]] = defaultdict(list)
        self._released = asyncio.Event()  # set on stop: hung requests get their (error) answer
        self.hung: list[RecordedRequest] = []  # requests held open by hang_next, in order
        self._sends: deque[float] = deque()
        self._group_sends: dict[int, deque[float]] = defaultdict(deque)
        self._new_update = _Signal()
        self._new_request = _Signal()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/file/{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{token}/{method}", self._handle_method)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._closing = False
        self._released = asyncio.Event()

    async def stop(self) -> None:
        self._closing = True
        self._new_update.notify()  # let pending long polls answer before the runner closes
        self._released.set()  # and hung requests
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/file/bot"

    # -- test controls -----------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; assigns ``update_id`` if missing and returns it."""
        update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        self._updates.append(update)
        self._new_update.notify()
        return int(update["update_id"])

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with a Bot API error."""
        self._failures[method].append(
            _Failure(status, description, retry_after, migrate_to_chat_id, times)
        )

    def hang_next(
        self,
        method: str,
        *,
        match: Callable[[dict[str, Any]], bool] | None = None,
        times: int = 1,
    ) -> None:
        """Never answer the next ``times`` calls of ``method`` (those whose params ``match``).

        Each is recorded (in :attr:`requests` and :attr:`hung`) as usual, so for the test
        Telegram got it; then it is held open until the server stops, and answered with a 502.
        """
        self._hangs[method].append(_Hang(match, times))

    def _take_hang(self, record: RecordedRequest) -> bool:
        hangs = self._hangs.get(record.method)
        if not hangs:
            return False
        for hang in hangs:
            if hang.match is None or hang.match(record.params):
                hang.times -= 1
                if hang.times <= 0:
                    hangs.remove(hang)
                return True
        return False

    def register_file(self, file_id: str, path: str, content: bytes) -> None:
        """Make ``getFile(file_id)`` answer with ``path`` and serve ``content`` there."""
        self.files[file_id] = path
        self.file_contents[path] = content

    def calls(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Wait until ``count`` calls of ``method`` arrived; return all calls of it so far."""
        if not await self._new_request.wait_until(
            lambda: len(self.calls(method)) >= count, timeout
        ):
            seen = [r.method for r in self.requests]
            raise TimeoutError(f"expected {count} x {method} within {timeout}s, saw {seen}")
        return self.calls(method)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> bool:
        """Wait until ``predicate()`` holds, checked again on every request that arrives;
        ``False`` if it still does not after ``timeout`` seconds (nothing is raised)."""
        return await self._new_request.wait_until(predicate, timeout)

    # -- HTTP handlers -----------------------------------------------------------------------
    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        content = self.file_contents.get(request.match_info["path"])
        if content is None:
            return _error(404, "Not Found: file not found")
        return web.Response(body=content, content_type="application/octet-stream")

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        token, method = request.match_info["token"], request.match_info["method"]
        if not token.startswith("bot"):
            return _error(404, "Not Found")
        params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
        files: dict[str, RecordedFile] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[name] = RecordedFile(
                        value.filename, value.content_type, value.file.read()
                    )
                else:
                    params[name] = _decode(name, str(value))
        record = RecordedRequest(method, params, arrived, files, token[3:], request.content_type)
        self.requests.append(record)
        if self._take_hang(record):
            self.hung.append(record)
            record.status = 0  # not answered (yet)
            self._new_request.notify()
            await self._released.wait()
            response = _error(502, "Bad Gateway: the fake server stopped")
            record.status = response.status
            return response
        self._new_request.notify()
        response = await self._respond(record)
        record.status = response.status
        return response

    async def _respond(self, record: RecordedRequest) -> web.Response:
        method, params = record.method, record.params
        failures = self._failures.get(method)
        if failures:
            failure = failures[0]
            failure.times -= 1
            if failure.times <= 0:
                failures.popleft()
            parameters = {}
            if failure.retry_after is not None:
                parameters["retry_after"] = failure.retry_after
            if failure.migrate_to_chat_id is not None:
                parameters["migrate_to_chat_id"] = failure.migrate_to_chat_id
            return _error(failure.status, failure.description, parameters)
        if self.enforce_limits and self._is_send(method) and not self._admit(record):
            return _error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if method == "getMe":
            return _ok(BOT_USER)
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        if method in TRUE_METHODS:
            return _ok(True)
        if method == "getChatMember":
            user_id = int(params.get("user_id", 0))
            status = self.chat_member_status.get(user_id, self.default_member_status)
            user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            return _ok({"status": status, "user": user, **_MEMBER_EXTRAS.get(status, {})})
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            path = self.files.get(file_id)
            if path is None:
                return _error(400, "Bad Request: invalid file_id")
            return _ok(
                {
                    "file_id": file_id,
                    "file_unique_id": f"unique-{file_id}",
                    "file_size": len(self.file_contents.get(path, b"")),
                    "file_path": path,
                },
                record=record,
            )
        if method in MESSAGE_METHODS:
            if "inline_message_id" in params:
                return _ok(True)
            return _ok(self._message(method, params, record.files), record=record)
        return _error(404, "Not Found: method not found")

    # -- behaviour ---------------------------------------------------------------------------
    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset < 0:
            del self._updates[: max(len(self._updates) + offset, 0)]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        if timeout > 0 and not self._closing:
            await self._new_update.wait_until(lambda: bool(self._updates) or self._closing, timeout)
        limit = int(params.get("limit") or 100)
        return self._updates[: max(1, min(limit, 100))]

    @staticmethod
    def _is_send(method: str) -> bool:
        if method == "sendChatAction":
            return False
        return method.startswith("send") or method in {"copyMessage", "forwardMessage"}

    def _admit(self, record: RecordedRequest) -> bool:
        now, chat_id = record.t, record.params.get("chat_id")
        while self._sends and now - self._sends[0] >= 1.0:
            self._sends.popleft()
        group = self._group_sends[chat_id] if isinstance(chat_id, int) and chat_id < 0 else None
        while group and now - group[0] >= 60.0:
            group.popleft()
        if len(self._sends) >= self.global_limit_per_second:
            self.violations.append(
                LimitViolation("global", record.method, chat_id, now, len(self._sends))
            )
            return False
        if group is not None and len(group) >= self.group_limit_per_minute:
            self.violations.append(LimitViolation("group", record.method, chat_id, now, len(group)))
            return False
        self._sends.append(now)
        if group is not None:
            group.append(now)
        return True

    def _message(
        self, method: str, params: dict[str, Any], files: dict[str, RecordedFile]
    ) -> dict[str, Any]:
        chat_id = params.get("chat_id", 0)
        if isinstance(chat_id, int):
            kind = "private" if chat_id > 0 else "group" if chat_id > -(10**12) else "supergroup"
            chat: dict[str, Any] = {"id": chat_id, "type": kind}
        else:
            chat = {"id": -1001000000001, "type": "channel", "username": str(chat_id).lstrip("@")}
        if chat["type"] == "private":
            chat["first_name"] = f"User {chat_id}"
        message_id = params.get("message_id") if method.startswith("edit") else None
        message: dict[str, Any] = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
        }
        if method.startswith("edit"):
            message["edit_date"] = int(time.time())
        for key in ("text", "caption"):
            if key in params:
                message[key] = params[key]
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if method == "sendDocument":
            upload = files.get("document")
            message["document"] = {
                **self._file_ids(),
                "file_name": upload.filename if upload else "document",
                "mime_type": upload.content_type if upload else "application/octet-stream",
                "file_size": len(upload.data) if upload else 0,
            }
        elif method == "sendPhoto":
            upload = files.get("photo")
            size = len(upload.data) if upload else 0
            message["photo"] = [{**self._file_ids(), "width": 90, "height": 90, "file_size": size}]
        return message

    def _file_ids(self) -> dict[str, str]:
        n = next(self._file_ids_counter)
        return {"file_id": f"file-{n}", "file_unique_id": f"unique-{n}"}
