"""The connection a unit of work sees, whichever backend runs it.

A unit of work is an ``async def unit(conn: Conn, ...)`` that runs a few statements through
:class:`Conn` and returns a value; ``Database.transaction(unit, ...)`` runs it as one
transaction. Each unit is written once: the same code runs on SQLite and on PostgreSQL.

SQL is written in SQLite's spelling, which PostgreSQL mostly shares. The PostgreSQL
connection rewrites, once per statement text (:func:`to_postgres`), the few spellings that
differ:

- parameters: ``?``, ``?NNN`` and ``:name`` become ``$n`` (a name or number used twice is one
  parameter);
- ``a IS NOT b`` (SQLite's null-safe "differs", when ``b`` is not ``NULL``) becomes
  ``a IS DISTINCT FROM b``;
- ``json_each(p)`` over a list parameter becomes ``unnest(p::bigint[])`` (or the array type
  named in a comment right after the parameter, ``json_each(:codes /* text[] */)``), with its
  one column named ``value`` as in SQLite.

A list or tuple passed as a parameter is a JSON array for SQLite (``json_each``) and an array
for PostgreSQL. A statement that differs beyond that is written for each backend:
``Sql(sqlite=..., postgres=...)``.

On SQLite the connection's coroutines never suspend (``sqlite3`` answers synchronously), so a
whole unit of work runs without giving the event loop away (:func:`drive`): the hot path's
units run inline, and the ones that scan run on a connection's own thread.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

__all__ = ["Conn", "Params", "Row", "Sql", "SqliteConn", "drive", "to_postgres"]

T = TypeVar("T")
Dialect = Literal["sqlite", "postgres"]
Params = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """A result row: by column name or position (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __len__(self) -> int: ...

    def keys(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Sql:
    """A statement whose text differs between the backends."""

    sqlite: str
    postgres: str

    def text(self, dialect: Dialect) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgres


Statement = str | Sql


class Conn(Protocol):
    """One connection inside one transaction (or a read)."""

    dialect: Dialect

    async def one(self, sql: Statement, params: Params = ()) -> Any:
        """The first row, or ``None``."""

    async def all(self, sql: Statement, params: Params = ()) -> list[Any]:
        """Every row."""

    async def run(self, sql: Statement, params: Params = ()) -> int:
        """Run a statement; how many rows it changed."""

    async def many(self, sql: Statement, rows: Iterable[Params]) -> None:
        """Run one statement once per set of parameters."""


def _sqlite_params(params: Params) -> Params:
    """Lists become JSON arrays, for ``json_each``."""
    if isinstance(params, Mapping):
        if any(isinstance(v, list | tuple) for v in params.values()):
            return {k: _json(v) for k, v in params.items()}
        return params
    if any(isinstance(v, list | tuple) for v in params):
        return [_json(v) for v in params]
    return params


def _json(value: Any) -> Any:
    return json.dumps(list(value)) if isinstance(value, list | tuple) else value


class SqliteConn:
    """:class:`Conn` over a plain ``sqlite3`` connection: every coroutine completes at once."""

    dialect: Dialect = "sqlite"
    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    async def one(self, sql: Statement, params: Params = ()) -> Any:
        text = sql if isinstance(sql, str) else sql.sqlite
        return self.raw.execute(text, _sqlite_params(params)).fetchone()

    async def all(self, sql: Statement, params: Params = ()) -> list[Any]:
        text = sql if isinstance(sql, str) else sql.sqlite
        return self.raw.execute(text, _sqlite_params(params)).fetchall()

    async def run(self, sql: Statement, params: Params = ()) -> int:
        text = sql if isinstance(sql, str) else sql.sqlite
        return self.raw.execute(text, _sqlite_params(params)).rowcount

    async def many(self, sql: Statement, rows: Iterable[Params]) -> None:
        text = sql if isinstance(sql, str) else sql.sqlite
        self.raw.executemany(text, (_sqlite_params(p) for p in rows))


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a unit of work on :class:`SqliteConn`) to its end,
    synchronously, in whichever thread calls this."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a unit of work on SQLite awaited something other than its connection")


# -- SQLite's spelling to PostgreSQL's ------------------------------------------------------------

_TOKENS = re.compile(
    r"""
    (?P<string>'(?:[^']|'')*')
    | (?P<comment>--[^\n]*)
    | (?P<numbered>\?(?P<number>\d+))
    | (?P<plain>\?)
    | (?<!:):(?P<name>[A-Za-z_]\w*)
    """,
    re.VERBOSE,
)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b)", re.IGNORECASE)
_EACH = re.compile(
    r"\bjson_each\(\s*(?P<param>\$\d+)\s*(?:/\*\s*(?P<type>\w+\[\])\s*\*/\s*)?\)"
    r"(?P<alias>\s+AS\s+(?P<name>\w+))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement in PostgreSQL's spelling, and where each ``$n`` takes its value from."""

    text: str
    order: tuple[int | str, ...]  # positional index or name, per ``$n``

    def args(self, params: Params) -> list[Any]:
        if not self.order:
            return []
        if isinstance(params, Mapping):
            return [params[str(key)] for key in self.order]
        return [params[int(key)] for key in self.order]


@functools.lru_cache(maxsize=1024)
def to_postgres(sql: str) -> Compiled:
    """``sql`` (SQLite's spelling) in PostgreSQL's (see the module notes)."""
    order: list[int | str] = []
    seen: dict[int | str, int] = {}
    plain = 0

    def slot(key: int | str) -> str:
        if key not in seen:
            order.append(key)
            seen[key] = len(order)
        return f"${seen[key]}"

    def replace(match: re.Match[str]) -> str:
        nonlocal plain
        if match["string"] is not None or match["comment"] is not None:
            return match[0]
        if match["numbered"] is not None:
            return slot(int(match["number"]) - 1)
        if match["plain"] is not None:
            plain += 1
            return slot(plain - 1)
        return slot(match["name"])

    text = _TOKENS.sub(replace, sql)
    text = _IS_NOT.sub("IS DISTINCT FROM ", text)

    def each(match: re.Match[str]) -> str:
        array = f"unnest(CAST({match['param']} AS {match['type'] or 'bigint[]'}))"
        name = match["name"] or "value"
        return f"{array} AS {name}(value)"

    text = _EACH.sub(each, text)
    return Compiled(text, tuple(order))
