"""Running for real: webhook mode, and a clean exit on SIGTERM with in-flight updates finished."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import ops
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import Settings
from tests.conftest import IVAN, OLGA, START, TOKEN, message_json
from tests.fakeapi import FakeBotAPI
from tests.subproc import bot_env, start_cli

# About the SQLite file itself (its snapshots, its processes): PostgreSQL has its own tests.
pytestmark = pytest.mark.sqlite_only

SECRET = "webhook-secret_123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def listening(port: int, seconds: float = 15) -> None:
    """Wait until something accepts connections on the port.

    python-telegram-bot calls ``setWebhook`` just before its server starts listening, as
    Telegram retries a delivery that finds nobody; a test must wait for the socket instead.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.02)
        else:
            writer.close()
            await writer.wait_closed()
            return


def webhook_settings(api: FakeBotAPI, tmp_path: Path, port: int) -> Settings:
    return Settings(
        token=TOKEN,  # type: ignore[arg-type]
        database=tmp_path / "b.db",
        api_url=api.base_url,
        file_url=api.base_file_url,
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
        webhook_secret=SECRET,  # type: ignore[arg-type]
        listen=f"127.0.0.1:{port}",
    )


async def test_webhook_accepts_only_requests_with_the_secret(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    port = free_port()
    settings = webhook_settings(api, tmp_path, port)
    app = build_app(settings, clock=ManualClock(START))
    await app.initialize()
    assert app.post_init is not None and app.updater is not None
    await app.post_init(app)
    await app.updater.start_webhook(**ops.webhook_options(settings))
    await app.start()
    url = f"http://127.0.0.1:{port}/telegram/hook"

    def update(text: str, who: Any = IVAN) -> dict[str, Any]:
        return {
            "update_id": int(time.monotonic_ns() % 10**9),
            "message": message_json(text, who, date=START),
        }

    try:
        (hook,) = api.calls("setWebhook")
        assert hook.params["url"] == url
        assert hook.params["secret_token"] == SECRET
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update("/call Forged"), headers=headers) as resp:
                    assert resp.status == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(url, json=update("/call Anna Petrova"), headers=right) as resp:
                assert resp.status == 200
            (sent,) = await api.wait_for("sendMessage")
            assert "Anna Petrova" in sent.params["text"]
            async with http.post(url, json=update("/call Boris", OLGA), headers=right) as resp:
                assert resp.status == 200
            await api.wait_for("sendMessage", 2)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
    with sqlite3.connect(settings.database) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM contacts ORDER BY id")]
    assert names == ["Anna Petrova", "Boris"]  # nothing from the forged posts


async def test_sigterm_finishes_in_flight_updates_and_exits_cleanly(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    database = tmp_path / "b.db"
    process = await start_cli("run", env=bot_env(api, database), cwd=tmp_path)
    try:
        await api.wait_for("getUpdates", timeout=15)
        people = [IVAN, OLGA]
        count = 40
        for i in range(count):  # one batch: all of it is in flight when the signal comes
            who = people[i % 2]
            api.push_update({"message": message_json(f"/call Client {i}", who, date=START)})
        await api.wait_for("sendMessage", 1)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            _, err = await process.communicate()
        took = time.monotonic() - signalled
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = err.decode()
    assert process.returncode == 0, stderr
    assert took < 10
    assert len(api.calls("sendMessage")) == count  # every update received was answered
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM calls").fetchone()[0] == count
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Each chat's updates were handled in the order they were sent.
    for who in people:
        numbers = [
            int(r.params["text"].split("Client ")[1].split("<")[0])
            for r in api.calls("sendMessage")
            if r.params["chat_id"] == who.id
        ]
        assert numbers == sorted(numbers)
    # Logs: one line per event, never the token.
    assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr
    assert stderr.strip(), "the bot logs its start and stop"
    for line in stderr.strip().splitlines():
        assert line[:4].isdigit() and (" INFO " in line or " WARNING " in line), line
    assert "ballback: starting: long polling" in stderr


async def test_run_in_webhook_mode_then_sigterm(api: FakeBotAPI, tmp_path: Path) -> None:
    port = free_port()
    env = bot_env(
        api,
        tmp_path / "b.db",
        BALLBACK_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        BALLBACK_WEBHOOK_SECRET=SECRET,
        BALLBACK_LISTEN=f"127.0.0.1:{port}",
    )
    process = await start_cli("run", env=env, cwd=tmp_path)
    try:
        (hook,) = await api.wait_for("setWebhook", timeout=15)
        assert hook.params["secret_token"] == SECRET
        await listening(port)
        update = {"update_id": 1, "message": message_json("/call Vera", IVAN, date=START)}
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/hook"
            async with http.post(url, json=update) as resp:
                assert resp.status == 403
            async with http.post(url, json=update, headers=headers) as resp:
                assert resp.status == 200
        (sent,) = await api.wait_for("sendMessage")
        assert "Vera" in sent.params["text"]
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            _, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert api.calls("getUpdates") == []  # no polling in webhook mode
    assert SECRET not in err.decode() and TOKEN not in err.decode()
