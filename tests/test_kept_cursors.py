"""Prepared statements reuse one cursor per psycopg connection, and drop it when a
statement fails; sqlite3 connections get a new (cheap) cursor every time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, literal_column, select
from sqlalchemy.orm import Session

from api import prepared
from tests.conftest import POSTGRES_URL


@pytest.fixture
def postgres_engine(postgres_admin: Engine) -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL)
    yield engine
    engine.dispose()


def _compiled(engine: Engine, sql: str) -> prepared.Compiled:
    return prepared.compile_for(select(literal_column(sql).label("v")), engine.dialect)


def test_statements_on_a_psycopg_connection_share_its_kept_cursor(postgres_engine: Engine):
    one = _compiled(postgres_engine, "1")
    two = _compiled(postgres_engine, "2")
    with Session(postgres_engine) as session:
        assert one.rows(session) == [(1,)]
        driver = prepared.driver_connection(session)
        kept = getattr(driver, prepared.KEPT_CURSOR)
        assert not kept.closed
        assert two.rows(session) == [(2,)]
        assert getattr(driver, prepared.KEPT_CURSOR) is kept


def test_a_failed_statement_closes_the_kept_cursor_and_the_next_gets_a_new_one(
    postgres_engine: Engine,
):
    good = _compiled(postgres_engine, "1")
    failing = _compiled(postgres_engine, "1 / 0")
    with Session(postgres_engine) as session:
        assert good.rows(session) == [(1,)]
        driver = prepared.driver_connection(session)
        kept = getattr(driver, prepared.KEPT_CURSOR)
        with pytest.raises(Exception, match="division by zero"):
            failing.rows(session)
        assert kept.closed
        assert not hasattr(driver, prepared.KEPT_CURSOR)
        session.rollback()
        assert good.rows(session) == [(1,)]
        renewed = getattr(prepared.driver_connection(session), prepared.KEPT_CURSOR)
        assert renewed is not kept
        assert not renewed.closed


def test_a_sqlite3_connection_keeps_no_cursor(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'kept.sqlite3'}")
    try:
        compiled = _compiled(engine, "1")
        with Session(engine) as session:
            assert compiled.rows(session) == [(1,)]
            assert compiled.rows(session) == [(1,)]
            assert not hasattr(prepared.driver_connection(session), prepared.KEPT_CURSOR)
    finally:
        engine.dispose()
