"""The API under database faults: gunicorn talking to PostgreSQL through a proxy
the test cuts, stalls and restores (tests/faultproxy.py).

While the database is away, reads, writes and /healthz answer 503 with
Retry-After, within a bounded time even when the database goes silent; when it
returns, the service recovers by itself. Writes cut off mid-way are committed
whole (record, revision and change-feed entry) or not at all.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from api import parley, tokens
from api.lifecycle import prepare_database
from tests.conftest import make_app
from tests.faultproxy import FaultProxy
from tests.liveserver import LoggedServer, Reply, call
from tests.servers import STARTUP_TIMEOUT

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

TALK = "/v1/talks/istanbul-talks"
# Short timeouts, so that a silent database costs each request a few seconds only.
CONNECT_TIMEOUT = 1
STATEMENT_TIMEOUT = 1
# The most any request may take while the database is away: a round trip's deadline
# (statement + connect timeout), one new connection attempt, and slack for a loaded machine.
BOUND = (STATEMENT_TIMEOUT + CONNECT_TIMEOUT) + CONNECT_TIMEOUT + 5.0
RECOVERY_TIMEOUT = 30.0


@dataclass
class Faulty:
    base: str
    token: str
    proxy: FaultProxy
    server: LoggedServer
    direct_url: str

    def auth(self, etag: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "If-Match": etag}


@pytest.fixture(scope="module")
def faulty(make_postgres_database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    """`parley serve` (two workers) on a loaded PostgreSQL database behind a FaultProxy,
    shared by this module's tests: each restores the proxy before it ends."""
    url = make_postgres_database()
    instance = tmp_path_factory.mktemp("faults") / "instance"
    app = make_app(url, instance)
    prepare_database(app)
    with parley(app).sessions.begin() as session:
        token = tokens.create(session, "fault-editor", datetime.now(UTC), None)
    parley(app).engine.dispose()
    with FaultProxy() as proxy:
        proxied = make_url(url).set(host="127.0.0.1", port=proxy.port)
        env = {
            "DATABASE_URL": proxied.render_as_string(hide_password=False),
            "PARLEY_DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
            "PARLEY_DB_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT),
            "PARLEY_WORKER_TIMEOUT": "30",
        }
        server = LoggedServer(instance, env, workers=2)
        try:
            base = server.wait_until_listening(time.monotonic() + STARTUP_TIMEOUT)
            yield Faulty(base, token, proxy, server, url)
        finally:
            server.stop()


def timed(
    base: str, method: str, path: str, body: Any = None, **kwargs: Any
) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = call(base, method, path, body, timeout=BOUND + 10, **kwargs)
    return reply, time.monotonic() - started


def assert_unavailable(reply: Reply, elapsed: float) -> None:
    assert reply.status == 503, reply.body[:300]
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    assert reply.headers["content-type"] == "application/problem+json"
    assert int(reply.headers["retry-after"]) > 0
    assert reply.json()["status"] == 503


def wait_until_recovered(base: str) -> float:
    """Seconds until a read succeeds again (bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_TIMEOUT:
        if call(base, "GET", TALK, timeout=BOUND + 10).status == 200:
            return time.monotonic() - started
    raise AssertionError(f"no recovery within {RECOVERY_TIMEOUT} s")


def check_everything_unavailable(faulty: Faulty, etag: str) -> dict[str, Any]:
    """Reads, exports, writes and /healthz while the database is away: 503s, in time.

    Returns how long each took, and what /healthz said was wrong."""
    timings: dict[str, Any] = {}
    for name, method, path, body in [
        ("read", "GET", TALK, None),
        ("export", "GET", "/v1/talks.csv", None),
        ("write", "PATCH", TALK, {"notes": "during the fault"}),
    ]:
        headers = faulty.auth(etag) if method == "PATCH" else None
        reply, elapsed = timed(faulty.base, method, path, body, headers=headers)
        assert_unavailable(reply, elapsed)
        timings[name] = round(elapsed, 2)
    health, elapsed = timed(faulty.base, "GET", "/healthz")
    assert health.status == 503
    assert elapsed < BOUND
    assert int(health.headers["retry-after"]) > 0
    database = health.json()["database"]
    assert database["status"] == "unreachable"
    timings["healthz"] = round(elapsed, 2)
    timings["detail"] = database["detail"]
    return timings


@pytest.mark.parametrize(
    ("fault", "details"),
    [
        (
            "cut",
            {"the connection to the database was lost", "the database could not be reached"},
        ),
        ("stall", {"the database did not answer in time"}),
    ],
)
def test_the_api_answers_503_while_the_database_is_away_and_recovers(faulty, fault, details):
    faulty.proxy.restore()  # whatever an earlier test left
    wait_until_recovered(faulty.base)
    before = call(faulty.base, "GET", TALK)
    assert before.status == 200
    assert call(faulty.base, "GET", "/healthz").status == 200
    getattr(faulty.proxy, fault)()
    timings = check_everything_unavailable(faulty, before.headers["etag"])
    assert timings.pop("detail") in details
    faulty.proxy.restore()
    recovered = wait_until_recovered(faulty.base)
    assert call(faulty.base, "GET", "/healthz").status == 200
    # The write refused while the database was away never happened.
    after = call(faulty.base, "GET", TALK)
    assert after.json()["revision"] == before.json()["revision"]
    assert after.json()["notes"] == before.json()["notes"]
    print(f"{fault}: seconds to answer {timings}; recovered after {recovered:.2f} s")


@dataclass
class Writer:
    """One client PATCHing one record until told to stop, re-reading on 412 and 503."""

    base: str
    token: str
    path: str
    number: int
    acknowledged: dict[str, int] = field(default_factory=dict)
    attempted: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    # Every 503 this writer saw, to its reads as well as to its writes.
    refusals: int = 0
    problems: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event, deadline: float) -> None:
        etag: str | None = None
        sequence = 0
        while not stop.is_set() and time.monotonic() < deadline:
            if etag is None:
                read = call(self.base, "GET", self.path, timeout=BOUND + 10)
                if read.status == 200:
                    etag = read.headers["etag"]
                elif read.status == 503:
                    self.refusals += 1
                else:
                    self.problems.append(f"GET {self.path}: {read.status}")
                    return
                continue
            value = f"w{self.number}-{sequence}"
            sequence += 1
            self.attempted.add(value)
            headers = {"Authorization": f"Bearer {self.token}", "If-Match": etag}
            try:
                reply = call(
                    self.base, "PATCH", self.path, {"notes": value}, headers, timeout=BOUND + 10
                )
            except OSError as exc:  # the server itself must never drop a request
                self.problems.append(f"PATCH {self.path}: {exc!r}")
                return
            self.statuses[reply.status] += 1
            if reply.status == 200:
                self.acknowledged[value] = reply.json()["revision"]
                etag = reply.headers["etag"]
            elif reply.status in (412, 503):
                if reply.status == 503:
                    self.refusals += 1
                etag = None
            else:
                self.problems.append(f"PATCH {self.path}: {reply.status} {reply.body[:200]!r}")
                return


def changes(base: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query = "?limit=1000"
    for _ in range(1000):
        page = call(base, "GET", f"/v1/changes{query}").json()
        items.extend(page["items"])
        if not page["more"]:
            return items
        query = f"?since={page['since']}&limit=1000"
    raise AssertionError("the change feed never ended")


def history(base: str, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(1000):
        page = call(base, "GET", f"{path}/revisions?limit=1000{cursor}").json()
        items.extend(page["items"])
        following = page["links"]["next"]
        if not following:
            return items
        cursor = "&cursor=" + following.split("cursor=")[1].split("&")[0]
    raise AssertionError("the history never ended")


def test_writes_cut_off_mid_way_are_committed_whole_or_not_at_all(faulty):
    faulty.proxy.restore()
    wait_until_recovered(faulty.base)
    paths = [TALK] + [
        f"/v1/actors/{actor['id']}"
        for actor in call(faulty.base, "GET", "/v1/actors?limit=3").json()["items"]
    ]
    writers = [Writer(faulty.base, faulty.token, path, n) for n, path in enumerate(paths)]
    stop = threading.Event()
    deadline = time.monotonic() + 120
    cuts = 4
    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        running = [pool.submit(w.run, stop, deadline) for w in writers]
        try:
            for _ in range(cuts):
                # Cut while writes are in flight: after a few more have been acknowledged.
                target = sum(len(w.acknowledged) for w in writers) + 2 * len(writers)
                while sum(len(w.acknowledged) for w in writers) < target:
                    assert time.monotonic() < deadline, "writes stopped being acknowledged"
                    assert not any(f.done() for f in running), (
                        [w.problems for w in writers],
                        "".join(faulty.server.stderr[-80:]),
                    )
                    time.sleep(0.01)  # polling the writers' progress, not waiting for readiness
                faulty.proxy.cut()
                refused = sum(w.refusals for w in writers)
                while sum(w.refusals for w in writers) == refused:
                    assert time.monotonic() < deadline, "no write saw the cut"
                    time.sleep(0.01)
                faulty.proxy.restore()
            wait_until_recovered(faulty.base)
        finally:
            stop.set()
        for future in running:
            future.result(timeout=BOUND + 30)

    assert [p for w in writers for p in w.problems] == []
    statuses = sum((w.statuses for w in writers), Counter())
    assert set(statuses) <= {200, 412, 503}, statuses
    assert sum(w.refusals for w in writers) >= cuts
    feed = changes(faulty.base)
    for writer in writers:
        record = call(faulty.base, "GET", writer.path).json()
        revisions = history(faulty.base, writer.path)
        # Every revision is whole: numbered without gaps up to the record's own number ...
        assert [r["revision"] for r in revisions] == list(range(1, record["revision"] + 1))
        # ... and in the change feed, once.
        resource, record_id = writer.path.split("/")[2:4]
        in_feed = [e["revision"] for e in feed if (e["resource"], e["id"]) == (resource, record_id)]
        assert in_feed == list(range(1, record["revision"] + 1))
        # Every acknowledged write is there, as the revision it was told; nothing else
        # but what was sent got in.
        stored = {
            n: call(faulty.base, "GET", f"{writer.path}/revisions/{n}").json()["data"]["notes"]
            for n in range(1, record["revision"] + 1)
        }
        for value, number in writer.acknowledged.items():
            assert stored[number] == value
        written = {v for v in stored.values() if v and v.startswith(f"w{writer.number}-")}
        assert written <= writer.attempted
        assert set(writer.acknowledged) <= written
    print(f"writes: {dict(statuses)} over {cuts} cuts")
