"""The SQLAlchemy models: one table per resource, link tables for the lists of
references between them, one table of citations and one of revisions.

Link tables carry a ``position`` so that lists keep the order the curator
gave them. Relationships are read-only views: writes go through the fixture
loader (and later the API) with explicit statements, so that exactly one code
path decides what a revision is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID_LENGTH = 100

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, whatever the backend stores.

    SQLite keeps no offset, PostgreSQL converts to the session's time zone:
    both are normalised to UTC so that outputs never depend on the server.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Parley stores UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


def _ref(target: str, *, nullable: bool = True) -> Mapped[Any]:
    return mapped_column(
        String(ID_LENGTH), ForeignKey(f"{target}.id"), nullable=nullable, index=True
    )


class Record:
    """Columns every curated record has."""

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Who made the current revision: "fixtures", or "token:<name>" for an API write.
    changed_by: Mapped[str] = mapped_column(String(120))
    deleted_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)


def link_table(name: str, left: str, right: str, *, exclusive: bool = False) -> Table:
    """An ordered many-to-many list of references from ``left`` to ``right``.

    ``exclusive`` makes the right side belong to at most one left record
    (a delegation is at one talk only).
    """
    return Table(
        name,
        Base.metadata,
        Column("owner_id", String(ID_LENGTH), ForeignKey(f"{left}.id"), primary_key=True),
        Column(
            "target_id",
            String(ID_LENGTH),
            ForeignKey(f"{right}.id"),
            primary_key=True,
            unique=exclusive,
            index=not exclusive,
        ),
        Column("position", Integer, nullable=False),
    )


talk_parties = link_table("talk_parties", "talks", "actors")
talk_delegations = link_table("talk_delegations", "talks", "delegations", exclusive=True)
talk_obstacles = link_table("talk_obstacles", "talks", "obstacles")
delegation_declined = link_table("delegation_declined", "delegations", "actors")
proposal_proposers = link_table("proposal_proposers", "force_proposals", "actors")
proposal_reluctant = link_table("proposal_reluctant", "force_proposals", "actors")


class Source(Record, Base):
    """One seed document; its text is the span of lines of a seed file."""

    __tablename__ = "sources"

    title: Mapped[str] = mapped_column(Text)
    alternate_headline: Mapped[str | None] = mapped_column(Text)
    seed_file: Mapped[str] = mapped_column(String(200))
    line_start: Mapped[int]
    line_end: Mapped[int]


class Actor(Record, Base):
    __tablename__ = "actors"

    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    affiliation_id: Mapped[str | None] = _ref("actors")
    description: Mapped[str | None] = mapped_column(Text)

    affiliation: Mapped[Actor | None] = relationship(remote_side="Actor.id", viewonly=True)


class Talk(Record, Base):
    __tablename__ = "talks"

    title: Mapped[str] = mapped_column(Text)
    venue: Mapped[str | None] = mapped_column(Text)
    # The timing as the source states it ("Friday"); `date` only when the source gives one.
    timing: Mapped[str | None] = mapped_column(Text)
    date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)
    format: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(Text)
    precedent: Mapped[str | None] = mapped_column(Text)
    aims: Mapped[list[str]]
    expectations: Mapped[str | None] = mapped_column(Text)

    parties: Mapped[list[Actor]] = relationship(
        secondary=talk_parties, order_by=talk_parties.c.position, viewonly=True
    )
    delegations: Mapped[list[Delegation]] = relationship(
        secondary=talk_delegations, order_by=talk_delegations.c.position, viewonly=True
    )
    obstacles: Mapped[list[Obstacle]] = relationship(
        secondary=talk_obstacles, order_by=talk_obstacles.c.position, viewonly=True
    )


class Delegation(Record, Base):
    __tablename__ = "delegations"

    party_id: Mapped[str] = _ref("actors", nullable=False)
    level: Mapped[str | None] = mapped_column(Text)
    head_id: Mapped[str | None] = _ref("actors")
    head_description: Mapped[str | None] = mapped_column(Text)

    party: Mapped[Actor] = relationship(foreign_keys=[party_id], viewonly=True)
    head: Mapped[Actor | None] = relationship(foreign_keys=[head_id], viewonly=True)
    declined: Mapped[list[Actor]] = relationship(
        secondary=delegation_declined, order_by=delegation_declined.c.position, viewonly=True
    )
    talk: Mapped[Talk | None] = relationship(
        secondary=talk_delegations, viewonly=True, uselist=False
    )


class Obstacle(Record, Base):
    __tablename__ = "obstacles"

    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)

    positions: Mapped[list[Position]] = relationship(order_by="Position.position", viewonly=True)


class Position(Base):
    """A stance on an obstacle, and who holds it, as the source states."""

    __tablename__ = "obstacle_positions"

    obstacle_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("obstacles.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[str] = _ref("actors", nullable=False)
    stance: Mapped[str] = mapped_column(Text)

    holder: Mapped[Actor] = relationship(viewonly=True)


class ForceProposal(Record, Base):
    __tablename__ = "force_proposals"

    title: Mapped[str] = mapped_column(Text)
    contributors: Mapped[str | None] = mapped_column(Text)
    troops_min: Mapped[int | None]
    troops_max: Mapped[int | None]
    troops_needed: Mapped[int | None]
    troops_needed_text: Mapped[str | None] = mapped_column(Text)
    deployment_area: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    risks: Mapped[list[str]]
    motives: Mapped[list[str]]
    criticisms: Mapped[list[str]]
    preconditions: Mapped[list[str]]
    assessment: Mapped[str | None] = mapped_column(Text)

    proposers: Mapped[list[Actor]] = relationship(
        secondary=proposal_proposers, order_by=proposal_proposers.c.position, viewonly=True
    )
    reluctant: Mapped[list[Actor]] = relationship(
        secondary=proposal_reluctant, order_by=proposal_reluctant.c.position, viewonly=True
    )


class Statement(Record, Base):
    """Who said or judged what, about which record."""

    __tablename__ = "statements"

    speaker_id: Mapped[str | None] = _ref("actors")
    # A reference to any record, as its resource name and id ("talks", "istanbul-talks").
    about_resource: Mapped[str | None] = mapped_column(String(40))
    about_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str] = mapped_column(Text)
    quoted: Mapped[str | None] = mapped_column(Text)

    speaker: Mapped[Actor | None] = relationship(viewonly=True)

    __table_args__ = (Index("ix_statements_about", "about_resource", "about_id"),)


class Citation(Base):
    """A verbatim quote from a source backing a record.

    ``start``/``end`` count code points from the start of the seed file, end
    exclusive, so ``seed_text[start:end] == quote``.
    """

    __tablename__ = "citations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    position: Mapped[int]
    source_id: Mapped[str] = _ref("sources", nullable=False)
    quote: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column("start_offset", Integer)
    end: Mapped[int] = mapped_column("end_offset", Integer)

    __table_args__ = (
        UniqueConstraint("resource", "record_id", "position", name="uq_citations_record"),
    )


class Revision(Base):
    """The full record as one accepted change left it.

    ``id`` increases with every revision stored and is the data revision that
    outputs carry.
    """

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    revision: Mapped[int]
    changed_at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(120))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]]

    __table_args__ = (
        UniqueConstraint("resource", "record_id", "revision", name="uq_revisions_record"),
    )


class Meta(Base):
    """Facts about the loaded dataset (name, version, release date)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token for writes. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Rendering(Base):
    """One record's chunk of one export format, kept until the record changes.

    A cache (``api.renderings``): it holds nothing the other tables do not decide. A
    rendering is of the record as of ``revision``, in ``variant`` (the exporter, its
    code and the base URL), with ``context`` the owners it named (a delegation's talk);
    it is used only while all three still hold. There is deliberately no foreign key
    to ``revisions``: renderings are written by their own short transactions, which
    must never wait on a writer's uncommitted revision.
    """

    __tablename__ = "renderings"

    resource: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True)
    revision: Mapped[int]
    context: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
