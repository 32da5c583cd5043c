"""The change feed under concurrent writers, on PostgreSQL, with real commits.

Feed positions are revision ids, taken from a sequence before commit. A reader
resumes after the last position it saw, so a change whose position is lower
than one already visible must never commit after it: ``db.writing`` takes a
transaction-level advisory lock that makes writers commit in position order.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api import db, editing, history, models, parley
from api.lifecycle import prepare_database
from api.resources import BY_NAME
from tests.conftest import make_app

pytestmark = pytest.mark.postgresql

ACTORS = BY_NAME["actors"]
DEADLINE_SECONDS = 15.0
POLL_SECONDS = 0.005

# The write lock's pg_locks row: a bigint key is shown as (classid, objid) = (high, low)
# 32 bits with objsubid 1.
WAITING_FOR_WRITE_LOCK = text(
    """
    SELECT l.pid
    FROM pg_locks AS l
    JOIN pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'advisory'
      AND NOT l.granted
      AND a.wait_event_type = 'Lock'
      AND a.datname = current_database()
      AND l.classid::bigint = :high AND l.objid::bigint = :low AND l.objsubid = 1
    """
)
HOLDING_WRITE_LOCK = text(
    """
    SELECT l.pid
    FROM pg_locks AS l
    JOIN pg_database AS d ON d.oid = l.database
    WHERE l.locktype = 'advisory'
      AND l.granted
      AND d.datname = current_database()
      AND l.classid::bigint = :high AND l.objid::bigint = :low AND l.objsubid = 1
    """
)
LOCK_KEY = {"high": db.WRITE_LOCK_KEY >> 32, "low": db.WRITE_LOCK_KEY & 0xFFFFFFFF}


@pytest.fixture(scope="module")
def app(
    make_postgres_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """An app on a loaded PostgreSQL database of this module's own, committed to for real."""
    instance: Path = tmp_path_factory.mktemp("change-feed-order")
    app = make_app(make_postgres_database(), instance)
    prepare_database(app)
    yield app
    parley(app).engine.dispose()


def store_change(session: Session, record_id: str, author: str) -> int:
    """Begin a write on ``session`` and change the actor's notes; the new revision's
    feed position (not committed)."""
    db.writing(session)
    stored = editing.read_one(session, ACTORS, record_id)
    assert stored is not None
    revision = stored.state.revision + 1
    record = {**stored.record, "notes": f"{author}, revision {revision}"}
    editing.replace(session, ACTORS, record, stored, author, datetime.now(UTC))
    position = session.scalar(
        select(models.Revision.id).where(
            models.Revision.resource == ACTORS.name,
            models.Revision.record_id == record_id,
            models.Revision.revision == revision,
        )
    )
    assert position is not None
    return position


def feed_after(app: Flask, position: int, limit: int = 10_000) -> list[dict[str, Any]]:
    """The change feed after ``position``, read in a session of its own."""
    with parley(app).sessions() as session:
        return history.changes(session, after=position, limit=limit)


def last_position(app: Flask) -> int:
    with parley(app).sessions() as session:
        return history.last_position(session)


def http_feed_end(app: Flask) -> str:
    """The `since` of the feed's end, read over HTTP."""
    client = app.test_client()
    query = "limit=1000"
    for _ in range(100):
        body = client.get(f"/v1/changes?{query}").get_json()
        if not body["more"]:
            since: str = body["since"]
            return since
        query = f"since={body['since']}&limit=1000"
    raise AssertionError("the change feed never ended")


def pids(engine: Engine, query: Any) -> list[int]:
    # A connection (and transaction) per poll: pg_stat_activity is a per-transaction snapshot.
    with engine.connect() as connection:
        return list(connection.execute(query, LOCK_KEY).scalars())


def wait_for_waiter(engine: Engine, thread: threading.Thread) -> int:
    """The backend that waits for the write lock, polled until one does (bounded)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        waiting = pids(engine, WAITING_FOR_WRITE_LOCK)
        if waiting:
            [pid] = waiting
            return pid
        assert thread.is_alive(), "the second writer finished without waiting for the lock"
        time.sleep(POLL_SECONDS)
    raise AssertionError("no writer waited for the write lock")


def test_a_writer_waits_for_the_open_one_and_a_resuming_reader_sees_both_in_order(app):
    state = parley(app)
    p0 = last_position(app)
    since = http_feed_end(app)
    client = app.test_client()
    outcome: dict[str, Any] = {}

    def write_b() -> None:
        try:
            with state.sessions() as b:
                outcome["position"] = store_change(b, "ukraine", "token:b")
                b.commit()
        except BaseException as exc:  # reported by the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=write_b, name="writer-b", daemon=True)
    with state.sessions() as a:
        committed = False
        try:
            a_position = store_change(a, "russia", "token:a")
            a_pid = a.scalar(select(func.pg_backend_pid()))
            thread.start()
            b_pid = wait_for_waiter(state.engine, thread)
            assert b_pid != a_pid
            assert pids(state.engine, HOLDING_WRITE_LOCK) == [a_pid]

            assert feed_after(app, p0) == []
            open_page = client.get(f"/v1/changes?since={since}").get_json()
            assert open_page["items"] == []
            assert open_page["since"] == since

            a.commit()
            committed = True
        finally:
            if not committed:
                a.rollback()
    thread.join(DEADLINE_SECONDS)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    b_position = outcome["position"]

    assert a_position < b_position
    items = feed_after(app, p0)
    assert [(item["position"], item["author"]) for item in items] == [
        (a_position, "token:a"),
        (b_position, "token:b"),
    ]
    page = client.get(f"/v1/changes?since={since}").get_json()
    assert [(item["position"], item["id"]) for item in page["items"]] == [
        (a_position, "russia"),
        (b_position, "ukraine"),
    ]
    assert [item["position"] for item in feed_after(app, a_position)] == [b_position]


def test_without_the_lock_a_lower_id_committed_late_is_never_seen_by_a_resuming_reader(app):
    engine = parley(app).engine
    table = f"feed_demo_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(
            text(f"CREATE TABLE {table} (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
        )
    # The table's name is generated above, never input.
    insert = text(f"INSERT INTO {table} DEFAULT VALUES RETURNING id")  # noqa: S608
    after = text(f"SELECT id FROM {table} WHERE id > :after ORDER BY id")  # noqa: S608

    def read(position: int) -> list[int]:
        with engine.connect() as reader:
            return list(reader.execute(after, {"after": position}).scalars())

    try:
        with engine.connect() as early, engine.connect() as late:
            low = early.execute(insert).scalar_one()
            high = late.execute(insert).scalar_one()
            assert low < high
            late.commit()
            seen = read(0)
            assert seen == [high]
            early.commit()
            assert read(seen[-1]) == []
            assert read(0) == [low, high]
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {table}"))


def test_a_reader_polling_during_concurrent_writes_sees_every_revision_exactly_once(app):
    state = parley(app)
    p0 = last_position(app)
    records = ["russia", "ukraine", "united-states", "united-kingdom"]
    writes_each = 10
    start = threading.Barrier(len(records) + 1, timeout=DEADLINE_SECONDS)
    writers_done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def write(record_id: str) -> None:
        try:
            start.wait()
            for _ in range(writes_each):
                with state.sessions() as session:
                    store_change(session, record_id, f"token:{record_id}")
                    session.commit()
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            start.wait()
            position = p0
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline:
                finished = writers_done.is_set()
                batch = feed_after(app, position, limit=7)
                seen.extend(item["position"] for item in batch)
                if batch:
                    position = batch[-1]["position"]
                elif finished:
                    return
            raise AssertionError("the reader did not finish in time")
        except BaseException as exc:
            errors.append(exc)

    writers = [
        threading.Thread(target=write, args=(record_id,), name=f"writer-{record_id}", daemon=True)
        for record_id in records
    ]
    reader = threading.Thread(target=read, name="reader", daemon=True)
    for thread in [*writers, reader]:
        thread.start()
    for thread in writers:
        thread.join(DEADLINE_SECONDS)
    writers_done.set()
    reader.join(DEADLINE_SECONDS)
    assert not any(thread.is_alive() for thread in [*writers, reader])
    assert errors == []

    committed = feed_after(app, p0)
    assert len(committed) == len(records) * writes_each
    assert Counter(item["author"] for item in committed) == {
        f"token:{record_id}": writes_each for record_id in records
    }
    assert seen == [item["position"] for item in committed]
