"""The compiled dumpers give exactly what the v1 marshmallow schemas give.

Every record of every resource, curated and synthetic, is dumped both ways and
compared as values, in member order, and as the JSON bytes the API sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import parley, synth
from api.records import hydrate
from api.resources import RESOURCES, Resource
from api.v1.schemas import Urls, dump, dump_with_schema
from tests.conftest import make_app

URLS = Urls("https://parley.example/api")


def every_record(session: Session, resource: Resource) -> list[dict[str, Any]]:
    table = resource.table
    rows = [dict(r) for r in session.execute(select(table).order_by(table.c.id)).mappings()]
    return hydrate(session, resource, rows)


def member_order(value: Any) -> Any:
    """The value with every dict replaced by its (key, value) pairs in their order."""
    if isinstance(value, dict):
        return [(key, member_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [member_order(item) for item in value]
    return value


def assert_same_dump(resource: Resource, records: list[dict[str, Any]]) -> None:
    fast, reference = dump(resource, records, URLS), dump_with_schema(resource, records, URLS)
    assert member_order(fast) == member_order(reference)
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(reference, ensure_ascii=False)


@pytest.fixture(scope="module")
def synthetic_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("dumpers")
    app = make_app(f"sqlite:///{folder / 'synth.sqlite3'}", folder / "instance")
    synth.synthesize(app, talks=synth.TALKS_PER_FORCE_PROPOSAL)
    yield app
    parley(app).engine.dispose()


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_curated_records_dump_as_the_schema_dumps_them(loaded_app: Flask, resource: Resource):
    with parley(loaded_app).sessions() as session:
        records = every_record(session, resource)
    assert records
    assert_same_dump(resource, records)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_synthetic_records_dump_as_the_schema_dumps_them(synthetic_app: Flask, resource: Resource):
    with parley(synthetic_app).sessions() as session:
        records = every_record(session, resource)
    assert records
    assert_same_dump(resource, records)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_empty_members_dump_as_the_schema_dumps_them(loaded_app: Flask, resource: Resource):
    with parley(loaded_app).sessions() as session:
        record = every_record(session, resource)[0]
    emptied = {key: None for key in record} | {"id": record["id"]}
    assert_same_dump(resource, [emptied])
