"""Compiled dumpers: the v1 schemas' output without marshmallow's per-field machinery.

``record_schema`` stays the definition of a v1 record (the OpenAPI document and
the tests read it); this module compiles each resource's schema once into a
plain Python function that builds the same dict, member for member and in the
same order, at a fraction of the cost. Every record served or exported passes
through it, so a test compares it with the schema on every kind of record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from marshmallow import fields

from api.resources import AnyRef, Positions, Ref, RefList, Resource, Scalar, TextList, owner_links
from api.v1.schemas import VERSION, record_schema

Dumper = Callable[[Mapping[str, Any], str], dict[str, Any]]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def _moment(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _texts(values: Sequence[Any] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def _source(resource: Resource) -> str:
    """Python source of the dumper of ``resource``: one dict display, in schema order."""
    schema = record_schema(resource)
    specs = {spec.name: spec for spec in resource.fields}
    owners = {name: owner for name, owner, _spec in owner_links(resource)}
    from api.v1.catalog import NESTED

    def item(target: str, value: str) -> str:
        return f'(base + "/{VERSION}/{target}/" + {value})'

    def link(target: str, value: str) -> str:
        return f'{{"id": {value}, "url": {item(target, value)}}}'

    members: list[str] = []
    for name, field in schema.fields.items():
        value = f"r[{name!r}]"
        spec = specs.get(name)
        if name == "id":
            code = value
        elif name == "url":
            code = "own"
        elif name == "links":
            nested = "".join(f', "{n}": own + "/{n}"' for n in NESTED[resource.name])
            code = f'{{"self": own{nested}}}'
        elif name == "citations":
            source = link("sources", 'c["source"]')
            code = (
                f"(None if {value} is None else "
                f'[{{"source": {source}, "quote": _text(c["quote"]), '
                f'"start": _integer(c["start"]), "end": _integer(c["end"])}} for c in {value}])'
            )
        elif name in owners:
            code = f"(None if {value} is None else {link(owners[name].name, value)})"
        elif isinstance(spec, Scalar) or spec is None:
            if isinstance(field, fields.DateTime | fields.Date):
                code = f"_moment({value})"
            elif isinstance(field, fields.Integer):
                code = f"_integer({value})"
            else:
                code = f"_text({value})"
        elif isinstance(spec, TextList):
            code = f"_texts({value})"
        elif isinstance(spec, Ref):
            code = f"(None if {value} is None else {link(spec.target, value)})"
        elif isinstance(spec, RefList):
            code = f"(None if {value} is None else [{link(spec.target, 'x')} for x in {value}])"
        elif isinstance(spec, AnyRef):
            code = (
                f"(None if {value} is None else "
                f'{{"resource": {value}[0], "id": {value}[1], '
                f'"url": base + "/{VERSION}/" + {value}[0] + "/" + {value}[1]}})'
            )
        elif isinstance(spec, Positions):
            holder = link(spec.holder_target, 'p["holder"]')
            code = (
                f"(None if {value} is None else "
                f'[{{"holder": {holder}, "stance": _text(p["stance"])}} for p in {value}])'
            )
        else:  # pragma: no cover - exhaustive over the schema's members
            raise TypeError(f"{resource.name}.{name}: {field!r}")
        members.append(f"        {name!r}: {code},")
    body = "\n".join(members)
    return (
        "def dump(r, base):\n"
        f'    own = base + "/{VERSION}/{resource.name}/" + r["id"]\n'
        "    return {\n"
        f"{body}\n"
        "    }\n"
    )


@cache
def dumper(resource: Resource) -> Dumper:
    """The compiled dumper of ``resource``: ``dumper(resource)(record, base_url)``."""
    namespace: dict[str, Any] = {
        "_text": _text,
        "_integer": _integer,
        "_moment": _moment,
        "_texts": _texts,
    }
    # The source is made from the schema's own field names, never from input.
    exec(compile(_source(resource), f"<v1 dumper of {resource.name}>", "exec"), namespace)  # noqa: S102
    compiled: Dumper = namespace["dump"]
    return compiled
