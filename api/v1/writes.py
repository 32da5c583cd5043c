"""Writes: POST on collections; PUT, PATCH and DELETE on items; restoring a revision.

Every write follows the same steps, in an order that tells a client no more than
it may know: the token (401), the body's media type and size (415, 413), the
record (404, 410), the precondition (428, 412), the content (422, 409). The
transaction begins with ``db.writing`` so that writes are serialised and their
revisions enter the change feed in commit order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from api import db, editing, history, lifecycle, parley
from api.errors import ProblemError
from api.fixtures.reader import Record
from api.resources import Resource
from api.seeds import Seeds, read_seeds
from api.v1 import data, negotiation
from api.v1.auth import require_editor
from api.v1.catalog import COLLECTIONS
from api.v1.collections import Collection
from api.v1.http import live_etag, tombstone_etag
from api.v1.input import JSON, MERGE_PATCH, invalid, merge_patch, read_body, read_record
from api.v1.schemas import Urls, dump_one

SEEDS_KEY = "parley.seeds"


def urls() -> Urls:
    return Urls(parley(current_app).settings.base_url)


def seeds() -> Seeds:
    """The seed documents citations are checked against, read once per app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get(SEEDS_KEY)
    if cached is None:
        _, _, folder, label = lifecycle.fixture_sources(parley(app).settings)
        cached = app.extensions[SEEDS_KEY] = read_seeds(folder, label)
    assert isinstance(cached, Seeds)
    return cached


def _now() -> datetime:
    return datetime.now(UTC)


def _no_query() -> None:
    if request.args:
        raise ProblemError(
            400,
            "Writes take no query parameters.",
            errors=[{"parameter": name, "detail": "unknown parameter"} for name in request.args],
        )


def representation(resource: Resource, record_id: str) -> tuple[dict[str, Any], str]:
    """The live record's v1 representation and its ETag."""
    record, _deleted = data.fetch_one(db.get_session(), resource, record_id)
    assert record is not None
    etag = live_etag(resource, record, urls().base_url, negotiation.exporter_key(None))
    return dump_one(resource, record, urls()), etag


def current_etag(resource: Resource, record_id: str) -> tuple[dict[str, Any] | None, str]:
    """The representation (None when deleted) and ETag a write's ``If-Match`` must name."""
    session = db.get_session()
    record, deleted = data.fetch_one(session, resource, record_id)
    if record is not None:
        return representation(resource, record_id)
    state = data.fetch_state(session, resource, record_id)
    assert deleted
    assert state is not None
    return None, tombstone_etag(resource, record_id, state, urls().base_url)


def gone(resource: Resource, record_id: str) -> ProblemError:
    """The 410 of a deleted record; its ETag lets a client restore it."""
    state = data.fetch_state(db.get_session(), resource, record_id)
    assert state is not None
    etag = tombstone_etag(resource, record_id, state, urls().base_url)
    return ProblemError(
        410,
        f"{resource.singular} {record_id!r} was deleted; its revisions are kept and a "
        "restore brings it back.",
        headers={"ETag": f'"{etag}"'},
        revisions=f"{urls().item(resource.name, record_id)}/revisions",
    )


def check_precondition(etag: str) -> None:
    """``If-Match`` must name the current ETag: 428 without one, 412 with a stale one."""
    if_match = request.headers.get("If-Match")
    if if_match is None:
        raise ProblemError(
            428,
            "Writes need an If-Match header with the record's current ETag "
            "(from a GET), so that no change is overwritten unseen.",
        )
    if request.if_match.star_tag:
        raise ProblemError(
            428,
            "If-Match: * would overwrite whatever is there; send the record's current ETag.",
        )
    if not request.if_match.contains(etag):
        raise ProblemError(
            412,
            "The record changed since that ETag: read it again, reapply the change, "
            "and send the new ETag.",
            headers={"ETag": f'"{etag}"'},
        )


def _written(resource: Resource, record_id: str, status: int) -> Response:
    body, etag = representation(resource, record_id)
    response = jsonify(body)
    response.status_code = status
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-store"
    if status == 201:
        response.headers["Location"] = urls().item(resource.name, record_id)
    return response


def _committed(session: Session, response: Response) -> Response:
    """Commit the write whose answer ``response`` is.

    The answer is read inside the write's own transaction: read after the commit,
    it could show a write another client committed in between.
    """
    session.commit()
    return response


def _load_for_write(resource: Resource, record_id: str) -> editing.Stored:
    stored = editing.read_one(db.get_session(), resource, record_id)
    if stored is None:
        raise ProblemError(404, f"There is no {resource.singular} {record_id!r}.")
    if stored.state.deleted:
        raise gone(resource, record_id)
    return stored


def _store(resource: Resource, record: Record, stored: editing.Stored, author: str) -> bool:
    """Check ``record`` against the database and store it as a new revision of
    ``stored``; False when it is what is stored already (no revision is added)."""
    session = db.get_session()
    problems = editing.check_record(session, resource, record, seeds())
    if problems:
        raise invalid(problems)
    if record == stored.record and not stored.state.deleted:
        return False
    editing.replace(session, resource, record, stored, author, _now())
    return True


def create_view(collection: Collection) -> Callable[[], Response]:
    resource = collection.resource

    def view() -> Response:
        author = require_editor()
        _no_query()
        body = read_body((JSON,))
        session = db.get_session()
        db.writing(session)
        record = read_record(resource, body, urls(), record_id=None, current=None)
        existing = data.fetch_state(session, resource, record["id"])
        if existing is not None:
            revisions = f"{urls().item(resource.name, record['id'])}/revisions"
            detail = (
                f"was deleted; restore it from its revisions ({revisions})"
                if existing["deleted_at"] is not None
                else "exists already; change it with PUT or PATCH"
            )
            raise invalid([("id", f"{resource.singular} {record['id']!r} {detail}")])
        problems = editing.check_record(session, resource, record, seeds())
        if problems:
            raise invalid(problems)
        editing.create(session, resource, record, author, _now())
        return _committed(session, _written(resource, record["id"], 201))

    view.__name__ = f"create_{resource.singular.replace(' ', '_')}"
    return view


def update_view(collection: Collection, method: str) -> Callable[[str], Response]:
    resource = collection.resource
    media_types = (MERGE_PATCH, JSON) if method == "PATCH" else (JSON,)

    def view(record_id: str) -> Response:
        author = require_editor()
        _no_query()
        body = read_body(media_types)
        session = db.get_session()
        db.writing(session)
        stored = _load_for_write(resource, record_id)
        current, etag = representation(resource, record_id)
        check_precondition(etag)
        wanted = merge_patch(current, body) if method == "PATCH" else body
        record = read_record(resource, wanted, urls(), record_id=record_id, current=current)
        _store(resource, record, stored, author)
        return _committed(session, _written(resource, record_id, 200))

    verb = "patch" if method == "PATCH" else "replace"
    view.__name__ = f"{verb}_{resource.singular.replace(' ', '_')}"
    return view


def delete_view(collection: Collection) -> Callable[[str], Response]:
    resource = collection.resource

    def view(record_id: str) -> Response:
        author = require_editor()
        _no_query()
        session = db.get_session()
        db.writing(session)
        stored = _load_for_write(resource, record_id)
        _current, etag = representation(resource, record_id)
        check_precondition(etag)
        found = editing.referrers(session, resource, record_id)
        if found:
            listed = ", ".join(f"{r.resource}/{r.id}" for r in found)
            raise ProblemError(
                409,
                f"{resource.singular} {record_id!r} is still referred to by {listed}; "
                "change those first.",
                referrers=[
                    {
                        "resource": r.resource,
                        "id": r.id,
                        "field": r.field,
                        "url": urls().item(r.resource, r.id),
                    }
                    for r in found
                ],
            )
        editing.delete(session, resource, stored, author, _now())
        state = data.fetch_state(session, resource, record_id)
        assert state is not None
        session.commit()
        response = Response(status=204)
        response.set_etag(tombstone_etag(resource, record_id, state, urls().base_url))
        return response

    view.__name__ = f"delete_{resource.singular.replace(' ', '_')}"
    return view


def restore_view(collection: Collection) -> Callable[[str, int], Response]:
    resource = collection.resource

    def view(record_id: str, number: int) -> Response:
        author = require_editor()
        _no_query()
        if request.content_length or request.mimetype:
            raise ProblemError(415, "A restore takes no body: the revision says it all.")
        session = db.get_session()
        db.writing(session)
        stored = editing.read_one(session, resource, record_id)
        if stored is None:
            raise ProblemError(404, f"There is no {resource.singular} {record_id!r}.")
        _current, etag = current_etag(resource, record_id)
        check_precondition(etag)
        revision = history.fetch_revision(session, resource, record_id, number)
        if revision is None:
            raise ProblemError(404, f"{resource.singular} {record_id!r} has no revision {number}.")
        if revision["deleted"]:
            raise ProblemError(
                409,
                f"Revision {number} is the deletion of {resource.singular} {record_id!r}; "
                "restore a revision before it.",
            )
        record: Record = revision["data"]
        problems = editing.check_record(session, resource, record, seeds())
        if problems:
            raise ProblemError(
                409,
                f"Revision {number} no longer fits the data around it; change what it "
                "refers to first.",
                errors=[{"field": path, "detail": message} for path, message in problems],
            )
        _store(resource, record, stored, author)
        return _committed(session, _written(resource, record_id, 200))

    view.__name__ = f"restore_{resource.singular.replace(' ', '_')}"
    return view


def register(blueprint: Blueprint, id_pattern: str) -> None:
    """Add the write routes of every writable collection (sources answer 405)."""
    for collection in COLLECTIONS.values():
        if not collection.resource.writable:
            continue
        name = collection.name
        blueprint.add_url_rule(f"/{name}", view_func=create_view(collection), methods=["POST"])
        item = f"/{name}/{id_pattern}"
        blueprint.add_url_rule(item, view_func=update_view(collection, "PUT"), methods=["PUT"])
        blueprint.add_url_rule(item, view_func=update_view(collection, "PATCH"), methods=["PATCH"])
        blueprint.add_url_rule(item, view_func=delete_view(collection), methods=["DELETE"])
        blueprint.add_url_rule(
            f"{item}/revisions/<revision:number>/restore",
            view_func=restore_view(collection),
            methods=["POST"],
        )
