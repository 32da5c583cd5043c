"""Conditional requests and caching headers for public reads."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, request

# Short enough that edits show up soon; clients revalidate with the ETag after.
PUBLIC_CACHE_CONTROL = "public, max-age=30"


def etag_for(*parts: Any) -> str:
    """An entity tag known before the body is produced.

    It hashes what the body depends on (resource, normalized query, format,
    exporter and its version, the data revision and the base URL), never the
    body itself, so a streamed response can carry it.
    """
    canonical = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


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
