"""Statements run through psycopg's extended protocol directly (api/pgexecute.py)
give what psycopg's cursor gives, fail as it fails, and keep out of transactions."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from api import pgexecute
from api.pgdeadline import connection_class
from tests.conftest import POSTGRES_URL
from tests.faultproxy import FaultProxy

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


# A round trip's deadline in the tests below: short, so that a silent server costs little.
DEADLINE = 1.0


def libpq_url(**changes: Any) -> str:
    return make_url(POSTGRES_URL).set(drivername="postgresql", **changes).render_as_string(False)


@pytest.fixture
def connection(postgres_admin: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(libpq_url(), autocommit=True) as connection:
        yield connection


@pytest.fixture
def proxy(postgres_admin: Any) -> Iterator[FaultProxy]:
    host = make_url(POSTGRES_URL)
    with FaultProxy((host.host or "127.0.0.1", host.port or 5432)) as proxy:
        yield proxy


@pytest.fixture
def proxied(proxy: FaultProxy) -> Iterator[psycopg.Connection[Any]]:
    """A connection with a deadline, through ``proxy``."""
    url = libpq_url(host="127.0.0.1", port=proxy.port)
    with connection_class(DEADLINE).connect(url, autocommit=True) as connection:
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


def test_a_silent_server_fails_the_statement_at_the_deadline_and_closes_the_connection(
    proxy, proxied
):
    statement = pgexecute.numbered("SELECT %(n)s::int")
    assert pgexecute.rows(proxied, statement, {"n": 1}) == [(1,)]
    proxy.stall()
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError, match=r"did not answer within 1\.0 seconds"):
        pgexecute.rows(proxied, statement, {"n": 2})
    waited = time.monotonic() - started
    assert DEADLINE <= waited < DEADLINE + 2.0
    assert proxied.closed


def test_a_lost_connection_fails_the_statement_with_psycopgs_error(proxy, proxied):
    statement = pgexecute.numbered("SELECT 1")
    assert pgexecute.rows(proxied, statement, {}) == [(1,)]
    proxy.cut()
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        pgexecute.rows(proxied, statement, {})
    assert time.monotonic() - started < DEADLINE  # told at once, not at the deadline


def test_a_statement_larger_than_the_sockets_buffer_is_sent_whole(connection):
    # Several MB cannot be written at once: the rest goes as the socket drains.
    big = "x" * (8 * 1024 * 1024)
    statement = pgexecute.numbered(
        "SELECT length(%(big)s::text), encode(sha256(convert_to(%(big)s::text, 'UTF8')), 'hex')"
    )
    rows = pgexecute.rows(connection, statement, {"big": big})
    assert rows == [(len(big), hashlib.sha256(big.encode()).hexdigest())]
