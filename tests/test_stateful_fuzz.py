"""schemathesis' state machine over the committed openapi.yaml: chains of requests that
follow the document's links (create → read → change → delete → restore), authenticated,
each write carrying the record's current ETag.

No 5xx and no response the document does not describe, over at least
MIN_REQUESTS generated requests (counted) in the CI-sized run; `make fuzz` runs it
FUZZ_SCALE times longer from the seed FUZZ_SEED.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, seed, settings
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import positive_data_acceptance, use_after_free

from api import parley, tokens
from api.fixtures import FixtureSet
from tests.fuzzing import (
    ScenarioDatabase,
    Tally,
    creatable,
    documented_app,
    fuzz_scale,
    fuzz_seed,
    with_credentials,
)
from tests.fuzzing import with_known_references as known_references

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
MIN_REQUESTS = 1000
# Scenarios of up to STEPS requests, in rounds (each from the next seed) until the run
# has sent its requests; MAX_ROUNDS bounds a run whose scenarios came out short.
SCENARIOS = 50
STEPS = 40
MAX_ROUNDS = 4
EXCLUDED = [
    # A cursor is opaque and a body may name records that do not exist: no schema can
    # tell which schema-valid values the API must accept.
    positive_data_acceptance,
    # Deletions are soft by design: a deleted record answers 410 (not 404), keeps its
    # history (GET .../revisions answers 200) and comes back with a restore.
    use_after_free,
]


def round_settings() -> settings:
    """The loaded profile's settings, with the size of one round."""
    return settings(
        max_examples=SCENARIOS * fuzz_scale(),
        stateful_step_count=STEPS,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return documented_app(tmp_path_factory.mktemp("stateful"))


@pytest.mark.heavy
def test_chains_of_requests_stay_within_the_specification(
    fuzzed_app: Flask, fixture_set: FixtureSet
) -> None:
    with parley(fuzzed_app).sessions.begin() as session:
        token = tokens.create(session, "stateful-fuzz", datetime.now(UTC), None)
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = fuzzed_app
    templates = creatable(fixture_set)
    tally = Tally()
    database = ScenarioDatabase(fuzzed_app)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            database.begin()

        def teardown(self) -> None:
            database.end()

        def before_call(self, case: schemathesis.Case) -> None:
            known_references(case, templates)
            with_credentials(case, fuzzed_app, token)

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            tally.record(case, response.status_code)

        def validate_response(
            self,
            response: Any,
            case: schemathesis.Case,
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(
                response,
                excluded_checks=EXCLUDED,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    run_seed = fuzz_seed()
    wanted = MIN_REQUESTS * fuzz_scale()
    run_settings = round_settings()
    try:
        for round_seed in range(run_seed, run_seed + MAX_ROUNDS):
            if tally.requests >= wanted:
                break
            seed(round_seed)(Workflow)
            run_state_machine_as_test(Workflow, settings=run_settings)
    finally:
        tally.report("stateful fuzz", run_seed)

    assert tally.requests >= wanted, tally.summary("stateful fuzz", run_seed)
    assert tally.server_errors == 0
    # The chains were followed: records were created, then changed, replaced and deleted
    # with the ETags the hook put in. (Restores are rarer: they are counted, not required.)
    methods = {label.split(" ")[0] for label in tally.succeeded if "/revisions" not in label}
    assert {"POST", "PATCH", "PUT", "DELETE"} <= methods, sorted(tally.succeeded)
