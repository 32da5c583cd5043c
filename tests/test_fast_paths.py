"""The fast read paths answer byte for byte what the straightforward ones answer.

Two apps on one database: the default one, and one made with
``fast_paths=False``, which executes every statement through SQLAlchemy, dumps
through the marshmallow schemas and encodes with the standard JSON encoder.
Every kind of read (pages and their next pages, sorted and filtered ones,
items, nested lists, every export format, histories and the change feed) is
asked of both: the status, the body and the validators must be the same. Exports
are asked of the fast app twice: the second is made from stored renderings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app, parley, synth
from api.v1.catalog import COLLECTIONS, NESTED
from tests.conftest import make_app
from tests.v1helpers import path_of

FORMATS = ("csv", "jsonld", "md")
COMPARED_HEADERS = ("Content-Type", "ETag", "Link", "Content-Disposition", "Cache-Control")


def reference_twin(app: Flask) -> Flask:
    """An app on the same database that serves the straightforward way."""
    settings = dataclasses.replace(parley(app).settings, fast_paths=False)
    settings = dataclasses.replace(settings, database_url=parley(app).database_url)
    return create_app(settings)


def paths_to_compare(app: Flask) -> Iterator[str]:
    client = app.test_client()

    def page(path: str) -> Any:
        response = client.get(path)
        assert response.status_code == 200, path
        return response.get_json()

    yield "/"
    yield "/v1"
    yield "/v1/changes?limit=40"
    for name, collection in COLLECTIONS.items():
        yield f"/v1/{name}"
        first = page(f"/v1/{name}?limit=3")
        yield f"/v1/{name}?limit=3"
        if first["links"]["next"]:
            yield path_of(first["links"]["next"])
        yield f"/v1/{name}?sort=-id&limit=5"
        sortable = [f for f in ("title", "name", "venue", "date", "kind") if f in first["items"][0]]
        for field in sortable:
            sorted_page = page(f"/v1/{name}?sort={field}&limit=4")
            yield f"/v1/{name}?sort={field}&limit=4"
            if sorted_page["links"]["next"]:
                yield path_of(sorted_page["links"]["next"])
        if collection.filters:
            yield f"/v1/{name}?q=the&limit=5"
        for extension in FORMATS:
            yield f"/v1/{name}.{extension}"
        for item in first["items"][:2]:
            record = f"/v1/{name}/{item['id']}"
            yield record
            yield f"{record}/revisions"
            yield f"{record}/revisions/1"
            for extension in FORMATS:
                yield f"{record}.{extension}"
            for child in NESTED[name]:
                yield f"{record}/{child}"
                yield f"{record}/{child}.csv"


def assert_same_answers(app: Flask) -> int:
    reference = reference_twin(app)
    try:
        fast, slow = app.test_client(), reference.test_client()
        compared = 0
        for path in dict.fromkeys(paths_to_compare(app)):
            # Each body is read and closed at once: a streamed one holds its request
            # context and database session until then.
            mine = fast.get(path)
            mine_body = mine.get_data()
            mine.close()
            theirs = slow.get(path)
            theirs_body = theirs.get_data()
            theirs.close()
            assert mine.status_code == theirs.status_code, path
            assert mine_body == theirs_body, path
            if "." in path.rsplit("/", 1)[-1]:
                # An export asked again is made from the renderings the first one stored.
                again = fast.get(path)
                assert again.get_data() == theirs_body, path
                again.close()
            for header in COMPARED_HEADERS:
                assert mine.headers.get(header) == theirs.headers.get(header), (path, header)
            compared += 1
        return compared
    finally:
        parley(reference).engine.dispose()


def test_the_curated_data_reads_the_same_both_ways(loaded_app: Flask):
    assert assert_same_answers(loaded_app) > 100


@pytest.fixture(scope="module")
def synthetic_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("fast-paths")
    app = make_app(f"sqlite:///{folder / 'synth.sqlite3'}", folder / "instance")
    synth.synthesize(app, talks=synth.TALKS_PER_FORCE_PROPOSAL)
    yield app
    parley(app).engine.dispose()


def test_synthetic_data_reads_the_same_both_ways(synthetic_app: Flask):
    assert assert_same_answers(synthetic_app) > 100


def test_the_reference_twin_really_takes_the_other_paths(loaded_app: Flask):
    # The comparison means something only if the twin encodes with another provider.
    reference = reference_twin(loaded_app)
    try:
        assert type(reference.json).__name__ == "DefaultJSONProvider"
        assert type(loaded_app.json).__name__ == "FastJSONProvider"
    finally:
        parley(reference).engine.dispose()
