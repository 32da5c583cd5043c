"""Rate limits on writes and exports: the RateLimit fields, 429 problems, and one
count shared by two gunicorn workers through Redis."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from api import parley
from api.config import RateLimit, Settings, SettingsError
from api.ratelimit import EXTENSION_KEY, Limiter
from tests.conftest import IN_CI, make_app
from tests.liveserver import call, serving

TALK = "/v1/talks/istanbul-talks"
# A moment in the middle of a window of every size used here, so no test crosses one.
NOON = 1_800_000_030.0
FIELD = re.compile(r'^"(?P<policy>[a-z]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')
POLICY = re.compile(r'^"(?P<policy>[a-z]+)";q=(?P<q>\d+);w=(?P<w>\d+)$')
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def limited(loaded_app: Flask) -> Iterator[Callable[..., tuple[Flask, list[float]]]]:
    """An app on the session's database with the given limits and a clock the test moves."""
    made: list[Flask] = []

    def make(**limits: RateLimit | None) -> tuple[Flask, list[float]]:
        state = parley(loaded_app)
        app = make_app(state.database_url, Path(loaded_app.instance_path), **limits)
        now = [NOON]
        limiter = app.extensions[EXTENSION_KEY]
        assert isinstance(limiter, Limiter)
        limiter.clock = lambda: now[0]
        made.append(app)
        return app, now

    yield make
    for app in made:
        parley(app).engine.dispose()


def remaining(response) -> tuple[str, int, int]:
    match = FIELD.match(response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    return match["policy"], int(match["r"]), int(match["t"])


def test_writes_are_limited_per_client_with_the_ratelimit_fields(limited):
    app, now = limited(write_limit=RateLimit(3, 60))
    client = app.test_client()
    seen = []
    for _ in range(3):
        response = client.patch(TALK, json={"notes": "x"})  # no token: a 401, still counted
        assert response.status_code == 401
        assert response.headers["RateLimit-Policy"] == '"writes";q=3;w=60'
        seen.append(remaining(response))
    assert [r for _policy, r, _t in seen] == [2, 1, 0]
    assert {policy for policy, _r, _t in seen} == {"writes"}
    # NOON is 30 s into its 60-second window.
    assert {t for _policy, _r, t in seen} == {30}

    refused = client.patch(TALK, json={"notes": "x"})
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.headers["Retry-After"] == "30"
    assert remaining(refused) == ("writes", 0, 30)
    assert "at most 3 every 60 seconds" in refused.get_json()["detail"]
    # Reads are not writes: they go on.
    assert client.get(TALK).status_code == 200

    now[0] += 30  # the next window
    again = client.post("/v1/talks", json={})
    assert again.status_code == 401
    assert remaining(again) == ("writes", 2, 60)


def test_exports_are_limited_and_json_reads_and_revalidations_are_not(limited):
    app, _now = limited(export_limit=RateLimit(2, 60))
    client = app.test_client()
    first = client.get("/v1/talks.csv", buffered=True)
    assert first.status_code == 200
    assert remaining(first) == ("exports", 1, 30)
    etag = first.headers["ETag"]
    # A 304 sends no export: it costs nothing.
    assert client.get("/v1/talks.csv", headers={"If-None-Match": etag}).status_code == 304
    second = client.get(TALK, headers={"Accept": "text/markdown"}, buffered=True)
    assert second.status_code == 200
    assert remaining(second) == ("exports", 0, 30)
    refused = client.get("/v1/actors?format=jsonld", buffered=True)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert refused.headers["RateLimit-Policy"] == '"exports";q=2;w=60'
    for _ in range(5):
        page = client.get("/v1/talks")
        assert page.status_code == 200
        assert "RateLimit" not in page.headers


def test_a_limit_that_is_off_sends_no_fields(limited):
    app, _now = limited(write_limit=None, export_limit=None)
    client = app.test_client()
    for _ in range(3):
        response = client.get("/v1/talks.csv", buffered=True)
        assert response.status_code == 200
        assert "RateLimit" not in response.headers


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARLEY_RATELIMIT_WRITES", "60"),
        ("PARLEY_RATELIMIT_WRITES", "0/60"),
        ("PARLEY_RATELIMIT_EXPORTS", "ten/60"),
        ("PARLEY_RATELIMIT_STORAGE", "memcached://127.0.0.1"),
    ],
)
def test_a_bad_limit_setting_is_refused_by_name(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_limit_settings_are_read_from_the_environment():
    settings = Settings.from_env(
        {
            "PARLEY_RATELIMIT_WRITES": "5/10",
            "PARLEY_RATELIMIT_EXPORTS": "off",
            "PARLEY_RATELIMIT_STORAGE": REDIS_URL,
        }
    )
    assert settings.write_limit == RateLimit(5, 10)
    assert settings.export_limit is None
    assert settings.ratelimit_storage == REDIS_URL


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")


def _window_far_from_its_end(margin: float) -> int:
    """A window length (seconds) whose current window has at least ``margin`` seconds left:
    windows are aligned to the clock, and this run must not see one end."""
    now = time.time()
    return next(w for w in range(3600, 7200) if w - now % w > margin)


class HeldRequest:
    """A write whose request is sent in two parts: the gunicorn worker that accepts it
    waits for the rest, and takes no other request meanwhile."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        assert parts.hostname == "127.0.0.1"
        assert parts.port is not None
        self.socket = socket.create_connection((parts.hostname, parts.port), timeout=30)
        self.socket.sendall(
            f"PATCH {TALK} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            "Content-Type: application/merge-patch+json\r\nContent-Length: 2\r\n".encode()
        )

    def finish(self) -> tuple[int, dict[str, str]]:
        self.socket.sendall(b"\r\n{}")
        received = b""
        while chunk := self.socket.recv(65536):
            received += chunk
        self.socket.close()
        head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in head[1:])
        return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards, pass or fail."""
    _redis_or_skip()
    import redis

    prefix = f"parley-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = client.keys(f"{prefix}*")
    if keys:
        client.delete(*keys)


@pytest.mark.slow
def test_two_workers_share_one_count_through_redis(tmp_path, redis_prefix):
    quota = 10
    prefix = redis_prefix
    window = _window_far_from_its_end(margin=300)
    env = {
        "PARLEY_RATELIMIT_STORAGE": REDIS_URL,
        "PARLEY_RATELIMIT_PREFIX": prefix,
        "PARLEY_RATELIMIT_WRITES": f"{quota}/{window}",
    }
    with serving(tmp_path / "instance", env, workers=2) as (base, server):
        # The first connection in the listen queue holds one worker; the quota's worth
        # of writes that follow all go to the other one; then the held one, the
        # (quota + 1)th write, completes on the first worker.
        held = HeldRequest(base)
        replies = [call(base, "PATCH", TALK, {"notes": "x"}) for _ in range(quota)]
        status, headers = held.finish()
    # Read once the server has stopped: a line is written after its response is sent.
    log = [entry for entry in server.access_log() if entry["method"] == "PATCH"]

    assert [reply.status for reply in replies] == [401] * quota  # no token: counted, refused
    left = [int(FIELD.match(r.headers["ratelimit"])["r"]) for r in replies]  # type: ignore[index]
    assert left == list(range(quota - 1, -1, -1))
    for reply in replies:
        assert reply.headers["ratelimit-policy"] == f'"writes";q={quota};w={window}'
    # The other worker had counted none of them itself, yet refuses the next one.
    assert status == 429
    assert int(headers["retry-after"]) > 0
    assert FIELD.match(headers["ratelimit"])["r"] == "0"  # type: ignore[index]
    assert len(log) == quota + 1
    counted_by = {entry["pid"] for entry in log if entry["status"] == 401}
    refused_by = {entry["pid"] for entry in log if entry["status"] == 429}
    assert len(counted_by) == len(refused_by) == 1
    assert counted_by != refused_by

    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = client.keys(f"{prefix}*")
    assert len(keys) == 1
    assert int(client.get(keys[0]) or 0) == quota + 1
    assert 0 < client.ttl(keys[0]) <= window + 1
