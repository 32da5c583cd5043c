"""What the protections add to every operation of the OpenAPI document.

Applied to the finished document, so that each operation's own description
stays about that operation: the request id on every response, the 503 of an
unavailable database wherever the database is read, and the 429 and RateLimit
fields (``api.ratelimit``) on writes and on the GETs that can answer with an export.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from api.ratelimit import DRAFT
from api.requestlog import HEADER as REQUEST_ID
from api.v1.catalog import COLLECTIONS

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
HEADERS: dict[str, dict[str, Any]] = {
    REQUEST_ID: {
        "description": "The request's id: the client's own when it sent a well-formed one "
        "(1-128 letters, digits, `.`, `_`, `:`, `-`), else a new one. It names the request "
        "in the server's logs.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "RateLimit-Policy": {
        "description": f"The quota policy ({DRAFT}): "
        '`"writes";q=60;w=60` is a quota of 60 requests per 60-second window.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": f"What is left of the quota ({DRAFT}): "
        '`"writes";r=12;t=34` is 12 more requests in the 34 seconds until the window resets.',
        "schema": {"type": "string"},
    },
}
METHODS = ("get", "put", "post", "patch", "delete")
# Paths answered without the database (besides the exporters' static documents).
SERVICE_PATHS_WITH_DATABASE = ("/", "/healthz", "/v1", "/v1/changes")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _uses_database(path: str) -> bool:
    parts = path.split("/")
    return path in SERVICE_PATHS_WITH_DATABASE or (
        len(parts) > 2 and parts[1] == "v1" and parts[2] in COLLECTIONS
    )


def _exports(operation: dict[str, Any]) -> bool:
    return any(p.get("name") == "format" for p in operation.get("parameters", []))


def add_protections(built: dict[str, Any]) -> dict[str, Any]:
    """``built`` with the protections' fields, as a copy: the operations share
    module-level response objects (which must stay as they are), and the copy
    shares them the same way."""
    document = deepcopy(built)
    # Fresh copies throughout: a shared object would become a YAML alias in openapi.yaml.
    document.setdefault("components", {}).setdefault("headers", {}).update(deepcopy(HEADERS))
    limited = {**_ref("RateLimit-Policy"), "description": "The policy (on limited responses)."}
    for path, operations in document["paths"].items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            responses = operation["responses"]
            policy = "writes" if method != "get" else "exports" if _exports(operation) else None
            if policy is not None:
                what = "writes" if policy == "writes" else "exports (every non-JSON format)"
                responses["429"] = {
                    "description": f"Too many {what} from this client; retry after "
                    "`Retry-After` seconds.",
                    "headers": {
                        "Retry-After": _ref("Retry-After"),
                        "RateLimit-Policy": _ref("RateLimit-Policy"),
                        "RateLimit": _ref("RateLimit"),
                    },
                    "content": deepcopy(PROBLEM),
                }
                for status, response in responses.items():
                    if status.startswith("2"):
                        headers = response.setdefault("headers", {})
                        headers["RateLimit-Policy"] = dict(limited)
                        headers["RateLimit"] = _ref("RateLimit")
            if _uses_database(path) and "503" not in responses:
                responses["503"] = {
                    "description": "The database is unavailable or did not answer in time.",
                    "headers": {"Retry-After": _ref("Retry-After")},
                    "content": deepcopy(PROBLEM),
                }
            for response in responses.values():
                response.setdefault("headers", {})[REQUEST_ID] = _ref(REQUEST_ID)
    return document
