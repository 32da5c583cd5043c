"""Start-up and maintenance work on the database: migrate, load, check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources.abc import Traversable
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from api import bundled, db, parley
from api.config import Settings
from api.fixtures import FixtureSet, LoadReport, apply_fixtures, read_fixtures

# An arbitrary constant naming Parley's start-up lock among PostgreSQL advisory locks.
_PG_STARTUP_LOCK = 0x7061726C6579


def fixture_sources(settings: Settings) -> tuple[Traversable, str, Traversable, str]:
    """The fixtures and seeds folders, and how messages name them."""
    fixtures: Traversable = settings.fixtures_dir or bundled.fixtures_dir()
    seeds: Traversable = settings.seeds_dir or bundled.seeds_dir()
    return (
        fixtures,
        str(settings.fixtures_dir) if settings.fixtures_dir else "fixtures",
        seeds,
        str(settings.seeds_dir) if settings.seeds_dir else "seeds",
    )


def read_configured_fixtures(settings: Settings) -> FixtureSet:
    fixtures, fixtures_label, seeds, seeds_label = fixture_sources(settings)
    return read_fixtures(fixtures, seeds, fixtures_label=fixtures_label, seeds_label=seeds_label)


@contextmanager
def startup_lock(app: Flask) -> Iterator[None]:
    """One process at a time migrates and loads: a file lock for processes on
    this host, and an advisory lock on PostgreSQL for hosts sharing the database."""
    state = parley(app)
    with db.file_lock(Path(app.instance_path) / ".startup.lock"):
        if state.engine.dialect.name != "postgresql":
            yield
            return
        with state.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_STARTUP_LOCK})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_STARTUP_LOCK}
                )
                connection.commit()


def prepare_database(app: Flask) -> LoadReport | None:
    """Migrate to the newest schema and, on an empty database, load the fixtures.

    Returns the load's report, or None when the database was already loaded.
    """
    state = parley(app)
    with startup_lock(app):
        db.upgrade(state.engine)
        with state.sessions() as session, session.begin():
            db.writing(session)
            if db.is_loaded(session):
                return None
            return apply_fixtures(session, read_configured_fixtures(state.settings))


def load(app: Flask, *, force: bool = False, prune: bool = False) -> LoadReport:
    """Apply the configured fixtures in one transaction (all or nothing)."""
    state = parley(app)
    fixtures = read_configured_fixtures(state.settings)
    with startup_lock(app):
        db.upgrade(state.engine)
        with state.sessions() as session, session.begin():
            db.writing(session)
            return apply_fixtures(session, fixtures, force=force, prune=prune)
