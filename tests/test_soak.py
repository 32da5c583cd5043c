"""A short soak (tests/soak.py) in the test suite: no errors, no acknowledged write lost.

Its memory check needs a long run to mean anything: `make soak` makes it.
"""

from __future__ import annotations

import os

import pytest

from tests.soak import soak

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

# Shorter than `make soak`'s ten minutes, to fit the suite's time on two cores.
SECONDS = float(os.environ.get("PARLEY_TEST_SOAK_SECONDS", "60"))


def test_a_short_soak_answers_everything_and_loses_no_write(make_postgres_database, tmp_path):
    report = soak(make_postgres_database(), tmp_path / "instance", SECONDS)
    print(report.summary())
    assert report.errors == []
    assert set(report.statuses) <= {200, 304}
    assert report.requests["write"] > 0
    assert report.requests["export"] > 0
    assert report.requests["read"] > 0
    assert report.writes_acknowledged == report.requests["write"]
    assert report.writes_missing == []
    assert report.writes_found == report.writes_acknowledged
    # Every request was logged, once.
    assert report.access_log_lines == report.sent + report.setup_requests
