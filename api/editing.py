"""Changes made through the API: checked against the database, stored as revisions.

The HTTP layer turns a request into a canonical record (the fixtures' form, with
ids for references) and calls these functions inside a transaction begun with
``db.writing``. They store rows through the fixture loader's ``RevisionWriter``,
so that a change made over HTTP and one made by a load are the same kind of
revision, told apart only by their author.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api import models
from api.fixtures.loader import RecordState, RevisionWriter, read_records
from api.fixtures.reader import Record, verify_citation
from api.resources import (
    BY_NAME,
    RESOURCES,
    AnyRef,
    Positions,
    Ref,
    RefList,
    Resource,
)
from api.seeds import Seeds

# (member path inside the record, what is wrong with it)
Problem = tuple[str, str]
# How many referring records a refused deletion lists.
REFERRERS_LISTED = 50


@dataclass(frozen=True)
class Stored:
    record: Record
    state: RecordState


@dataclass(frozen=True)
class Referrer:
    resource: str
    id: str
    field: str


def read_one(session: Session, resource: Resource, record_id: str) -> Stored | None:
    """The record as stored (deleted or not), in canonical form."""
    found = read_records(session, resource, record_id).get(record_id)
    return Stored(*found) if found is not None else None


def check_record(
    session: Session, resource: Resource, record: Record, seeds: Seeds
) -> list[Problem]:
    """Everything wrong with ``record`` that only the database and the seeds can tell:
    references to records that do not exist or were deleted, lists naming a record
    twice, a delegation another talk has, and quotes that are not in their source."""
    problems: list[Problem] = []
    wanted: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def refer(target: str, value: Any, path: str) -> None:
        if isinstance(value, str) and not (target == resource.name and value == record["id"]):
            wanted[target][value].append(path)

    for spec in resource.fields:
        value = record.get(spec.name)
        if isinstance(spec, Ref):
            refer(spec.target, value, spec.name)
        elif isinstance(spec, RefList):
            seen: set[str] = set()
            for i, target_id in enumerate(value or []):
                if target_id in seen:
                    problems.append((f"{spec.name}[{i}]", f"{target_id!r} is listed twice"))
                    continue
                seen.add(target_id)
                refer(spec.target, target_id, f"{spec.name}[{i}]")
        elif isinstance(spec, Positions):
            for i, position in enumerate(value or []):
                refer(spec.holder_target, position["holder"], f"{spec.name}[{i}].holder")
        elif isinstance(spec, AnyRef) and value is not None:
            target, _, target_id = value.partition("/")
            if target not in BY_NAME:
                problems.append((spec.name, f"unknown resource {target!r}"))
            else:
                refer(target, target_id, spec.name)
    for i, citation in enumerate(record["citations"]):
        refer("sources", citation["source"], f"citations[{i}].source")

    broken: set[str] = set()
    for target, ids in wanted.items():
        table = BY_NAME[target].table
        found = {
            found_id: deleted_at
            for found_id, deleted_at in session.execute(
                select(table.c.id, table.c.deleted_at).where(table.c.id.in_(list(ids)))
            )
        }
        singular = BY_NAME[target].singular
        for target_id, paths in ids.items():
            if target_id not in found:
                detail = f"unknown {singular} {target_id!r}"
            elif found[target_id] is not None:
                detail = f"{singular} {target_id!r} was deleted"
            else:
                continue
            for path in paths:
                problems.append((path, detail))
                broken.add(path)

    problems.extend(_taken_by_others(session, resource, record, broken))
    for i, citation in enumerate(record["citations"]):
        if f"citations[{i}].source" in broken:
            continue
        for member, detail in verify_citation(seeds, citation):
            problems.append((f"citations[{i}].{member}", detail))
    return problems


def _taken_by_others(
    session: Session, resource: Resource, record: Record, broken: set[str]
) -> list[Problem]:
    """Entries of exclusive lists (a talk's delegations) that another record holds."""
    problems: list[Problem] = []
    for spec in resource.fields:
        if not (isinstance(spec, RefList) and spec.exclusive and record.get(spec.name)):
            continue
        link = spec.table
        holders = {
            target_id: owner_id
            for target_id, owner_id in session.execute(
                select(link.c.target_id, link.c.owner_id).where(
                    link.c.target_id.in_(record[spec.name]), link.c.owner_id != record["id"]
                )
            )
        }
        for i, target_id in enumerate(record[spec.name]):
            path = f"{spec.name}[{i}]"
            if target_id in holders and path not in broken:
                problems.append(
                    (
                        path,
                        f"{BY_NAME[spec.target].singular} {target_id!r} already belongs to "
                        f"{resource.singular} {holders[target_id]!r}",
                    )
                )
    return problems


def referrers(session: Session, resource: Resource, record_id: str) -> list[Referrer]:
    """The live records that refer to this one (which therefore cannot be deleted)."""
    found: list[Referrer] = []
    for other in RESOURCES:
        table = other.table
        live = table.c.deleted_at.is_(None)
        queries: list[tuple[str, Select[Any]]] = []
        for spec in other.fields:
            if isinstance(spec, Ref) and spec.target == resource.name:
                queries.append(
                    (spec.name, select(table.c.id).where(table.c[spec.column] == record_id, live))
                )
            elif isinstance(spec, RefList) and spec.target == resource.name:
                link = spec.table
                queries.append(
                    (
                        spec.name,
                        select(link.c.owner_id)
                        .join(table, table.c.id == link.c.owner_id)
                        .where(link.c.target_id == record_id, live),
                    )
                )
            elif isinstance(spec, Positions) and spec.holder_target == resource.name:
                position = models.Position
                queries.append(
                    (
                        f"{spec.name}.holder",
                        select(position.obstacle_id)
                        .join(table, table.c.id == position.obstacle_id)
                        .where(position.holder_id == record_id, live),
                    )
                )
            elif isinstance(spec, AnyRef):
                queries.append(
                    (
                        spec.name,
                        select(table.c.id).where(
                            table.c[f"{spec.name}_resource"] == resource.name,
                            table.c[f"{spec.name}_id"] == record_id,
                            live,
                        ),
                    )
                )
        for field, query in queries:
            for (referrer_id,) in session.execute(
                query.order_by(query.selected_columns[0]).distinct().limit(REFERRERS_LISTED)
            ):
                if other is resource and referrer_id == record_id:
                    continue
                found.append(Referrer(other.name, referrer_id, field))
    return found[:REFERRERS_LISTED]


def create(
    session: Session, resource: Resource, record: Record, author: str, when: datetime
) -> None:
    RevisionWriter(session, when, author).write(resource, [(record, None)])
    session.flush()


def replace(
    session: Session,
    resource: Resource,
    record: Record,
    stored: Stored,
    author: str,
    when: datetime,
) -> None:
    """Store ``record`` as the next revision of ``stored`` (undeleting it if need be)."""
    RevisionWriter(session, when, author).write(resource, [(record, stored.state)])
    session.flush()


def delete(
    session: Session, resource: Resource, stored: Stored, author: str, when: datetime
) -> None:
    RevisionWriter(session, when, author).soft_delete(resource, stored.record, stored.state)
    session.flush()
