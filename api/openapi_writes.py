"""The OpenAPI description of writes, history and the change feed.

Write bodies are described as JSON Schema built from the same resource
descriptions the write path validates with: references as ids or as the links a
GET returns, read-only members tolerated, nothing else.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from api.fixtures.schemas import MAX_COUNT
from api.models import ID_LENGTH
from api.openapi import ETAG_HEADER, IF_NONE_MATCH, _id_parameter, _json, _problem
from api.resources import (
    BY_NAME,
    AnyRef,
    FieldSpec,
    Positions,
    Ref,
    RefList,
    Resource,
    Scalar,
    TextList,
    owner_links,
)
from api.v1.catalog import COLLECTIONS
from api.v1.collections import SLUG_PATTERN, Collection
from api.v1.history import MAX_LIMIT
from api.v1.input import JSON, MERGE_PATCH, READ_ONLY
from api.v1.negotiation import JSON_MEDIA_TYPE
from api.v1.schemas import schema_name

SECURITY_SCHEME = "bearerToken"
SECURITY: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]
ID = {"type": "string", "pattern": SLUG_PATTERN, "maxLength": ID_LENGTH}
ID_OR_LINK = {"$ref": "#/components/schemas/Reference"}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The record's current ETag (from a GET, or from the 410 of a deleted "
    "record). A stale one answers 412, none 428.",
    "schema": {"type": "string"},
}
CURSOR = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 2048}
LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
AUTH_PROBLEMS = {
    "400": _problem("Bad query parameters or body, or a token in the query string."),
    "401": {
        **_problem("No token, or one that is unknown, revoked or expired."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
}
TOO_LARGE = _problem("The body is larger than the configured limit.")
PRECONDITION_PROBLEMS = {
    "412": {
        **_problem("The ETag in If-Match is stale; the current one is in the ETag header."),
        "headers": {"ETag": ETAG_HEADER},
    },
    "428": _problem("If-Match is missing (or `*`)."),
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _member(spec: FieldSpec) -> dict[str, Any]:
    if isinstance(spec, Scalar):
        if spec.type == "int":
            schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
        elif spec.type == "date":
            schema = {"type": "string", "format": "date"}
        else:
            schema = {"type": "string", "minLength": 1}
            if spec.choices:
                schema["enum"] = list(spec.choices)
        return schema if spec.required else _nullable(schema)
    if isinstance(spec, TextList):
        return {"type": "array", "items": {"type": "string", "minLength": 1}}
    if isinstance(spec, Ref):
        return ID_OR_LINK if spec.required else _nullable(ID_OR_LINK)
    if isinstance(spec, RefList):
        return {"type": "array", "items": ID_OR_LINK}
    if isinstance(spec, AnyRef):
        return {
            "oneOf": [
                {"type": "string", "pattern": r"^[a-z-]+/[a-z0-9]+(?:-[a-z0-9]+)*$"},
                {"$ref": "#/components/schemas/RecordReference"},
                {"type": "null"},
            ]
        }
    if isinstance(spec, Positions):
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"holder": ID_OR_LINK, "stance": {"type": "string", "minLength": 1}},
                "required": ["holder", "stance"],
                "additionalProperties": False,
            },
        }
    raise TypeError(spec)  # pragma: no cover - exhaustive over FieldSpec


def input_schema(resource: Resource, *, new: bool) -> dict[str, Any]:
    """The write shape of a record: for POST (``new``, id required) or PUT."""
    properties: dict[str, Any] = {
        "id": {
            **ID,
            "description": "Required to create; the URL's id otherwise (it cannot change).",
        }
    }
    required = ["id"] if new else []
    for spec in resource.fields:
        if isinstance(spec, Scalar) and spec.derived:
            continue
        properties[spec.name] = _member(spec)
        if getattr(spec, "required", False):
            required.append(spec.name)
    properties["notes"] = _nullable({"type": "string", "minLength": 1})
    properties["citations"] = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/components/schemas/CitationInput"},
    }
    required.append("citations")
    read_only = [*READ_ONLY, *(name for name, _owner, _spec in owner_links(resource))]
    for name in read_only:
        properties[name] = {
            "description": "Read-only: ignored when it holds the current value, refused otherwise."
        }
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _components(spec: APISpec) -> None:
    spec.components.security_scheme(
        SECURITY_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `parley tokens create`; needed by every write.",
        },
    )
    spec.components.schema(
        "Reference",
        {
            "description": "A record's id, or the link a GET returns.",
            "oneOf": [
                ID,
                {
                    "type": "object",
                    "properties": {"id": ID, "url": {"type": "string", "format": "uri"}},
                    "required": ["id"],
                    "additionalProperties": False,
                },
            ],
        },
    )
    spec.components.schema(
        "RecordReference",
        {
            "type": "object",
            "properties": {
                "resource": {"type": "string", "enum": sorted(BY_NAME)},
                "id": ID,
                "url": {"type": "string", "format": "uri"},
            },
            "required": ["resource", "id"],
            "additionalProperties": False,
        },
    )
    spec.components.schema(
        "CitationInput",
        {
            "type": "object",
            "properties": {
                "source": ID_OR_LINK,
                "quote": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Verbatim text of the source.",
                },
                "start": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_COUNT,
                    "description": "Needed only when the quote occurs more than once.",
                },
                "end": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
            },
            "required": ["source", "quote"],
            "additionalProperties": False,
        },
    )
    summary = {
        "type": "object",
        "properties": {
            "resource": {"type": "string"},
            "id": {"type": "string"},
            "revision": {"type": "integer"},
            "changed_at": {"type": "string", "format": "date-time"},
            "author": {
                "type": "string",
                "description": "`fixtures`, or `token:<name>` for a write through the API.",
            },
            "deleted": {"type": "boolean"},
            "url": {"type": "string", "format": "uri"},
            "record": {"type": "string", "format": "uri"},
        },
        "required": ["resource", "id", "revision", "changed_at", "author", "deleted", "url"],
    }
    spec.components.schema("RevisionSummary", summary)
    links = {
        "type": "object",
        "properties": {
            "self": {"type": "string", "format": "uri"},
            "next": {"type": ["string", "null"], "format": "uri"},
        },
        "required": ["self", "next"],
    }
    spec.components.schema(
        "RevisionList",
        {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/RevisionSummary"},
                },
                "links": links,
            },
            "required": ["items", "links"],
        },
    )
    spec.components.schema(
        "Change",
        {
            "allOf": [
                {"$ref": "#/components/schemas/RevisionSummary"},
                {
                    "type": "object",
                    "properties": {
                        "position": {
                            "type": "integer",
                            "description": "Position in the change feed.",
                        }
                    },
                    "required": ["position"],
                },
            ]
        },
    )
    spec.components.schema(
        "ChangeFeed",
        {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
                "since": {
                    "type": "string",
                    "description": "The cursor to resume from (pass it as `since`).",
                },
                "more": {
                    "type": "boolean",
                    "description": "True when the page was full: ask again at once.",
                },
                "links": links,
            },
            "required": ["items", "since", "more", "links"],
        },
    )


def _record_response(description: str, camel: str, *, created: bool = False) -> dict[str, Any]:
    headers: dict[str, Any] = {"ETag": ETAG_HEADER}
    if created:
        headers["Location"] = {
            "description": "The new record's URL.",
            "schema": {"type": "string", "format": "uri"},
        }
    return {**_json(description, camel), "headers": headers}


def _write_operations(spec: APISpec, collection: Collection) -> None:
    resource = collection.resource
    singular = resource.singular
    camel = schema_name(resource)
    spec.components.schema(f"{camel}Create", input_schema(resource, new=True))
    spec.components.schema(f"{camel}Replace", input_schema(resource, new=False))
    invalid = _problem("The body is not a valid record; `errors` names each bad member.")
    spec.path(
        path=f"/v1/{collection.name}",
        operations={
            "post": {
                "operationId": f"create{camel}",
                "summary": f"Create a {singular}.",
                "tags": [collection.name],
                "security": SECURITY,
                "requestBody": {
                    "required": True,
                    "content": {JSON_MEDIA_TYPE: {"schema": f"{camel}Create"}},
                },
                "responses": {
                    "201": _record_response(f"The new {singular}.", camel, created=True),
                    **AUTH_PROBLEMS,
                    "413": TOO_LARGE,
                    "415": _problem("The body is not application/json."),
                    "422": invalid,
                },
            }
        },
    )
    item_path = f"/v1/{collection.name}/{{id}}"
    missing = {
        "404": _problem(f"There is no such {singular}."),
        "405": {
            **_problem("The path names an export of a record (`.csv`), which is read-only."),
            "headers": {"Allow": {"schema": {"type": "string"}}},
        },
        "410": {
            **_problem(f"The {singular} was deleted; the ETag header lets a restore name it."),
            "headers": {"ETag": ETAG_HEADER},
        },
    }
    patch_content = {
        media_type: {
            "schema": {
                "type": "object",
                "description": f"An RFC 7396 merge patch of the {singular}: members set to "
                "null are removed, lists are replaced whole.",
            }
        }
        for media_type in (MERGE_PATCH, JSON)
    }
    spec.path(
        path=item_path,
        operations={
            "put": {
                "operationId": f"replace{camel}",
                "summary": f"Replace a {singular} (a GET body sent back is accepted).",
                "tags": [collection.name],
                "security": SECURITY,
                "parameters": [_id_parameter(collection), IF_MATCH],
                "requestBody": {
                    "required": True,
                    "content": {JSON_MEDIA_TYPE: {"schema": f"{camel}Replace"}},
                },
                "responses": {
                    "200": _record_response(f"The {singular} as it now is.", camel),
                    **AUTH_PROBLEMS,
                    **missing,
                    **PRECONDITION_PROBLEMS,
                    "413": TOO_LARGE,
                    "415": _problem("The body is not application/json."),
                    "422": invalid,
                },
            },
            "patch": {
                "operationId": f"patch{camel}",
                "summary": f"Change members of a {singular} (JSON merge patch).",
                "tags": [collection.name],
                "security": SECURITY,
                "parameters": [_id_parameter(collection), IF_MATCH],
                "requestBody": {"required": True, "content": patch_content},
                "responses": {
                    "200": _record_response(f"The {singular} as it now is.", camel),
                    **AUTH_PROBLEMS,
                    **missing,
                    **PRECONDITION_PROBLEMS,
                    "413": TOO_LARGE,
                    "415": {
                        **_problem("The body is not a merge patch (or JSON)."),
                        "headers": {"Accept-Patch": {"schema": {"type": "string"}}},
                    },
                    "422": invalid,
                },
            },
            "delete": {
                "operationId": f"delete{camel}",
                "summary": f"Delete a {singular} (its revisions are kept).",
                "tags": [collection.name],
                "security": SECURITY,
                "parameters": [_id_parameter(collection), IF_MATCH],
                "responses": {
                    "204": {
                        "description": "Deleted.",
                        "headers": {"ETag": {**ETAG_HEADER, "description": "The tombstone's."}},
                    },
                    **AUTH_PROBLEMS,
                    **missing,
                    **PRECONDITION_PROBLEMS,
                    "409": _problem("Other records still refer to it; `referrers` lists them."),
                },
            },
        },
    )
    spec.path(
        path=f"{item_path}/revisions/{{number}}/restore",
        operations={
            "post": {
                "operationId": f"restore{camel}Revision",
                "summary": f"Make a new revision of a {singular} equal to revision `number` "
                "(undeleting it if need be).",
                "tags": [collection.name],
                "security": SECURITY,
                "parameters": [_id_parameter(collection), _number_parameter(), IF_MATCH],
                "responses": {
                    "200": _record_response(f"The {singular} as it now is.", camel),
                    **AUTH_PROBLEMS,
                    "404": _problem(f"There is no such {singular} or revision."),
                    **PRECONDITION_PROBLEMS,
                    "409": _problem(
                        "The revision is a deletion, or refers to records that are gone."
                    ),
                    "415": _problem("A restore takes no body."),
                },
            }
        },
    )


def _number_parameter() -> dict[str, Any]:
    return {
        "name": "number",
        "in": "path",
        "required": True,
        "description": "The revision number (1 is the first).",
        "schema": {"type": "integer", "minimum": 0},
    }


def _history_operations(spec: APISpec, collection: Collection) -> None:
    singular = collection.resource.singular
    camel = schema_name(collection.resource)
    item_path = f"/v1/{collection.name}/{{id}}"
    not_found = _problem(f"There is no such {singular}.")
    spec.path(
        path=f"{item_path}/revisions",
        operations={
            "get": {
                "operationId": f"list{camel}Revisions",
                "summary": f"The revisions of a {singular}, oldest first (deletions included).",
                "tags": [collection.name],
                "parameters": [
                    _id_parameter(collection),
                    {"name": "limit", "in": "query", "schema": LIMIT},
                    {"name": "cursor", "in": "query", "schema": CURSOR},
                    IF_NONE_MATCH,
                ],
                "responses": {
                    "200": {
                        **_json("One page of revisions.", "RevisionList"),
                        "headers": {"ETag": ETAG_HEADER},
                    },
                    "304": {"description": "Not modified.", "headers": {"ETag": ETAG_HEADER}},
                    "400": _problem("A query parameter is invalid."),
                    "404": not_found,
                },
            }
        },
    )
    revision_schema = {
        "allOf": [
            {"$ref": "#/components/schemas/Change"},
            {
                "type": "object",
                "properties": {
                    "data": {
                        "$ref": f"#/components/schemas/{camel}",
                        "description": "The record as this revision made it (links that "
                        "other records own are null).",
                    }
                },
                "required": ["data"],
            },
        ]
    }
    spec.path(
        path=f"{item_path}/revisions/{{number}}",
        operations={
            "get": {
                "operationId": f"get{camel}Revision",
                "summary": f"One revision of a {singular}: who, when, and the record it made.",
                "tags": [collection.name],
                "parameters": [_id_parameter(collection), _number_parameter(), IF_NONE_MATCH],
                "responses": {
                    "200": {
                        **_json("The revision.", revision_schema),
                        "headers": {"ETag": ETAG_HEADER},
                    },
                    "304": {"description": "Not modified.", "headers": {"ETag": ETAG_HEADER}},
                    "400": _problem("Revisions take no query parameters."),
                    "404": _problem(f"There is no such {singular} or revision."),
                },
            }
        },
    )


def _changes(spec: APISpec) -> None:
    spec.path(
        path="/v1/changes",
        operations={
            "get": {
                "operationId": "listChanges",
                "summary": "Every revision of every record since a cursor, in commit order "
                "(deletions as tombstones): sync by passing back `since`.",
                "tags": ["changes"],
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "description": "The `since` of a previous answer (none: from the start).",
                        "schema": CURSOR,
                    },
                    {"name": "limit", "in": "query", "schema": LIMIT},
                    IF_NONE_MATCH,
                ],
                "responses": {
                    "200": {
                        **_json("The changes after `since`.", "ChangeFeed"),
                        "headers": {"ETag": ETAG_HEADER},
                    },
                    "304": {"description": "Not modified.", "headers": {"ETag": ETAG_HEADER}},
                    "400": _problem("A query parameter is invalid (or a forged cursor)."),
                },
            }
        },
    )


AS_OF = {
    "name": "as_of",
    "in": "query",
    "description": "An RFC 3339 time: the record as it was then (JSON only).",
    "schema": {"type": "string", "format": "date-time", "maxLength": 40},
}


def add_operations(spec: APISpec) -> None:
    """Writes for every writable collection; history for every collection; the feed."""
    _components(spec)
    for collection in COLLECTIONS.values():
        if collection.resource.writable:
            _write_operations(spec, collection)
        _history_operations(spec, collection)
    _changes(spec)
