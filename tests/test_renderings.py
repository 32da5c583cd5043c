"""Exports made from renderings are the exports the exporters make, and stay so.

Each test has a database of its own (SQLite and PostgreSQL), loaded from the
fixtures, so that writes commit and renderings are stored as in production.
Every export made from renderings (the first, which stores them, and the next,
which reads them) is compared byte for byte with the exporter's own export of
the same records (an app with renderings off).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, func, select, text

from api import create_app, models, parley, tokens
from api.lifecycle import prepare_database
from api.v1 import renderings
from api.v1.catalog import COLLECTIONS
from exporters.manager import load_registry
from tests.conftest import fresh_database_url, make_app


@pytest.fixture
def app(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Flask]:
    made = make_app(fresh_database_url(request, backend, tmp_path), tmp_path)
    prepare_database(made)
    yield made
    parley(made).engine.dispose()


def twin(app: Flask, **settings: Any) -> Flask:
    """Another app on ``app``'s database, with other settings."""
    changed = dataclasses.replace(
        parley(app).settings, database_url=parley(app).database_url, **settings
    )
    return create_app(changed)


@pytest.fixture
def own_export(app: Flask) -> Iterator[FlaskClient]:
    """A client of an app that keeps no renderings: each exporter exports itself."""
    other = twin(app, renderings=False)
    yield other.test_client()
    parley(other).engine.dispose()


@pytest.fixture
def auth(app: Flask) -> dict[str, str]:
    with parley(app).sessions() as session:
        token = tokens.create(session, "renderings-editor", datetime.now(UTC), None)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def body(client: FlaskClient, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, (path, response.get_data()[:500])
    data = response.get_data()
    response.close()
    return data


def stored(app: Flask, resource: str | None = None) -> int:
    with parley(app).engine.connect() as connection:
        statement = select(func.count()).select_from(models.Rendering)
        if resource is not None:
            statement = statement.where(models.Rendering.resource == resource)
        return int(connection.scalar(statement) or 0)


def patch(client: FlaskClient, auth: dict[str, str], path: str, change: dict[str, Any]) -> None:
    etag = client.get(path).headers["ETag"]
    response = client.patch(
        path,
        data=json.dumps(change),
        content_type="application/merge-patch+json",
        headers={**auth, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()


EXPORTS = [f"/v1/{name}.csv" for name in COLLECTIONS] + [
    "/v1/talks.csv?sort=-title",
    "/v1/talks.csv?sort=date",
    "/v1/talks.csv?status=scheduled",
    "/v1/statements.csv?q=the&sort=-kind",
    "/v1/talks/istanbul-talks/delegations.csv",
]


@pytest.mark.parametrize("path", EXPORTS)
def test_an_export_from_renderings_is_the_exporters_own_export(
    app: Flask, own_export: FlaskClient, path: str
):
    client = app.test_client()
    expected = body(own_export, path)
    assert body(client, path) == expected  # rendering and storing
    assert body(client, path) == expected  # from what was stored


def test_an_export_stores_one_rendering_per_record_it_made(app: Flask):
    body(app.test_client(), "/v1/talks.csv")
    with parley(app).engine.connect() as connection:
        talks = connection.execute(select(models.Talk.id, models.Talk.revision)).all()
        kept = connection.execute(
            select(models.Rendering.record_id, models.Rendering.revision).where(
                models.Rendering.resource == "talks"
            )
        ).all()
    assert sorted(kept) == sorted(tuple(t) for t in talks)


def test_formats_without_parts_store_nothing(app: Flask):
    client = app.test_client()
    for extension in ("jsonld", "md"):
        body(client, f"/v1/talks.{extension}")
    assert stored(app) == 0


def test_renderings_off_stores_nothing(app: Flask, own_export: FlaskClient):
    body(own_export, "/v1/talks.csv")
    assert stored(app) == 0


def test_a_write_shows_in_the_next_export(
    app: Flask, own_export: FlaskClient, auth: dict[str, str]
):
    client = app.test_client()
    body(client, "/v1/talks.csv")
    patch(client, auth, "/v1/talks/istanbul-talks", {"venue": "Dolmabahçe Palace"})
    after = body(client, "/v1/talks.csv")
    assert "Dolmabahçe Palace" in after.decode()
    assert after == body(own_export, "/v1/talks.csv")
    assert body(client, "/v1/talks.csv") == after


def test_taking_a_delegation_off_its_talk_shows_in_its_row(
    app: Flask, own_export: FlaskClient, auth: dict[str, str]
):
    # A delegation's row names its talk, which a write of the talk changes (not of it).
    client = app.test_client()
    talk = client.get("/v1/talks/istanbul-talks").get_json()
    moved = talk["delegations"][-1]["id"]
    before = body(client, "/v1/delegations.csv").decode()
    assert _row(before, moved)["talk"] == "istanbul-talks"
    kept = [d["id"] for d in talk["delegations"][:-1]]
    patch(client, auth, "/v1/talks/istanbul-talks", {"delegations": kept})
    after = body(client, "/v1/delegations.csv")
    assert _row(after.decode(), moved)["talk"] == ""
    assert after == body(own_export, "/v1/delegations.csv")


def _row(table: str, record_id: str) -> dict[str, str]:
    return next(row for row in csv.DictReader(io.StringIO(table)) if row["id"] == record_id)


def test_another_base_url_renders_anew(app: Flask):
    moved = twin(app, base_url="https://parley.example.org")
    try:
        first = body(app.test_client(), "/v1/talks.csv")
        second = body(moved.test_client(), "/v1/talks.csv")
        assert b"https://parley.example.org/v1/talks/" in second
        assert b"https://parley.example.org" not in first
        assert body(app.test_client(), "/v1/talks.csv") == first
        assert body(moved.test_client(), "/v1/talks.csv") == second
    finally:
        parley(moved).engine.dispose()


def test_the_variant_names_the_exporter_and_its_code(app: Flask):
    registry = load_registry()
    tabular, ndjson = registry.get("csv"), registry.get("ndjson")
    assert tabular is not None
    assert ndjson is not None
    from api.v1.export import dataset_info, open_collection
    from api.v1.schemas import Urls

    urls = Urls(parley(app).settings.base_url)
    with parley(app).sessions() as session:
        talks = open_collection(session, "talks", urls, dataset_info(session, urls))
        actors = open_collection(session, "actors", urls, dataset_info(session, urls))
    variants = {
        renderings.variant(tabular, talks),
        renderings.variant(tabular, actors),
        renderings.variant(ndjson, talks),
        renderings.variant(dataclasses.replace(tabular, plugin="another"), talks),
    }
    assert None not in variants
    assert len(variants) == 4


def test_unreadable_code_leaves_the_exporter_to_export_itself(
    app: Flask, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(renderings, "_source", lambda _name: None)
    renderings._code_digest.cache_clear()
    try:
        body(app.test_client(), "/v1/talks.csv")
        assert stored(app) == 0
    finally:
        monkeypatch.undo()
        renderings._code_digest.cache_clear()


def test_an_export_inside_an_uncommitted_write_keeps_no_rendering_of_it(app: Flask):
    # The export reads the transaction's own revision; the store, on another
    # connection, does not see it committed and keeps nothing of it.
    engine = parley(app).engine
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            text("UPDATE talks SET revision = revision + 100 WHERE id = 'istanbul-talks'")
        )
        from sqlalchemy.orm import sessionmaker

        sessions = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        state = parley(app)
        app.extensions["parley"] = dataclasses.replace(state, sessions=sessions)
        try:
            body(app.test_client(), "/v1/talks.csv")
        finally:
            app.extensions["parley"] = state
            transaction.rollback()
    with engine.connect() as connection:
        revisions = connection.execute(
            select(models.Rendering.revision).where(models.Rendering.record_id == "istanbul-talks")
        ).scalars()
        assert all(revision < 100 for revision in revisions)


def test_a_locked_sqlite_database_still_exports_and_stores_later(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'locked.sqlite3'}"
    app = make_app(url, tmp_path)
    prepare_database(app)
    other = twin(app, renderings=False)
    engine: Engine = create_engine(url)
    try:
        expected = body(other.test_client(), "/v1/talks.csv")
        with engine.connect() as holder:
            holder.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the lock
            assert body(app.test_client(), "/v1/talks.csv") == expected
            assert stored(app) == 0
            holder.exec_driver_sql("ROLLBACK")
        assert body(app.test_client(), "/v1/talks.csv") == expected
        assert stored(app, "talks") > 0
    finally:
        engine.dispose()
        parley(other).engine.dispose()
        parley(app).engine.dispose()


def test_the_cli_export_uses_and_fills_the_same_renderings(app: Flask, tmp_path: Path):
    from click.testing import CliRunner

    from api.cli import main

    def exported() -> bytes:
        result = CliRunner().invoke(
            main,
            ["export", "--collection", "talks", "--format", "csv"],
            env={"DATABASE_URL": parley(app).database_url, "PARLEY_INSTANCE_PATH": str(tmp_path)},
        )
        assert result.exit_code == 0, result.output
        return result.stdout_bytes

    first = exported()
    assert stored(app, "talks") > 0
    assert exported() == first == body(app.test_client(), "/v1/talks.csv")


def test_starting_the_server_deletes_renderings_no_variant_of_this_code_makes(
    app: Flask, own_export: FlaskClient
):
    moved = twin(app, base_url="https://parley.example.org")
    try:
        body(app.test_client(), "/v1/talks.csv")
        body(moved.test_client(), "/v1/talks.csv")
        talks = stored(app, "talks")
        state = parley(app)
        keep = renderings.current_variants(state.exporters, state.settings.base_url)
        assert renderings.prune(state.engine, keep) == talks // 2
        assert stored(app, "talks") == talks // 2
        # What is left is what the app's own exports use: nothing more to prune.
        assert renderings.prune(state.engine, keep) == 0
        assert body(app.test_client(), "/v1/talks.csv") == body(own_export, "/v1/talks.csv")
    finally:
        parley(moved).engine.dispose()


def test_a_fresh_process_makes_the_variants_an_export_uses(app: Flask):
    # Nothing imported beforehand may change a variant (the server computes them at
    # start, before any record was dumped).
    body(app.test_client(), "/v1/talks.csv")
    state = parley(app)
    with state.engine.connect() as connection:
        used = set(connection.scalars(select(models.Rendering.variant).distinct()))
    base_url = state.settings.base_url
    script = (
        "import sys\n"
        "from api.v1 import renderings\n"
        "from exporters.manager import load_registry\n"
        "print(' '.join(sorted(renderings.current_variants(load_registry(), sys.argv[1]))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, base_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert used
    assert used <= set(done.stdout.split())
