"""What the benchmarks share: Bot API JSON for updates, the bot processes, a request tracker.

Each bot under test runs as its own process (as in production), long-polling a
:class:`~tests.fakeapi.FakeBotAPI` that runs in the benchmark's process on 127.0.0.1. Times are
taken in the benchmark's process: from just before an update is made available to ``getUpdates``
to the arrival of the bot's answering request at the fake server (``RecordedRequest.t``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import platform
import signal
import statistics
import sys
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from tests.fakeapi import FakeBotAPI, RecordedRequest


class BotAPI(Protocol):
    """What a bot process needs of its fake Bot API: ``FakeBotAPI`` or ``bench.leanapi``'s."""

    @property
    def base_url(self) -> str: ...

    @property
    def base_file_url(self) -> str: ...

    async def wait_for(
        self,
        method: str,
        count: int = ...,
        timeout: float = ...,  # noqa: ASYNC109
    ) -> Any: ...


REPO = Path(__file__).resolve().parent.parent
# Another checkout of Ballback to run as the bot kind "baseline" (before/after comparisons).
SOURCES: dict[str, Path] = {}
TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKEN12"
BOT_ID = 1000
FIRST_REP = 10_000
_message_ids = itertools.count(1_000_000)
_query_ids = itertools.count(1)


def rep_user(rep: int) -> dict[str, Any]:
    return {
        "id": FIRST_REP + rep,
        "is_bot": False,
        "first_name": f"Rep{rep}",
        "language_code": "en",
    }


def command_update(rep: int, text: str) -> dict[str, Any]:
    user = rep_user(rep)
    command = text.split()[0]
    return {
        "message": {
            "message_id": next(_message_ids),
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
    }


def button_update(rep: int, data: str, message_id: int) -> dict[str, Any]:
    user = rep_user(rep)
    return {
        "callback_query": {
            "id": str(next(_query_ids)),
            "from": user,
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
                "text": "…",
            },
        }
    }


def button_data(request: RecordedRequest, suffix: str) -> str:
    markup = request.params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = str(button.get("callback_data", ""))
            if data.endswith(suffix):
                return data
    raise AssertionError(f"no button ending {suffix!r} in {request.params}")


def chat_of(rep: int) -> int:
    return FIRST_REP + rep


class Tracker(list[RecordedRequest]):
    """``FakeBotAPI.requests`` that wakes whoever waits for a (method, chat) pair, in O(1).

    Scanning the whole request list on every arrival would slow the fake server down as the run
    grows (and with it the numbers); this resolves one future per awaited request instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[tuple[str, str], deque[asyncio.Future[RecordedRequest]]] = {}

    def expect(self, method: str, key: int | str) -> asyncio.Future[RecordedRequest]:
        """The next ``method`` request for chat ``key`` (or callback query ``key``)."""
        future: asyncio.Future[RecordedRequest] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault((method, str(key)), deque()).append(future)
        return future

    def append(self, record: RecordedRequest) -> None:
        super().append(record)
        key = record.params.get("chat_id", record.params.get("callback_query_id"))
        if key is None:
            return
        queue = self.waiting.get((record.method, str(key)))
        if queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(record)


def track(api: FakeBotAPI) -> Tracker:
    tracker = Tracker()
    api.requests = tracker
    return tracker


# -- bot processes --------------------------------------------------------------------------------


def bot_command(kind: str, api: BotAPI, profile: Path | None = None) -> list[str]:
    """``profile``: the file for the profile of the bot's whole run, by cProfile, or by
    pyinstrument (sampling, less distortion of many small calls) when ``BENCH_PROFILER`` is
    ``pyinstrument`` (``.html``, ``.txt``, or pstats for ``.prof``, as the file's name ends)."""
    python = [sys.executable]
    if profile is not None and os.environ.get("BENCH_PROFILER") == "pyinstrument":
        python += ["-m", "pyinstrument", "-i", "0.0002", "-o", str(profile), "--show-all"]
        if profile.suffix == ".prof":  # sampled, but readable with pstats like cProfile's
            python += ["-r", "pstats"]
    elif profile is not None:  # cProfile writes its stats when the bot exits on SIGTERM
        python += ["-m", "cProfile", "-o", str(profile)]
    if kind in ("ballback", "baseline"):
        return [*python, "-m", "bot", "run"]
    return [*python, "-m", "bench.bots", kind, api.base_url]


def bot_env(api: BotAPI, database: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "BALLBACK_TOKEN": TOKEN,
        "BALLBACK_API_URL": api.base_url,
        "BALLBACK_FILE_URL": api.base_file_url,
        "BALLBACK_DATABASE": str(database),
    }
    env.update(extra)
    return env


class BotProcess:
    """One bot under test, started with ``start`` and stopped with SIGTERM."""

    def __init__(
        self, kind: str, api: BotAPI, workdir: Path, profile: Path | None = None, **env: str
    ) -> None:
        self.kind = kind
        self.profile = profile
        self.api = api
        self.workdir = workdir
        self.env = bot_env(api, workdir / "ballback.db", **env)
        if kind in SOURCES:
            self.env["PYTHONPATH"] = str(SOURCES[kind])
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, seconds: float = 30.0) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *bot_command(self.kind, self.api, self.profile),
            env=self.env,
            cwd=self.workdir,
            stdin=asyncio.subprocess.DEVNULL,
        )
        await self.api.wait_for("getUpdates", timeout=seconds)

    def cpu_seconds(self) -> float:
        """User + system CPU time the bot process has used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(10):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


# -- numbers --------------------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load:.2f} at start"
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
