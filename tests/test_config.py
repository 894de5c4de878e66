"""Settings and the command line: every setting-level mistake is one clear line, exit code 2.

The ``ballback run`` tests start the real program (``python -m bot run``) in a clean environment,
in a temporary folder, against the fake Bot API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import ConfigError, Settings, load_settings
from storage.migrations import LATEST
from tests.conftest import IVAN, TOKEN, message_json
from tests.fakeapi import FakeBotAPI

# About the SQLite file itself (its snapshots, its processes): PostgreSQL has its own tests.
pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parents[1]
GUARD = 20.0  # seconds: no subprocess test may hang


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No BALLBACK_ variable from the outside, and no stray .env file."""
    for name in list(os.environ):
        if name.startswith("BALLBACK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def program_env(**settings: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": "/nonexistent"}
    env.update({f"BALLBACK_{name.upper()}": value for name, value in settings.items()})
    return env


def run_program(cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd,
        env=program_env(**settings),
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert result.stdout == ""
    return lines[0]


# -- the program ---------------------------------------------------------------------------------


def test_a_missing_token_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    line = assert_one_line_error(run_program(tmp_path), "BALLBACK_TOKEN", "is not set")
    assert line.startswith("ballback: ")
    assert not (tmp_path / "ballback.db").exists()


def test_a_malformed_token_is_one_line_and_not_echoed(tmp_path: Path) -> None:
    secret = "98765 secretXYZ"  # no colon: never sent anywhere
    line = assert_one_line_error(run_program(tmp_path, token=secret), "BALLBACK_TOKEN")
    assert "secretXYZ" not in line and "98765" not in line


def test_a_database_from_a_newer_version_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    result = run_program(tmp_path, token=TOKEN, database=str(path))
    assert_one_line_error(result, f"schema version {LATEST + 1}", "upgrade Ballback")


async def start_program(
    cwd: Path, api: FakeBotAPI, log_level: str = "INFO"
) -> asyncio.subprocess.Process:
    env = program_env(
        token=TOKEN, api_url=api.base_url, file_url=api.base_file_url, log_level=log_level
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_ballback_run_serves_updates_and_stops_cleanly(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        process = await start_program(tmp_path, api, log_level="DEBUG")
        try:
            await api.wait_for("setMyCommands", 3, timeout=GUARD)
            await api.wait_for("getUpdates", 1, timeout=GUARD)
            api.push_update({"message": message_json("/start", IVAN, date=datetime.now(UTC))})
            (reply,) = await api.wait_for("sendMessage", 1, timeout=GUARD)
            assert "Hi, Ivan!" in reply.params["text"]
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            try:
                _, err = await asyncio.wait_for(process.communicate(), GUARD)
            except TimeoutError:
                process.kill()  # never leave a stuck bot behind
                raise
    log = err.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert "<token>" in log  # DEBUG logs name Bot API URLs: they are redacted
    assert all(r.token == TOKEN for r in api.requests)
    conn = sqlite3.connect(tmp_path / "ballback.db")  # the default database, in the cwd
    try:
        assert conn.execute("SELECT id, first_name FROM users").fetchall() == [(IVAN.id, "Ivan")]
    finally:
        conn.close()


async def test_a_token_telegram_refuses_is_one_line(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        api.fail_next("getMe", status=401, description="Unauthorized")
        process = await start_program(tmp_path, api)
        _, err = await asyncio.wait_for(process.communicate(), GUARD)
    log = err.decode()
    assert process.returncode == 2, log
    assert "Traceback" not in log
    assert log.splitlines()[-1] == (
        "ballback: BALLBACK_TOKEN was refused by Telegram: check it with @BotFather"
    )
    assert [r.method for r in api.requests] == ["getMe"]


# -- Settings ------------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings(token=TOKEN)
    assert settings.database == Path("ballback.db")
    assert settings.timezone == "Europe/Moscow" and str(settings.zone) == "Europe/Moscow"
    assert settings.api_url == "https://api.telegram.org/bot"
    assert settings.file_url == "https://api.telegram.org/file/bot"
    assert settings.log_level == "INFO"


def test_every_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "TOKEN": f"  {TOKEN} ",
        "DATABASE": "/var/lib/ballback/team.db",
        "API_URL": "http://127.0.0.1:8081/bot",
        "FILE_URL": "http://127.0.0.1:8081/file/bot",
        "TIMEZONE": "Asia/Vladivostok",
        "LOG_LEVEL": "debug",
    }
    for name, value in values.items():
        monkeypatch.setenv(f"BALLBACK_{name}", value)
    settings = load_settings()
    assert settings.token.get_secret_value() == TOKEN
    assert settings.database == Path("/var/lib/ballback/team.db")
    assert settings.api_url == "http://127.0.0.1:8081/bot"
    assert settings.file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.timezone == "Asia/Vladivostok"
    assert settings.log_level == "DEBUG"


def test_a_dot_env_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        f"BALLBACK_TOKEN={TOKEN}\nBALLBACK_TIMEZONE=Europe/Berlin\nOTHER=ignored\n"
    )
    assert load_settings().timezone == "Europe/Berlin"
    monkeypatch.setenv("BALLBACK_TIMEZONE", "Asia/Tokyo")
    settings = load_settings()
    assert settings.timezone == "Asia/Tokyo"
    assert settings.token.get_secret_value() == TOKEN


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("TIMEZONE", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("LOG_LEVEL", "loud", "must be one of"),
        ("API_URL", "api.telegram.org/bot", "must start with http"),
        ("FILE_URL", "ftp://files", "must start with http"),
        ("DATABASE", "", "must be a file path"),
    ],
)
def test_a_bad_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv("BALLBACK_TOKEN", TOKEN)
    monkeypatch.setenv(f"BALLBACK_{name}", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"BALLBACK_{name} ") and needle in message
    assert "\n" not in message and TOKEN not in message


@pytest.mark.parametrize("token", ["", "123456789", "abc:AAHtestTOKENtestTOKENtestTOKENtest123"])
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(ConfigError, match=r"^BALLBACK_TOKEN does not look like a bot token"):
        load_settings(token=token)


def test_the_token_never_shows_in_repr_or_errors() -> None:
    settings = Settings(token=SecretStr(TOKEN))
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert TOKEN not in settings.model_dump_json()
