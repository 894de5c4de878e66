"""Running ``ballback`` as a real process against the fake Bot API (for the operations tests)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import IO, Any

from tests.conftest import TOKEN
from tests.fakeapi import FakeBotAPI

REPO = Path(__file__).resolve().parent.parent


def bot_env(api: FakeBotAPI, database: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing from the developer's shell or a stray ``.env`` leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "BALLBACK_TOKEN": TOKEN,
        "BALLBACK_API_URL": api.base_url,
        "BALLBACK_FILE_URL": api.base_file_url,
        "BALLBACK_DATABASE": str(database),
    }
    env.update(extra)
    return env


async def start_cli(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdout: int | IO[Any] = asyncio.subprocess.PIPE,
    stderr: int | IO[Any] = asyncio.subprocess.PIPE,
) -> asyncio.subprocess.Process:
    """Start ``python -m bot ARGS``; its output goes to pipes unless told otherwise (a file,
    for a process nobody reads from while it runs)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
    )


async def run_cli(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    seconds: float = 20.0,
) -> tuple[int, str, str]:
    """Run ``python -m bot ARGS`` to the end; the fake API keeps serving meanwhile."""
    process = await start_cli(*args, env=env, cwd=cwd)
    async with asyncio.timeout(seconds):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
