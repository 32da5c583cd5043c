"""What a collection offers beyond its records: filters, text search, sorting, nesting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from api import models
from api.resources import RefList, Resource, Scalar

Condition = Callable[[str], ColumnElement[bool]]

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class Filter:
    """A query parameter that keeps the records matching one value."""

    name: str
    description: str
    condition: Condition
    choices: tuple[str, ...] = ()
    # "id": the value is a record id (a slug); "text": any text.
    kind: str = "id"


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per collection
class Collection:
    resource: Resource
    filters: tuple[Filter, ...] = ()
    # Text columns searched by `q` (case-insensitive substring).
    search: tuple[str, ...] = ()
    # parent collection -> (filter name, value template) for /v1/<parent>/<id>/<this>
    nested_under: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def sortable(self) -> tuple[str, ...]:
        return ("id", *(s.name for s in self.resource.fields if isinstance(s, Scalar)))

    def filter(self, name: str) -> Filter | None:
        return next((f for f in self.filters if f.name == name), None)

    def search_condition(self, text: str) -> ColumnElement[bool]:
        pattern = "%" + _escape_like(text.lower()) + "%"
        table = self.resource.table
        return or_(*(func.lower(table.c[name]).like(pattern, escape="\\") for name in self.search))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def equals(resource: Resource, column: str, description: str, **kwargs: Any) -> Filter:
    table = resource.table
    return Filter(column, description, lambda value: table.c[column] == value, **kwargs)


def ref_equals(resource: Resource, name: str, column: str, description: str) -> Filter:
    table = resource.table
    return Filter(name, description, lambda value: table.c[column] == value)


def lists(resource: Resource, name: str, spec: RefList, description: str) -> Filter:
    """Records whose list ``spec`` contains the value."""
    table, link = resource.table, spec.table
    return Filter(
        name,
        description,
        lambda value: table.c.id.in_(select(link.c.owner_id).where(link.c.target_id == value)),
    )


def listed_by(resource: Resource, name: str, spec: RefList, description: str) -> Filter:
    """Records listed by the owner record given as the value (a talk's delegations)."""
    table, link = resource.table, spec.table
    return Filter(
        name,
        description,
        lambda value: table.c.id.in_(select(link.c.target_id).where(link.c.owner_id == value)),
    )


def about(resource: Resource, description: str) -> Filter:
    table = resource.table

    def condition(value: str) -> ColumnElement[bool]:
        about_resource, _, about_id = value.partition("/")
        return and_(table.c.about_resource == about_resource, table.c.about_id == about_id)

    return Filter("about", description, condition, kind="record")


def holds_position(resource: Resource, description: str) -> Filter:
    table, position = resource.table, models.Position
    return Filter(
        "actor",
        description,
        lambda value: table.c.id.in_(
            select(position.obstacle_id).where(position.holder_id == value)
        ),
    )
