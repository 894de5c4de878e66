"""SQLite's spelling of a statement, rewritten for PostgreSQL (storage/sql.py)."""

from __future__ import annotations

import sqlite3

import pytest

from storage.sql import Sql, SqliteConn, drive, to_postgres


@pytest.mark.parametrize(
    ("sqlite", "postgres", "order"),
    [
        (
            "SELECT 1 FROM t WHERE a = ? AND b = ?",
            "SELECT 1 FROM t WHERE a = $1 AND b = $2",
            (0, 1),
        ),
        # a number used twice is one parameter; the order follows first use
        ("SELECT ?2, ?1, ?2", "SELECT $1, $2, $1", (1, 0)),
        (
            "WHERE x = :owner AND y >= :start AND z = :owner",
            "WHERE x = $1 AND y >= $2 AND z = $1",
            ("owner", "start"),
        ),
        # casts, strings and comments are left alone
        (
            "SELECT CAST(:n AS bigint)::text, ':no', '?' -- ? :no",
            "SELECT CAST($1 AS bigint)::text, ':no', '?' -- ? :no",
            ("n",),
        ),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", (0,)),
        # SQLite's null-safe "differs"
        (
            "WHERE a IS NOT excluded.a OR b IS NOT NULL",
            "WHERE a IS DISTINCT FROM excluded.a OR b IS NOT NULL",
            (),
        ),
        # json_each over a list parameter
        (
            "WHERE id IN (SELECT value FROM json_each(?))",
            "WHERE id IN (SELECT value FROM unnest(CAST($1 AS bigint[])) AS value(value))",
            (0,),
        ),
        (
            "FROM json_each(:ids) AS j JOIN users u ON u.id = j.value",
            "FROM unnest(CAST($1 AS bigint[])) AS j(value) JOIN users u ON u.id = j.value",
            ("ids",),
        ),
        (
            "outcome IN (SELECT value FROM json_each(:codes /* text[] */))",
            "outcome IN (SELECT value FROM unnest(CAST($1 AS text[])) AS value(value))",
            ("codes",),
        ),
    ],
)
def test_to_postgres(sqlite: str, postgres: str, order: tuple[object, ...]) -> None:
    compiled = to_postgres(sqlite)
    assert compiled.text == postgres
    assert compiled.order == order


def test_arguments_follow_the_order_of_first_use() -> None:
    assert to_postgres("SELECT ?2, ?1, ?2").args((10, 20)) == [20, 10]
    assert to_postgres("SELECT :b, :a, :b").args({"a": 1, "b": 2, "unused": 3}) == [2, 1]
    assert to_postgres("SELECT 1").args(()) == []


async def _query(conn: SqliteConn) -> list[object]:
    rows = await conn.all(
        Sql(sqlite="SELECT value FROM json_each(?) ORDER BY value", postgres="unused"), ([3, 1, 2],)
    )
    return [row[0] for row in rows]


def test_sqlite_gets_lists_as_json_and_its_own_text() -> None:
    conn = SqliteConn(sqlite3.connect(":memory:"))
    assert drive(_query(conn)) == [1, 2, 3]
