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


# -- deploy/docker-compose.postgres.yml, read as plain text (PyYAML is not a dependency) ------


HARDENING = "read_only tmpfs cap_drop security_opt mem_limit logging stop_signal stop_grace_period"


def mapping_lines(text: str) -> list[str]:
    """The YAML's lines without comments and blank lines."""
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def section(lines: list[str], key: str) -> list[str]:
    """The lines nested under ``key:`` at the outermost level of ``lines``."""
    level = min(_indent(line) for line in lines)
    start = lines.index(" " * level + key + ":")
    body: list[str] = []
    for line in lines[start + 1 :]:
        if _indent(line) <= level:
            break
        body.append(line)
    assert body, key
    return body


def entries(lines: list[str]) -> dict[str, str]:
    """The outermost level's ``key: value`` pairs (``""`` for a nested block)."""
    level = min(_indent(line) for line in lines)
    pairs = [line.strip().split(":", 1) for line in lines if _indent(line) == level]
    return {key: value.strip() for key, value in pairs}


def command_lines(text: str) -> list[list[str]]:
    """The shell commands in the comments (lines starting ``docker`` or ``ballback``, with their
    ``\\`` continuations), and every `ballback ...` quoted in the prose, as words."""
    commands: list[list[str]] = []
    pending = ""
    for line in text.splitlines():
        if not line.lstrip().startswith("#"):
            continue
        body = line.lstrip()[1:].strip()
        if pending:
            body, pending = f"{pending} {body}", ""
        elif not body.startswith(("docker ", "ballback ")):  # prose
            commands += [shlex.split(quoted) for quoted in re.findall(r"`(ballback [^`]*)`", body)]
            continue
        if body.endswith("\\"):
            pending = body[:-1].strip()
            continue
        commands.append(shlex.split(body, comments=True))
    assert not pending
    return commands


def ballback_runs(words: list[str], entrypoint: str) -> list[list[str]]:
    """The arguments the ``ballback`` program gets from one command line: run directly, by
    ``docker compose exec|run`` in the ballback service (``run`` goes through the image's
    entrypoint unless ``--entrypoint`` replaces it), or by ``sh -c`` in one of these."""
    if words[:1] == ["exec"]:  # the shell builtin
        words = words[1:]
    if words[:1] == ["ballback"]:
        return [words[1:]]
    if words[:2] != ["docker", "compose"]:
        return []
    verb = next((i for i, word in enumerate(words) if word in {"exec", "run"}), None)
    if verb is None:
        return []
    service = next(i for i in range(verb + 1, len(words)) if words[i] in {"ballback", "postgres"})
    if words[service] != "ballback":
        return []
    rest = words[service + 1 :]
    if words[verb] == "exec":
        program, args = rest[0], rest[1:]
    else:
        options = words[verb + 1 : service]
        replaced = options.index("--entrypoint") if "--entrypoint" in options else None
        program = entrypoint if replaced is None else options[replaced + 1]
        args = rest
    if program == "ballback":
        return [args]
    if program == "sh" and args[:1] == ["-c"]:
        return ballback_runs(shlex.split(args[1]), entrypoint)
    return []


def test_compose_postgres_two_instances_on_one_database() -> None:
    text = (DEPLOY / "docker-compose.postgres.yml").read_text()
    lines = mapping_lines(text)
    services = section(lines, "services")
    assert set(entries(services)) == {"postgres", "ballback"}

    postgres = section(services, "postgres")
    assert entries(postgres)["image"] == "postgres:16"
    env = entries(section(postgres, "environment"))
    assert set(env) == {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")  # required
    volume = section(postgres, "volumes")[0].strip().removeprefix("- ")
    assert volume.endswith(":/var/lib/postgresql/data")
    assert volume.split(":")[0] in entries(section(lines, "volumes"))  # a named volume
    assert "pg_isready" in entries(section(postgres, "healthcheck"))["test"]

    bot = section(services, "ballback")
    assert entries(section(bot, "build"))["dockerfile"] == "deploy/Dockerfile"
    assert entries(bot)["env_file"] == ".env"
    depends = section(section(bot, "depends_on"), "postgres")
    assert entries(depends)["condition"] == "service_healthy"
    assert entries(section(bot, "deploy"))["replicas"] == "2"
    url = entries(section(bot, "environment"))["BALLBACK_DATABASE"]
    assert re.fullmatch(
        r"postgresql://\$\{POSTGRES_USER[:-]*\w*\}:\$\{POSTGRES_PASSWORD:\?[^}]*\}"
        r"@postgres:5432/\$\{POSTGRES_DB[:-]*\w*\}",
        url,
    ), url
    resolved = re.sub(r"\$\{(\w+)[^}]*\}", lambda m: m[1].lower(), url)
    token = "123456789:" + "A" * 35
    assert Settings(token=token, database=resolved).postgres

    # The same hardening as the SQLite Compose file's service.
    single = section(
        section(mapping_lines((DEPLOY / "docker-compose.yml").read_text()), "services"), "ballback"
    )
    for key in HARDENING.split():
        assert entries(bot)[key] == entries(single)[key], key
        if not entries(bot)[key]:
            assert section(bot, key) == section(single, key), key

    for variable in re.findall(r"\bBALLBACK_[A-Z_]+", text):  # comments included
        assert variable in VARIABLES, variable
    assert "docker compose -f deploy/docker-compose.postgres.yml up -d --build" in text
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    entrypoint = json.loads(re.findall(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.MULTILINE)[-1])
    assert entrypoint == ["ballback"]
    commands = [
        args for words in command_lines(text) for args in ballback_runs(words, entrypoint[0])
    ]
    for args in commands:
        parser().parse_args(args)
    assert {args[0] for args in commands} >= {"check", "migrate-db", "backup"}
    migrate = next(args for args in commands if args[0] == "migrate-db")
    assert migrate[1].endswith(".db") and migrate[2] == "$BALLBACK_DATABASE"
