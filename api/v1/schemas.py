"""Version 1 representations: the one serialization path for HTTP and exporters.

The data layer hands over plain values with references as ids; these schemas
turn them into the v1 JSON shape, with every reference a link
(``{"id", "url"}``) built from ``PARLEY_BASE_URL``, never from the request.
The schemas are the v1 contract: a future /v2 gets schemas of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from marshmallow import Schema, fields
from marshmallow.experimental.context import Context

from api.paths import reference
from api.resources import (
    RESOURCES,
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

VERSION = "v1"


@dataclass(frozen=True)
class Urls:
    """Builds absolute URLs of version 1 from the configured base URL."""

    base_url: str

    def collection(self, resource: str) -> str:
        return f"{self.base_url}/{VERSION}/{resource}"

    def item(self, resource: str, record_id: str) -> str:
        return f"{self.base_url}/{VERSION}/{resource}/{record_id}"


def _urls() -> Urls:
    urls = Context[Urls].get()
    return urls


class LinkSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The linked record's id."})
    url = fields.Url(required=True, metadata={"description": "The linked record's URL."})


class RecordLinkSchema(LinkSchema):
    resource = fields.String(
        required=True, metadata={"description": "The collection of the linked record."}
    )


class Link(fields.Nested):
    """A reference to one record of ``target``, given as its id, dumped as a link."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        super().__init__(LinkSchema, **kwargs)
        self.target = target

    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if nested_obj is None:
            return None
        return {"id": nested_obj, "url": _urls().item(self.target, nested_obj)}


class RecordLink(fields.Nested):
    """A reference to a record of any collection, given as ``(resource, id)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(RecordLinkSchema, **kwargs)

    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if nested_obj is None:
            return None
        resource, record_id = nested_obj
        return {"resource": resource, "id": record_id, "url": _urls().item(resource, record_id)}


class SelfUrl(fields.Field[str]):
    """The record's own absolute URL, computed from its id."""

    def __init__(self, resource: str, **kwargs: Any) -> None:
        super().__init__(dump_only=True, **kwargs)
        self.resource = resource

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> str:
        return _urls().item(self.resource, obj["id"])


class CitationSchema(Schema):
    source = Link("sources", required=True)
    quote = fields.String(
        required=True, metadata={"description": "Verbatim text of the source document."}
    )
    start = fields.Integer(
        required=True,
        metadata={"description": "Offset of the quote in its seed file, in code points."},
    )
    end = fields.Integer(
        required=True, metadata={"description": "End of the quote (exclusive), in code points."}
    )


class PositionSchema(Schema):
    holder = Link("actors", required=True)
    stance = fields.String(required=True)


def _field(spec: FieldSpec) -> fields.Field[Any]:
    if isinstance(spec, Scalar):
        if spec.type == "int":
            return fields.Integer(allow_none=True)
        if spec.type == "date":
            return fields.Date(allow_none=True)
        metadata = {"enum": list(spec.choices)} if spec.choices else {}
        return fields.String(allow_none=not spec.required, metadata=metadata)
    if isinstance(spec, TextList):
        return fields.List(fields.String())
    if isinstance(spec, Ref):
        return Link(spec.target, allow_none=True)
    if isinstance(spec, RefList):
        return fields.List(Link(spec.target))
    if isinstance(spec, AnyRef):
        return RecordLink(allow_none=True)
    if isinstance(spec, Positions):
        return fields.List(fields.Nested(PositionSchema))
    raise TypeError(spec)  # pragma: no cover - exhaustive over FieldSpec


class Links(fields.Nested):
    """The record's own links: itself and the nested collections under it."""

    def __init__(self, resource: str) -> None:
        from api.v1.catalog import NESTED  # the catalog imports the schemas' users

        names = NESTED[resource]
        members: dict[str, fields.Field[Any]] = {"self": fields.Url(required=True)}
        members |= {name: fields.Url(required=True) for name in names}
        schema = Schema.from_dict(
            members,
            name=f"{_class_name(resource)}Links",
        )
        super().__init__(schema, dump_only=True)
        self.resource = resource
        self.names = names

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        own = _urls().item(self.resource, obj["id"])
        return {"self": own} | {name: f"{own}/{name}" for name in self.names}


def _class_name(resource: str) -> str:
    return "".join(part.title() for part in resource.removesuffix("s").split("-"))


def schema_name(resource: Resource) -> str:
    return "".join(part.title() for part in resource.singular.split())


@cache
def record_schema(resource: Resource) -> Schema:
    """The v1 schema of one record of ``resource``."""
    declared: dict[str, fields.Field[Any]] = {
        "id": fields.String(required=True, metadata={"description": "Stable slug id."}),
        "url": SelfUrl(resource.name, required=True),
        "revision": fields.Integer(
            metadata={"description": "Increases with every accepted change."}
        ),
        "created_at": fields.DateTime(),
        "updated_at": fields.DateTime(),
    }
    for spec in resource.fields:
        declared[spec.name] = _field(spec)
    for name, owner, _spec in owner_links(resource):
        declared[name] = Link(owner.name, allow_none=True)
    declared["notes"] = fields.String(
        allow_none=True, metadata={"description": "Curators' notes, e.g. on inconsistencies."}
    )
    declared["citations"] = fields.List(fields.Nested(CitationSchema))
    declared["links"] = Links(resource.name)
    schema_class = Schema.from_dict(declared, name=schema_name(resource))
    return schema_class()


def field_names(resource: Resource) -> tuple[str, ...]:
    """The top-level members of a record, in their documented order."""
    return tuple(record_schema(resource).fields)


def dump(
    resource: Resource, records: Sequence[Mapping[str, Any]], urls: Urls
) -> list[dict[str, Any]]:
    """``records`` in their v1 shape, through the schema's compiled dumper."""
    if reference():
        return dump_with_schema(resource, records, urls)

    compiled = _dumper(resource)
    base = urls.base_url
    return [compiled(record, base) for record in records]


@cache
def _dumper(resource: Resource) -> Callable[[Mapping[str, Any], str], dict[str, Any]]:
    # Imported once per resource, not on every call: an import statement costs as much
    # as dumping a small record (two failed attribute lookups, each a formatted error).
    from api.v1.dumpers import dumper  # the dumpers compile these schemas

    return dumper(resource)


def dump_with_schema(
    resource: Resource, records: Sequence[Mapping[str, Any]], urls: Urls
) -> list[dict[str, Any]]:
    """What ``dump`` must give: the marshmallow schema's own output."""
    with Context(urls):
        dumped: list[dict[str, Any]] = record_schema(resource).dump(records, many=True)
    return dumped


def dump_one(resource: Resource, record: Mapping[str, Any], urls: Urls) -> dict[str, Any]:
    return dump(resource, [record], urls)[0]


def all_schemas() -> dict[str, Schema]:
    return {resource.name: record_schema(resource) for resource in RESOURCES}
