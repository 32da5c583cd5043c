"""schemathesis against the committed openapi.yaml and the app loaded with the seed fixtures.

Every operation on its own: every read gets 50 generated examples and every write 50
(times FUZZ_SCALE under `make fuzz`), from FUZZ_SEED (a fixed seed in `make test`):
no 5xx, and no response that the document does not describe. Writes carry a valid
token and the record's current ETag (injected by `with_credentials`), so that they
get past authentication and the precondition to the validation of what was
generated. Chains of operations are the state machine's, in test_stateful_fuzz.py,
which reads the records it writes as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, seed, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api import parley, tokens
from tests.fuzzing import Tally, documented_app, fuzz_scale, fuzz_seed, with_credentials

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return documented_app(tmp_path_factory.mktemp("schemathesis"))


@pytest.fixture(scope="module")
def api_schema(seeded_app: Flask) -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = seeded_app
    return schema


@pytest.fixture(scope="module")
def token(seeded_app: Flask) -> str:
    with parley(seeded_app).sessions.begin() as session:
        return tokens.create(session, "schemathesis", datetime.now(UTC), None)


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    """Every request this module's tests sent (in this process), reported at its end."""
    sent = Tally()
    yield sent
    if sent.requests:
        sent.report("stateless fuzz", fuzz_seed())


schema = schemathesis.pytest.from_fixture("api_schema")
reads = schema.include(method="GET")
writes = schema.exclude(method="GET")


# The loaded profile's settings (deadline and derandomization), with this test's size.
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.filter_too_much]


@pytest.mark.heavy
@reads.parametrize()
@seed(fuzz_seed())
@settings(max_examples=50 * fuzz_scale(), suppress_health_check=SUPPRESSED)
def test_every_read_answers_within_its_specification(case, tally):
    # Every check but "schema-valid data is accepted": a cursor is opaque, so no schema
    # can tell which strings of its alphabet are cursors; the document gives 400 for them.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    tally.record(case, response.status_code)


@pytest.mark.heavy
@writes.parametrize()
@seed(fuzz_seed())
@settings(max_examples=50 * fuzz_scale(), suppress_health_check=SUPPRESSED)
def test_every_write_answers_within_its_specification(case, seeded_app, token, tally):
    with_credentials(case, seeded_app, token)
    # Schema-valid bodies may still name records that do not exist (a 422): the
    # document cannot know which ids exist, so that check is left out here too.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    tally.record(case, response.status_code)
