"""Settings, read once from the environment and an optional ``.env`` file.

Every variable is prefixed ``BALLBACK_``. pydantic-settings does the reading, type coercion and
validation; :func:`load_settings` turns a validation failure into one line naming the variable,
without a traceback and without ever echoing the token.
"""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")


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
    database: Path = Field(default=Path("ballback.db"), description="SQLite file")
    api_url: str = Field(default="https://api.telegram.org/bot", description="Bot API base URL")
    file_url: str = Field(
        default="https://api.telegram.org/file/bot", description="Bot API file base URL"
    )
    timezone: str = Field(default="Europe/Moscow", description="Default IANA time zone")
    log_level: str = Field(default="INFO", description="Logging level")

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_RE.fullmatch(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token (expected 123456789:AAH...)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("database")
    @classmethod
    def _database_path(cls, value: Path) -> Path:
        if not str(value).strip() or str(value) == ".":
            raise ValueError("must be a file path, e.g. ballback.db")
        return value.expanduser()

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

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


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
