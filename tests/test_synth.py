"""`parley synth`: deterministic synthetic records in fixed proportions, citing the real seed.

Most checks read one synthesized database per backend (built once for the
module); determinism and the command line build their own empty databases.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, Table, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api import lifecycle, parley, synth
from api.bundled import seeds_dir
from api.cli import main
from api.fixtures import read_records
from api.fixtures.loader import FIXTURES_AUTHOR, release_time
from api.fixtures.schemas import record_schema
from api.models import Citation, Meta, Position, Revision
from api.resources import (
    ACTOR_KINDS,
    BY_NAME,
    RESOURCES,
    SOURCES,
    STATEMENT_KINDS,
    TALK_STATUSES,
    Positions,
    Ref,
    RefList,
    Resource,
)
from api.seeds import read_seeds
from api.synth.rows import Rows
from tests.conftest import make_app
from tests.dbstate import fingerprint

TALKS = 200
SYNTH_LIKE = f"{synth.PREFIX}-%"
SYNTH_RESOURCES = [r for r in RESOURCES if r is not SOURCES]


# --- helpers ---------------------------------------------------------------------------


def new_database_url(request: pytest.FixtureRequest, backend: str, folder: Path) -> str:
    """Another empty database of ``backend`` (``empty_database_url`` gives only one)."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'other.sqlite3'}"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make()


def synthesized(url: str, instance: Path, *, talks: int = TALKS, seed: int = 0) -> Flask:
    app = make_app(url, instance)
    synth.synthesize(app, talks=talks, seed=seed)
    return app


def engine_of(app: Flask) -> Engine:
    return parley(app).engine


def synthetic(table: Table, column: str = "id") -> Any:
    return table.c[column].like(SYNTH_LIKE)


def synthetic_records(session: Session, resource: Resource) -> dict[str, Any]:
    return {
        record_id: value
        for record_id, value in read_records(session, resource).items()
        if record_id.startswith(f"{synth.PREFIX}-")
    }


def expected_counts(talks: int) -> dict[str, int]:
    """The records per resource the proportions in api/synth.py promise."""
    return {
        "actors": max(synth.MIN_ACTORS, math.ceil(talks / synth.TALKS_PER_ACTOR)),
        "delegations": talks * synth.DELEGATIONS_PER_TALK,
        "obstacles": max(synth.MIN_OBSTACLES, math.ceil(talks / synth.TALKS_PER_OBSTACLE)),
        "talks": talks,
        "force-proposals": talks // synth.TALKS_PER_FORCE_PROPOSAL,
        "statements": talks * synth.STATEMENTS_PER_TALK,
    }


def within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def contents(engine: Engine) -> dict[str, Any]:
    """What the database holds, in backend-neutral form (canonical records, revisions)."""
    with Session(engine) as session:
        result: dict[str, Any] = {r.name: read_records(session, r) for r in RESOURCES}
        result["revisions"] = [
            (r.id, r.resource, r.record_id, r.revision, r.changed_at, r.author, r.deleted, r.data)
            for r in session.scalars(select(Revision).order_by(Revision.id))
        ]
        result["citations"] = [
            (c.id, c.resource, c.record_id, c.position, c.source_id, c.quote, c.start, c.end)
            for c in session.scalars(select(Citation).order_by(Citation.id))
        ]
        result["meta"] = {m.key: m.value for m in session.scalars(select(Meta))}
    return result


@pytest.fixture(scope="module")
def synth_app(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One database per backend: the fixtures, then TALKS synthetic talks (seed 0)."""
    instance = tmp_path_factory.mktemp(f"synth-{backend}")
    url = new_database_url(request, backend, instance)
    app = synthesized(url, instance)
    yield app
    engine_of(app).dispose()


@pytest.fixture
def session(synth_app: Flask) -> Iterator[Session]:
    with Session(engine_of(synth_app)) as session:
        yield session


# --- proportions -------------------------------------------------------------------------


def test_ids_are_prefixed_and_zero_padded_so_they_sort_by_number():
    assert synth.synth_id("talk", 42) == "synth-talk-0000042"
    ids = [synth.synth_id("talk", n) for n in (9, 10, 100, 1_000_000)]
    assert ids == sorted(ids)


def test_the_actor_pool_grows_with_the_talks_above_its_minimum():
    assert synth.actor_count(1) == synth.MIN_ACTORS
    many = synth.TALKS_PER_ACTOR * synth.MIN_ACTORS * 3
    assert synth.actor_count(many) == synth.MIN_ACTORS * 3


def test_record_counts_follow_the_proportions(session):
    expected = expected_counts(TALKS)
    assert expected["force-proposals"] >= 1, "TALKS is too small to make a force proposal"
    counted = {
        r.name: session.scalar(select(func.count()).where(synthetic(r.table))) for r in RESOURCES
    }
    assert counted == expected | {"sources": 0}


def test_lists_follow_the_proportions(session):
    def per_owner(link: Table) -> Counter[str]:
        rows = session.execute(select(link.c.owner_id).where(synthetic(link, "owner_id")))
        return Counter(owner for (owner,) in rows)

    resources = {r.name: r for r in RESOURCES}
    lists = {
        spec.name: per_owner(spec.table)
        for r in resources.values()
        for spec in r.fields
        if isinstance(spec, RefList)
    }
    assert set(lists["parties"].values()) == {synth.PARTIES_PER_TALK}
    assert set(lists["delegations"].values()) == {synth.DELEGATIONS_PER_TALK}
    assert set(lists["obstacles"].values()) == {synth.OBSTACLES_PER_TALK}
    assert len(lists["parties"]) == TALKS
    assert lists["declined"], "some delegations should list who declined"
    assert all(within(n, synth.DECLINED_PER_DELEGATION) for n in lists["declined"].values())
    proposals = expected_counts(TALKS)["force-proposals"]
    assert len(lists["proposers"]) == proposals
    assert all(within(n, synth.PROPOSERS_PER_PROPOSAL) for n in lists["proposers"].values())
    assert all(within(n, synth.RELUCTANT_PER_PROPOSAL) for n in lists["reluctant"].values())

    positions = Counter(
        obstacle
        for (obstacle,) in session.execute(
            select(Position.obstacle_id).where(Position.obstacle_id.like(SYNTH_LIKE))
        )
    )
    assert len(positions) == expected_counts(TALKS)["obstacles"]
    assert all(within(n, synth.POSITIONS_PER_OBSTACLE) for n in positions.values())


def test_every_record_has_citations_and_one_revision(session):
    expected = expected_counts(TALKS)
    citations = Counter(
        (resource, record_id)
        for resource, record_id in session.execute(
            select(Citation.resource, Citation.record_id).where(Citation.record_id.like(SYNTH_LIKE))
        )
    )
    assert len(citations) == sum(expected.values())
    for (resource, _record_id), n in citations.items():
        bounds = synth.CITATIONS_PER_TALK if resource == "talks" else synth.CITATIONS_PER_RECORD
        assert within(n, bounds), resource

    revisions = session.execute(
        select(Revision.resource, Revision.record_id, Revision.revision, Revision.author)
        .where(Revision.record_id.like(SYNTH_LIKE))
        .order_by(Revision.id)
    ).all()
    assert len(revisions) == sum(expected.values())
    assert {(r.resource, r.record_id) for r in revisions} == set(citations)
    assert {(r.revision, r.author) for r in revisions} == {(1, synth.AUTHOR)}


def test_the_data_revision_moves_past_the_fixtures(session):
    last_fixture = session.scalar(
        select(func.max(Revision.id)).where(Revision.author == FIXTURES_AUTHOR)
    )
    first_synthetic = session.scalar(
        select(func.min(Revision.id)).where(Revision.author == synth.AUTHOR)
    )
    latest = session.scalar(select(func.max(Revision.id)))
    assert last_fixture is not None
    assert first_synthetic is not None
    assert last_fixture < first_synthetic
    assert latest == last_fixture + sum(expected_counts(TALKS).values())


# --- content -------------------------------------------------------------------------------


def test_records_are_valid_fixture_records_and_their_revision_holds_them(session):
    meta = session.get(Meta, "released")
    assert meta is not None
    released = date.fromisoformat(meta.value)
    data = {
        (r.resource, r.record_id): r.data
        for r in session.scalars(select(Revision).where(Revision.record_id.like(SYNTH_LIKE)))
    }
    for resource in SYNTH_RESOURCES:
        schema = record_schema(resource)
        for record_id, (record, state) in synthetic_records(session, resource).items():
            problems = schema.validate(record)
            assert not problems, (resource.name, record_id, problems)
            assert data[(resource.name, record_id)] == record
            assert state.revision == 1
            assert state.changed_by == synth.AUTHOR
            assert state.created_at == release_time(released)
            assert state.created_at.utcoffset() is not None
            assert not state.deleted


def test_every_synthetic_citation_slices_the_seed_within_its_document(session):
    seeds = read_seeds(seeds_dir())
    citations = session.scalars(select(Citation).where(Citation.record_id.like(SYNTH_LIKE))).all()
    assert citations
    low, high = synth.QUOTE_LENGTH
    for citation in citations:
        document = seeds.documents[citation.source_id]
        text_ = seeds.text_of(document)
        assert text_[citation.start : citation.end] == citation.quote
        assert document.char_start <= citation.start < citation.end <= document.char_end
        assert low <= len(citation.quote) <= high
        assert "\n" not in citation.quote
    assert {c.source_id for c in citations} == set(seeds.documents)


def test_talks_have_duplicated_and_missing_venues_and_dates(session):
    talks = BY_NAME["talks"].table
    for column in ("venue", "date"):
        values = [v for (v,) in session.execute(select(talks.c[column]).where(synthetic(talks)))]
        missing = values.count(None)
        assert 0 < missing < len(values) / 2, column
        repeated = [v for v, n in Counter(v for v in values if v is not None).items() if n > 1]
        assert repeated, f"no two talks share a {column}"
    dates = session.scalars(select(talks.c.date).where(synthetic(talks), talks.c.date.isnot(None)))
    assert all(synth.FIRST_DATE <= d <= synth.LAST_DATE for d in dates)
    statuses = set(session.scalars(select(talks.c.status).where(synthetic(talks))))
    assert statuses == set(TALK_STATUSES)


def test_the_actor_pool_mixes_kinds_and_affiliates_persons_with_states(session):
    actors = BY_NAME["actors"].table
    kinds = dict(session.execute(select(actors.c.id, actors.c.kind).where(synthetic(actors))).all())
    assert set(kinds.values()) == set(ACTOR_KINDS)
    affiliated = session.execute(
        select(actors.c.kind, actors.c.affiliation_id).where(
            synthetic(actors), actors.c.affiliation_id.isnot(None)
        )
    ).all()
    assert affiliated
    assert {(kind, kinds[target]) for kind, target in affiliated} == {("person", "state")}
    statements = BY_NAME["statements"].table
    assert set(session.scalars(select(statements.c.kind).where(synthetic(statements)))) == set(
        STATEMENT_KINDS
    )


# --- references ----------------------------------------------------------------------------


def test_every_reference_resolves(synth_app, session):
    engine = engine_of(synth_app)
    if engine.dialect.name == "sqlite":
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA foreign_key_check")).all() == []

    def missing(column: Any, target: Table) -> int:
        """Values of ``column`` (not NULL) that name no row of ``target``."""
        found = target.alias("found")  # the target may be the column's own table
        return session.scalar(
            select(func.count())
            .select_from(column.table.outerjoin(found, column == found.c.id))
            .where(column.isnot(None), found.c.id.is_(None))
        )

    for resource in RESOURCES:
        for spec in resource.references():
            if isinstance(spec, Ref):
                column = resource.table.c[spec.column]
                assert missing(column, BY_NAME[spec.target].table) == 0, spec
            elif isinstance(spec, RefList):
                assert missing(spec.table.c.owner_id, resource.table) == 0, spec
                assert missing(spec.table.c.target_id, BY_NAME[spec.target].table) == 0, spec
            elif isinstance(spec, Positions):
                positions: Table = Position.__table__  # type: ignore[assignment]
                assert missing(positions.c.obstacle_id, resource.table) == 0
                holders = BY_NAME[spec.holder_target].table
                assert missing(positions.c.holder_id, holders) == 0

    statements = BY_NAME["statements"].table
    abouts = session.execute(
        select(statements.c.about_resource, statements.c.about_id).where(synthetic(statements))
    ).all()
    assert {name for name, _ in abouts} == {"talks", "obstacles"}
    by_resource: dict[str, set[str]] = defaultdict(set)
    for name, about_id in abouts:
        by_resource[name].add(about_id)
    for name, ids in by_resource.items():
        table = BY_NAME[name].table
        found = set(session.scalars(select(table.c.id).where(table.c.id.in_(ids))))
        assert found == ids

    for resource_name, record_id in session.execute(
        select(Citation.resource, Citation.record_id).where(Citation.record_id.like(SYNTH_LIKE))
    ):
        table = BY_NAME[resource_name].table
        assert session.scalar(select(table.c.id).where(table.c.id == record_id)) == record_id


def test_delegations_and_statements_belong_to_their_talk(session):
    talks = synthetic_records(session, BY_NAME["talks"])
    delegations = synthetic_records(session, BY_NAME["delegations"])
    statements = synthetic_records(session, BY_NAME["statements"])
    owner: dict[str, str] = {}
    for talk_id, (talk, _) in talks.items():
        for delegation_id in talk["delegations"]:
            assert delegation_id not in owner
            owner[delegation_id] = talk_id
            assert delegations[delegation_id][0]["party"] in talk["parties"]
    assert set(owner) == set(delegations)
    for delegation, _ in delegations.values():
        assert delegation["head"] not in delegation["declined"]
    # A statement is about its talk or one of the obstacles that talk lists.
    for statement_id, (statement, _) in statements.items():
        number = int(statement_id.rsplit("-", 1)[1])
        talk_id = synth.synth_id("talk", (number - 1) // synth.STATEMENTS_PER_TALK + 1)
        resource, _, about_id = statement["about"].partition("/")
        if resource == "talks":
            assert about_id == talk_id
        else:
            assert about_id in talks[talk_id][0]["obstacles"]


def test_obstacles_are_shared_between_talks(session):
    talks = synthetic_records(session, BY_NAME["talks"])
    listed = Counter(o for talk, _ in talks.values() for o in talk["obstacles"])
    assert all(len(set(talk["obstacles"])) == len(talk["obstacles"]) for talk, _ in talks.values())
    assert max(listed.values()) > 1
    assert set(listed) <= set(synthetic_records(session, BY_NAME["obstacles"]))


# --- determinism -----------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_database(request, backend, empty_database_url, tmp_path):
    first = synthesized(empty_database_url, tmp_path / "first", seed=7)
    second = synthesized(new_database_url(request, backend, tmp_path), tmp_path / "second", seed=7)
    try:
        assert fingerprint(engine_of(first)) == fingerprint(engine_of(second))
    finally:
        engine_of(first).dispose()
        engine_of(second).dispose()


def test_another_seed_gives_other_data(request, backend, empty_database_url, tmp_path, synth_app):
    other = synthesized(empty_database_url, tmp_path / "other", seed=1)
    try:
        mine, theirs = contents(engine_of(synth_app)), contents(engine_of(other))
        assert mine["talks"].keys() == theirs["talks"].keys()
        assert mine["talks"] != theirs["talks"]
        assert mine["citations"] != theirs["citations"]
    finally:
        engine_of(other).dispose()


def test_sqlite_and_postgresql_get_the_same_content(request, tmp_path):
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    on_sqlite = synthesized(f"sqlite:///{tmp_path / 'same.sqlite3'}", tmp_path / "sqlite")
    on_postgresql = synthesized(make(), tmp_path / "postgresql")
    try:
        assert contents(engine_of(on_sqlite)) == contents(engine_of(on_postgresql))
    finally:
        engine_of(on_sqlite).dispose()
        engine_of(on_postgresql).dispose()


# --- command line ----------------------------------------------------------------------------


def test_the_command_fills_the_database_and_refuses_a_second_run(empty_database_url, tmp_path):
    env = {"DATABASE_URL": empty_database_url, "PARLEY_INSTANCE_PATH": str(tmp_path / "instance")}
    runner = CliRunner()
    talks = synth.TALKS_PER_FORCE_PROPOSAL

    result = runner.invoke(main, ["synth", "--talks", str(talks), "--seed", "3"], env=env)
    assert result.exit_code == 0, result.output
    summary = result.stderr.strip()
    assert summary.startswith("synthesized ")
    assert summary.endswith(" s")
    for name, count in expected_counts(talks).items():
        assert f"{count} {name}" in summary
    assert "\n" not in summary

    app = make_app(empty_database_url, tmp_path / "instance")
    try:
        before = fingerprint(engine_of(app))
        again = runner.invoke(main, ["synth", "--talks", str(talks), "--seed", "3"], env=env)
        assert again.exit_code == 2
        assert "synthetic data already present; use a fresh database" in again.stderr
        assert fingerprint(engine_of(app)) == before
    finally:
        engine_of(app).dispose()


def test_the_command_rejects_a_talk_count_below_one():
    result = CliRunner().invoke(main, ["synth", "--talks", "0"])
    assert result.exit_code == 2
    assert "--talks" in result.stderr


def test_the_report_counts_the_rows_written(empty_database_url: str, tmp_path: Path):
    app = make_app(empty_database_url, tmp_path)
    try:
        report = synth.synthesize(app, talks=20, seed=3)
        with Session(engine_of(app)) as session:
            citations = session.scalar(
                select(func.count())
                .select_from(Citation)
                .where(Citation.record_id.like(SYNTH_LIKE))
            )
            revisions = session.scalar(
                select(func.count())
                .select_from(Revision)
                .where(Revision.record_id.like(SYNTH_LIKE))
            )
        assert citations
        assert revisions
        assert report.citations == citations
        assert report.revisions == revisions
        assert f"{citations} citations, {revisions} revisions" in report.summary()
    finally:
        engine_of(app).dispose()


# A statement that fails on both backends (on PostgreSQL it aborts the transaction).
BROKEN_STEP = "INSERT INTO statements SELECT * FROM no_such_table"


def test_a_failing_step_reports_its_own_error_and_writes_nothing(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    app = make_app(empty_database_url, tmp_path)
    try:
        lifecycle.prepare_database(app)
        before = fingerprint(engine_of(app))
        monkeypatch.setattr(Rows, "statements", lambda _self, _counts: text(BROKEN_STEP))
        with pytest.raises(DBAPIError, match="no_such_table"):
            synth.synthesize(app, talks=2)
        assert fingerprint(engine_of(app)) == before
    finally:
        engine_of(app).dispose()
