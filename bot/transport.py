"""An aiohttp transport for python-telegram-bot.

PTB's default ``HTTPXRequest`` costs about 1.5 ms of CPU per Bot API call; this aiohttp-based
``BaseRequest`` costs about 0.4 ms, which matters when the bot fans out reminders to a whole
sales team at once. It sends the parameters as one JSON body (the Bot API's application/json;
multipart/form-data, laid out as ``HTTPXRequest`` does, when files are uploaded) and raises the
same PTB exceptions, so it can be passed as ``request=`` / ``get_updates_request=`` to
``ApplicationBuilder`` or ``Bot``.

Timeouts map onto aiohttp as follows: *pool* is enforced by a semaphore sized like the connector
(so exhaustion is reported as PTB's pool ``TimedOut`` and nothing is sent), *connect* is
``ClientTimeout.connect`` and *read* is ``ClientTimeout.sock_read`` (longest silence while
reading). aiohttp has no write timeout, so everything up to the response headers gets a deadline
of connect + write + read: this stops a stalled upload, but also cuts off one that is merely
slower than that (``media_write_timeout`` defaults to 20 s).

The request URL contains the bot token, so it is never logged and is scrubbed from error messages.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import re

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

_POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)
_LARGE_BODY = 2**20
_JSON_HEADERS = {"Content-Type": "application/json"}
_URL_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_TOKEN_PATTERN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,64}")
# Like httpx (HTML5 form encoding): aiohttp itself only backslash-escapes backslashes and quotes.
_FILENAME_ESCAPES = {ord('"'): "%22", **{c: f"%{c:02X}" for c in range(0x20) if c != 0x1B}}


def _redact(text: str) -> str:
    return _TOKEN_PATTERN.sub("<token>", _URL_PATTERN.sub("<url>", text))


def _sum_or_none(*timeouts: float | None) -> float | None:
    return None if None in timeouts else sum(t or 0.0 for t in timeouts)


@functools.lru_cache(maxsize=32)
def _client_timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """One (immutable) ``ClientTimeout`` per pair of values, instead of one per request."""
    return aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)


def _pick(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """:class:`telegram.request.BaseRequest` implemented with one pooled ``aiohttp`` session.

    Args mirror :class:`telegram.request.HTTPXRequest`; timeouts are in seconds, ``None`` means
    "wait forever". ``media_write_timeout`` replaces ``write_timeout`` for uploads.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_shut_down",
        "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._pool: asyncio.Semaphore | None = None
        self._shut_down = False

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; PTB adds the long-polling ``timeout`` to it for getUpdates."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (a no-op if it is already open); also reopens after shutdown."""
        self._shut_down = False
        if self._session is None or self._session.closed:
            self._open()

    async def shutdown(self) -> None:
        """Close the session and its connections; calling it again is a no-op."""
        self._shut_down = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
        self._pool = asyncio.Semaphore(self._pool_size)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        return self._session

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`telegram.request.BaseRequest.do_request`."""
        if self._shut_down:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        session = self._session if self._session is not None else self._open()
        pool = self._pool
        assert pool is not None

        files = request_data.multipart_data if request_data is not None else None
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if files and request_data is not None:  # as httpx: the fields first, then the files
            data = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():
                data.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                if isinstance(content, bytes) and len(content) > _LARGE_BODY:
                    content = io.BytesIO(content)  # streamed in chunks; aiohttp warns otherwise
                filename = filename.translate(_FILENAME_ESCAPES)
                data.add_field(name, content, filename=filename, content_type=mimetype)
        elif request_data is not None and (params := request_data.parameters):
            # One JSON body (the Bot API takes application/json for anything but uploads):
            # cheaper to build than a form, whose encoding quotes every character.
            data = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
            headers = _JSON_HEADERS

        read = _pick(read_timeout, self._read_timeout)
        connect = _pick(connect_timeout, self._connect_timeout)
        write = _pick(write_timeout, self._media_write_timeout if files else self._write_timeout)
        until_headers = _sum_or_none(connect, write, read)
        timeout = _client_timeout(connect, read)

        if pool.locked():
            try:
                async with asyncio.timeout(_pick(pool_timeout, self._pool_timeout)):
                    await pool.acquire()
            except TimeoutError:
                raise TimedOut(_POOL_TIMEOUT_MESSAGE) from None
        else:
            await pool.acquire()
        try:
            async with asyncio.timeout(until_headers):
                response = await session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
            async with response:
                return response.status, await response.read()
        except TimeoutError as err:  # includes aiohttp's ServerTimeoutError subclasses
            raise TimedOut() from (None if _redact(str(err)) != str(err) else err)
        except (aiohttp.ClientError, OSError) as err:
            message = str(err)
            cause = None if _redact(message) != message else err
            raise NetworkError(f"aiohttp.{type(err).__name__}: {_redact(message)}") from cause
        finally:
            pool.release()
