"""Conditional requests and caching headers for public reads."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from flask import Response, request

from api.resources import Resource, owner_links

# Short enough that edits show up soon; clients revalidate with the ETag after.
PUBLIC_CACHE_CONTROL = "public, max-age=30"


def etag_for(*parts: Any) -> str:
    """An entity tag known before the body is produced.

    It hashes what the body depends on (resource, normalized query, format,
    exporter and its version, the data revision and the base URL), never the
    body itself, so a streamed response can carry it.
    """
    canonical = orjson.dumps(parts, default=str, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:32]


def not_modified(etag: str) -> Response | None:
    """A 304 when the client already holds this representation."""
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
        cacheable(response, etag)
        return response
    return None


def cacheable(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
    return response


def record_etag(
    resource: str,
    record_id: str,
    state: tuple[Any, ...],
    base_url: str,
    exporter: Any = None,
) -> str:
    """The entity tag of one record's representation: the validator writes compare
    with ``If-Match``.

    ``state`` is what the representation depends on besides the URL: the record's
    revision and change time (every change to it bumps them), whether it is
    deleted, and the owners it links back to (which change without it).
    """
    return etag_for("record", resource, record_id, state, base_url, exporter)


def revalidated(response: Response, etag: str) -> Response:
    """For lists that change with every write (history, change feed): always revalidate."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


def live_etag(
    resource: Resource, record: dict[str, Any], base_url: str, exporter: Any = None
) -> str:
    """The ETag of a live record, from its hydrated form."""
    owners = tuple(record[name] for name, _owner, _spec in owner_links(resource))
    state = (record["revision"], record["updated_at"], False, owners)
    return record_etag(resource.name, record["id"], state, base_url, exporter)


def tombstone_etag(resource: Resource, record_id: str, row: dict[str, Any], base_url: str) -> str:
    """The ETag of a deleted record: what a restore's ``If-Match`` names."""
    state = (row["revision"], row["updated_at"], True, ())
    return record_etag(resource.name, record_id, state, base_url)
