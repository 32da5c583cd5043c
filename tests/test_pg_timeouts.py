"""PostgreSQL connections made by the app carry its timeouts (api/pgdeadline.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api import db
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.postgresql


def test_statements_get_the_configured_timeout_and_are_cancelled_past_it(postgres_admin):
    engine = db.make_engine(POSTGRES_URL, connect_timeout=3, statement_timeout=1)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SHOW statement_timeout")) == "1s"
            started = time.monotonic()
            with pytest.raises(OperationalError, match="statement timeout"):
                connection.execute(text("SELECT pg_sleep(3)"))
            assert time.monotonic() - started < 2.5
    finally:
        engine.dispose()


def test_a_statement_timeout_of_zero_leaves_statements_unbounded(postgres_admin):
    engine = db.make_engine(POSTGRES_URL, connect_timeout=3, statement_timeout=0)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SHOW statement_timeout")) == "0"
            assert connection.connection.dbapi_connection.deadline is None  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_a_bulk_write_runs_past_the_timeouts_and_its_connection_is_not_pooled(postgres_admin):
    engine = db.make_engine(POSTGRES_URL, connect_timeout=1, statement_timeout=1)
    try:
        with db.bulk_writes(engine) as connection:
            assert connection.scalar(text("SHOW statement_timeout")) == "0"
            # Past both the statement timeout and the round-trip deadline (1 + 1 s).
            connection.execute(text("SELECT pg_sleep(2.5)"))
            bulk = connection.scalar(text("SELECT pg_backend_pid()"))
            connection.commit()
        with engine.connect() as connection:
            assert connection.scalar(text("SHOW statement_timeout")) == "1s"
            assert connection.scalar(text("SELECT pg_backend_pid()")) != bulk
    finally:
        engine.dispose()
