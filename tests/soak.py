"""The soak: mixed reads, exports and authenticated writes against `parley serve`
(gunicorn, two workers) on PostgreSQL, then a check that nothing was lost.

`make soak` runs it for SOAK_SECONDS (default 600) and also checks that the
workers' memory stays flat after warm-up; tests/test_soak.py runs a short form.

    python -m tests.soak [--seconds N] [--no-memory-check]

Errors are any answer but the expected ones (200, and 304 for a revalidation)
and any failed connection. Afterwards every acknowledged write must be in the
database as the revision it was acknowledged as, with that value.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from api import create_app, models, parley, tokens
from api.config import Settings
from api.lifecycle import prepare_database
from tests.liveserver import LoggedServer, call
from tests.servers import STARTUP_TIMEOUT

ADMIN_URL = os.environ.get(
    "PARLEY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLIENTS = 4
SERVER_WORKERS = 2
SERVER_THREADS = 2
TOKEN_NAME = "soak"
# Memory is compared from the end of warm-up (this share of the run, at most 2 minutes)
# to the end of the run.
WARM_UP_SHARE = 0.2
WARM_UP_MAX = 120.0
MEMORY_GROWTH_LIMIT = 0.10
COLLECTIONS = ("talks", "delegations", "obstacles", "force-proposals", "statements", "actors")
EXPORT_SUFFIXES = ("csv", "jsonld", "md")
# Limits no soak client reaches: the soak measures the service, not its limiter.
UNLIMITED = {"PARLEY_RATELIMIT_WRITES": "100000000/60", "PARLEY_RATELIMIT_EXPORTS": "100000000/60"}


@dataclasses.dataclass
class Client:
    """One soak client: a random mix of requests, and one record it alone edits."""

    base: str
    token: str
    number: int
    own_record: str
    items: list[str]
    requests: Counter[str] = dataclasses.field(default_factory=Counter)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    errors: list[str] = dataclasses.field(default_factory=list)
    acknowledged: list[tuple[str, int, str]] = dataclasses.field(default_factory=list)
    _pending: str | None = None

    def run(self, until: float) -> None:
        rng = random.Random(self.number)
        etags: dict[str, str] = {}
        own_etag: str | None = None
        sequence = 0
        while time.monotonic() < until:
            roll = rng.random()
            try:
                if roll < 0.15:
                    own_etag = self._write(own_etag, sequence)
                    sequence += 1
                elif roll < 0.35:
                    self._export(rng)
                else:
                    self._read(rng, etags)
            except (OSError, http.client.HTTPException) as exc:
                # A request was sent and got no whole answer: it counts, as an error.
                if self._pending is not None:
                    self.requests[self._pending] += 1
                    self._pending = None
                self.errors.append(f"connection failed or cut: {exc!r}")

    def _send(self, kind: str, method: str, path: str, *args: Any) -> Any:
        self._pending = kind
        return call(self.base, method, path, *args)

    def _expect(self, kind: str, reply: Any, *allowed: int) -> bool:
        self._pending = None
        self.requests[kind] += 1
        self.statuses[reply.status] += 1
        if reply.status not in allowed:
            self.errors.append(f"{kind}: {reply.status} {reply.body[:200]!r}")
            return False
        return True

    def _read(self, rng: random.Random, etags: dict[str, str]) -> None:
        choice = rng.random()
        if choice < 0.3:
            path = f"/v1/{rng.choice(COLLECTIONS)}?limit={rng.choice((5, 20, 50))}"
        elif choice < 0.8:
            path = rng.choice(self.items)
        else:
            path = "/v1/changes?limit=100"
        headers = {"If-None-Match": etags[path]} if path in etags and rng.random() < 0.5 else {}
        reply = self._send("read", "GET", path, None, headers)
        if self._expect("read", reply, 200, 304) and "etag" in reply.headers:
            etags[path] = reply.headers["etag"]

    def _export(self, rng: random.Random) -> None:
        suffix = rng.choice(EXPORT_SUFFIXES)
        if rng.random() < 0.5:
            path = f"/v1/{rng.choice(COLLECTIONS)}.{suffix}"
        else:
            path = f"{rng.choice(self.items)}.{suffix}"
        reply = self._send("export", "GET", path)
        if self._expect("export", reply, 200) and not reply.body:
            self.errors.append(f"export {path}: empty body")

    def _write(self, etag: str | None, sequence: int) -> str | None:
        if etag is None:
            read = self._send("read", "GET", self.own_record)
            if not self._expect("read", read, 200):
                return None
            etag = read.headers["etag"]
        value = f"soak-{self.number}-{sequence}"
        headers = {"Authorization": f"Bearer {self.token}", "If-Match": etag}
        reply = self._send("write", "PATCH", self.own_record, {"notes": value}, headers)
        if not self._expect("write", reply, 200):
            return None
        self.acknowledged.append((self.own_record, reply.json()["revision"], value))
        new_etag: str = reply.headers["etag"]
        return new_etag


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@dataclasses.dataclass
class Report:
    seconds: float
    requests: dict[str, int]
    statuses: dict[int, int]
    errors: list[str]
    writes_acknowledged: int
    writes_found: int
    writes_missing: list[str]
    access_log_lines: int
    setup_requests: int
    worker_rss_kb_after_warm_up: dict[int, int]
    worker_rss_kb_at_end: dict[int, int]
    # The server's warnings and errors (standard error), for a failed run to be read.
    server_problems: list[str]

    @property
    def sent(self) -> int:
        return sum(self.requests.values())

    def memory_growth(self) -> float:
        growth = 0.0
        for pid, start in self.worker_rss_kb_after_warm_up.items():
            end = self.worker_rss_kb_at_end.get(pid)
            if end is None:
                return float("inf")  # a worker was replaced: that is not flat
            growth = max(growth, (end - start) / start)
        return growth

    def summary(self) -> str:
        rss = ", ".join(
            f"{pid}: {self.worker_rss_kb_after_warm_up[pid] / 1024:.1f} -> "
            f"{self.worker_rss_kb_at_end.get(pid, 0) / 1024:.1f} MiB"
            for pid in sorted(self.worker_rss_kb_after_warm_up)
        )
        return (
            f"{self.seconds:.0f} s: {self.sent} requests ({self.sent / self.seconds:.0f}/s; "
            f"{', '.join(f'{k} {v}' for k, v in sorted(self.requests.items()))}), "
            f"{len(self.errors)} errors; writes acknowledged {self.writes_acknowledged}, "
            f"found {self.writes_found}; access log lines {self.access_log_lines}; "
            f"worker RSS after warm-up -> end: {rss}; "
            f"growth {self.memory_growth() * 100:.1f}%"
        )


def prepare(database_url: str, instance: Path) -> str:
    """Migrate and load ``database_url``; the token the soak writes with."""
    app = create_app(Settings(database_url=database_url, instance_path=instance))
    prepare_database(app)
    with parley(app).sessions.begin() as session:
        token = tokens.create(session, TOKEN_NAME, datetime.now(UTC), None)
    parley(app).engine.dispose()
    return token


def _paths(base: str) -> list[str]:
    items: list[str] = []
    for collection in COLLECTIONS:
        page = call(base, "GET", f"/v1/{collection}?limit=20").json()
        items.extend(f"/v1/{collection}/{item['id']}" for item in page["items"])
    return items


def found_writes(database_url: str, acknowledged: list[tuple[str, int, str]]) -> list[str]:
    """The acknowledged writes that are not in the database as acknowledged."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = {
                (f"/v1/{r.resource}/{r.record_id}", r.revision): r.data.get("notes")
                for r in connection.execute(
                    select(models.Revision).where(models.Revision.author == f"token:{TOKEN_NAME}")
                )
            }
    finally:
        engine.dispose()
    return [
        f"{path} revision {number}: {value!r} stored as {stored.get((path, number))!r}"
        for path, number, value in acknowledged
        if stored.get((path, number)) != value
    ]


def soak(database_url: str, instance: Path, seconds: float) -> Report:
    token = prepare(database_url, instance)
    env = {"DATABASE_URL": database_url, **UNLIMITED}
    server = LoggedServer(
        instance, env, workers=SERVER_WORKERS, threads=SERVER_THREADS, keep_stdout=False
    )
    try:
        base = server.wait_until_listening(time.monotonic() + STARTUP_TIMEOUT)
        items = _paths(base)
        writable = [p for p in items if "/sources/" not in p]
        clients = [
            Client(base, token, n, writable[n * 7 % len(writable)], items) for n in range(CLIENTS)
        ]
        assert len({c.own_record for c in clients}) == CLIENTS
        started = time.monotonic()
        until = started + seconds
        threads = [threading.Thread(target=c.run, args=(until,), daemon=True) for c in clients]
        for thread in threads:
            thread.start()
        warm_up = started + min(seconds * WARM_UP_SHARE, WARM_UP_MAX)
        while time.monotonic() < warm_up:
            threads[0].join(timeout=warm_up - time.monotonic())
        pids = server.worker_pids()
        after_warm_up = {pid: rss_kb(pid) for pid in pids}
        for thread in threads:
            thread.join(timeout=seconds + 60)
            assert not thread.is_alive(), "a soak client did not finish"
        elapsed = time.monotonic() - started
        at_end = {pid: rss_kb(pid) for pid in server.worker_pids() if pid in after_warm_up}
    finally:
        server.stop()
    acknowledged = [w for c in clients for w in c.acknowledged]
    missing = found_writes(database_url, acknowledged)
    requests: Counter[str] = sum((c.requests for c in clients), Counter())
    return Report(
        seconds=elapsed,
        requests=dict(requests),
        statuses=dict(sum((c.statuses for c in clients), Counter())),
        errors=[e for c in clients for e in c.errors],
        writes_acknowledged=len(acknowledged),
        writes_found=len(acknowledged) - len(missing),
        writes_missing=missing,
        access_log_lines=server.stdout_lines,
        setup_requests=len(COLLECTIONS),
        worker_rss_kb_after_warm_up=after_warm_up,
        worker_rss_kb_at_end=at_end,
        server_problems=[line.rstrip() for line in server.stderr if '"level": "info"' not in line][
            -100:
        ],
    )


@contextmanager
def scratch_database() -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"parley_soak_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--no-memory-check", action="store_true")
    args = parser.parse_args(argv)
    with scratch_database() as url, tempfile.TemporaryDirectory() as folder:
        report = soak(url, Path(folder) / "instance", args.seconds)
    print(report.summary())
    print(json.dumps(dataclasses.asdict(report), indent=2, sort_keys=True, default=str))
    failures = []
    if report.errors:
        failures.append(f"{len(report.errors)} errors, the first: {report.errors[:5]}")
    if report.writes_missing:
        failures.append(f"{len(report.writes_missing)} acknowledged writes missing")
    if report.access_log_lines != report.sent + report.setup_requests:
        failures.append(f"{report.access_log_lines} access log lines for {report.sent} requests")
    if not args.no_memory_check and report.memory_growth() > MEMORY_GROWTH_LIMIT:
        failures.append(f"worker memory grew {report.memory_growth() * 100:.1f}% after warm-up")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
