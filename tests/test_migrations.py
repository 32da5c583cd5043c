"""The migrations, not the models, make the schema: and the two agree on every backend."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner, Result
from sqlalchemy import Engine, inspect

from api import db
from api.cli import EXIT_OK, main
from api.models import Base
from tests.conftest import REPO


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


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
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
