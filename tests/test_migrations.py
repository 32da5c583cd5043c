"""The migrations, not the models, make the schema: and the two agree on every backend."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import Engine, column, func, inspect, select, table
from sqlalchemy.orm import Session

from api import db, tokens
from api.cli import EXIT_OK, main
from api.fixtures import FixtureSet, apply_fixtures
from api.models import Base
from tests.conftest import REPO

# The foundation every later migration builds on (0001_baseline.py).
BASELINE = "0001"


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(empty_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def parley_db(empty_database_url: str, tmp_path: Path):
    """Runs `parley db ...` on the test's empty database."""
    env = {"DATABASE_URL": empty_database_url, "PARLEY_INSTANCE_PATH": str(tmp_path / "instance")}

    def run(*args: str) -> Result:
        result = CliRunner().invoke(main, ["db", *args], env=env)
        assert result.exit_code == EXIT_OK, result.output
        return result

    return run


# Indexes of PostgreSQL only, on an expression (``id COLLATE "C"``, migration 0004), which
# the models do not declare: alembic reflects them as plain column indexes, so they cannot
# be compared (tests/test_query_plans.py checks that pages use them).
BINARY_ID_INDEX = re.compile(r"ix_[a-z_]+_id_binary")


def _compared(
    _object: object, name: str | None, kind: str, reflected: bool, _other: object
) -> bool:
    return not (kind == "index" and reflected and BINARY_ID_INDEX.fullmatch(name or ""))


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _compared}
        )
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_of_an_empty_database_gives_exactly_the_models_schema(parley_db, engine):
    parley_db("upgrade")

    assert schema_differences(engine) == []


def test_current_names_the_newest_revision_after_upgrade(parley_db, engine):
    parley_db("upgrade")

    result = parley_db("current")

    head = db.head_revision(engine)
    assert head is not None
    assert result.stdout.strip() == f"{head} (newest: {head})"


def test_downgrade_to_base_leaves_none_of_the_parley_tables(parley_db, engine):
    parley_db("upgrade")

    parley_db("downgrade", "base")

    assert set(inspect(engine).get_table_names()) & set(Base.metadata.tables) == set()
    assert db.current_revision(engine) is None


def test_no_code_outside_the_tests_creates_tables_from_the_models():
    callers = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("api", "exporters")
        for path in sorted((REPO / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bcreate_all\b", line)
    ]
    assert callers == []


Schema = dict[str, tuple[list[str], list[str]]]  # table -> (columns, primary key)


def reflect_schema(engine: Engine) -> Schema:
    inspector = inspect(engine)
    return {
        name: (
            [c["name"] for c in inspector.get_columns(name)],
            list(inspector.get_pk_constraint(name)["constrained_columns"]),
        )
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


def data_fingerprint(engine: Engine, schema: Schema) -> str:
    """A hash of every row of ``schema``'s tables, over ``schema``'s columns only.

    Like tests.dbstate.fingerprint, but over the baseline's columns rather than
    the models': a later migration may add columns the baseline does not have.
    """
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for name, (columns, primary_key) in sorted(schema.items()):
            t = table(name, *(column(c) for c in columns))
            order = [t.c[c] for c in primary_key or columns]
            for row in connection.execute(select(t).order_by(*order)):
                digest.update(repr((name, tuple(row))).encode())
    return digest.hexdigest()


def test_data_loaded_at_the_baseline_survives_upgrade_and_downgrade(
    engine: Engine, fixture_set: FixtureSet
):
    script = ScriptDirectory.from_config(db.alembic_config(engine))
    assert script.get_base() == BASELINE
    db.upgrade(engine, BASELINE)
    with Session(engine) as session, session.begin():
        report = apply_fixtures(session, fixture_set)
    assert len(report.created) == sum(len(v) for v in fixture_set.records.values())
    baseline = reflect_schema(engine)
    assert "api_tokens" not in baseline
    assert all(table_name in Base.metadata.tables for table_name in baseline)
    loaded = data_fingerprint(engine, baseline)
    with engine.connect() as connection:
        talks = connection.scalar(select(func.count()).select_from(table("talks")))
    assert talks == len(fixture_set.records["talks"]) > 0

    db.upgrade(engine, "head")

    assert db.current_revision(engine) == db.head_revision(engine)
    assert data_fingerprint(engine, baseline) == loaded
    assert "api_tokens" in inspect(engine).get_table_names()
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        token = tokens.create(session, "migration-test", now, None)
    with Session(engine) as session:
        assert tokens.authenticate(session, token, now) == "migration-test"
        assert [t.name for t in tokens.list_tokens(session)] == ["migration-test"]

    db.downgrade(engine, BASELINE)

    assert db.current_revision(engine) == BASELINE
    assert reflect_schema(engine) == baseline
    assert data_fingerprint(engine, baseline) == loaded
