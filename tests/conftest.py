"""Shared fixtures: one loaded database per backend per session, rolled back per test.

PostgreSQL is found through PARLEY_TEST_POSTGRES_URL; each session works in a
database it creates and drops. Without a server the PostgreSQL tests skip,
except under CI=true, where an unreachable server fails the run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api import create_app, parley, tokens
from api.config import Settings
from api.fixtures import FixtureSet
from api.lifecycle import prepare_database, read_configured_fixtures

hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

IN_CI = os.environ.get("CI") == "true"
POSTGRES_URL = os.environ.get(
    "PARLEY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
REPO = Path(__file__).resolve().parent.parent
# The test profile: rate limits no test reaches by accident (the tests of the limits set
# their own). Servers started by tests inherit them through the environment.
TEST_LIMITS = {"PARLEY_RATELIMIT_WRITES": "1000000/60", "PARLEY_RATELIMIT_EXPORTS": "1000000/60"}
for _name, _value in TEST_LIMITS.items():
    os.environ.setdefault(_name, _value)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tests marked heavy run for minutes each: collected last (by file name), they
    # started when the other worker had little left, and ran on alone after it.
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the server's own database, to create and drop databases."""
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def make_postgres_database(postgres_admin: Engine) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the test server, all dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = f"parley_test_{uuid.uuid4().hex[:12]}"
        with postgres_admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    with postgres_admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    """A new, empty database of the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def make_app(database_url: str, instance: Path, **settings: Any) -> Flask:
    profile = Settings.from_env(TEST_LIMITS)
    return create_app(
        dataclasses.replace(profile, database_url=database_url, instance_path=instance, **settings)
    )


def fresh_database_url(request: pytest.FixtureRequest, backend: str, instance: Path) -> str:
    """An empty database of ``backend``: a file in ``instance``, or a PostgreSQL database
    of its own (dropped at the end of the session)."""
    if backend == "sqlite":
        return f"sqlite:///{instance / 'parley.sqlite3'}"
    url: str = request.getfixturevalue("make_postgres_database")()
    return url


@pytest.fixture(scope="session")
def loaded_app(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The app on a database migrated and loaded from the fixtures, once per session."""
    instance = tmp_path_factory.mktemp(f"instance-{backend}")
    app = make_app(fresh_database_url(request, backend, instance), instance)
    prepare_database(app)
    yield app
    parley(app).engine.dispose()


@pytest.fixture
def app_with(loaded_app: Flask) -> Iterator[Callable[..., Flask]]:
    """Apps on the session's database, with settings of the test's choosing."""
    made: list[Flask] = []
    state = parley(loaded_app)

    def make(**settings: object) -> Flask:
        app = make_app(state.database_url, Path(loaded_app.instance_path), **settings)
        made.append(app)
        return app

    yield make
    for app in made:
        parley(app).engine.dispose()


@pytest.fixture(scope="session")
def fixture_set() -> FixtureSet:
    """The bundled fixtures, read and verified (independently of any database)."""
    return read_configured_fixtures(Settings())


@pytest.fixture
def db_session(loaded_app: Flask) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    engine = parley(loaded_app).engine
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def client(loaded_app: Flask) -> FlaskClient:
    return loaded_app.test_client()


@pytest.fixture
def fixture_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Editable copies of the fixtures and seeds in ./fixtures and ./seeds of a temp folder."""
    shutil.copytree(REPO / "fixtures", tmp_path / "fixtures")
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclasses.dataclass
class Editor:
    """A test client holding a valid token, and shortcuts for conditional writes."""

    client: FlaskClient
    token: str
    connection: Any

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def etag(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code in (200, 410), response.get_json()
        etag: str = response.headers["ETag"]
        return etag

    def write(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        etag: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a write with the token and (unless ``etag`` is given) the current ETag."""
        sent = dict(self.auth)
        if method.upper() != "POST" or "/restore" in path:
            sent["If-Match"] = (
                etag if etag is not None else self.etag(path.split("/revisions")[0].split("?")[0])
            )
        sent.update(headers or {})
        kwargs: dict[str, Any] = {"headers": sent}
        if body is not None:
            kwargs["data"] = body if isinstance(body, bytes | str) else _json_bytes(body)
            kwargs["content_type"] = content_type
        return self.client.open(path, method=method.upper(), **kwargs)


def _json_bytes(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()


@pytest.fixture
def editor(loaded_app: Flask) -> Iterator[Editor]:
    """The session database's app, answering writes inside a transaction rolled back after
    the test, with a token for them."""
    state = parley(loaded_app)
    with state.engine.connect() as connection:
        transaction = connection.begin()
        sessions = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        with sessions() as session:
            token = tokens.create(session, "editor", datetime.now(UTC), None)
            session.commit()
        loaded_app.extensions["parley"] = dataclasses.replace(state, sessions=sessions)
        try:
            yield Editor(loaded_app.test_client(), token, connection)
        finally:
            loaded_app.extensions["parley"] = state
            transaction.rollback()
