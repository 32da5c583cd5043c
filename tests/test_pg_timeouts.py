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
