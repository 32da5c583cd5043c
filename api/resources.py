"""One description of each resource: its model, its fields and how they map to
columns and link tables.

The fixture schemas, the loader and the dump are all driven from these
descriptions, so adding a field is a change in one place (plus a migration).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

from sqlalchemy import Table

from api import models


@dataclass(frozen=True)
class Scalar:
    """A plain column. ``derived`` ones are filled by the loader, not the curator."""

    name: str
    type: Literal["text", "int", "date"] = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    derived: bool = False


@dataclass(frozen=True)
class TextList:
    """An ordered list of short texts, stored as JSON."""

    name: str


@dataclass(frozen=True)
class Ref:
    """A reference to one record of ``target``; column ``<name>_id``."""

    name: str
    target: str
    required: bool = False

    @property
    def column(self) -> str:
        return f"{self.name}_id"


@dataclass(frozen=True)
class RefList:
    """An ordered list of references, kept in a link table."""

    name: str
    target: str
    table: Table
    # True when a target belongs to at most one owner (a delegation's talk).
    exclusive: bool = False


@dataclass(frozen=True)
class AnyRef:
    """A reference to a record of any resource, written ``"<resource>/<id>"``."""

    name: str


@dataclass(frozen=True)
class Positions:
    """An obstacle's stated positions: ``[{holder: <actor id>, stance: <text>}]``."""

    name: str = "positions"
    holder_target: str = "actors"


FieldSpec = Scalar | TextList | Ref | RefList | AnyRef | Positions


# Compared and hashed by identity: there is one of each, and the caches keyed by a
# resource would otherwise hash every field description on every lookup.
@dataclass(frozen=True, eq=False)
class Resource:
    name: str  # URL and fixture name: "force-proposals"
    singular: str  # for messages: "force proposal"
    model: type[models.Record]
    fields: tuple[FieldSpec, ...]
    writable: bool = True

    @property
    def fixture_file(self) -> str:
        return f"{self.name}.yaml"

    @property
    def table(self) -> Table:
        table = self.model.__table__  # type: ignore[attr-defined]
        assert isinstance(table, Table)
        return table

    def ref_list(self, name: str) -> RefList:
        """The list of references called ``name`` (a talk's ``delegations``)."""
        for spec in self.fields:
            if isinstance(spec, RefList) and spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no list of references {name!r}")

    def references(self) -> Iterator[Ref | RefList | Positions]:
        for spec in self.fields:
            if isinstance(spec, Ref | RefList | Positions):
                yield spec


TALK_STATUSES = ("scheduled", "ongoing", "concluded", "cancelled")
ACTOR_KINDS = ("state", "organization", "alliance", "person", "group", "role")
STATEMENT_KINDS = ("quote", "judgement", "expectation", "key-point", "assessment")

SOURCES = Resource(
    "sources",
    "source",
    models.Source,
    (
        Scalar("title", required=True),
        Scalar("alternate_headline"),
        Scalar("seed_file", derived=True),
        Scalar("line_start", "int", derived=True),
        Scalar("line_end", "int", derived=True),
    ),
    writable=False,
)
ACTORS = Resource(
    "actors",
    "actor",
    models.Actor,
    (
        Scalar("name", required=True),
        Scalar("kind", required=True, choices=ACTOR_KINDS),
        Scalar("title"),
        Ref("affiliation", "actors"),
        Scalar("description"),
    ),
)
DELEGATIONS = Resource(
    "delegations",
    "delegation",
    models.Delegation,
    (
        Ref("party", "actors", required=True),
        Scalar("level"),
        Ref("head", "actors"),
        Scalar("head_description"),
        RefList("declined", "actors", models.delegation_declined),
    ),
)
OBSTACLES = Resource(
    "obstacles",
    "obstacle",
    models.Obstacle,
    (Scalar("title", required=True), Scalar("description"), Positions()),
)
TALKS = Resource(
    "talks",
    "talk",
    models.Talk,
    (
        Scalar("title", required=True),
        Scalar("venue"),
        RefList("parties", "actors", models.talk_parties),
        Scalar("timing"),
        Scalar("date", "date"),
        Scalar("status", required=True, choices=TALK_STATUSES),
        Scalar("format"),
        Scalar("level"),
        Scalar("precedent"),
        TextList("aims"),
        Scalar("expectations"),
        RefList("delegations", "delegations", models.talk_delegations, exclusive=True),
        RefList("obstacles", "obstacles", models.talk_obstacles),
    ),
)
FORCE_PROPOSALS = Resource(
    "force-proposals",
    "force proposal",
    models.ForceProposal,
    (
        Scalar("title", required=True),
        RefList("proposers", "actors", models.proposal_proposers),
        Scalar("contributors"),
        Scalar("troops_min", "int"),
        Scalar("troops_max", "int"),
        Scalar("troops_needed", "int"),
        Scalar("troops_needed_text"),
        RefList("reluctant", "actors", models.proposal_reluctant),
        Scalar("deployment_area"),
        Scalar("purpose"),
        TextList("risks"),
        TextList("motives"),
        TextList("criticisms"),
        TextList("preconditions"),
        Scalar("assessment"),
    ),
)
STATEMENTS = Resource(
    "statements",
    "statement",
    models.Statement,
    (
        Ref("speaker", "actors"),
        AnyRef("about"),
        Scalar("kind", required=True, choices=STATEMENT_KINDS),
        Scalar("text", required=True),
        Scalar("quoted"),
    ),
)

# In dependency order: a resource only refers to those before it (or to itself).
RESOURCES: tuple[Resource, ...] = (
    SOURCES,
    ACTORS,
    DELEGATIONS,
    OBSTACLES,
    TALKS,
    FORCE_PROPOSALS,
    STATEMENTS,
)
BY_NAME: dict[str, Resource] = {resource.name: resource for resource in RESOURCES}


@cache
def owner_links(resource: Resource) -> tuple[tuple[str, Resource, RefList], ...]:
    """The owners a record of ``resource`` belongs to through an exclusive list.

    A delegation is listed by exactly one talk, so it links back to it as ``talk``.
    """
    return tuple(
        (owner.singular.replace(" ", "_"), owner, spec)
        for owner in RESOURCES
        for spec in owner.fields
        if isinstance(spec, RefList) and spec.exclusive and spec.target == resource.name
    )
