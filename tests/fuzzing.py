"""What the schemathesis tests share: the seed and size of a run, the hooks that put
generated requests past authentication and the precondition, and the tally of
what was sent.

`make test` runs the CI-sized form from a fixed seed; `make fuzz` sets FUZZ_SEED
(printed, so that a failing run can be repeated) and FUZZ_SCALE (how many times
the CI size to generate). One seed gives one run for one state of the code, but
schemathesis' generation also depends on what else the process has imported, so
the state machine inside the whole suite may walk other paths than its file run
alone: what the tests assert (counts, no 5xx, answers within the document) holds
for any run.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from sqlalchemy import Connection, Transaction
from sqlalchemy.orm import sessionmaker

from api import Parley, parley
from api.fixtures import FixtureSet
from api.resources import BY_NAME, AnyRef, Positions, Ref, RefList

CI_SEED = 20261125


def fuzz_seed() -> int:
    value = os.environ.get("FUZZ_SEED", "")
    return int(value) if value else CI_SEED


def fuzz_scale() -> int:
    value = os.environ.get("FUZZ_SCALE", "")
    return max(1, int(value)) if value else 1


def report_line(line: str) -> None:
    """Add ``line`` to the file FUZZ_REPORT names, if any (`make fuzz` prints it at the end:
    each test and each worker reports its own)."""
    path = os.environ.get("FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as report:
            report.write(line + "\n")


def documented_app(instance: Path) -> Flask:
    """The app on a fresh SQLite database loaded with the fixtures, serving exactly the
    formats the committed document lists (the built-in ones), whatever plugins this
    environment has installed."""
    from api.lifecycle import prepare_database
    from api.openapi import builtin_registry
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{instance / 'parley.sqlite3'}", instance)
    prepare_database(app)
    app.extensions["parley"] = dataclasses.replace(parley(app), exporters=builtin_registry())
    return app


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


def creatable(fixture_set: FixtureSet) -> dict[str, dict[str, Any]]:
    """Per writable collection, the members a generator cannot guess (references to
    records that exist, citations quoting a source verbatim), from one curated record."""
    templates: dict[str, dict[str, Any]] = {}
    for name, records in fixture_set.records.items():
        resource = BY_NAME[name]
        if not resource.writable:
            continue
        record = records[sorted(records)[0]]
        template: dict[str, Any] = {"citations": record["citations"]}
        for spec in resource.fields:
            if isinstance(spec, RefList) and spec.exclusive:
                template[spec.name] = []  # a listed record may belong to one owner only
            elif isinstance(spec, Ref | RefList | AnyRef | Positions):
                template[spec.name] = record[spec.name]
        templates[name] = template
    return templates


def with_known_references(case: schemathesis.Case, templates: dict[str, dict[str, Any]]) -> None:
    """A generated create or replacement keeps its id and its scalars, but refers to
    records that exist and cites its source verbatim, so that it can succeed and go on
    to a chain of writes. Members the case left out stay out; bodies that are not
    objects (and merge patches, restores) are left alone."""
    if not isinstance(case.body, dict):
        return
    parts = case.path.split("/")  # "", "v1", collection[, "{id}"]
    method = case.method.upper()
    if not ((method == "POST" and len(parts) == 3) or (method == "PUT" and len(parts) == 4)):
        return
    collection = parts[2]
    if collection not in templates:
        return
    body = dict(case.body)
    for member, value in templates[collection].items():
        if member in body:
            body[member] = value
    case.body = body


class ScenarioDatabase:
    """Every scenario starts from the same data: its writes go into one outer
    transaction, rolled back when it ends (as the `editor` fixture does). Hypothesis
    needs that: a scenario replayed must meet the answers it met the first time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.state: Parley = parley(app)
        self.connection: Connection | None = None
        self.transaction: Transaction | None = None

    def begin(self) -> None:
        self.connection = self.state.engine.connect()
        self.transaction = self.connection.begin()
        sessions = sessionmaker(
            bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        self.app.extensions["parley"] = dataclasses.replace(self.state, sessions=sessions)

    def end(self) -> None:
        self.app.extensions["parley"] = self.state
        if self.transaction is not None:
            self.transaction.rollback()
        if self.connection is not None:
            self.connection.close()
        self.connection = self.transaction = None


@dataclass
class Tally:
    """Every request a fuzzing run sent, by operation and status."""

    statuses: Counter[int] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    # Operations that answered with a success at least once.
    succeeded: set[str] = field(default_factory=set)

    def record(self, case: schemathesis.Case, status: int) -> None:
        label = f"{case.method.upper()} {case.path}"
        self.statuses[status] += 1
        self.operations[label] += 1
        if 200 <= status < 300:
            self.succeeded.add(label)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def report(self, name: str, seed: int) -> None:
        """Print the summary and add it to the FUZZ_REPORT file."""
        line = self.summary(name, seed)
        print(line)
        report_line(line)

    def summary(self, name: str, seed: int) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{name}: FUZZ_SEED={seed} requests={self.requests} "
            f"5xx={self.server_errors} operations={len(self.operations)} ({statuses})"
        )
