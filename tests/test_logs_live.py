"""The logs of a real `parley serve`: one JSON object per access log line, the
request id echoed, and no token (nor its hash) anywhere in either log."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from api import parley, tokens
from api.lifecycle import prepare_database
from tests.conftest import make_app
from tests.liveserver import call, serving

pytestmark = pytest.mark.slow

TALK = "/v1/talks/istanbul-talks"
FIELDS = {"time", "request_id", "method", "path", "status", "duration_ms", "bytes", "pid"}


def test_tokens_never_reach_the_logs_and_every_request_is_one_json_line(tmp_path):
    instance = tmp_path / "instance"
    app = make_app(f"sqlite:///{instance / 'parley.sqlite3'}", instance)
    prepare_database(app)
    with parley(app).sessions.begin() as session:
        token = tokens.create(session, "logged-editor", datetime.now(UTC), None)
    parley(app).engine.dispose()
    secrets = [token, token.removeprefix(tokens.PREFIX), tokens.digest(token)]

    with serving(instance) as (base, server):
        etag = call(base, "GET", TALK).headers["etag"]
        auth = {"Authorization": f"Bearer {token}", "If-Match": etag, "X-Request-Id": "edit-1"}
        written = call(base, "PATCH", TALK, {"notes": "logged edit"}, auth)
        assert written.status == 200, written.body
        assert written.headers["x-request-id"] == "edit-1"
        # The same token where it does not belong: in the query (refused), in the path.
        in_query = call(base, "PATCH", f"{TALK}?access_token={token}", {"notes": "x"}, auth)
        assert in_query.status == 400
        assert call(base, "GET", f"/v1/talks?q={token}").status == 200
        assert call(base, "GET", f"/v1/{token}").status == 404
        stale = call(base, "PATCH", TALK, {"notes": "stale"}, auth)
        assert stale.status == 412
        injected = call(base, "GET", "/v1", headers={"X-Request-Id": "bad id"})
        assert injected.headers["x-request-id"] != "bad id"
        sent = 7

    access = [line for line in server.stdout if line.strip()]
    application = "".join(server.stderr)
    entries = [json.loads(line) for line in access]
    assert len(entries) == sent
    for entry in entries:
        assert set(entry) >= FIELDS
    [edit] = [e for e in entries if e["request_id"] == "edit-1" and e["status"] == 200]
    assert edit["method"] == "PATCH"
    assert edit["path"] == TALK
    assert edit["bytes"] == len(written.body)
    assert injected.headers["x-request-id"] in {e["request_id"] for e in entries}
    for secret in secrets:
        assert secret not in "".join(access)
        assert secret not in application
