"""How a load brings the database to the fixtures: revisions, conflicts, removals, timing.

Most tests apply edited copies of the bundled fixtures inside the loaded
database's per-test transaction, which is rolled back afterwards.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, create_engine, func, select, update
from sqlalchemy.orm import Session

from api import create_app, parley
from api.cli import EXIT_DATABASE, EXIT_LEFT_AS_IS, EXIT_OK, main
from api.config import Settings
from api.fixtures import FixtureSet, apply_fixtures, read_records
from api.fixtures.loader import FIXTURES_AUTHOR, release_time
from api.lifecycle import prepare_database
from api.models import Base, Revision
from api.resources import BY_NAME, RESOURCES
from tests.dbstate import fingerprint

API_AUTHOR = "token:editor"
UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/none"


# --- helpers ---------------------------------------------------------------------------


def copy_of(fixture_set: FixtureSet, **dataset: Any) -> FixtureSet:
    """An editable copy of the fixtures, with some dataset facts replaced."""
    return FixtureSet(
        fixture_set.dataset | dataset, copy.deepcopy(fixture_set.records), fixture_set.seeds
    )


def record_count(fixture_set: FixtureSet) -> int:
    return sum(len(records) for records in fixture_set.records.values())


def first_id(fixture_set: FixtureSet, resource: str) -> str:
    return next(iter(fixture_set.records[resource]))


def unreferenced_statement(fixture_set: FixtureSet) -> str:
    """A statement no other record points to, so that dropping it leaves no dangling reference."""
    about = {r["about"] for r in fixture_set.records["statements"].values()}
    return next(s for s in fixture_set.records["statements"] if f"statements/{s}" not in about)


def row(session: Session, resource: str, record_id: str) -> Any:
    table = BY_NAME[resource].table
    return session.execute(select(table).where(table.c.id == record_id)).mappings().one()


def revisions_of(session: Session, resource: str, record_id: str) -> dict[int, Revision]:
    return {
        r.revision: r
        for r in session.scalars(
            select(Revision).where(Revision.resource == resource, Revision.record_id == record_id)
        )
    }


def revision_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Revision)) or 0


def contents(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every Parley table as the session sees it (what fingerprint() hashes)."""
    result = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        result[table.name] = [tuple(r) for r in session.execute(select(table).order_by(*order))]
    return result


def edit_through_the_api(
    db: Session | Connection, resource: str, record_id: str, **values: Any
) -> None:
    """What an API write leaves behind: new values, a new revision, an API author."""
    table = BY_NAME[resource].table
    db.execute(
        update(table)
        .where(table.c.id == record_id)
        .values(changed_by=API_AUTHOR, revision=table.c.revision + 1, **values)
    )


# --- loading again ---------------------------------------------------------------------


def test_loading_the_same_fixtures_again_changes_nothing(db_session, fixture_set):
    before = contents(db_session)
    revisions = revision_count(db_session)

    report = apply_fixtures(db_session, fixture_set)

    assert report.created == []
    assert report.updated == []
    assert report.unchanged == record_count(fixture_set)
    assert report.conflicts == report.removed == report.pruned == []
    assert not report.changed
    assert revision_count(db_session) == revisions
    assert contents(db_session) == before


def test_an_edited_record_is_the_only_one_updated_with_a_new_revision(db_session, fixture_set):
    talk_id = first_id(fixture_set, "talks")
    later = fixture_set.released + timedelta(days=30)
    edited = copy_of(fixture_set, released=later)
    edited.records["talks"][talk_id]["expectations"] = "A breakthrough is expected."

    report = apply_fixtures(db_session, edited)

    assert report.updated == [("talks", talk_id)]
    assert report.created == []
    assert report.unchanged == record_count(fixture_set) - 1
    stored = row(db_session, "talks", talk_id)
    assert stored["revision"] == 2
    assert stored["expectations"] == "A breakthrough is expected."
    assert stored["updated_at"] == release_time(later)
    assert stored["created_at"] == release_time(fixture_set.released)
    assert stored["changed_by"] == FIXTURES_AUTHOR
    revision = revisions_of(db_session, "talks", talk_id)[2]
    assert revision.author == FIXTURES_AUTHOR
    assert revision.changed_at == release_time(later)
    assert not revision.deleted
    assert revision.data == edited.records["talks"][talk_id]


def test_records_not_edited_keep_their_first_revision(db_session, fixture_set):
    talk_id = first_id(fixture_set, "talks")
    edited = copy_of(fixture_set, released=fixture_set.released + timedelta(days=30))
    edited.records["talks"][talk_id]["expectations"] = "A breakthrough is expected."

    apply_fixtures(db_session, edited)

    for resource in RESOURCES:
        for record_id, (_, state) in read_records(db_session, resource).items():
            if (resource.name, record_id) == ("talks", talk_id):
                continue
            assert state.revision == 1, (resource.name, record_id)
            assert row(db_session, resource.name, record_id)["updated_at"] == release_time(
                fixture_set.released
            )


# --- records changed through the API ---------------------------------------------------


def test_a_record_changed_through_the_api_is_a_conflict_left_as_it_is(db_session, fixture_set):
    talk_id = first_id(fixture_set, "talks")
    edit_through_the_api(db_session, "talks", talk_id, expectations="Edited through the API.")

    report = apply_fixtures(db_session, fixture_set)

    assert report.conflicts == [("talks", talk_id)]
    assert report.updated == report.created == []
    stored = row(db_session, "talks", talk_id)
    assert stored["expectations"] == "Edited through the API."
    assert stored["changed_by"] == API_AUTHOR
    assert stored["revision"] == 2
    assert 3 not in revisions_of(db_session, "talks", talk_id)


def test_force_overwrites_a_record_changed_through_the_api(db_session, fixture_set):
    talk_id = first_id(fixture_set, "talks")
    edit_through_the_api(db_session, "talks", talk_id, expectations="Edited through the API.")

    report = apply_fixtures(db_session, fixture_set, force=True)

    assert report.updated == [("talks", talk_id)]
    assert report.conflicts == []
    stored = row(db_session, "talks", talk_id)
    assert stored["changed_by"] == FIXTURES_AUTHOR
    assert stored["revision"] == 3
    record, _ = read_records(db_session, BY_NAME["talks"])[talk_id]
    assert record == fixture_set.records["talks"][talk_id]
    assert revisions_of(db_session, "talks", talk_id)[3].author == FIXTURES_AUTHOR


def test_a_record_changed_through_the_api_back_to_the_fixtures_is_no_conflict(
    db_session, fixture_set
):
    talk_id = first_id(fixture_set, "talks")
    edit_through_the_api(db_session, "talks", talk_id)

    report = apply_fixtures(db_session, fixture_set)

    assert report.conflicts == []
    assert report.unchanged == record_count(fixture_set)


# --- records no longer in the fixtures -------------------------------------------------


def test_a_record_removed_from_the_fixtures_is_reported_and_kept(db_session, fixture_set):
    statement_id = unreferenced_statement(fixture_set)
    edited = copy_of(fixture_set)
    del edited.records["statements"][statement_id]

    report = apply_fixtures(db_session, edited)

    assert report.removed == [("statements", statement_id)]
    assert report.pruned == []
    stored = row(db_session, "statements", statement_id)
    assert stored["deleted_at"] is None
    assert stored["revision"] == 1


def test_prune_soft_deletes_a_record_removed_from_the_fixtures(db_session, fixture_set):
    statement_id = unreferenced_statement(fixture_set)
    edited = copy_of(fixture_set)
    del edited.records["statements"][statement_id]

    report = apply_fixtures(db_session, edited, prune=True)

    assert report.pruned == [("statements", statement_id)]
    assert report.removed == []
    stored = row(db_session, "statements", statement_id)
    assert stored["deleted_at"] == release_time(fixture_set.released)
    assert stored["revision"] == 2
    revision = revisions_of(db_session, "statements", statement_id)[2]
    assert revision.deleted
    assert revision.author == FIXTURES_AUTHOR


def test_prune_keeps_a_removed_record_changed_through_the_api(db_session, fixture_set):
    statement_id = unreferenced_statement(fixture_set)
    edit_through_the_api(db_session, "statements", statement_id)
    edited = copy_of(fixture_set)
    del edited.records["statements"][statement_id]

    report = apply_fixtures(db_session, edited, prune=True)

    assert report.removed == [("statements", statement_id)]
    assert report.pruned == []
    assert row(db_session, "statements", statement_id)["deleted_at"] is None


def test_a_pruned_record_loaded_back_is_undeleted_with_a_new_revision(db_session, fixture_set):
    statement_id = unreferenced_statement(fixture_set)
    edited = copy_of(fixture_set)
    del edited.records["statements"][statement_id]
    apply_fixtures(db_session, edited, prune=True)

    report = apply_fixtures(db_session, fixture_set)

    assert report.updated == [("statements", statement_id)]
    stored = row(db_session, "statements", statement_id)
    assert stored["deleted_at"] is None
    assert stored["revision"] == 3
    revision = revisions_of(db_session, "statements", statement_id)[3]
    assert not revision.deleted
    assert revision.data == fixture_set.records["statements"][statement_id]


# --- references between records --------------------------------------------------------


@pytest.mark.parametrize("new_talk_comes", ["after", "before"])
def test_a_delegation_moves_from_one_talk_to_another_in_one_load(
    db_session, fixture_set, new_talk_comes
):
    talk_id = first_id(fixture_set, "talks")
    edited = copy_of(fixture_set)
    talk = edited.records["talks"][talk_id]
    moving = talk["delegations"][-1]
    talk["delegations"] = talk["delegations"][:-1]
    new_talk = copy.deepcopy(talk) | {"id": "follow-up-talks", "delegations": [moving]}
    if new_talk_comes == "after":
        edited.records["talks"]["follow-up-talks"] = new_talk
    else:
        edited.records["talks"] = {"follow-up-talks": new_talk, **edited.records["talks"]}

    report = apply_fixtures(db_session, edited)

    assert report.created == [("talks", "follow-up-talks")]
    assert report.updated == [("talks", talk_id)]
    stored = read_records(db_session, BY_NAME["talks"])
    assert stored[talk_id][0] == talk
    assert stored["follow-up-talks"][0] == new_talk


# --- timing and determinism -------------------------------------------------------------


def test_records_are_timed_at_the_dataset_release_not_by_the_clock(db_session, fixture_set):
    released = release_time(fixture_set.released)
    for resource in RESOURCES:
        table = resource.table
        times = db_session.execute(select(table.c.id, table.c.created_at, table.c.updated_at))
        for record_id, created_at, updated_at in times:
            assert (created_at, updated_at) == (released, released), (resource.name, record_id)
    assert set(db_session.scalars(select(Revision.changed_at))) == {released}


@pytest.fixture
def second_empty_database_url(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    """Another new, empty database of the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'second.sqlite3'}"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make()


@pytest.fixture
def local_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Sets this process's time zone (and PostgreSQL's session one) to a UTC offset in hours."""

    def set_zone(hours: int) -> None:
        # POSIX TZ counts west of UTC: "<+14>-14" is fourteen hours ahead.
        monkeypatch.setenv("TZ", f"<{hours:+03d}>{-hours:+d}")
        monkeypatch.setenv("PGTZ", f"Etc/GMT{-hours:+d}")
        time.tzset()
        assert time.timezone == -hours * 3600

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def fresh_load(database_url: str, instance: Path) -> str:
    app = create_app(Settings(database_url=database_url, instance_path=instance))
    try:
        report = prepare_database(app)
        assert report is not None
        assert report.created
        return fingerprint(parley(app).engine)
    finally:
        parley(app).engine.dispose()


def test_two_fresh_loads_give_identical_databases(
    empty_database_url, second_empty_database_url, tmp_path
):
    first = fresh_load(empty_database_url, tmp_path / "first")
    second = fresh_load(second_empty_database_url, tmp_path / "second")
    assert first == second


def test_two_fresh_loads_in_different_time_zones_give_identical_databases(
    empty_database_url, second_empty_database_url, tmp_path, local_time_zone
):
    local_time_zone(14)
    first = fresh_load(empty_database_url, tmp_path / "first")
    local_time_zone(-10)
    second = fresh_load(second_empty_database_url, tmp_path / "second")
    assert first == second


# --- the `parley load` command ----------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str | None]:
    """The environment of `parley load` on a fresh SQLite file and the bundled fixtures."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PARLEY_INSTANCE_PATH": str(tmp_path / "instance"),
        "PARLEY_FIXTURES_DIR": None,
        "PARLEY_SEEDS_DIR": None,
    }


def parley_load(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(main, ["load", *args], env=env)


def test_load_into_an_empty_database_creates_every_record(cli_env, fixture_set):
    result = parley_load(cli_env)

    assert result.exit_code == EXIT_OK, result.output
    assert f"created {record_count(fixture_set)}," in result.stderr


def test_load_again_leaves_every_record_unchanged(cli_env, fixture_set):
    parley_load(cli_env)

    result = parley_load(cli_env)

    assert result.exit_code == EXIT_OK, result.output
    assert "created 0, updated 0," in result.stderr
    assert f"unchanged {record_count(fixture_set)}," in result.stderr


def test_load_over_an_api_edit_exits_4_naming_the_record_and_force(cli_env, fixture_set):
    parley_load(cli_env)
    talk_id = first_id(fixture_set, "talks")
    engine = create_engine(str(cli_env["DATABASE_URL"]))
    try:
        with engine.begin() as connection:
            edit_through_the_api(
                connection, "talks", talk_id, expectations="Edited through the API."
            )
        before = fingerprint(engine)

        result = parley_load(cli_env)

        assert result.exit_code == EXIT_LEFT_AS_IS, result.output
        assert f"talks/{talk_id}" in result.stderr
        assert "--force" in result.stderr
        assert fingerprint(engine) == before
    finally:
        engine.dispose()


def test_load_with_an_unreachable_database_exits_5_without_a_traceback(cli_env):
    cli_env["DATABASE_URL"] = UNREACHABLE_POSTGRES

    result = parley_load(cli_env)

    assert result.exit_code == EXIT_DATABASE, result.output
    assert result.stderr.startswith("database error: ")
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
