"""The OpenAPI 3.1 document, generated from the v1 schemas and the catalog.

`parley openapi` writes it to ``openapi.yaml``; a test fails when the
committed file differs from what this module generates.
"""

from __future__ import annotations

from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from api import __version__
from api.v1.catalog import COLLECTIONS, NESTED
from api.v1.collections import MAX_QUERY_LENGTH, SLUG_PATTERN, Collection
from api.v1.params import DEFAULT_LIMIT, MAX_LIMIT, RECORD_PATTERN
from api.v1.schemas import SelfUrl, field_names, record_schema, schema_name

PROBLEM = "application/problem+json"


class ParameterErrorSchema(Schema):
    parameter = fields.String(required=True, metadata={"description": "The query parameter."})
    detail = fields.String(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem document."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.List(
        fields.Nested(ParameterErrorSchema),
        metadata={"description": "Each offending parameter (400)."},
    )


class ApiVersionSchema(Schema):
    version = fields.String(required=True)
    url = fields.Url(required=True)
    status = fields.String(required=True)


class DatasetSchema(Schema):
    name = fields.String(allow_none=True, required=True)
    title = fields.String(allow_none=True, required=True)
    version = fields.String(allow_none=True, required=True)
    released = fields.String(allow_none=True, required=True)
    license = fields.String(allow_none=True, required=True)
    data_revision = fields.Integer(
        required=True, metadata={"description": "Position of the newest change."}
    )


class ServiceIndexSchema(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)
    software_version = fields.String(required=True)
    dataset = fields.Nested(DatasetSchema, required=True)
    api_versions = fields.List(fields.Nested(ApiVersionSchema), required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    links = fields.Dict(keys=fields.String(), values=fields.Url(), required=True)


class DatabaseHealthSchema(Schema):
    backend = fields.String(required=True)
    status = fields.String(required=True)
    schema_revision = fields.String(allow_none=True)
    expected_schema_revision = fields.String(allow_none=True)
    error = fields.String()


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    database = fields.Nested(DatabaseHealthSchema, required=True)


class CollectionEntrySchema(Schema):
    name = fields.String(required=True)
    url = fields.Url(required=True)
    count = fields.Integer(required=True)


class VersionIndexSchema(Schema):
    version = fields.String(required=True)
    collections = fields.List(fields.Nested(CollectionEntrySchema), required=True)
    links = fields.Dict(keys=fields.String(), values=fields.Url(), required=True)


class PageLinksSchema(Schema):
    self = fields.Url(required=True)
    next = fields.Url(required=True, allow_none=True)


def _page_schema(collection: Collection) -> type[Schema]:
    name = schema_name(collection.resource)
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(record_schema(collection.resource)), required=True),
            "links": fields.Nested(PageLinksSchema, required=True),
            "total": fields.Integer(metadata={"description": "Only with `Prefer: count=exact`."}),
        },
        name=f"{name}Page",
    )


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": "Problem"}}}


ETAG_HEADER = {"description": "Entity tag of this representation.", "schema": {"type": "string"}}
CACHE_HEADER = {"description": "Caching of public reads.", "schema": {"type": "string"}}
NOT_MODIFIED = {
    "description": "The representation matches `If-None-Match`.",
    "headers": {"ETag": ETAG_HEADER, "Cache-Control": CACHE_HEADER},
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "Entity tags the client holds; a match answers 304.",
    "schema": {"type": "string"},
}


def _id_parameter(collection: Collection) -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {collection.resource.singular}'s id.",
        "schema": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 100},
    }


def _list_pattern(names: list[str], *, signed: bool) -> str:
    """A comma-separated list of ``names`` (each optionally prefixed by ``-``)."""
    one = ("-?" if signed else "") + "(" + "|".join(names) + ")"
    return f"^{one}(,{one})*$"


def _list_parameters(collection: Collection, fixed: str | None) -> list[dict[str, Any]]:
    sortable = [*collection.sortable]
    members = list(field_names(collection.resource))
    parameters: list[dict[str, Any]] = [
        {
            "name": "limit",
            "in": "query",
            "description": f"Items per page (default {DEFAULT_LIMIT}).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        },
        {
            "name": "cursor",
            "in": "query",
            "description": "Opaque position from a previous page's `next` link.",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 2048},
        },
        {
            "name": "sort",
            "in": "query",
            "description": "Comma-separated fields, `-` for descending. "
            f"Sortable: {', '.join(sortable)}. NULLs sort last; ties are broken by id "
            "(ascending, unless `-id` ends the list).",
            "schema": {
                "type": "string",
                "maxLength": 200,
                "pattern": _list_pattern(sortable, signed=True),
            },
        },
        {
            "name": "fields",
            "in": "query",
            "description": "Comma-separated top-level members to return (id and url always).",
            "schema": {
                "type": "string",
                "maxLength": 1000,
                "pattern": _list_pattern(members, signed=False),
            },
        },
        {
            "name": "q",
            "in": "query",
            "description": "Case-insensitive text search over "
            + ", ".join(collection.search)
            + ".",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH},
        },
        {
            "name": "Prefer",
            "in": "header",
            "description": "`count=exact` adds the total number of matching records.",
            "schema": {"type": "string"},
        },
        IF_NONE_MATCH,
    ]
    for f in collection.filters:
        if f.name == fixed:
            continue
        schema: dict[str, Any] = {"type": "string", "maxLength": 200}
        if f.choices:
            schema["enum"] = list(f.choices)
        elif f.kind == "id":
            schema["pattern"] = SLUG_PATTERN
        elif f.kind == "record":
            schema["pattern"] = RECORD_PATTERN
        parameters.append(
            {"name": f.name, "in": "query", "description": f.description, "schema": schema}
        )
    return parameters


def _list_operation(
    collection: Collection, operation_id: str, summary: str, fixed: str | None
) -> dict[str, Any]:
    page = f"{schema_name(collection.resource)}Page"
    responses: dict[str, Any] = {
        "200": {
            "description": "One page of records.",
            "headers": {
                "ETag": ETAG_HEADER,
                "Cache-Control": CACHE_HEADER,
                "Link": {
                    "description": 'RFC 8288 link to the next page (`rel="next"`).',
                    "schema": {"type": "string"},
                },
                "Preference-Applied": {
                    "description": "`count=exact` when the total was included.",
                    "schema": {"type": "string"},
                },
            },
            "content": {"application/json": {"schema": page}},
        },
        "304": NOT_MODIFIED,
        "400": _problem("A query parameter is invalid (each is named in `errors`)."),
    }
    if fixed is not None:
        responses["404"] = _problem("The parent record does not exist.")
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [collection.name],
        "parameters": _list_parameters(collection, fixed),
        "responses": responses,
    }


def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="Parley",
        version=__version__,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Curated, cited records about peace negotiations. "
            "Every record quotes its source documents verbatim.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
    )
    marshmallow_plugin = spec.plugins[0]
    assert isinstance(marshmallow_plugin, MarshmallowPlugin)
    marshmallow_plugin.map_to_openapi_type(SelfUrl, "string", "uri")  # type: ignore[no-untyped-call]
    for schema in (ProblemSchema, ServiceIndexSchema, HealthSchema, VersionIndexSchema):
        spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    for collection in COLLECTIONS.values():
        spec.components.schema(
            schema_name(collection.resource), schema=type(record_schema(collection.resource))
        )
        spec.components.schema(
            f"{schema_name(collection.resource)}Page", schema=_page_schema(collection)
        )

    spec.path(
        path="/",
        operations={
            "get": {
                "operationId": "getServiceIndex",
                "summary": "The service index: dataset, API versions and record counts.",
                "tags": ["service"],
                "responses": {
                    "200": {
                        "description": "The service index.",
                        "content": {"application/json": {"schema": "ServiceIndex"}},
                    }
                },
            }
        },
    )
    spec.path(
        path="/healthz",
        operations={
            "get": {
                "operationId": "getHealth",
                "summary": "Whether the database is reachable, migrated and loaded.",
                "tags": ["service"],
                "responses": {
                    "200": {
                        "description": "Healthy.",
                        "content": {"application/json": {"schema": "Health"}},
                    },
                    "503": {
                        "description": "Unhealthy; `database.status` says why.",
                        "headers": {"Retry-After": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": "Health"}},
                    },
                },
            }
        },
    )
    spec.path(
        path="/v1",
        operations={
            "get": {
                "operationId": "getVersionIndex",
                "summary": "The collections of version 1 with their counts.",
                "tags": ["service"],
                "responses": {
                    "200": {
                        "description": "The collections.",
                        "content": {"application/json": {"schema": "VersionIndex"}},
                    }
                },
            }
        },
    )
    spec.path(
        path="/docs",
        operations={
            "get": {
                "operationId": "getDocs",
                "summary": "This document, browsable (Swagger UI from local assets).",
                "tags": ["service"],
                "responses": {
                    "200": {
                        "description": "An HTML page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    )
    spec.path(
        path="/v1/openapi.json",
        operations={
            "get": {
                "operationId": "getOpenApi",
                "summary": "This OpenAPI document, with the server's base URL.",
                "tags": ["service"],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    )
    for collection in COLLECTIONS.values():
        singular = collection.resource.singular
        camel = schema_name(collection.resource)
        spec.path(
            path=f"/v1/{collection.name}",
            operations={
                "get": _list_operation(
                    collection, f"list{camel}s", f"List {singular} records.", None
                )
            },
        )
        spec.path(
            path=f"/v1/{collection.name}/{{id}}",
            operations={
                "get": {
                    "operationId": f"get{camel}",
                    "summary": f"One {singular}.",
                    "tags": [collection.name],
                    "parameters": [_id_parameter(collection), IF_NONE_MATCH],
                    "responses": {
                        "200": {
                            "description": f"The {singular}.",
                            "headers": {"ETag": ETAG_HEADER, "Cache-Control": CACHE_HEADER},
                            "content": {"application/json": {"schema": camel}},
                        },
                        "304": NOT_MODIFIED,
                        "400": _problem("Items take no query parameters."),
                        "404": _problem(f"There is no such {singular}."),
                        "410": _problem(f"The {singular} was deleted."),
                    },
                }
            },
        )
        for child_name in NESTED[collection.name]:
            child = COLLECTIONS[child_name]
            fixed = child.nested_under[collection.name][0]
            child_camel = schema_name(child.resource)
            spec.path(
                path=f"/v1/{collection.name}/{{id}}/{child_name}",
                operations={
                    "get": {
                        **_list_operation(
                            child,
                            f"list{camel}{child_camel}s",
                            f"List the {child.resource.singular} records of a {singular}.",
                            fixed,
                        ),
                        "parameters": [
                            _id_parameter(collection),
                            *_list_parameters(child, fixed),
                        ],
                    }
                },
            )
    document: dict[str, Any] = spec.to_dict()
    return document


def to_yaml(document: dict[str, Any]) -> str:
    header = "# Generated by `parley openapi`; do not edit by hand.\n"
    return header + yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=100)


def served_spec(base_url: str) -> dict[str, Any]:
    """The document as served: the committed one plus this server's base URL."""
    return {**build_spec(), "servers": [{"url": base_url}]}
