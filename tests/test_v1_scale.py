"""Paging through 10,000 synthetic talks: each talk exactly once, in order.

Sorted by id and by nullable, duplicated fields, through the test client and
through gunicorn with two workers, on SQLite and on PostgreSQL. The expected
order is computed in Python from the stored rows (binary order, NULLs last,
ties by id), independently of the database's own ordering.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from api import models, parley
from api.synth import synthesize
from tests.conftest import make_app
from tests.servers import STARTUP_TIMEOUT, get_json, parley_serve
from tests.v1helpers import ids, path_of, walk

pytestmark = pytest.mark.slow

TALKS = 10_000
SEED = 7


@pytest.fixture(scope="session")
def synthetic_app(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Flask:
    instance = tmp_path_factory.mktemp(f"scale-{backend}")
    if backend == "sqlite":
        url = f"sqlite:///{instance / 'parley.sqlite3'}"
    else:
        url = request.getfixturevalue("make_postgres_database")()
    app = make_app(url, instance)
    synthesize(app, talks=TALKS, seed=SEED)
    return app


def stored_talks(app: Flask) -> list[dict[str, Any]]:
    with parley(app).sessions() as session:
        rows = session.execute(
            select(models.Talk.id, models.Talk.venue, models.Talk.date).where(
                models.Talk.deleted_at.is_(None)
            )
        )
        return [{"id": i, "venue": v, "date": d} for i, v, d in rows]


def expected_order(talks: list[dict[str, Any]], field: str | None, descending: bool) -> list[str]:
    by_id = sorted(talks, key=lambda t: t["id"])
    if field is None:
        return [t["id"] for t in by_id]
    present = [t for t in by_id if t[field] is not None]
    missing = [t for t in by_id if t[field] is None]
    present.sort(key=lambda t: t[field], reverse=descending)  # stable: ties stay in id order
    return [t["id"] for t in present + missing]


def test_the_synthetic_talks_have_duplicated_and_missing_sort_values(synthetic_app):
    talks = stored_talks(synthetic_app)
    assert len(talks) > TALKS
    for field in ("venue", "date"):
        values = [t[field] for t in talks if t[field] is not None]
        assert len(values) < len(talks)  # some NULLs
        assert len(set(values)) < len(values)  # some duplicates


@pytest.mark.parametrize(
    ("sort", "field", "descending"),
    [("id", None, False), ("venue", "venue", False), ("-date", "date", True)],
)
def test_walking_every_page_returns_each_talk_once_in_order(synthetic_app, sort, field, descending):
    client = synthetic_app.test_client()
    items, pages = walk(client, f"/v1/talks?sort={sort}&limit=50&fields=venue,date")
    expected = expected_order(stored_talks(synthetic_app), field, descending)
    assert len(set(ids(items))) == len(items)
    assert ids(items) == expected
    assert pages == -(-len(expected) // 50)


def test_walking_through_gunicorn_with_two_workers(synthetic_app, tmp_path):
    expected = expected_order(stored_talks(synthetic_app), "venue", False)
    env = {"DATABASE_URL": parley(synthetic_app).database_url}
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with parley_serve(tmp_path / "instance", env) as server:
        base = server.wait_until_listening(deadline)
        seen: list[str] = []
        url: str | None = f"{base}/v1/talks?sort=venue&limit=50&fields=venue"
        while url:
            status, body = get_json(url)
            assert status == 200
            seen.extend(ids(body["items"]))
            # Links carry the configured base URL; follow them on this server.
            url = body["links"]["next"] and base + path_of(body["links"]["next"])
    assert seen == expected
