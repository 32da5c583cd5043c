"""Synthetic records at scale, for load tests and for exercising sorting and filtering.

``parley synth --talks N`` adds realistic, *deterministic* records of every
resource to a database that already holds the fixtures: per talk four parties
and their delegations, five obstacles with their positions, three statements
and about ten citations, plus a pool of actors shared across talks and a force
proposal per hundred talks. Every choice is drawn from the seed in SQL
(``api.synth.sql``), timestamps are the dataset's release time and ids are
zero-padded counters, so the same N and seed give the same rows on SQLite and
PostgreSQL. Citations quote the real seed: spans of one line of a seed document.

The database makes the rows itself, one ``INSERT ... SELECT`` per table
(``api.synth.rows``), inside the caller's transaction: a million talks take
minutes, and memory does not grow with N. Each record's first revision holds
its canonical (fixture) form, built from the rows just written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import Flask
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from api import db, lifecycle, models, parley
from api.fixtures.loader import release_time
from api.resources import RESOURCES, SOURCES
from api.seeds import SeedDocument, Seeds, read_seeds
from api.synth.proportions import (
    AIMS_PER_TALK,
    AUTHOR,
    CITATIONS_PER_RECORD,
    CITATIONS_PER_TALK,
    DECLINED_PER_DELEGATION,
    DELEGATIONS_PER_TALK,
    FIRST_DATE,
    LAST_DATE,
    MIN_ACTORS,
    MIN_OBSTACLES,
    OBSTACLES_PER_TALK,
    PARTIES_PER_TALK,
    POSITIONS_PER_OBSTACLE,
    PREFIX,
    PROPOSERS_PER_PROPOSAL,
    QUOTE_LENGTH,
    RELUCTANT_PER_PROPOSAL,
    STATEMENTS_PER_TALK,
    TALKS_PER_ACTOR,
    TALKS_PER_FORCE_PROPOSAL,
    TALKS_PER_OBSTACLE,
    actor_count,
    force_proposal_count,
    obstacle_count,
    synth_id,
)
from api.synth.quotes import NothingToQuote, quote_pool
from api.synth.rows import POOL, POOLS, QUOTES, Counts, Rows, citation_range
from api.synth.sql import Sql

# Record resources in the order their rows are written (references point backwards).
WRITTEN = tuple(r for r in RESOURCES if r is not SOURCES)

Progress = Callable[[str], None]


class SynthError(Exception):
    """The database cannot take synthetic data (already present, or nothing to cite)."""


@dataclass(frozen=True)
class SynthReport:
    records: dict[str, int]  # resource name -> synthetic records written
    citations: int
    revisions: int

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.records.items())
        return f"{counts}; {self.citations} citations, {self.revisions} revisions"


def _check_empty(session: Session) -> None:
    for resource in RESOURCES:
        table = resource.table
        found = session.scalar(select(table.c.id).where(table.c.id.like(f"{PREFIX}-%")).limit(1))
        if found is not None:
            raise SynthError("synthetic data already present; use a fresh database")


def _released(session: Session) -> date:
    meta = session.get(models.Meta, "released")
    if meta is None:
        raise SynthError("the database holds no dataset release date; load the fixtures first")
    return date.fromisoformat(meta.value)


def _citable(session: Session, seeds: Seeds) -> list[SeedDocument]:
    """The seed documents stored as sources (what citations cite), in code-point order of
    their ids: sorted here, as the database's collation may differ between backends."""
    stored = session.execute(
        select(models.Source.id, models.Source.seed_file, models.Source.line_start).where(
            models.Source.deleted_at.is_(None)
        )
    ).all()
    documents = []
    for source_id, seed_file, line_start in sorted(stored):
        document = seeds.documents.get(source_id)
        if document and (document.file, document.line_start) == (seed_file, line_start):
            documents.append(document)
    if not documents:
        raise SynthError("the database holds no source of the seeds to cite")
    return documents


def _next_id(connection: Connection, model: type[models.Base]) -> int:
    table = model.__table__
    return int(connection.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _advance_sequences(connection: Connection) -> None:
    """Rows were given explicit ids: PostgreSQL's sequences must continue after them."""
    if connection.dialect.name != "postgresql":
        return
    for model in (models.Citation, models.Revision):
        table = model.__table__
        connection.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(table.name, "id"),  # type: ignore[attr-defined]
                    select(func.max(table.c.id)).scalar_subquery(),
                )
            )
        )


def generate(
    session: Session,
    seeds: Seeds,
    *,
    talks: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> SynthReport:
    """Write the synthetic records for ``talks`` talks (the caller owns the transaction)."""
    if talks < 1:
        raise SynthError("--talks must be at least 1")
    _check_empty(session)
    when = release_time(_released(session))
    try:
        pool = quote_pool(seeds, _citable(session, seeds), seed)
    except NothingToQuote as exc:
        raise SynthError(str(exc)) from None
    connection = session.connection()
    sql = Sql(connection.dialect.name, seed)
    rows = Rows(sql, when)
    started = time.monotonic()

    def step(label: str, statement: object) -> int:
        # SQLAlchemy keeps a row count for UPDATE and DELETE only unless asked to.
        result = connection.execute(  # type: ignore[call-overload]
            statement, execution_options={"preserve_rowcount": True}
        )
        # SQLite's driver counts no rows for a statement that starts with WITH.
        written = (
            int(connection.scalar(select(func.changes())) or 0)
            if connection.dialect.name == "sqlite"
            else int(result.rowcount)
        )
        if progress is not None:
            progress(f"{label}: {written} rows ({time.monotonic() - started:.1f} s)")
        return written

    POOL.create(connection)
    QUOTES.create(connection)
    connection.execute(
        insert(QUOTES),
        [
            {
                "idx": i,
                "source_id": q.source,
                "quote": q.quote,
                "start_offset": q.start,
                "end_offset": q.end,
            }
            for i, q in enumerate(pool)
        ],
    )
    # Indexes are built once at the end (sorting beats millions of random inserts);
    # the transaction takes their removal back if anything fails.
    indexes = [index for table in models.Base.metadata.sorted_tables for index in table.indexes]
    for index in indexes:
        index.drop(connection)
    actors = actor_count(talks)
    step("actors", rows.actors(Counts(talks, actors, 0, 0, {})))
    for statement in rows.pools():
        connection.execute(statement)
    sizes: dict[str, int] = dict(
        connection.execute(select(POOL.c.pool, func.count()).group_by(POOL.c.pool)).all()
    )
    counts = Counts(
        talks,
        actors,
        obstacle_count(talks),
        force_proposal_count(talks),
        {k: sizes[k] for k in POOLS},
    )
    step("affiliations", rows.affiliations(counts))
    for statement in rows.delegations(counts):
        step("delegations", statement)
    for statement in rows.obstacles(counts):
        step("obstacles", statement)
    step("talks", rows.talks(counts))
    for statement in rows.talk_links(counts):
        step("talk lists", statement)
    if counts.force_proposals:
        for statement in rows.force_proposals(counts):
            step("force proposals", statement)
    step("statements", rows.statements(counts))

    cited = 0
    first = _next_id(connection, models.Citation)
    for resource in WRITTEN:
        records = counts.of(resource)
        if records:
            cited += step(f"{resource.name} citations", rows.citations(resource, records, first))
        first += records * citation_range(resource)[1]
    revised = 0
    first = _next_id(connection, models.Revision)
    for resource in WRITTEN:
        if counts.of(resource):
            revised += step(f"{resource.name} revisions", rows.revisions(resource, first))
        first += counts.of(resource)
    for index in indexes:
        index.create(connection)
    if progress is not None:
        progress(f"indexes: {len(indexes)} ({time.monotonic() - started:.1f} s)")
    _advance_sequences(connection)
    # On failure the caller's rollback takes the scratch tables back with the rest;
    # dropping them then would fail on PostgreSQL's aborted transaction, and its
    # error would hide the one that matters.
    QUOTES.drop(connection)
    POOL.drop(connection)
    return SynthReport({r.name: counts.of(r) for r in WRITTEN}, cited, revised)


def synthesize(
    app: Flask, *, talks: int, seed: int = 0, progress: Progress | None = None
) -> SynthReport:
    """Migrate and load the fixtures if needed, then add synthetic records in one transaction."""
    lifecycle.prepare_database(app)
    state = parley(app)
    _, _, seeds_folder, seeds_label = lifecycle.fixture_sources(state.settings)
    seeds = read_seeds(seeds_folder, seeds_label)
    with (
        db.bulk_writes(state.engine) as connection,
        Session(bind=connection) as session,
        session.begin(),
    ):
        db.writing(session)
        report = generate(session, seeds, talks=talks, seed=seed, progress=progress)
    # Fresh statistics, so that the planner knows the tables' new sizes at once.
    with state.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return report


__all__ = [
    "AIMS_PER_TALK",
    "AUTHOR",
    "CITATIONS_PER_RECORD",
    "CITATIONS_PER_TALK",
    "DECLINED_PER_DELEGATION",
    "DELEGATIONS_PER_TALK",
    "FIRST_DATE",
    "LAST_DATE",
    "MIN_ACTORS",
    "MIN_OBSTACLES",
    "OBSTACLES_PER_TALK",
    "PARTIES_PER_TALK",
    "POSITIONS_PER_OBSTACLE",
    "PREFIX",
    "PROPOSERS_PER_PROPOSAL",
    "QUOTE_LENGTH",
    "RELUCTANT_PER_PROPOSAL",
    "STATEMENTS_PER_TALK",
    "TALKS_PER_ACTOR",
    "TALKS_PER_FORCE_PROPOSAL",
    "TALKS_PER_OBSTACLE",
    "SynthError",
    "SynthReport",
    "actor_count",
    "force_proposal_count",
    "generate",
    "obstacle_count",
    "synth_id",
    "synthesize",
]
