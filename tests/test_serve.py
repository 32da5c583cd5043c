"""`parley serve` as a user runs it: a real gunicorn on the embedded SQLite default.

Readiness is gunicorn's own "Listening at" line on stderr, never a sleep; every
wait is bounded, and every process started here is stopped in a finally.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from api.fixtures import FixtureSet
from api.models import Citation, Revision
from tests.servers import LOADED, STARTUP_TIMEOUT, get_json, parley_serve

pytestmark = pytest.mark.slow


def fixture_counts(fixture_set: FixtureSet) -> dict[str, int]:
    return {name: len(records) for name, records in fixture_set.records.items()}


def stored_revisions(database: Path) -> tuple[Counter[tuple[str, str]], int]:
    """How many revisions each record has, and how many citations are stored."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            revisions = Counter(
                (resource, record_id)
                for resource, record_id in connection.execute(
                    select(Revision.resource, Revision.record_id)
                )
            )
            citations = connection.scalar(select(func.count()).select_from(Citation)) or 0
    finally:
        engine.dispose()
    return revisions, citations


def assert_each_record_loaded_once(database: Path, fixture_set: FixtureSet) -> None:
    revisions, citations = stored_revisions(database)
    expected = {(name, i) for name, records in fixture_set.records.items() for i in records}
    assert set(revisions) == expected
    assert set(revisions.values()) == {1}
    assert citations == sum(
        len(r["citations"]) for records in fixture_set.records.values() for r in records.values()
    )


def test_serve_creates_loads_and_serves_the_embedded_database(tmp_path, fixture_set):
    instance = tmp_path / "instance"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with parley_serve(instance) as server:
        base = server.wait_until_listening(deadline)

        index_status, index = get_json(f"{base}/")
        health_status, health = get_json(f"{base}/healthz")

        assert index_status == 200
        assert index["counts"] == fixture_counts(fixture_set)
        assert health_status == 200
        assert health["database"]["status"] == "ok"
        assert health["database"]["backend"] == "sqlite"
    database = instance / "parley.sqlite3"
    assert database.is_file()
    assert sum(LOADED in line for line in server.stderr) == 1
    assert_each_record_loaded_once(database, fixture_set)


def test_two_servers_started_at_once_on_one_instance_load_it_once(tmp_path, fixture_set):
    instance = tmp_path / "instance"
    instance.mkdir()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with ExitStack() as stack:
        servers = [stack.enter_context(parley_serve(instance)) for _ in range(2)]
        bases = [server.wait_until_listening(deadline) for server in servers]

        assert bases[0] != bases[1]
        for base in bases:
            status, index = get_json(f"{base}/")
            assert status == 200
            assert index["counts"] == fixture_counts(fixture_set)
    assert sum(LOADED in line for server in servers for line in server.stderr) == 1
    assert_each_record_loaded_once(instance / "parley.sqlite3", fixture_set)


IDLE_TIMEOUT = 2


def test_connections_that_send_nothing_hold_sync_workers_for_the_worker_timeout_at_most(tmp_path):
    """Both of the default sync workers taken by clients that never send a request:
    gunicorn replaces each after the worker timeout, and the next request is served."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    args = ("--timeout", str(IDLE_TIMEOUT))
    with parley_serve(tmp_path / "instance", args=args) as server, ExitStack() as idle:
        base = server.wait_until_listening(deadline)
        assert get_json(f"{base}/healthz")[0] == 200
        host, port = base.removeprefix("http://").split(":")
        for _ in range(2):
            idle.enter_context(socket.create_connection((host, int(port)), timeout=30))
        started = time.monotonic()
        status, _body = get_json(f"{base}/healthz")
        waited = time.monotonic() - started
        assert status == 200
        assert waited > IDLE_TIMEOUT / 4  # not answered at once: it waited for a new worker
        assert "WORKER TIMEOUT" in "".join(server.stderr)
