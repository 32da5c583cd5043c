"""Records read from the database as plain values, whatever will present them.

The fixture loader (to compare with the fixtures) and every API version (to
serialize) read records through ``hydrate``: no ORM object leaves it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Select, Text, and_, bindparam, cast, select, true
from sqlalchemy.orm import Session

from api import models
from api.prepared import STATEMENTS, dialect_of, id_list, ids_in
from api.resources import (
    AnyRef,
    Positions,
    Ref,
    RefList,
    Resource,
    Scalar,
    TextList,
    owner_links,
)

Row = dict[str, Any]


def _related(
    session: Session, key: tuple[Any, ...], build: Callable[[str, str], Any], ids: list[str] | None
) -> list[tuple[Any, ...]]:
    """The rows of one relation for ``ids`` (every row when ``ids`` is None)."""
    dialect = dialect_of(session).name
    # Three forms of one statement: the whole table, one id (an item), a list of ids.
    form = "all" if ids is None else "one" if len(ids) == 1 else "many"
    compiled = STATEMENTS.get(session, (*key, form), lambda d: build(d, form))
    if ids is None:
        return compiled.rows(session)
    if form == "one":
        return compiled.rows(session, ids=ids[0])
    return compiled.rows(session, ids=id_list(ids, dialect))


def _restricted(column: Any, form: str, dialect: str) -> Any:
    if form == "all":
        return true()
    if form == "one":
        return column == bindparam("ids")
    return ids_in(column, "ids", dialect)


def hydrate(
    session: Session, resource: Resource, rows: list[Row], *, whole_table: bool = False
) -> list[Row]:
    """Attach lists, references and citations to ``rows``: plain values, ids for references.

    One query per relation, never one per record. ``whole_table`` says ``rows`` are
    every row of the table, so the relations are read whole instead of by id.
    """
    if not rows:
        return rows
    ids = None if whole_table else [row["id"] for row in rows]

    lists: dict[str, dict[str, list[Any]]] = {}
    for spec in resource.fields:
        if isinstance(spec, RefList):
            link = spec.table

            def links(dialect: str, form: str, link: Any = link) -> Any:
                return (
                    select(link.c.owner_id, link.c.target_id)
                    .where(_restricted(link.c.owner_id, form, dialect))
                    .order_by(link.c.owner_id, link.c.position)
                )

            grouped: dict[str, list[Any]] = defaultdict(list)
            for owner, target in _related(session, (resource.name, spec.name), links, ids):
                grouped[owner].append(target)
            lists[spec.name] = grouped
        elif isinstance(spec, Positions):

            def positions(dialect: str, form: str) -> Any:
                held = models.Position
                return (
                    select(held.obstacle_id, held.holder_id, held.stance)
                    .where(_restricted(held.obstacle_id, form, dialect))
                    .order_by(held.obstacle_id, held.position)
                )

            grouped = defaultdict(list)
            for owner, holder, stance in _related(
                session, (resource.name, spec.name), positions, ids
            ):
                grouped[owner].append({"holder": holder, "stance": stance})
            lists[spec.name] = grouped
    owners = _exclusive_owners(session, resource, ids)
    citation = models.Citation

    def cited(dialect: str, form: str) -> Any:
        return (
            select(
                citation.record_id,
                citation.source_id,
                citation.quote,
                citation.start,
                citation.end,
            )
            .where(
                citation.resource == resource.name,
                _restricted(citation.record_id, form, dialect),
            )
            .order_by(citation.record_id, citation.position)
        )

    citations: dict[str, list[Row]] = defaultdict(list)
    for record_id, source, quote, start, end in _related(
        session, (resource.name, "citations"), cited, ids
    ):
        citations[record_id].append({"source": source, "quote": quote, "start": start, "end": end})

    records: list[Row] = []
    for row in rows:
        record_id = row["id"]
        record: Row = {
            "id": record_id,
            "revision": row["revision"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
        for spec in resource.fields:
            if isinstance(spec, Scalar | TextList):
                record[spec.name] = row[spec.name]
            elif isinstance(spec, Ref):
                record[spec.name] = row[spec.column]
            elif isinstance(spec, AnyRef):
                about = row[f"{spec.name}_resource"]
                record[spec.name] = (about, row[f"{spec.name}_id"]) if about else None
            else:
                record[spec.name] = lists[spec.name].get(record_id, [])
        for name, owner_of in owners.items():
            record[name] = owner_of.get(record_id)
        record["notes"] = row["notes"]
        record["citations"] = citations.get(record_id, [])
        records.append(record)
    return records


# The label of a row's canonical form, joined from its current revision (``with_canonical``).
CANONICAL = "canonical_record"


def with_canonical(statement: Select[Any], resource: Resource) -> Select[Any]:
    """``statement`` (rows of ``resource``'s table) with each row's canonical form: the
    data of its current revision, as JSON text.

    A revision stores the full record as it became, so the current one holds the
    record's lists, references and citations: one index lookup per row instead of a
    query per relation. A row without a matching revision gets NULL and is hydrated
    from the tables instead (``from_canonical``).
    """
    table = resource.table
    revision = models.Revision.__table__
    current = and_(
        revision.c.resource == resource.name,
        revision.c.record_id == table.c.id,
        revision.c.revision == table.c.revision,
    )
    data = cast(revision.c.data, Text).label(CANONICAL)
    return statement.add_columns(data).select_from(table.outerjoin(revision, current))


CanonicalFields = tuple[tuple[str, str | None, str], ...]


@cache
def _canonical_fields(resource: Resource) -> CanonicalFields:
    """(field, the row's column that also holds it or None, how to read it) in order."""
    described: list[tuple[str, str | None, str]] = []
    for spec in resource.fields:
        if isinstance(spec, Scalar):
            described.append((spec.name, spec.name, "date" if spec.type == "date" else "value"))
        elif isinstance(spec, Ref):
            described.append((spec.name, spec.column, "value"))
        elif isinstance(spec, AnyRef):
            described.append((spec.name, None, "about"))
        else:
            described.append((spec.name, None, "value"))
    return tuple(described)


def _from_data(fields: CanonicalFields, row: Row, data: Any) -> Row | None:
    """The record of ``row`` from its canonical form, or None when the form does not
    agree with the row (a table changed without its revision): then the tables decide."""
    record: Row = {
        "id": row["id"],
        "revision": row["revision"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    try:
        for name, column_, kind in fields:
            value = data[name]
            if kind == "date" and value is not None:
                value = date.fromisoformat(value)
            elif kind == "about" and value is not None:
                value = tuple(value.split("/", 1))
            if column_ is not None and row[column_] != value:
                return None
            record[name] = value
        if row["notes"] != data["notes"]:
            return None
        record["notes"] = data["notes"]
        record["citations"] = data["citations"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return record


@cache
def checked_columns(resource: Resource) -> tuple[str, ...]:
    """The columns a row needs for its record to be built from its canonical form:
    its keys and times, and those compared with the form (``_from_data``). The others
    (lists kept as JSON, the last author) are read and parsed for nothing then."""
    compared = [column for _name, column, _kind in _canonical_fields(resource) if column]
    keys = ("id", "revision", "created_at", "updated_at", "deleted_at")
    return tuple(dict.fromkeys((*keys, *compared, "notes")))


def from_canonical(
    session: Session,
    resource: Resource,
    rows: list[Row],
    reread: Callable[[list[str]], list[Row]] | None = None,
) -> list[Row]:
    """What ``hydrate`` gives for ``rows`` read ``with_canonical``, built from their
    canonical forms (and the owner links, which no revision holds).

    Rows of ``checked_columns`` only cannot be hydrated: ``reread`` gives the whole
    rows of the ids whose form is missing or disagrees (a record gone meanwhile is
    left out)."""
    if not rows:
        return rows
    fields = _canonical_fields(resource)
    built: list[Row | None] = []
    for row in rows:
        text = row[CANONICAL]
        built.append(None if text is None else _from_data(fields, row, orjson.loads(text)))
    missing = [row for row, record in zip(rows, built, strict=True) if record is None]
    if missing and reread is not None:
        missing = reread([row["id"] for row in missing])
    hydrated = {r["id"]: r for r in hydrate(session, resource, missing)} if missing else {}
    owners = (
        _exclusive_owners(session, resource, [row["id"] for row in rows])
        if owner_links(resource)
        else {}
    )
    records: list[Row] = []
    for row, record in zip(rows, built, strict=True):
        if record is None:
            if row["id"] in hydrated:
                records.append(hydrated[row["id"]])
            continue
        if owners:
            citations = record.pop("citations")
            notes = record.pop("notes")
            for name, owner_of in owners.items():
                record[name] = owner_of.get(row["id"])
            record["notes"] = notes
            record["citations"] = citations
        records.append(record)
    return records


def _exclusive_owners(
    session: Session, resource: Resource, ids: list[str] | None
) -> dict[str, dict[str, str]]:
    """For each owner link of ``resource`` (a delegation's talk): record id -> owner id."""
    owners = {}
    for name, _owner, spec in owner_links(resource):
        link = spec.table

        def owned(dialect: str, form: str, link: Any = link) -> Any:
            return select(link.c.target_id, link.c.owner_id).where(
                _restricted(link.c.target_id, form, dialect)
            )

        rows = _related(session, (resource.name, "owner", name), owned, ids)
        owners[name] = {target: owner for target, owner in rows}
    return owners
