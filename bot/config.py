"""Settings, read once from the environment and an optional ``.env`` file.

Every variable is prefixed ``BALLBACK_``. pydantic-settings does the reading, type coercion and
validation; :func:`load_settings` turns a validation failure into one line naming the variable,
without a traceback and without ever echoing the token.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")
# Telegram's rule for setWebhook's secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BALLBACK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    token: SecretStr = Field(description="Bot token from @BotFather")
    database: Path | str = Field(
        default=Path("ballback.db"),
        description="SQLite file, or a postgresql:// URL for PostgreSQL",
    )
    api_url: str = Field(default="https://api.telegram.org/bot", description="Bot API base URL")
    file_url: str = Field(
        default="https://api.telegram.org/file/bot", description="Bot API file base URL"
    )
    timezone: str = Field(default="Europe/Moscow", description="Default IANA time zone")
    log_level: str = Field(default="INFO", description="Logging level")
    webhook_url: str | None = Field(
        default=None,
        description="Public https URL Telegram posts updates to; unset means long polling",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (webhook mode)",
    )
    listen: str = Field(
        default="127.0.0.1:8080", description="host:port the webhook server listens on"
    )
    concurrent_updates: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="Updates handled at once (each chat in order); 1 = one by one",
    )

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_RE.fullmatch(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token (expected 123456789:AAH...)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("database")
    @classmethod
    def _database_path(cls, value: Path | str) -> Path | str:
        text = str(value).strip()
        if text.startswith(("postgresql://", "postgres://")):
            return text
        if "://" in text:
            raise ValueError("must be a file path (SQLite) or a postgresql:// URL")
        if not text or text == ".":
            raise ValueError("must be a file path, e.g. ballback.db, or a postgresql:// URL")
        return Path(text).expanduser()

    @property
    def postgres(self) -> bool:
        """The database is a PostgreSQL server, not a SQLite file."""
        return isinstance(self.database, str)

    @field_validator("api_url", "file_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if not parts.hostname:
            raise ValueError("must be a full URL like https://bot.example.com/telegram")
        if parts.scheme != "https" and not (
            parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
        ):
            raise ValueError("must be an https:// URL (Telegram only posts to https)")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        secret = value.get_secret_value().strip() if value is not None else ""
        if not secret:
            if info.data.get("webhook_url"):
                raise ValueError(
                    "must be set when BALLBACK_WEBHOOK_URL is set "
                    "(1-256 characters: letters, digits, _ and -)"
                )
            return None
        if not SECRET_RE.fullmatch(secret):
            raise ValueError("must be 1-256 characters: letters, digits, _ and -")
        return SecretStr(secret)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    @property
    def webhook_path(self) -> str:
        """The path part of the webhook URL: where the local server expects the posts."""
        return urlsplit(self.webhook_url or "").path.strip("/")


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6) as a pair; raises ``ValueError`` if malformed."""
    host, sep, port_text = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError("must be host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
    return host, int(port_text)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, raising :class:`ConfigError` with a one-line, token-free message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        variable = f"BALLBACK_{field.upper()}"
        if first["type"] == "missing":
            hint = " (get a token from @BotFather)" if field == "token" else ""
            raise ConfigError(f"{variable} is not set{hint}") from None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{variable} {message}") from None
    except (SettingsError, OSError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot read the settings: {reason}") from None
