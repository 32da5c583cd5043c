"""The fast read layer's connections: one per request thread, held between its reads,
given back when a read fails, and never holding a snapshot that would hide a write."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import db, parley, tokens
from api.lifecycle import prepare_database
from api.v1 import fastreads
from tests.conftest import fresh_database_url, make_app
from tests.test_fast_reads import MERGE_PATCH, TALK, Layer, _DataWith, layer_of


def held_reader(layer: Layer, app: Flask) -> db.Reader:
    return layer.fast.readers.reader(parley(app).engine)


def checked_out(app: Flask) -> int:
    return int(parley(app).engine.pool.checkedout())  # type: ignore[attr-defined]


def test_fast_reads_on_one_thread_share_one_held_connection(
    loaded_app: Flask, monkeypatch: pytest.MonkeyPatch
):
    layer = layer_of(loaded_app, monkeypatch)
    assert layer.get(TALK).status_code == 200
    held = held_reader(layer, loaded_app).fairy
    assert held is not None
    assert held.is_valid
    pool_before = checked_out(loaded_app)
    for _ in range(3):
        assert layer.get(TALK).status_code == 200
    assert layer.asked_of_app == []
    assert held_reader(layer, loaded_app).fairy is held
    assert checked_out(loaded_app) == pool_before


def test_a_failed_fast_read_gives_its_held_connection_back(
    loaded_app: Flask, monkeypatch: pytest.MonkeyPatch
):
    layer = layer_of(loaded_app, monkeypatch)
    assert layer.get(TALK).status_code == 200
    before = checked_out(loaded_app)

    def fail(*_args: Any) -> Any:
        raise RuntimeError("the fast read failed")

    with monkeypatch.context() as patched:
        patched.setattr(fastreads, "data", _DataWith(fail))
        assert layer.get(TALK).status_code == 200
    assert layer.asked_of_app == [TALK]
    assert held_reader(layer, loaded_app).fairy is None
    assert checked_out(loaded_app) == before - 1
    assert layer.get(TALK).status_code == 200
    assert layer.asked_of_app == []
    assert held_reader(layer, loaded_app).fairy is not None


def test_an_invalidated_held_connection_is_replaced_by_the_next_read(
    loaded_app: Flask, monkeypatch: pytest.MonkeyPatch
):
    layer = layer_of(loaded_app, monkeypatch)
    assert layer.get(TALK).status_code == 200
    invalidated = held_reader(layer, loaded_app).fairy
    invalidated.invalidate()
    assert layer.get(TALK).status_code == 200
    assert layer.asked_of_app == []
    replacement = held_reader(layer, loaded_app).fairy
    assert replacement is not None
    assert replacement is not invalidated
    assert replacement.is_valid


def test_a_thread_that_ends_gives_its_held_connection_back(
    loaded_app: Flask, monkeypatch: pytest.MonkeyPatch
):
    layer = layer_of(loaded_app, monkeypatch)
    assert layer.get(TALK).status_code == 200  # this thread's own is held already
    before = checked_out(loaded_app)
    seen: list[int] = []
    readers: list[db.Reader] = []

    def read() -> None:
        seen.append(layer.get(TALK).status_code)
        seen.append(checked_out(loaded_app))
        # Kept alive past the thread: only an explicit give-back frees its connection.
        readers.append(held_reader(layer, loaded_app))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [200, before + 1]
    assert readers[0].fairy is None
    assert checked_out(loaded_app) == before


def test_a_held_connection_sees_a_committed_write_at_once(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    app = make_app(fresh_database_url(request, backend, tmp_path), tmp_path)
    try:
        prepare_database(app)
        with parley(app).sessions() as session:
            token = tokens.create(session, "editor", datetime.now(UTC), None)
            session.commit()
        layer = layer_of(app, monkeypatch)
        before = layer.get(TALK)
        assert before.status_code == 200
        assert held_reader(layer, app).fairy is not None
        written = app.test_client().patch(
            TALK,
            data='{"title": "Renamed talks"}',
            content_type=MERGE_PATCH,
            headers={"Authorization": f"Bearer {token}", "If-Match": before.headers["ETag"]},
        )
        assert written.status_code == 200, written.get_json()
        after = layer.get(TALK)
        assert layer.asked_of_app == []
        assert after.get_json()["title"] == "Renamed talks"
        assert after.headers["ETag"] == written.headers["ETag"]
    finally:
        parley(app).engine.dispose()
