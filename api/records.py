"""Records read from the database as plain values, whatever will present them.

The fixture loader (to compare with the fixtures) and every API version (to
serialize) read records through ``hydrate``: no ORM object leaves it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from api import models
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


def hydrate(
    session: Session, resource: Resource, rows: list[Row], *, whole_table: bool = False
) -> list[Row]:
    """Attach lists, references and citations to ``rows``: plain values, ids for references.

    One query per relation, never one per record. ``whole_table`` says ``rows`` are
    every row of the table, so the relations are read whole instead of by id.
    """
    if not rows:
        return rows
    ids = [row["id"] for row in rows]

    def of_these(column: Any) -> Any:
        return true() if whole_table else column.in_(ids)

    records: list[Row] = []
    lists: dict[str, dict[str, list[Any]]] = {}
    for spec in resource.fields:
        if isinstance(spec, RefList):
            link = spec.table
            grouped: dict[str, list[Any]] = defaultdict(list)
            for owner, target in session.execute(
                select(link.c.owner_id, link.c.target_id)
                .where(of_these(link.c.owner_id))
                .order_by(link.c.owner_id, link.c.position)
            ):
                grouped[owner].append(target)
            lists[spec.name] = grouped
        elif isinstance(spec, Positions):
            grouped = defaultdict(list)
            position = models.Position
            for owner, holder, stance in session.execute(
                select(position.obstacle_id, position.holder_id, position.stance)
                .where(of_these(position.obstacle_id))
                .order_by(position.obstacle_id, position.position)
            ):
                grouped[owner].append({"holder": holder, "stance": stance})
            lists[spec.name] = grouped
    owners = _exclusive_owners(session, resource, of_these)
    citations: dict[str, list[Row]] = defaultdict(list)
    citation = models.Citation
    for record_id, source, quote, start, end in session.execute(
        select(citation.record_id, citation.source_id, citation.quote, citation.start, citation.end)
        .where(citation.resource == resource.name, of_these(citation.record_id))
        .order_by(citation.record_id, citation.position)
    ):
        citations[record_id].append({"source": source, "quote": quote, "start": start, "end": end})

    for row in rows:
        record: Row = {
            "id": row["id"],
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
                record[spec.name] = lists[spec.name].get(row["id"], [])
        for name, owner_of in owners.items():
            record[name] = owner_of.get(row["id"])
        record["notes"] = row["notes"]
        record["citations"] = citations.get(row["id"], [])
        records.append(record)
    return records


def _exclusive_owners(
    session: Session, resource: Resource, of_these: Callable[[Any], Any]
) -> dict[str, dict[str, str]]:
    """For each owner link of ``resource`` (a delegation's talk): record id -> owner id."""
    owners = {}
    for name, _owner, spec in owner_links(resource):
        link = spec.table
        rows = session.execute(
            select(link.c.target_id, link.c.owner_id).where(of_these(link.c.target_id))
        )
        owners[name] = {target: owner for target, owner in rows}
    return owners
