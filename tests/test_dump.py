"""`parley dump` writes the database back as fixtures that read, load and check again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import update

from api import create_app, parley
from api.cli import EXIT_OK, main
from api.config import Settings
from api.fixtures import FixtureSet, read_fixtures, yamlio
from api.fixtures.dump import dump_fixtures
from api.fixtures.loader import read_records
from api.fixtures.reader import DATASET_FILE
from api.lifecycle import prepare_database
from api.resources import BY_NAME, RESOURCES, Scalar
from tests.conftest import REPO, make_app

EXIT_USAGE = 2
FIXTURE_FILES = [DATASET_FILE] + [resource.fixture_file for resource in RESOURCES]


@pytest.fixture
def other_database_url(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    """A second new, empty database of the test's backend (beside `empty_database_url`)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'other.sqlite3'}"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make()


@pytest.fixture
def own_app(empty_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a database of its own, migrated and loaded: a test may commit to it."""
    app = make_app(empty_database_url, tmp_path / "instance")
    prepare_database(app)
    yield app
    parley(app).engine.dispose()


def dump(app: Flask, folder: Path) -> list[Path]:
    with parley(app).sessions() as session:
        return dump_fixtures(session, folder)


def read_dump(folder: Path) -> FixtureSet:
    return read_fixtures(folder, REPO / "seeds", fixtures_label=str(folder))


def stored_records(app: Flask) -> dict[str, dict[str, Any]]:
    with parley(app).sessions() as session:
        return {
            resource.name: {
                record_id: (record, state.deleted)
                for record_id, (record, state) in read_records(session, resource).items()
            }
            for resource in RESOURCES
        }


def test_the_dump_of_the_loaded_database_reads_back_as_the_fixtures(
    loaded_app: Flask, fixture_set: FixtureSet, tmp_path: Path
):
    folder = tmp_path / "new" / "fixtures"

    written = dump(loaded_app, folder)

    assert [path.name for path in written] == FIXTURE_FILES
    assert sorted(p.name for p in folder.iterdir()) == sorted(FIXTURE_FILES)
    dumped = read_dump(folder)
    assert dumped.records == fixture_set.records
    assert dumped.dataset == fixture_set.dataset


def test_the_dump_is_written_like_the_hand_written_fixtures(loaded_app: Flask, tmp_path: Path):
    dump(loaded_app, tmp_path)

    for resource in RESOURCES:
        text = (tmp_path / resource.fixture_file).read_text(encoding="utf-8")
        document = yaml.safe_load(text)
        assert list(document) == [resource.name]
        records = document[resource.name]
        assert [r["id"] for r in records] == sorted(r["id"] for r in records)
        declared = ["id"] + [
            spec.name for spec in resource.fields if not (isinstance(spec, Scalar) and spec.derived)
        ]
        for record in records:
            keys = list(record)
            assert keys[-1] == "citations"
            fields = [k for k in keys if k not in ("notes", "citations")]
            assert fields == [name for name in declared if name in record], record["id"]
            assert keys[len(fields) :] in (["notes", "citations"], ["citations"])
            assert all(value is not None and value != [] for value in record.values())
            assert all(list(c) == ["source", "quote", "start"] for c in record["citations"])
    sources = (tmp_path / "sources.yaml").read_text(encoding="utf-8")
    assert "seed_file" not in sources
    assert "line_start" not in sources
    assert "“" in (tmp_path / "talks.yaml").read_text(encoding="utf-8")  # not escaped


def test_dumping_twice_gives_the_same_bytes(loaded_app: Flask, tmp_path: Path):
    dump(loaded_app, tmp_path / "first")
    dump(loaded_app, tmp_path / "second")
    dump(loaded_app, tmp_path / "first")  # over its own earlier output

    for name in FIXTURE_FILES:
        first = (tmp_path / "first" / name).read_bytes()
        assert first == (tmp_path / "second" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "first").iterdir()) == sorted(FIXTURE_FILES)


def test_a_change_in_the_database_is_dumped_and_loads_as_it_is_stored(
    own_app: Flask, other_database_url: str, tmp_path: Path
):
    talks = BY_NAME["talks"].table
    statements = BY_NAME["statements"].table
    with parley(own_app).sessions.begin() as session:
        session.execute(
            update(talks)
            .where(talks.c.id == "istanbul-talks")
            .values(title="Peace talks in Istanbul (edited)", changed_by="editor")
        )
        session.execute(
            update(statements)
            .where(statements.c.id == "zelenskiy-decorative")
            .values(deleted_at=datetime(2026, 12, 1, tzinfo=UTC), changed_by="editor")
        )
    folder = tmp_path / "dumped"

    dump(own_app, folder)

    dumped = read_dump(folder)
    assert dumped.records["talks"]["istanbul-talks"]["title"] == "Peace talks in Istanbul (edited)"
    assert "zelenskiy-decorative" not in dumped.records["statements"]
    reloaded = create_app(
        Settings(
            database_url=other_database_url,
            instance_path=tmp_path / "other-instance",
            fixtures_dir=folder,
            seeds_dir=REPO / "seeds",
        )
    )
    try:
        assert prepare_database(reloaded) is not None
        before = stored_records(own_app)
        del before["statements"]["zelenskiy-decorative"]
        assert stored_records(reloaded) == before
    finally:
        parley(reloaded).engine.dispose()


def test_the_dump_command_writes_fixtures_that_check_accepts(loaded_app: Flask, tmp_path: Path):
    env = {
        "DATABASE_URL": parley(loaded_app).database_url,
        "PARLEY_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    folder = tmp_path / "dumped"
    runner = CliRunner()

    result = runner.invoke(main, ["dump", str(folder)], env=env)

    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.splitlines() == [str(folder / name) for name in FIXTURE_FILES]
    checked = runner.invoke(main, ["check", "--fixtures", str(folder)], env=env)
    assert checked.exit_code == EXIT_OK, checked.output
    assert checked.stdout.startswith("ok: ")


@pytest.mark.parametrize("migrated", [False, True], ids=["bare", "migrated"])
def test_the_dump_command_refuses_a_database_without_a_dataset(
    empty_database_url: str, tmp_path: Path, migrated: bool
):
    env = {"DATABASE_URL": empty_database_url, "PARLEY_INSTANCE_PATH": str(tmp_path / "instance")}
    runner = CliRunner()
    if migrated:
        assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == EXIT_OK

    result = runner.invoke(main, ["dump", str(tmp_path / "dumped")], env=env)

    assert result.exit_code == EXIT_USAGE, result.output
    assert "load the fixtures first" in result.stderr
    assert not (tmp_path / "dumped").exists()


def test_a_value_two_records_share_is_written_twice_not_as_an_alias():
    # The loader refuses YAML aliases; PyYAML would write one for a shared object.
    shared = ["russia", "ukraine"]
    text = yamlio.dump({"talks": [{"parties": shared}, {"parties": shared}]})
    assert "&" not in text
    assert "*" not in text
    assert yamlio.parse(text) == {"talks": [{"parties": shared}, {"parties": shared}]}
