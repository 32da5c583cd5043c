"""Streamed exports give their database connection back when they end.

Flask tears a request down before a streamed body is produced; an export that
reopened its session then held a pooled connection until the garbage collector
ran, and a busy server ran out of connections (found by the soak).
"""

from __future__ import annotations

import gc

from api import parley

EXPORTS = [
    "/v1/talks.csv",
    "/v1/talks.jsonld",
    "/v1/statements.md",
    "/v1/talks/istanbul-talks.csv",
    "/v1/talks/istanbul-talks/delegations.md",
]


def test_every_export_returns_its_connection_to_the_pool(loaded_app):
    pool = parley(loaded_app).engine.pool
    client = loaded_app.test_client()
    # Without the collector, a connection nothing returned would stay checked out.
    gc.disable()
    try:
        before = pool.checkedout()  # type: ignore[attr-defined]
        for _ in range(3):
            for path in EXPORTS:
                response = client.get(path, buffered=True)
                assert response.status_code == 200, path
                assert response.get_data()
                assert pool.checkedout() == before, path  # type: ignore[attr-defined]
    finally:
        gc.enable()
