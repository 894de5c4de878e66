"""The deploy files name commands and settings that exist (no Docker or systemd needed)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path

from bot.cli import parser
from bot.config import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VARIABLES = {f"BALLBACK_{name.upper()}" for name in Settings.model_fields}


def unit(name: str) -> configparser.ConfigParser:
    config = configparser.ConfigParser(strict=False, interpolation=None)
    config.optionxform = str  # type: ignore[assignment,method-assign]
    config.read_string((DEPLOY / name).read_text())
    return config


def ballback_args(command: str) -> list[str]:
    words = shlex.split(command)
    index = next(i for i, word in enumerate(words) if word.endswith("ballback"))
    return [w for w in words[index + 1 :] if not w.startswith("$")]


def test_systemd_unit_runs_real_commands_hardened() -> None:
    service = unit("ballback.service")["Service"]
    for key in ("ExecStart", "ExecStartPre"):
        parser().parse_args(ballback_args(service[key]))
    assert service["DynamicUser"] == "yes"
    assert service["StateDirectory"] == "ballback"
    assert service["Restart"] == "on-failure"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    text = (DEPLOY / "ballback.service").read_text()
    assert "Environment=BALLBACK_DATABASE=/var/lib/ballback/ballback.db" in text
    backup = unit("ballback-backup.service")["Service"]
    assert "ballback backup" in backup["ExecStart"]
    assert unit("ballback-backup.timer")["Timer"]["OnCalendar"]


def test_dockerfile_non_root_volume_and_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert re.search(r"^USER ballback$", text, re.MULTILINE)
    assert 'VOLUME ["/data"]' in text
    assert "BALLBACK_DATABASE=/data/ballback.db" in text
    health = re.search(r"^\s+CMD (\[.*\])$", text, re.MULTILINE)
    assert health is not None
    check = json.loads(health[1])
    assert check[:2] == ["ballback", "check"]
    assert parser().parse_args(check[1:]).offline
    assert json.loads(re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)[-1]) == ["run"]
    for variable in re.findall(r"\b(BALLBACK_[A-Z_]+)=", text):
        assert variable in VARIABLES


def test_compose_uses_the_image_setup() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert "dockerfile: deploy/Dockerfile" in text
    assert "env_file: .env" in text
    assert "ballback-data:/data" in text
    for variable in re.findall(r"\b(BALLBACK_[A-Z_]+):", text):
        assert variable in VARIABLES
