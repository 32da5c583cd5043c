"""schemathesis against the committed openapi.yaml and the app loaded with the seed fixtures.

Every read gets 100 generated examples and every write 50, from a fixed seed: no
5xx, and no response that the document does not describe. Writes carry a valid
token and the record's current ETag (injected below), so that they get past
authentication and the precondition to the validation of what was generated.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, seed, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api import parley, tokens
from api.lifecycle import prepare_database
from api.openapi import builtin_registry
from tests.conftest import make_app

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    instance = tmp_path_factory.mktemp("schemathesis")
    app = make_app(f"sqlite:///{instance / 'parley.sqlite3'}", instance)
    prepare_database(app)
    # The committed document lists the built-in formats only: test against exactly those,
    # whatever plugins this environment has installed.
    app.extensions["parley"] = dataclasses.replace(parley(app), exporters=builtin_registry())
    return app


@pytest.fixture(scope="module")
def api_schema(seeded_app: Flask) -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = seeded_app
    return schema


@pytest.fixture(scope="module")
def token(seeded_app: Flask) -> str:
    with parley(seeded_app).sessions.begin() as session:
        return tokens.create(session, "schemathesis", datetime.now(UTC), None)


schema = schemathesis.pytest.from_fixture("api_schema")
reads = schema.include(method="GET")
writes = schema.exclude(method="GET")


def with_credentials(case: schemathesis.Case, app: Flask, token: str) -> None:
    """A valid token, and the current ETag of the record the write names, in place of
    the generated ones. Headers that schemathesis left out on purpose (to check that
    their absence is refused) stay out."""
    headers = case.headers  # case-insensitive, changed in place
    if "Authorization" in headers:
        headers["Authorization"] = f"Bearer {token}"
    if "If-Match" in headers:
        current = app.test_client().get(case.formatted_path.split("/revisions")[0])
        if current.status_code in (200, 410):
            headers["If-Match"] = current.headers["ETag"]


@reads.parametrize()
@seed(20261125)
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_read_answers_within_its_specification(case):
    # Every check but "schema-valid data is accepted": a cursor is opaque, so no schema
    # can tell which strings of its alphabet are cursors; the document gives 400 for them.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


@writes.parametrize()
@seed(20261125)
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_write_answers_within_its_specification(case, seeded_app, token):
    with_credentials(case, seeded_app, token)
    # Schema-valid bodies may still name records that do not exist (a 422): the
    # document cannot know which ids exist, so that check is left out here too.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
