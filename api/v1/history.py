"""Reading history over HTTP: a record's revisions, its state at a time, the change feed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api import db, history, parley
from api.errors import ProblemError, bad_parameters
from api.resources import Resource
from api.v1 import cursor, data
from api.v1.catalog import COLLECTIONS
from api.v1.collections import Collection
from api.v1.http import etag_for, not_modified, revalidated
from api.v1.params import QueryInteger
from api.v1.schemas import VERSION, Urls, dump_one

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _urls() -> Urls:
    return Urls(parley(current_app).settings.base_url)


@cache
def _query_schema(names: tuple[str, ...]) -> Schema:
    available: dict[str, fields.Field[Any]] = {
        "limit": QueryInteger(
            validate=validate.Range(1, MAX_LIMIT, error=f"must be between 1 and {MAX_LIMIT}")
        ),
        "cursor": fields.String(validate=validate.Length(min=1)),
        "since": fields.String(validate=validate.Length(min=1)),
    }
    declared = {name: available[name] for name in names}
    return Schema.from_dict(declared, name="history-query")(unknown=RAISE)


def _query(*names: str) -> dict[str, Any]:
    """The request's query, validated strictly: unknown and repeated parameters are 400s."""
    errors: list[dict[str, str]] = []
    flat: dict[str, str] = {}
    for name, values in request.args.lists():
        if len(values) > 1:
            errors.append({"parameter": name, "detail": "given more than once"})
        flat[name] = values[0]
    loaded: dict[str, Any] = {}
    try:
        loaded = _query_schema(names).load(flat)
    except ValidationError as exc:
        messages: Any = exc.messages
        for name, problems in sorted(messages.items()):
            for detail in problems:
                if detail == "Unknown field.":
                    detail = f"unknown parameter; this takes: {', '.join(names)}"
                errors.append({"parameter": name, "detail": detail})
    if errors:
        raise bad_parameters(errors)
    return loaded


def parse_as_of(value: str) -> datetime:
    """An RFC 3339 time with its offset (``2026-01-01T00:00:00Z``)."""
    if len(value) > 40 or not RFC3339.fullmatch(value):
        raise bad_parameters(
            [
                {
                    "parameter": "as_of",
                    "detail": "must be an RFC 3339 time with an offset, like 2026-01-31T12:00:00Z",
                }
            ]
        )
    try:
        when = datetime.fromisoformat(value.upper())
    except ValueError:
        raise bad_parameters(
            [{"parameter": "as_of", "detail": "is not a valid date and time"}]
        ) from None
    return when.astimezone(UTC)


def _require_record(resource: Resource, record_id: str) -> None:
    """404 unless the record exists, deleted or not (history outlives a deletion)."""
    if data.fetch_state(db.get_session(), resource, record_id) is None:
        raise ProblemError(404, f"There is no {resource.singular} {record_id!r}.")


def _self_link(url: str, query: dict[str, Any]) -> str:
    """``url`` with the request's validated query in a fixed order: the link names the page
    at the configured base URL, whatever ``Host`` the request came in through."""
    if not query:
        return url
    return f"{url}?{urlencode(sorted(query.items()))}"


def _summary(entry: dict[str, Any], urls: Urls) -> dict[str, Any]:
    record_url = urls.item(entry["resource"], entry["record_id"])
    return {
        "resource": entry["resource"],
        "id": entry["record_id"],
        "revision": entry["revision"],
        "changed_at": entry["changed_at"].isoformat().replace("+00:00", "Z"),
        "author": entry["author"],
        "deleted": entry["deleted"],
        "url": f"{record_url}/revisions/{entry['revision']}",
        "record": record_url,
    }


def revision_representation(
    resource: Resource, revision: dict[str, Any], urls: Urls
) -> dict[str, Any]:
    """One revision: who made it, when, and the record as it became."""
    created = history.created_at(db.get_session(), resource, revision["record_id"])
    record = dump_one(resource, history.as_row(resource, revision, created), urls)
    return _summary(revision, urls) | {"position": revision["position"], "data": record}


def revisions_view(collection: Collection) -> Callable[[str], Response]:
    resource = collection.resource

    def view(record_id: str) -> Response:
        query = _query("limit", "cursor")
        limit = query.get("limit", DEFAULT_LIMIT)
        scope = f"{resource.name}/{record_id}/revisions"
        after = cursor.decode_position(query["cursor"], scope) if "cursor" in query else 0
        session = db.get_session()
        _require_record(resource, record_id)
        urls = _urls()
        etag = etag_for(
            VERSION, "revisions", request.path, urls.base_url, limit, after,
            data.data_revision(session),
        )  # fmt: skip
        cached = not_modified(etag)
        if cached is not None:
            return cached
        entries = history.revisions_of(session, resource, record_id, after=after, limit=limit)
        self_url = f"{urls.item(resource.name, record_id)}/revisions"
        next_url = None
        if len(entries) == limit:
            token = cursor.encode_position(scope, entries[-1]["revision"])
            next_url = f"{self_url}?cursor={token}&limit={limit}"
        response = jsonify(
            {
                "items": [_summary(entry, urls) for entry in entries],
                "links": {"self": _self_link(self_url, query), "next": next_url},
            }
        )
        if next_url:
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return revalidated(response, etag)

    view.__name__ = f"list_{resource.singular.replace(' ', '_')}_revisions"
    return view


def revision_view(collection: Collection) -> Callable[[str, int], Response]:
    resource = collection.resource

    def view(record_id: str, number: int) -> Response:
        _query()
        session = db.get_session()
        revision = history.fetch_revision(session, resource, record_id, number)
        if revision is None:
            _require_record(resource, record_id)
            raise ProblemError(404, f"{resource.singular} {record_id!r} has no revision {number}.")
        urls = _urls()
        # A revision never changes once made.
        etag = etag_for(VERSION, "revision", request.path, urls.base_url, revision["position"])
        cached = not_modified(etag)
        if cached is not None:
            return cached
        response = jsonify(revision_representation(resource, revision, urls))
        response.set_etag(etag)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    view.__name__ = f"get_{resource.singular.replace(' ', '_')}_revision"
    return view


def as_of_response(resource: Resource, record_id: str, value: str) -> Response:
    """The record as it was at ``value``: its newest revision made by then."""
    when = parse_as_of(value)
    session = db.get_session()
    _require_record(resource, record_id)
    revision = history.revision_as_of(session, resource, record_id, when)
    if revision is None:
        raise ProblemError(404, f"{resource.singular} {record_id!r} did not exist yet at {value}.")
    urls = _urls()
    if revision["deleted"]:
        raise ProblemError(
            410,
            f"{resource.singular} {record_id!r} was deleted at that time.",
            revision=_summary(revision, urls)["url"],
        )
    etag = etag_for(VERSION, "as_of", request.path, urls.base_url, revision["position"])
    cached = not_modified(etag)
    if cached is not None:
        return cached
    created = history.created_at(session, resource, record_id)
    body = dump_one(resource, history.as_row(resource, revision, created), urls)
    response = jsonify(body)
    response.set_etag(etag)
    response.headers["Content-Location"] = _summary(revision, urls)["url"]
    response.headers["Cache-Control"] = "public, max-age=30"
    return response


def changes() -> Response:
    """Every revision after ``since``, in the order they committed; deletions as tombstones."""
    query = _query("since", "limit")
    limit = query.get("limit", DEFAULT_LIMIT)
    after = cursor.decode_position(query["since"], "changes", "since") if "since" in query else 0
    session = db.get_session()
    urls = _urls()
    last = data.data_revision(session)
    etag = etag_for(VERSION, "changes", urls.base_url, after, limit, last)
    cached = not_modified(etag)
    if cached is not None:
        return cached
    entries = history.changes(session, after=after, limit=limit)
    position = entries[-1]["position"] if entries else after
    resume = cursor.encode_position("changes", position)
    self_url = f"{urls.base_url}/{VERSION}/changes"
    next_url = f"{self_url}?since={resume}&limit={limit}"
    response = jsonify(
        {
            "items": [_summary(entry, urls) | {"position": entry["position"]} for entry in entries],
            "since": resume,
            "more": len(entries) == limit,
            "links": {"self": _self_link(self_url, query), "next": next_url},
        }
    )
    response.headers["Link"] = f'<{next_url}>; rel="next"'
    return revalidated(response, etag)


def register(blueprint: Blueprint, id_pattern: str) -> None:
    blueprint.add_url_rule("/changes", view_func=changes, methods=["GET"])
    for collection in COLLECTIONS.values():
        item = f"/{collection.name}/{id_pattern}"
        blueprint.add_url_rule(f"{item}/revisions", view_func=revisions_view(collection))
        blueprint.add_url_rule(
            f"{item}/revisions/<revision:number>", view_func=revision_view(collection)
        )
