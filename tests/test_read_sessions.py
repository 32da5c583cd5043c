"""A read request's fast paths and its session share one connection and one snapshot,
and give the connection back when the request ends."""

from __future__ import annotations

from pathlib import Path

import psycopg
from flask import Flask
from sqlalchemy import select, text

from api import db, models, parley
from api.lifecycle import prepare_database
from api.prepared import driver_connection
from tests.conftest import make_app


def test_a_read_requests_session_and_fast_paths_share_one_connection(loaded_app: Flask):
    with loaded_app.test_request_context("/v1/talks", method="GET"):
        session = db.get_session()
        fast = driver_connection(session)
        assert session.connection().connection.driver_connection is fast
        db.close_session()


def test_a_read_request_sees_one_snapshot_while_a_write_commits(tmp_path: Path):
    # SQLite's read transaction is a snapshot (PostgreSQL's READ COMMITTED is not).
    app = make_app(f"sqlite:///{tmp_path / 'snapshot.sqlite3'}", tmp_path)
    prepare_database(app)
    engine = parley(app).engine
    try:
        with app.test_request_context("/v1/talks", method="GET"):
            session = db.get_session()
            driver = driver_connection(session)
            before = driver.execute("SELECT count(*) FROM meta").fetchone()[0]
            with engine.begin() as writer:
                writer.execute(text("INSERT INTO meta (key, value) VALUES ('late', 'x')"))
            assert driver.execute("SELECT count(*) FROM meta").fetchone()[0] == before
            late = select(models.Meta.value).where(models.Meta.key == "late")
            assert session.scalar(late) is None
            db.close_session()
        with app.test_request_context("/v1/talks", method="GET"):
            assert db.get_session().scalar(late) == "x"
            db.close_session()
    finally:
        engine.dispose()


def test_a_read_request_gives_its_connection_back(loaded_app: Flask):
    pool = parley(loaded_app).engine.pool
    before = pool.checkedout()  # type: ignore[attr-defined]
    with loaded_app.test_request_context("/v1/talks", method="GET"):
        session = db.get_session()
        driver_connection(session)
        session.execute(select(models.Meta.key)).all()
        assert pool.checkedout() == before + 1  # type: ignore[attr-defined]
        db.close_session()
    assert pool.checkedout() == before  # type: ignore[attr-defined]


def test_a_write_requests_session_has_no_reader(loaded_app: Flask):
    with loaded_app.test_request_context("/v1/talks/istanbul-talks", method="PATCH"):
        session = db.get_session()
        assert db.reader_of(session) is None
        db.close_session()


def test_every_read_of_the_api_gives_its_connection_back(loaded_app: Flask):
    client = loaded_app.test_client()
    pool = parley(loaded_app).engine.pool
    # The fast read layer holds one connection per request thread (tests/test_held_readers.py).
    client.get("/v1/talks/istanbul-talks")
    before = pool.checkedout()  # type: ignore[attr-defined]
    for path in ("/", "/v1", "/v1/talks", "/v1/talks/istanbul-talks", "/v1/talks.csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.get_data()
        response.close()
    assert pool.checkedout() == before  # type: ignore[attr-defined]


def test_an_autocommit_reader_runs_its_statement_outside_any_transaction(loaded_app: Flask):
    reader = db.Reader(parley(loaded_app).engine, autocommit=True)
    try:
        driver = reader.driver()
        driver.execute("SELECT count(*) FROM talks").fetchone()
        assert not _in_transaction(driver)
    finally:
        reader.close()


def test_a_reader_without_autocommit_reads_in_one_transaction(loaded_app: Flask):
    reader = db.Reader(parley(loaded_app).engine)
    try:
        driver = reader.driver()
        driver.execute("SELECT count(*) FROM talks").fetchone()
        assert _in_transaction(driver)
    finally:
        reader.close()


def test_a_fast_read_gives_its_connection_back_ready_for_transactions(loaded_app: Flask):
    engine = parley(loaded_app).engine
    reader = db.Reader(engine, autocommit=True)
    reader.driver()
    reader.close()
    assert loaded_app.test_client().get("/v1/talks/istanbul-talks").status_code == 200
    with engine.connect() as connection:
        connection.execute(select(models.Meta.key)).all()
        assert _in_transaction(connection.connection.driver_connection)
        connection.rollback()
    fairy = engine.raw_connection()
    try:
        assert getattr(fairy.driver_connection, "autocommit", False) is False
    finally:
        fairy.close()


class _UnsettableDriver:
    def __setattr__(self, name: str, value: object) -> None:
        raise RuntimeError("the connection is gone")


class _Fairy:
    is_valid = True
    invalidated = False
    closed = False
    driver_connection = _UnsettableDriver()

    def invalidate(self) -> None:
        self.invalidated = True

    def close(self) -> None:
        self.closed = True


def test_a_reader_that_cannot_leave_autocommit_is_never_pooled_again(loaded_app: Flask):
    engine = parley(loaded_app).engine
    reader = db.Reader(engine, autocommit=True)
    fairy = _Fairy()
    reader.fairy = fairy
    reader.close()
    # Only psycopg's autocommit is a setting of the connection, to be reset; SQLite's
    # reader merely leaves out its BEGIN, and touches nothing to give the connection back.
    assert fairy.invalidated == (engine.dialect.name == "postgresql")
    assert fairy.closed


def _in_transaction(driver: object) -> bool:
    """Whether the driver connection is inside a transaction (sqlite3's or psycopg's)."""
    in_transaction = getattr(driver, "in_transaction", None)
    if isinstance(in_transaction, bool):
        return in_transaction
    assert isinstance(driver, psycopg.Connection)
    return driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
