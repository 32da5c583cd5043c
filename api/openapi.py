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
from api.v1.negotiation import JSON, JSON_MEDIA_TYPE, content_type
from api.v1.params import DEFAULT_LIMIT, MAX_LIMIT, RECORD_PATTERN
from api.v1.schemas import SelfUrl, field_names, record_schema, schema_name
from exporters.manager import Registry, load_registry

PROBLEM = "application/problem+json"


class ParameterErrorSchema(Schema):
    parameter = fields.String(metadata={"description": "The query parameter (400)."})
    field = fields.String(
        metadata={"description": "The member of the body, as `parties[1]` (422)."}
    )
    detail = fields.String(required=True)


class ReferrerSchema(Schema):
    resource = fields.String(required=True)
    id = fields.String(required=True)
    field = fields.String(required=True, metadata={"description": "Where it refers."})
    url = fields.Url(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem document."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.List(
        fields.Nested(ParameterErrorSchema),
        metadata={"description": "Each offending parameter (400) or member (422)."},
    )
    referrers = fields.List(
        fields.Nested(ReferrerSchema),
        metadata={"description": "The records still referring to one (409)."},
    )
    available_formats = fields.List(
        fields.String(), metadata={"description": "The formats this server offers (406)."}
    )
    available_media_types = fields.List(
        fields.String(), metadata={"description": "Their media types (406)."}
    )
    revisions = fields.Url(
        metadata={"description": "The revisions of the deleted record, kept (410)."}
    )
    revision = fields.Url(
        metadata={"description": "The revision that deleted the record (410 with `as_of`)."}
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
    error = fields.String(metadata={"description": "The kind of error, when unreachable."})
    detail = fields.String(metadata={"description": "What went wrong, when unreachable."})


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


class ExporterSchema(Schema):
    name = fields.String(required=True)
    media_type = fields.String(required=True)
    extension = fields.String(required=True)
    version = fields.String(required=True)
    plugin = fields.String(required=True)
    distribution = fields.String(required=True, allow_none=True)


class ExportersSchema(Schema):
    exporters = fields.List(fields.Nested(ExporterSchema), required=True)


class _Formats:
    """What the registered exporters add to each GET: a `format` value and a media type."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.names = [JSON, *registry.names()]
        self.media_types = [
            content_type(r.exporter.media_type) for r in registry.exporters.values()
        ]

    def parameter(self) -> dict[str, Any]:
        suffixes = ", ".join(f"`.{r.exporter.extension}`" for r in self.registry.exporters.values())
        return {
            "name": "format",
            "in": "query",
            "description": "The representation (default json); the `Accept` header works too, "
            + (
                f"and so do the path suffixes {suffixes} (e.g. `/v1/talks.csv`). "
                if suffixes
                else ""
            )
            + "Other formats stream every matching record (no `limit`, `cursor` or `fields`).",
            "schema": {"type": "string", "enum": self.names},
        }

    def content(self, schema: Any) -> dict[str, Any]:
        content: dict[str, Any] = {JSON_MEDIA_TYPE: {"schema": schema}}
        for media_type in self.media_types:
            # JSON-based formats (application/ld+json) are JSON documents; the rest is text.
            essence = media_type.split(";")[0]
            json_based = essence.endswith(("/json", "+json"))
            content[media_type] = {"schema": {"type": "object" if json_based else "string"}}
        return content


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": "Problem"}}}


ETAG_HEADER = {"description": "Entity tag of this representation.", "schema": {"type": "string"}}
# Every operation refuses a query string that is not UTF-8; the others document a 400 anyway.
NOT_UTF8 = {
    "description": "The query string is not UTF-8.",
    "content": {PROBLEM: {"schema": "Problem"}},
}
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
    collection: Collection,
    operation_id: str,
    summary: str,
    fixed: str | None,
    formats: _Formats,
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
            "content": formats.content(page),
        },
        "304": NOT_MODIFIED,
        "400": _problem("A query parameter is invalid (each is named in `errors`)."),
        "406": _problem("No registered format matches; the problem lists those available."),
        "500": _problem("The exporter of the requested format failed."),
    }
    if fixed is not None:
        responses["404"] = _problem("The parent record does not exist.")
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [collection.name],
        "parameters": [*_list_parameters(collection, fixed), formats.parameter()],
        "responses": responses,
    }


def _json(description: str, schema: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON_MEDIA_TYPE: {"schema": schema}}}


def _service(
    spec: APISpec, path: str, operation_id: str, summary: str, responses: dict[str, Any]
) -> None:
    """A GET outside the collections (service index, health, documents)."""
    spec.path(
        path=path,
        operations={
            "get": {
                "operationId": operation_id,
                "summary": summary,
                "tags": ["service"],
                "responses": {**responses, "400": NOT_UTF8},
            }
        },
    )


def builtin_registry() -> Registry:
    """The built-in exporters only: the committed document never depends on what is installed."""
    return load_registry({"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"})


def build_spec(registry: Registry | None = None) -> dict[str, Any]:
    from api import openapi_links, openapi_protection, openapi_writes  # they build on this module

    registry = registry if registry is not None else builtin_registry()
    formats = _Formats(registry)
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

    _service(
        spec,
        "/",
        "getServiceIndex",
        "The service index: dataset, API versions and record counts.",
        {"200": _json("The service index.", "ServiceIndex")},
    )
    _service(
        spec,
        "/healthz",
        "getHealth",
        "Whether the database is reachable, migrated and loaded.",
        {
            "200": _json("Healthy.", "Health"),
            "503": {
                **_json("Unhealthy; `database.status` says why.", "Health"),
                "headers": {"Retry-After": {"schema": {"type": "string"}}},
            },
        },
    )
    _service(
        spec,
        "/v1",
        "getVersionIndex",
        "The collections of version 1 with their counts.",
        {"200": _json("The collections.", "VersionIndex")},
    )
    _service(
        spec,
        "/docs",
        "getDocs",
        "This document, browsable (Swagger UI from local assets).",
        {
            "200": {
                "description": "An HTML page.",
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        },
    )
    _service(
        spec,
        "/v1/openapi.json",
        "getOpenApi",
        "This OpenAPI document, with the server's base URL.",
        {"200": _json("The OpenAPI 3.1 document.", {"type": "object"})},
    )
    spec.components.schema("Exporters", schema=ExportersSchema)
    _service(
        spec,
        "/v1/exporters",
        "listExporters",
        "The registered exporters: the formats every GET can answer in.",
        {"200": _json("The exporters, with the plugin providing each.", "Exporters")},
    )
    for registered in registry.exporters.values():
        documents = getattr(registered.exporter, "documents", None)
        for path, media_type, _body in documents() if documents else ():
            json_based = media_type.endswith(("/json", "+json"))
            _service(
                spec,
                f"/v1/{path}",
                f"get_{path}".replace(".", "_").replace("/", "_"),
                f"A document the {registered.exporter.name} format needs.",
                {
                    "200": {
                        "description": "The document.",
                        "content": {
                            content_type(media_type): {
                                "schema": {"type": "object" if json_based else "string"}
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
                    collection, f"list{camel}s", f"List {singular} records.", None, formats
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
                    "parameters": [
                        _id_parameter(collection),
                        IF_NONE_MATCH,
                        formats.parameter(),
                        openapi_writes.AS_OF,
                    ],
                    "responses": {
                        "200": {
                            "description": f"The {singular}.",
                            "headers": {"ETag": ETAG_HEADER, "Cache-Control": CACHE_HEADER},
                            "content": formats.content(camel),
                        },
                        "304": NOT_MODIFIED,
                        "400": _problem("Items take no query parameters but `format`, `as_of`."),
                        "404": _problem(f"There is no such {singular} (at `as_of`)."),
                        "406": _problem("No registered format matches."),
                        "410": {
                            **_problem(f"The {singular} was deleted (by `as_of`)."),
                            "headers": {"ETag": ETAG_HEADER},
                        },
                        "500": _problem("The exporter of the requested format failed."),
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
                            formats,
                        ),
                        "parameters": [
                            _id_parameter(collection),
                            *_list_parameters(child, fixed),
                            formats.parameter(),
                        ],
                    }
                },
            )
    openapi_writes.add_operations(spec)
    document: dict[str, Any] = spec.to_dict()
    openapi_links.add_links(document)
    return openapi_protection.add_protections(document)


def to_yaml(document: dict[str, Any]) -> str:
    header = "# Generated by `parley openapi`; do not edit by hand.\n"
    return header + yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=100)


def served_spec(base_url: str, registry: Registry) -> dict[str, Any]:
    """The document as served: with this server's exporters (plugins too) and base URL."""
    return {**build_spec(registry), "servers": [{"url": base_url}]}
