"""Reading the stored revisions: one record's history, its state at a time, and
the change feed across all records.

A revision's ``id`` is its position in the change feed: positions increase in
commit order (see ``db.writing``), so a reader resuming after a position never
misses a change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import models
from api.fixtures.reader import Record
from api.resources import AnyRef, Resource, Scalar, owner_links

Row = dict[str, Any]
_revision = models.Revision
# Revision numbers are 32-bit integers in every backend's column.
MAX_REVISION = 2**31 - 1

_SUMMARY = (
    _revision.id.label("position"),
    _revision.resource,
    _revision.record_id,
    _revision.revision,
    _revision.changed_at,
    _revision.author,
    _revision.deleted,
)


def revisions_of(
    session: Session, resource: Resource, record_id: str, *, after: int, limit: int
) -> list[Row]:
    """The record's revisions numbered above ``after``, oldest first (without data)."""
    statement = (
        select(*_SUMMARY)
        .where(
            _revision.resource == resource.name,
            _revision.record_id == record_id,
            _revision.revision > after,
        )
        .order_by(_revision.revision)
        .limit(limit)
    )
    return [dict(row) for row in session.execute(statement).mappings()]


def fetch_revision(session: Session, resource: Resource, record_id: str, number: int) -> Row | None:
    """Revision ``number`` of the record, with the record as it became."""
    if not 1 <= number <= MAX_REVISION:
        return None  # no record gets there, and the column could not hold it
    row = (
        session.execute(
            select(*_SUMMARY, _revision.data).where(
                _revision.resource == resource.name,
                _revision.record_id == record_id,
                _revision.revision == number,
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def revision_as_of(
    session: Session, resource: Resource, record_id: str, when: datetime
) -> Row | None:
    """The newest revision of the record made at or before ``when``."""
    row = (
        session.execute(
            select(*_SUMMARY, _revision.data)
            .where(
                _revision.resource == resource.name,
                _revision.record_id == record_id,
                _revision.changed_at <= when,
            )
            .order_by(_revision.revision.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def created_at(session: Session, resource: Resource, record_id: str) -> datetime | None:
    """When the record's first revision was made."""
    return session.scalar(
        select(_revision.changed_at).where(
            _revision.resource == resource.name,
            _revision.record_id == record_id,
            _revision.revision == 1,
        )
    )


def changes(session: Session, *, after: int, limit: int) -> list[Row]:
    """Revisions of every record after feed position ``after``, in feed order."""
    statement = select(*_SUMMARY).where(_revision.id > after).order_by(_revision.id).limit(limit)
    return [dict(row) for row in session.execute(statement).mappings()]


def last_position(session: Session) -> int:
    return session.scalar(select(func.max(_revision.id))) or 0


def as_row(resource: Resource, revision: Row, created: datetime | None) -> Row:
    """A revision's record in the form the v1 schemas dump (what ``hydrate`` returns).

    Links that other records own (a delegation's talk) are not part of the
    revision: they are given as null.
    """
    record: Record = revision["data"]
    row: Row = {
        "id": record["id"],
        "revision": revision["revision"],
        "created_at": created,
        "updated_at": revision["changed_at"],
        "notes": record.get("notes"),
        "citations": record.get("citations", []),
    }
    for spec in resource.fields:
        value = record.get(spec.name)
        if isinstance(spec, Scalar) and spec.type == "date" and isinstance(value, str):
            value = date.fromisoformat(value)
        elif isinstance(spec, AnyRef) and isinstance(value, str):
            about, _, about_id = value.partition("/")
            value = (about, about_id)
        row[spec.name] = value
    for name, _owner, _spec in owner_links(resource):
        row[name] = None
    return row
