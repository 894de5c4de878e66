"""Every test that uses the ``database`` fixture (the ``settings`` and ``bot`` fixtures do) runs
twice: on a SQLite file and on a fresh PostgreSQL database (``tests/pgserver.py``). A test that
is about SQLite itself (its file, its PRAGMAs, a backup of it) says so with
``@pytest.mark.sqlite_only`` (or ``pytestmark`` for a whole module) and runs once."""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about SQLite itself; not run on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", BACKENDS[:1] if only else BACKENDS)


@pytest.fixture
def database(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Path | str:
    """Where the test's database lives: a SQLite file, or a PostgreSQL URL."""
    if backend == "postgres":
        dsn: str = request.getfixturevalue("pg_dsn")
        return dsn
    return tmp_path / "ballback.db"
