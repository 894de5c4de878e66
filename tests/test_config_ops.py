"""Settings for running the bot: webhook mode, the listen address, concurrency, .env.example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_listen
from tests.conftest import TOKEN

REPO = Path(__file__).resolve().parent.parent


def settings(**values: Any) -> Settings:
    return load_settings(token=TOKEN, **values)


def test_polling_is_the_default() -> None:
    s = settings()
    assert s.webhook_url is None and s.webhook_secret is None
    assert s.listen_address == ("127.0.0.1", 8080)
    assert s.concurrent_updates == 32


def test_webhook_settings() -> None:
    s = settings(
        webhook_url="https://bot.example.com/tg/hook/",
        webhook_secret="s3cret_-Value",
        listen="0.0.0.0:8443",
    )
    assert s.webhook_url == "https://bot.example.com/tg/hook/"
    assert s.webhook_secret is not None and s.webhook_secret.get_secret_value() == "s3cret_-Value"
    assert s.webhook_path == "tg/hook"
    assert s.listen_address == ("0.0.0.0", 8443)
    assert "s3cret" not in repr(s)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"webhook_url": "http://bot.example.com/hook", "webhook_secret": "x"},
            "BALLBACK_WEBHOOK_URL must be an https:// URL",
        ),
        (
            {"webhook_url": "bot.example.com/hook", "webhook_secret": "x"},
            "BALLBACK_WEBHOOK_URL must be a full URL",
        ),
        (
            {"webhook_url": "https://bot.example.com/hook"},
            "BALLBACK_WEBHOOK_SECRET must be set when BALLBACK_WEBHOOK_URL is set",
        ),
        (
            {"webhook_url": "https://bot.example.com/hook", "webhook_secret": "no spaces!"},
            "BALLBACK_WEBHOOK_SECRET must be 1-256 characters",
        ),
        ({"webhook_secret": "x" * 257}, "BALLBACK_WEBHOOK_SECRET must be 1-256 characters"),
        ({"listen": "8080"}, "BALLBACK_LISTEN must be host:port"),
        ({"listen": "0.0.0.0:99999"}, "BALLBACK_LISTEN must be host:port"),
        ({"concurrent_updates": 0}, "BALLBACK_CONCURRENT_UPDATES"),
    ],
)
def test_bad_operation_settings_name_the_variable(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**values)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert "no spaces!" not in str(caught.value)


def test_plain_http_is_allowed_only_on_this_machine() -> None:
    for host in ("127.0.0.1", "localhost", "[::1]"):
        s = settings(webhook_url=f"http://{host}:8080/hook", webhook_secret="abc")
        assert s.webhook_url == f"http://{host}:8080/hook"


def test_listen_forms() -> None:
    assert parse_listen("[::]:8080") == ("::", 8080)
    assert parse_listen(" 10.0.0.5:80 ") == ("10.0.0.5", 80)
    with pytest.raises(ValueError):
        parse_listen(":8080")


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (REPO / "deploy" / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"#?\s*(BALLBACK_[A-Z_]+)=(.*)", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def test_env_example_lists_every_setting_with_its_default() -> None:
    listed = env_example()
    expected = {f"BALLBACK_{name.upper()}" for name in Settings.model_fields}
    assert set(listed) == expected
    for name, field in Settings.model_fields.items():
        if field.is_required():
            continue
        default = "" if field.default is None else str(field.default)
        assert listed[f"BALLBACK_{name.upper()}"] == default, name
