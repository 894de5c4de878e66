"""A throw-away PostgreSQL server for the tests: its own cluster in a temporary directory, on a
free port of 127.0.0.1, without durability (``fsync``, ``synchronous_commit`` and
``full_page_writes`` off), removed when it stops.

Every test that asks for one gets a database of its own, empty (no tables: the application
migrates it itself). The ways to make one, measured on this machine (PostgreSQL 15, 2 CPUs,
other jobs running; 100 rounds, interleaved; milliseconds, median / 90th percentile), with
the cluster on a tmpfs (``/dev/shm``) and, for comparison, on the disk (``/tmp``, ext4)::

                                                          tmpfs         disk
    CREATE DATABASE TEMPLATE template0 STRATEGY WAL_LOG    9.7 / 12.4    37 - 240
    CREATE DATABASE TEMPLATE template1 STRATEGY WAL_LOG    9.9 / 12.4    38 - 240
    CREATE DATABASE TEMPLATE template0 STRATEGY FILE_COPY  8.3 / 10.2    40 - 240
    CREATE DATABASE TEMPLATE template1 STRATEGY FILE_COPY  8.4 / 10.7    32 - 240
    CREATE DATABASE TEMPLATE <an empty template> FILE_COPY 8.2 / 10.0    32 - 240
    DROP SCHEMA public CASCADE; CREATE SCHEMA public,
        on a reused database that is still empty           0.6 / 0.7
        on one the application migrated (the usual case)   7.5 / 10.4
    DROP DATABASE ... WITH (FORCE)                         4.1 / 5.1     6 - 26
    (the application's migrate_pg, for scale)             29   / 41

On the disk every way is slow and erratic (tens to hundreds of milliseconds, whatever else
writes: a new database is a few hundred files, 7.5 MB) even with ``fsync`` off; on a tmpfs
the strategies are within a millisecond or two of each other, ``FILE_COPY`` (copy the files,
after a checkpoint that costs nothing without ``fsync``) ahead of ``WAL_LOG`` (PostgreSQL
15's default: every page through the WAL), and cloning template0, template1 or a template of
our own is the same. Emptying a reused database costs as much as a new one once the
application has migrated it, and it is not correct in general: it waits for (or deadlocks
with) what a finished test left connected, and keeps what is not in ``public`` (advisory
locks held by a leaked session, ``ALTER DATABASE`` settings, other schemas).

So: the cluster lives on ``/dev/shm`` when there is one, each test gets ``CREATE DATABASE ...
TEMPLATE template0 STRATEGY FILE_COPY`` (nobody can have changed template0, nor be connected
to it), the next test's database is made in the background while a test runs (a test that
asks for one finds it ready: 0.0 ms median), and a finished test's database is dropped in
the background, ``WITH (FORCE)``: whatever it left connected is cut off.

Run as root (a container), the server runs as the ``postgres`` system user (it refuses to run
as root), in a directory that user owns.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

__all__ = ["PgServer", "find_pg_bindir"]

T = TypeVar("T")

SUPERUSER = "postgres"  # the cluster's superuser (initdb -U), and the system user when root
ADMIN_DB = "postgres"  # the admin connection's database (never template0/template1)
START_TIMEOUT = 60  # seconds for pg_ctl -w
_PORT_TRIES = 3  # another process may take the free port before the server binds it


def _version_key(bindir: Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` -> (15,); ``.../9.6/bin`` -> (9, 6)."""
    parts = bindir.parent.name.split(".")
    return tuple(int(part) for part in parts) if all(p.isdigit() for p in parts) else (-1,)


def find_pg_bindir() -> Path | None:
    """The directory of the PostgreSQL server binaries: ``pg_config --bindir`` if it has
    ``initdb``, else the newest ``/usr/lib/postgresql/*/bin`` that has it (Debian), else None."""
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        try:
            done = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            pass
        else:
            bindir = Path(done.stdout.strip())
            if done.stdout.strip() and (bindir / "initdb").is_file():
                return bindir
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.is_file()]
    return max(found, key=_version_key) if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _default_parent() -> Path | None:
    """Where the cluster goes: shared memory (a tmpfs) when there is one, as nothing of it
    must survive and the disk is the slowest part of making a database; else the temp dir."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


class _Loop:
    """An event loop of its own on a daemon thread: the server's admin connection lives there,
    so that synchronous fixtures can use it whatever loop (or none) the test runs in."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pgserver", daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


class PgServer:
    """One PostgreSQL cluster: ``start()``, ``fresh_database()`` per test, ``stop()``."""

    def __init__(
        self, bindir: Path, *, parent: Path | None = None, prepare_next: bool = True
    ) -> None:
        self.bindir = bindir
        self.parent = parent if parent is not None else _default_parent()
        self.prepare_next = prepare_next  # make the next test's database while a test runs
        self.root: Path | None = None
        self.port = 0
        self._as_root = os.geteuid() == 0
        self._names = itertools.count(1)
        self._loop: _Loop | None = None
        self._admin: asyncpg.Connection | None = None
        self._lock: asyncio.Lock | None = None  # one admin statement at a time
        self._next: Future[str] | None = None

    # -- the cluster ----------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bindir / tool), *args]
        return ["runuser", "-u", SUPERUSER, "--", *command] if self._as_root else command

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            self._command(tool, *args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 30,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}{self._log_tail()}"
            )

    @property
    def logfile(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "server.log"

    def _log_tail(self) -> str:
        if self.root is None or not self.logfile.exists():
            return ""
        lines = self.logfile.read_text(errors="replace").splitlines()
        return "\nserver.log:\n" + "\n".join(lines[-30:])

    def start(self) -> PgServer:
        if self.root is not None:
            return self
        self.root = Path(tempfile.mkdtemp(prefix="ballback-pg-", dir=self.parent))
        atexit.register(self.stop)
        try:
            if self._as_root:
                try:
                    user = pwd.getpwnam(SUPERUSER)
                except KeyError:
                    raise RuntimeError(
                        f"PostgreSQL refuses to run as root, and there is no {SUPERUSER!r} "
                        "system user to run it as (Debian's postgresql package makes it)"
                    ) from None
                os.chown(self.root, user.pw_uid, user.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            )
            for attempt in range(1, _PORT_TRIES + 1):
                self.port = _free_port()
                try:
                    self._run("pg_ctl", *self._start_args())
                    break
                except RuntimeError:
                    if attempt == _PORT_TRIES:
                        raise
            self._loop = _Loop()
            self._loop.run(self._connect_admin())
        except BaseException:
            self.stop()
            raise
        return self

    def _start_args(self) -> Sequence[str]:
        options = (
            f"-k {self.sockdir} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        return (
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        """Stop the server at once (no shutdown checkpoint) and remove its directory."""
        root, self.root = self.root, None
        if root is None:
            return
        atexit.unregister(self.stop)
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.run(self._close_admin(), timeout=10)
            self._loop.close()
            self._loop = None
        if (root / "data" / "postmaster.pid").exists():
            command = [str(self.bindir / "pg_ctl"), "-D", str(root / "data")]
            command += ["stop", "-m", "immediate", "-w"]
            if self._as_root:
                command = ["runuser", "-u", SUPERUSER, "--", *command]
            subprocess.run(command, capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)

    def dsn(self, dbname: str = ADMIN_DB) -> str:
        assert self.root is not None, "the server is not started"
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    # -- a database per test --------------------------------------------------------------------

    async def _connect_admin(self) -> None:
        self._admin = await asyncpg.connect(self.dsn(ADMIN_DB))
        self._lock = asyncio.Lock()

    async def _close_admin(self) -> None:
        if self._next is not None:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self._next)
        if self._admin is not None and self._lock is not None:
            async with self._lock:  # after the drops still queued
                await self._admin.close()
            self._admin = None

    async def _admin_execute(self, sql: str) -> None:
        assert self._admin is not None and self._lock is not None
        async with self._lock:
            await self._admin.execute(sql)

    async def _create(self) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        await self._admin_execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")
        return name

    def fresh_database(self) -> str:
        """The name of a new, empty database (the one made ahead, if there is one)."""
        assert self._loop is not None, "the server is not started"
        made, self._next = self._next, None
        name = made.result(60) if made is not None else self._loop.run(self._create())
        if self.prepare_next:
            self._next = self._loop.submit(self._create())
        return name

    def drop_database(self, name: str, *, wait: bool = False) -> None:
        """Drop a test's database, cutting off the connections it left open; in the
        background unless ``wait``."""
        assert self._loop is not None, "the server is not started"
        done = self._loop.submit(
            self._admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        )
        if wait:
            done.result(60)
