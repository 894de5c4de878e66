"""The message catalog: the same keys and placeholders in both languages, every command listed."""

from __future__ import annotations

import string

import pytest

from bot.locales import en, ru
from handlers import PRIVATE_COMMANDS
from tests.conftest import IVAN, OLGA, BotHarness, last_text


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(en.MESSAGES) == set(ru.MESSAGES)
    for key, template in en.MESSAGES.items():
        assert placeholders(template) == placeholders(ru.MESSAGES[key]), key


@pytest.mark.parametrize("command", PRIVATE_COMMANDS)
def test_every_command_has_a_menu_line(command: str) -> None:
    for catalog in (en.MESSAGES, ru.MESSAGES):
        assert 0 < len(catalog[f"cmd.{command}"]) <= 256


async def test_help_names_the_pipeline_commands(bot: BotHarness) -> None:
    for person in (IVAN, OLGA):
        text = last_text(await bot.send("/help", person))
        assert len(text) < 4096
        for command in ("/pipeline", "/contact", "/list", "/export", "/forget", ".xlsx"):
            assert command in text
