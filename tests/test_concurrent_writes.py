"""Concurrent writes through real HTTP: gunicorn with two workers, on SQLite and PostgreSQL.

Eight clients each make 25 accepted merge-patches of one talk, re-reading it
whenever their ETag is stale (412). Every accepted change must become exactly
one revision, numbered without gaps, in the record's history and in the change
feed. Every wait is bounded: each request by a timeout, the whole run by a
deadline; nothing sleeps.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import queue
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from api import parley, tokens
from api.lifecycle import prepare_database
from tests.conftest import make_app
from tests.servers import CONFIGURATION, PARLEY, REQUEST_TIMEOUT, STARTUP_TIMEOUT, Server
from tests.v1helpers import path_of

pytestmark = pytest.mark.slow

TALK = "/v1/talks/istanbul-talks"
THREADS = 8
# gunicorn's gthread workers: requests of one worker run concurrently too.
SERVER_WORKERS = 2
SERVER_THREADS = 4
ACCEPTED_PER_THREAD = 25
TOKEN_NAME = "concurrent-editor"
# The whole run (after the server listens) must end within this.
RUN_TIMEOUT = 120.0


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    etag: str | None
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> Reply:
    """One request on a connection of its own, bounded by REQUEST_TIMEOUT."""
    parts = urlsplit(base)
    assert parts.hostname == "127.0.0.1"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
    try:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/merge-patch+json"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, response.getheader("ETag"), response.read())
    finally:
        connection.close()


def get_json(base: str, path: str) -> Any:
    reply = call(base, "GET", path)
    assert reply.status == 200, reply.body[:500]
    return reply.json()


class ThreadedServer(Server):
    """`parley serve` with several threads per worker; readiness and stopping as Server's."""

    def __init__(self, instance: Path, extra_env: dict[str, str]) -> None:
        env = {k: v for k, v in os.environ.items() if k not in CONFIGURATION}
        env["PARLEY_INSTANCE_PATH"] = str(instance)
        env.update(extra_env)
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        command = [str(PARLEY), "serve", "--port", "0"]
        command += ["--workers", str(SERVER_WORKERS), "--threads", str(SERVER_THREADS)]
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


@dataclasses.dataclass
class Served:
    base: str
    token: str
    server: Server


@pytest.fixture
def served(empty_database_url: str, tmp_path: Path) -> Iterator[Served]:
    """`parley serve` (two gunicorn workers of four threads) on a loaded database of the test's backend,
    and a token committed to it."""
    instance = tmp_path / "instance"
    app = make_app(empty_database_url, instance)
    prepare_database(app)
    with parley(app).sessions.begin() as session:
        token = tokens.create(session, TOKEN_NAME, datetime.now(UTC), None)
    parley(app).engine.dispose()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    server = ThreadedServer(instance, {"DATABASE_URL": empty_database_url})
    try:
        yield Served(server.wait_until_listening(deadline), token, server)
    finally:
        server.stop()


def feed_position(base: str) -> str:
    """The change feed's resume token after everything committed so far."""
    since: str | None = None
    for _ in range(1000):
        query = f"?since={since}&limit=1000" if since else "?limit=1000"
        page = get_json(base, f"/v1/changes{query}")
        since = page["since"]
        if not page["more"]:
            assert since is not None
            return since
    raise AssertionError("the change feed never ended")


def feed_after(base: str, since: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _ in range(1000):
        page = get_json(base, f"/v1/changes?since={since}&limit=50")
        items.extend(page["items"])
        since = page["since"]
        if not page["more"]:
            return items
    raise AssertionError("the change feed never ended")


def revision_list(base: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    path: str | None = f"{TALK}/revisions?limit=30"
    while path:
        page = get_json(base, path)
        items.extend(page["items"])
        # Links carry the configured base URL; follow them on this server.
        path = page["links"]["next"] and path_of(page["links"]["next"])
        assert len(items) < 10_000
    return items


@dataclasses.dataclass
class Outcome:
    """What one client saw: each accepted value with the revision it became, and every
    status answered to its PATCHes."""

    accepted: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    problems: list[str] = dataclasses.field(default_factory=list)


def client(
    base: str, token: str, number: int, start: threading.Barrier, deadline: float
) -> Outcome:
    """Make ACCEPTED_PER_THREAD accepted PATCHes, re-reading the talk on a 412.

    Even-numbered clients re-read with a GET; odd ones take the 412's ETag.
    """
    outcome = Outcome()
    start.wait(timeout=STARTUP_TIMEOUT)
    etag: str | None = None
    while len(outcome.accepted) < ACCEPTED_PER_THREAD:
        if time.monotonic() > deadline:
            outcome.problems.append(f"client {number}: deadline passed")
            return outcome
        if etag is None:
            read = call(base, "GET", TALK)
            if read.status != 200 or read.etag is None:
                outcome.problems.append(f"client {number}: GET answered {read.status}")
                return outcome
            etag = read.etag
        value = f"t{number}-{len(outcome.accepted)}"
        reply = call(
            base,
            "PATCH",
            TALK,
            {"notes": value},
            {"Authorization": f"Bearer {token}", "If-Match": etag},
        )
        outcome.statuses[reply.status] += 1
        if reply.status == 200:
            body = reply.json()
            if body["notes"] != value:
                outcome.problems.append(f"client {number}: {value!r} answered {body['notes']!r}")
            outcome.accepted.append((value, body["revision"]))
            etag = reply.etag
        elif reply.status == 412:
            if reply.etag is None:
                outcome.problems.append(f"client {number}: a 412 without an ETag")
            etag = reply.etag if number % 2 else None
        else:
            outcome.problems.append(
                f"client {number}: PATCH answered {reply.status}: {reply.body[:300]!r}"
            )
            return outcome
    return outcome


def test_concurrent_patches_each_become_exactly_one_revision(served: Served):
    base = served.base
    before = get_json(base, TALK)
    start_revision: int = before["revision"]
    since = feed_position(base)
    deadline = time.monotonic() + RUN_TIMEOUT
    barrier = threading.Barrier(THREADS)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [
            pool.submit(client, base, served.token, number, barrier, deadline)
            for number in range(THREADS)
        ]
        outcomes = [f.result(timeout=RUN_TIMEOUT + STARTUP_TIMEOUT) for f in futures]

    problems = [p for o in outcomes for p in o.problems]
    assert problems == [], "".join(served.server.stderr[-50:])
    statuses: Counter[int] = sum((o.statuses for o in outcomes), Counter())
    assert set(statuses) <= {200, 412}, statuses
    assert statuses[412] > 0, statuses
    total = THREADS * ACCEPTED_PER_THREAD
    assert statuses[200] == total

    accepted = {value: revision for o in outcomes for value, revision in o.accepted}
    assert len(accepted) == total
    # Each accepted PATCH became its own revision, numbered without gaps.
    numbers = range(start_revision + 1, start_revision + total + 1)
    assert sorted(accepted.values()) == list(numbers)

    after = get_json(base, TALK)
    assert after["revision"] == start_revision + statuses[200] == start_revision + total
    newest = max(accepted, key=accepted.__getitem__)
    assert after["notes"] == newest

    # The history holds every accepted change once, by the token, in the revision it was given.
    history = revision_list(base)
    assert [r["revision"] for r in history] == list(range(1, start_revision + total + 1))
    added = [r for r in history if r["revision"] > start_revision]
    assert {r["author"] for r in added} == {f"token:{TOKEN_NAME}"}
    assert not any(r["deleted"] for r in added)
    stored = {n: get_json(base, f"{TALK}/revisions/{n}")["data"]["notes"] for n in numbers}
    assert sorted(stored.values()) == sorted(accepted)
    assert stored == {revision: value for value, revision in accepted.items()}

    # The change feed lists them too, once each, in revision order.
    feed = feed_after(base, since)
    assert [(e["resource"], e["id"]) for e in feed] == [("talks", "istanbul-talks")] * total
    assert [e["revision"] for e in feed] == list(numbers)
    positions = [e["position"] for e in feed]
    assert positions == sorted(positions)
    assert len(set(positions)) == total
    assert {e["author"] for e in feed} == {f"token:{TOKEN_NAME}"}
