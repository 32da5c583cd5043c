"""One record's read (``data.fetch_one``): built from its current revision, which
holds every list and citation, from the few columns checked against it; the tables
decide whenever the two disagree."""

from __future__ import annotations

from sqlalchemy import delete, update

from api import models
from api.records import hydrate
from api.resources import DELEGATIONS, TALKS
from api.v1 import data


def first_id(db_session, resource) -> str:
    table = resource.table
    found: str = db_session.execute(table.select().order_by(table.c.id).limit(1)).first().id
    return found


def from_the_tables(db_session, resource, record_id):
    row = db_session.execute(resource.table.select().where(resource.table.c.id == record_id))
    return hydrate(db_session, resource, [dict(row.mappings().one())])[0]


def test_a_record_read_with_its_revision_is_the_one_the_tables_give(db_session):
    for resource in (TALKS, DELEGATIONS):  # a delegation links back to its owner
        record_id = first_id(db_session, resource)
        record, deleted = data.fetch_one(db_session, resource, record_id)
        assert not deleted
        assert record == from_the_tables(db_session, resource, record_id)


def test_a_table_changed_without_a_revision_is_read_from_the_tables(db_session):
    talk = first_id(db_session, TALKS)
    db_session.execute(
        update(TALKS.table).where(TALKS.table.c.id == talk).values(title="Changed by hand")
    )
    record, _deleted = data.fetch_one(db_session, TALKS, talk)
    assert record is not None
    assert record["title"] == "Changed by hand"
    assert record == from_the_tables(db_session, TALKS, talk)


def test_a_record_without_its_revision_is_read_from_the_tables(db_session):
    talk = first_id(db_session, TALKS)
    revision = models.Revision
    db_session.execute(
        delete(revision).where(revision.resource == TALKS.name, revision.record_id == talk)
    )
    record, deleted = data.fetch_one(db_session, TALKS, talk)
    assert not deleted
    assert record == from_the_tables(db_session, TALKS, talk)
