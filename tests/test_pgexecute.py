"""Statements run through psycopg's extended protocol directly (api/pgexecute.py)
give what psycopg's cursor gives, fail as it fails, and keep out of transactions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from api import pgexecute
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.postgresql

# Every kind of value the read paths bind or read: text, integers, a list bound as an
# array, dates, times with a zone, JSON, and NULLs of each.
STATEMENT = """
SELECT %(name)s::text AS name, %(count)s::int AS count, %(ids)s::text[] AS ids,
       %(ids)s::text[] = ARRAY['a', 'b'] AS same_list_twice,
       DATE '2025-03-01' + %(count)s AS day,
       TIMESTAMPTZ '2025-03-01 12:00:00+00' AS at,
       '{"quote": "a 100%% cut"}'::json AS document,
       NULL::text AS nothing, %(missing)s::int AS missing
"""
VALUES = {"name": "O'Brien; --", "count": 3, "ids": ["a", "b"], "missing": None}


@pytest.fixture
def connection(postgres_admin: Any) -> Iterator[psycopg.Connection[Any]]:
    url = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def test_placeholders_are_numbered_in_order_once_per_name():
    statement = pgexecute.numbered("SELECT %(b)s, %(a)s, %(b)s, 'x%%'")
    assert statement.sql == b"SELECT $1, $2, $1, 'x%'"
    assert statement.names == ("b", "a")


def test_rows_are_those_psycopgs_cursor_gives(connection):
    with connection.cursor() as cursor:
        cursor.execute(STATEMENT, VALUES)
        expected = cursor.fetchall()
    rows = pgexecute.rows(connection, pgexecute.numbered(STATEMENT), VALUES)
    assert rows == expected
    (row,) = rows
    assert row[:5] == ("O'Brien; --", 3, ["a", "b"], True, date(2025, 3, 4))
    assert row[5] == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert row[6:] == ({"quote": "a 100% cut"}, None, None)


def test_a_statement_is_prepared_once_per_connection_and_parameter_types(connection):
    statement = pgexecute.numbered("SELECT %(n)s::text")
    for value in ("one", "two", "three"):
        assert pgexecute.rows(connection, statement, {"n": value}) == [(value,)]
    prepared = connection.execute(
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '_parley_%%'"
    ).fetchone()
    assert prepared == (1,)


def test_a_failing_statement_raises_psycopgs_error_and_the_next_one_runs(connection):
    with pytest.raises(psycopg.errors.UndefinedTable):
        pgexecute.rows(connection, pgexecute.numbered("SELECT * FROM no_such_table"), {})
    assert pgexecute.rows(connection, pgexecute.numbered("SELECT 1"), {}) == [(1,)]


def test_only_connections_in_autocommit_are_used(connection):
    assert pgexecute.usable(connection)
    connection.autocommit = False
    assert not pgexecute.usable(connection)
    assert not pgexecute.usable(object())
