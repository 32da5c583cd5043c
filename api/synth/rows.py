"""The ``INSERT ... SELECT`` statements that make the synthetic rows, table by table.

Record numbers say where a record belongs: delegation ``(t-1)*4 + i + 1`` is
the i-th of talk t, and so on, so that each statement needs only a number
series (and the small pools of actors a talk draws from), never the rows of
another statement. Lists of distinct members are drawn as ``start + k*stride``
modulo the pool size, with strides small enough that no member repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Insert,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    insert,
    literal,
    not_,
    null,
    select,
    true,
    update,
)
from sqlalchemy.sql import Update

from api import models
from api.models import UTCDateTime
from api.resources import (
    ACTORS,
    DELEGATIONS,
    FORCE_PROPOSALS,
    OBSTACLES,
    STATEMENT_KINDS,
    STATEMENTS,
    TALK_STATUSES,
    TALKS,
    AnyRef,
    Positions,
    Ref,
    RefList,
    Resource,
    Scalar,
    TextList,
)
from api.synth import proportions as p
from api.synth import vocabulary as words
from api.synth.quotes import POOL_SIZE
from api.synth.sql import Expression, Sql, number

# --- scratch tables (dropped when the run ends) -----------------------------------------------

_scratch = MetaData()
POOL = Table(
    "synth_pool",
    _scratch,
    Column("pool", String(10), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("actor_id", String(models.ID_LENGTH), nullable=False),
    Column("name", Text, nullable=False),
    prefixes=["TEMPORARY"],
)
QUOTES = Table(
    "synth_quotes",
    _scratch,
    Column("idx", Integer, primary_key=True),
    Column("source_id", String(models.ID_LENGTH), nullable=False),
    Column("quote", Text, nullable=False),
    Column("start_offset", Integer, nullable=False),
    Column("end_offset", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
# The actor pools a talk draws from, and which actors each holds.
POOLS: dict[str, tuple[str, ...] | None] = {
    "party": p.PARTY_KINDS,
    "person": ("person",),
    "state": ("state",),
    "any": None,  # every actor
}

KIND_OF = {
    ACTORS.name: "actor",
    DELEGATIONS.name: "delegation",
    OBSTACLES.name: "obstacle",
    TALKS.name: "talk",
    FORCE_PROPOSALS.name: "force-proposal",
    STATEMENTS.name: "statement",
}


def prefix_of(resource: Resource) -> str:
    return f"{p.PREFIX}-{KIND_OF[resource.name]}-"


@dataclass(frozen=True)
class Counts:
    """How many records of each resource a run makes, and the pool sizes it drew."""

    talks: int
    actors: int
    obstacles: int
    force_proposals: int
    pools: dict[str, int]

    def of(self, resource: Resource) -> int:
        return {
            ACTORS.name: self.actors,
            DELEGATIONS.name: self.talks * p.DELEGATIONS_PER_TALK,
            OBSTACLES.name: self.obstacles,
            TALKS.name: self.talks,
            FORCE_PROPOSALS.name: self.force_proposals,
            STATEMENTS.name: self.talks * p.STATEMENTS_PER_TALK,
        }[resource.name]


def citation_range(resource: Resource) -> tuple[int, int]:
    return p.CITATIONS_PER_TALK if resource is TALKS else p.CITATIONS_PER_RECORD


class Rows:
    """The statements of one run."""

    def __init__(self, sql: Sql, when: datetime) -> None:
        self.sql = sql
        self.when = when

    # --- helpers ---------------------------------------------------------------------------

    def ident(self, resource: Resource, n: Expression) -> Expression:
        return self.sql.ident(prefix_of(resource), p.ID_DIGITS, n)

    def bookkeeping(self) -> dict[str, Expression]:
        """The columns every synthetic record shares: its first revision, by synth."""
        return {
            "revision": number(1),
            "created_at": literal(self.when, UTCDateTime()),
            "updated_at": literal(self.when, UTCDateTime()),
            "changed_by": literal(p.AUTHOR, String),
            "deleted_at": null(),
            "notes": null(),
        }

    def share(self, x: Expression, salt: str, share: float, value: Expression) -> Expression:
        return self.sql.maybe(self.sql.below(x, salt, share), value)

    def member(self, pool: str, index: Expression, column: str = "actor_id") -> Expression:
        """Member ``index`` of an actor pool."""
        return (
            select(POOL.c[column]).where(POOL.c.pool == pool, POOL.c.idx == index).scalar_subquery()
        )

    def spread(self, x: Expression, salt: str, pool: int, count: int, k: Expression) -> Expression:
        """Index ``k`` (of ``count``) of a list of distinct members of a pool of ``pool``."""
        stride = number(1) + self.sql.draw(x, f"{salt}/stride") % number(
            max(1, (pool - 1) // max(1, count - 1))
        )
        start = self.sql.draw(x, f"{salt}/start") % number(pool)
        return (start + k * stride) % number(pool)

    def texts(self, x: Expression, salt: str, items: Sequence[str], bounds: tuple[int, int]) -> Any:
        """A JSON list of distinct ``items`` (between ``bounds`` of them)."""
        low, high = bounds[0], min(bounds[1], len(items))
        count = self.sql.between(x, f"{salt}/count", low, high)
        chosen = [
            self.sql.pick(self.spread(x, salt, len(items), high, number(k)), items)
            for k in range(high)
        ]
        lists = [(number(n), self.sql.json_array(chosen[:n])) for n in range(low, high + 1)]
        return case(*lists, value=count)

    def topic(self, talk: Expression) -> Expression:
        return self.sql.choose(talk, "topic", words.TOPICS)

    def party(self, counts: Counts, talk: Expression, k: Expression) -> Expression:
        index = self.spread(talk, "parties", counts.pools["party"], p.PARTIES_PER_TALK, k)
        return self.member("party", index)

    # --- actors ------------------------------------------------------------------------------

    def actors(self, counts: Counts) -> Insert:
        sql = self.sql
        numbers = sql.series(counts.actors, "actor_numbers")
        n = numbers.c.n
        draw = sql.draw(n, "actor-kind") % number(100)
        weighted: list[tuple[Expression, Expression]] = []
        running = 0
        for kind_name, weight in p.ACTOR_KIND_WEIGHTS.items():
            running += weight
            weighted.append((draw < number(running), literal(kind_name, String)))
        drawn_kind = case(
            (n <= number(len(p.FIRST_ACTORS)), sql.pick(n - 1, p.FIRST_ACTORS)),
            else_=case(*weighted),
        )
        kinds = select(n.label("n"), drawn_kind.label("kind")).subquery("actor_kinds")
        n, kind = kinds.c.n, kinds.c.kind
        region = sql.choose(n, "actor-region", words.REGIONS)
        capitalised = [s.capitalize() for s in words.SYLLABLES]
        state = (
            sql.choose(n, "syllable-1", capitalised)
            .concat(
                func.coalesce(
                    sql.maybe(
                        sql.below(n, "two-syllables", 0.5),
                        sql.choose(n, "syllable-2", words.SYLLABLES),
                    ),
                    "",
                )
            )
            .concat(sql.choose(n, "ending", words.COUNTRY_ENDINGS))
        )
        name = case(
            (kind == "state", state),
            (
                kind == "person",
                sql.choose(n, "first-name", words.FIRST_NAMES)
                .concat(" ")
                .concat(sql.choose(n, "last-name", words.LAST_NAMES)),
            ),
            (
                kind == "organization",
                region.concat(" ")
                .concat(sql.choose(n, "organization", words.ORGANIZATION_KINDS))
                .concat(" for ")
                .concat(sql.choose(n, "theme", words.THEMES)),
            ),
            (
                kind == "alliance",
                region.concat(" ").concat(sql.choose(n, "alliance", words.ALLIANCE_KINDS)),
            ),
            (
                kind == "group",
                sql.choose(n, "color", words.GROUP_COLORS)
                .concat(" ")
                .concat(sql.choose(n, "group", words.GROUP_KINDS)),
            ),
            else_=sql.templates(
                sql.draw(n, "role") % number(len(words.ROLES)), words.ROLES, region=region
            ),
        )
        description = self.share(
            n,
            "actor-description",
            p.ACTOR_DESCRIPTION_SHARE,
            literal("A synthetic ", Text).concat(kind).concat(" actor."),
        )
        columns: dict[str, Expression] = {
            "id": self.ident(ACTORS, n),
            "name": name,
            "kind": kind,
            "title": null(),
            "affiliation_id": null(),
            "description": description,
            **self.bookkeeping(),
        }
        return _insert(ACTORS.table, columns, [])

    def pools(self) -> list[Insert]:
        actors = ACTORS.table
        n = self.sql.number_of(actors.c.id, prefix_of(ACTORS))
        statements = []
        for name, holds in POOLS.items():
            chosen = select(
                literal(name, String),
                func.row_number().over(order_by=n) - 1,
                actors.c.id,
                actors.c.name,
            ).where(
                actors.c.id.like(f"{prefix_of(ACTORS)}%"),
                true() if holds is None else actors.c.kind.in_(holds),
            )
            statements.append(insert(POOL).from_select(["pool", "idx", "actor_id", "name"], chosen))
        return statements

    def affiliations(self, counts: Counts) -> Update:
        """Persons affiliated with a state take its name into their title."""
        sql = self.sql
        actors = ACTORS.table
        n = sql.number_of(actors.c.id, prefix_of(ACTORS))
        affiliated = sql.below(n, "affiliated", p.AFFILIATED_PERSON_SHARE)
        state = sql.draw(n, "affiliation") % number(counts.pools["state"])
        title = sql.choose(n, "person-title", words.PERSON_TITLES)
        return (
            update(actors)
            .where(actors.c.id.like(f"{prefix_of(ACTORS)}%"), actors.c.kind == "person")
            .values(
                affiliation_id=case((affiliated, self.member("state", state).correlate(actors))),
                title=case(
                    (
                        affiliated,
                        title.concat(" of ").concat(
                            self.member("state", state, "name").correlate(actors)
                        ),
                    ),
                    (sql.below(n, "titled", p.UNAFFILIATED_TITLE_SHARE), title),
                    else_=null(),
                ),
            )
        )

    # --- talks and what hangs off them -------------------------------------------------------

    def talks(self, counts: Counts) -> Insert:
        sql = self.sql
        numbers = sql.series(counts.talks, "talk_numbers")
        t = numbers.c.n
        venue = sql.maybe(
            not_(sql.below(t, "no-venue", p.NULL_VENUE_SHARE)),
            sql.choose(t, "venue", words.VENUES),
        )
        named = select(t.label("n"), self.topic(t).label("topic"), venue.label("venue")).subquery(
            "talk_topics"
        )
        t = named.c.n
        span = (p.LAST_DATE - p.FIRST_DATE).days
        summit_gap = span // p.SUMMIT_DAYS
        offset = case(
            (
                sql.below(t, "summit", p.SUMMIT_DATE_SHARE),
                (sql.draw(t, "summit-day") % number(p.SUMMIT_DAYS)) * number(summit_gap),
            ),
            else_=sql.draw(t, "day") % number(span + 1),
        )
        columns = {
            "id": self.ident(TALKS, t),
            "title": literal("Talks on ", Text)
            .concat(named.c.topic)
            .concat(func.coalesce(literal(" in ", Text).concat(named.c.venue), "")),
            "venue": named.c.venue,
            "timing": self.share(
                t, "timing?", p.TIMING_SHARE, sql.choose(t, "timing", words.TIMINGS)
            ),
            "date": sql.maybe(
                not_(sql.below(t, "no-date", p.NULL_DATE_SHARE)), sql.day(p.FIRST_DATE, offset)
            ),
            "status": sql.choose(t, "status", TALK_STATUSES),
            "format": self.share(
                t, "format?", p.FORMAT_SHARE, sql.choose(t, "format", words.FORMATS)
            ),
            "level": self.share(t, "level?", p.LEVEL_SHARE, sql.choose(t, "level", words.LEVELS)),
            "precedent": self.share(
                t, "precedent?", p.PRECEDENT_SHARE, sql.choose(t, "precedent", words.PRECEDENTS)
            ),
            "aims": self.texts(t, "aims", words.AIMS, p.AIMS_PER_TALK),
            "expectations": self.share(
                t,
                "expectations?",
                p.EXPECTATIONS_SHARE,
                sql.choose(t, "expectations", words.EXPECTATIONS),
            ),
            **self.bookkeeping(),
        }
        return _insert(TALKS.table, columns, [])

    def _per_talk(self, counts: Counts, per_talk: int, name: str) -> tuple[Any, Any, Any, Any]:
        """Talk number t, place i, and the record number of place i of talk t."""
        numbers = self.sql.series(counts.talks, f"{name}_talks")
        places = self.sql.indexes(per_talk, f"{name}_places")
        t, i = numbers.c.n, places.c.i
        return numbers.join(places, true()), t, i, (t - 1) * number(per_talk) + i + 1

    def obstacle_of(self, counts: Counts, talk: Expression, k: Expression) -> Expression:
        """The k-th obstacle a talk lists: distinct members of the shared pool."""
        index = self.spread(talk, "obstacles", counts.obstacles, p.OBSTACLES_PER_TALK, k)
        return self.ident(OBSTACLES, index + 1)

    def talk_links(self, counts: Counts) -> list[Insert]:
        statements = []
        for spec, per_talk in (
            (TALKS.ref_list("parties"), p.PARTIES_PER_TALK),
            (TALKS.ref_list("delegations"), p.DELEGATIONS_PER_TALK),
            (TALKS.ref_list("obstacles"), p.OBSTACLES_PER_TALK),
        ):
            source, t, i, numbered = self._per_talk(counts, per_talk, spec.name)
            if spec.name == "parties":
                member = self.party(counts, t, i)
            elif spec.name == "delegations":
                member = self.ident(DELEGATIONS, numbered)
            else:
                member = self.obstacle_of(counts, t, i)
            columns = {"owner_id": self.ident(TALKS, t), "target_id": member, "position": i}
            statements.append(_insert(spec.table, columns, [source]))
        return statements

    def delegations(self, counts: Counts) -> list[Insert]:
        sql = self.sql
        source, t, i, d = self._per_talk(counts, p.DELEGATIONS_PER_TALK, "delegation")
        persons = counts.pools["person"]
        head = sql.draw(d, "head") % number(persons)
        descriptions = [f"the {title.lower()}" for title in words.PERSON_TITLES]
        columns = {
            "id": self.ident(DELEGATIONS, d),
            "party_id": self.party(counts, t, i),
            "level": self.share(
                d,
                "delegation-level?",
                p.DELEGATION_LEVEL_SHARE,
                sql.choose(d, "delegation-level", words.DELEGATION_LEVELS),
            ),
            "head_id": self.share(d, "head?", p.DELEGATION_HEAD_SHARE, self.member("person", head)),
            "head_description": self.share(
                d,
                "head-description?",
                p.HEAD_DESCRIPTION_SHARE,
                sql.choose(d, "head-description", descriptions),
            ),
            **self.bookkeeping(),
        }
        statements = [_insert(DELEGATIONS.table, columns, [source])]
        # Who declined: persons after the head in the pool, so never the head itself.
        most = min(p.DECLINED_PER_DELEGATION[1], persons - 1)
        if most >= 1:
            source, t, i, d = self._per_talk(counts, p.DELEGATIONS_PER_TALK, "declined")
            places = sql.indexes(most, "declined_slots")
            j = places.c.i
            head = sql.draw(d, "head") % number(persons)
            stride = number(1) + sql.draw(d, "declined-stride") % number(max(1, persons - 2))
            count = sql.between(d, "declined-count", p.DECLINED_PER_DELEGATION[0], most)
            columns = {
                "owner_id": self.ident(DELEGATIONS, d),
                "target_id": self.member("person", (head + 1 + j * stride) % number(persons)),
                "position": j,
            }
            where = [sql.below(d, "declined?", p.DELEGATION_DECLINED_SHARE), j < count]
            statements.append(
                _insert(
                    DELEGATIONS.ref_list("declined").table,
                    columns,
                    [source.join(places, true())],
                    where,
                )
            )
        return statements

    def obstacles(self, counts: Counts) -> list[Insert]:
        sql = self.sql
        numbers = sql.series(counts.obstacles, "obstacle_numbers")
        o = numbers.c.n
        topic = sql.choose(o, "obstacle-topic", words.TOPICS)
        region = sql.choose(o, "obstacle-region", words.REGIONS)
        columns = {
            "id": self.ident(OBSTACLES, o),
            "title": sql.templates(
                sql.draw(o, "obstacle-title") % number(len(words.OBSTACLE_TITLES)),
                words.OBSTACLE_TITLES,
                region=region,
                topic=topic,
            ),
            "description": self.share(
                o,
                "obstacle-description?",
                p.OBSTACLE_DESCRIPTION_SHARE,
                literal("Disagreement over ", Text).concat(topic).concat("."),
            ),
            **self.bookkeeping(),
        }
        statements = [_insert(OBSTACLES.table, columns, [])]

        numbers = sql.series(counts.obstacles, "held_obstacles")
        low, high = p.POSITIONS_PER_OBSTACLE
        places = sql.indexes(high, "holder_slots")
        o, j = numbers.c.n, places.c.i
        everyone = counts.pools["any"]
        columns = {
            "obstacle_id": self.ident(OBSTACLES, o),
            "position": j,
            "holder_id": self.member("any", self.spread(o, "holders", everyone, high, j)),
            "stance": sql.templates(
                sql.draw(o * 2 + j, "stance") % number(len(words.STANCES)),
                words.STANCES,
                topic=sql.choose(o, "obstacle-topic", words.TOPICS),
            ),
        }
        count = sql.between(o, "positions", low, high)
        source = numbers.join(places, true())
        statements.append(_insert(_table(models.Position), columns, [source], [j < count]))
        return statements

    def statements(self, counts: Counts) -> Insert:
        sql = self.sql
        source, t, _i, s = self._per_talk(counts, p.STATEMENTS_PER_TALK, "statement")
        by_person = sql.below(s, "person-speaker", p.PERSON_SPEAKER_SHARE)
        person = sql.draw(s, "speaker") % number(counts.pools["person"])
        anyone = sql.draw(s, "speaker") % number(counts.pools["any"])
        speaker = case((by_person, self.member("person", person)), else_=self.member("any", anyone))
        speaker_name = case(
            (by_person, self.member("person", person, "name")),
            else_=self.member("any", anyone, "name"),
        )
        about_talk = sql.below(s, "about-talk", p.STATEMENT_ABOUT_TALK_SHARE)
        obstacle = self.obstacle_of(
            counts, t, sql.draw(s, "about-obstacle") % number(p.OBSTACLES_PER_TALK)
        )
        kind = sql.draw(s, "statement-kind") % number(len(STATEMENT_KINDS))
        quoted = sql.choose(s, "quoted", words.QUOTED)
        columns = {
            "id": self.ident(STATEMENTS, s),
            "speaker_id": speaker,
            "about_resource": case(
                (about_talk, literal(TALKS.name, String)), else_=literal(OBSTACLES.name, String)
            ),
            "about_id": case((about_talk, self.ident(TALKS, t)), else_=obstacle),
            "kind": sql.pick(kind, STATEMENT_KINDS),
            "text": sql.templates(
                kind,
                [words.STATEMENT_TEXTS[k] for k in STATEMENT_KINDS],
                speaker=speaker_name,
                topic=self.topic(t),
                quoted=quoted,
            ),
            "quoted": sql.maybe(kind == number(STATEMENT_KINDS.index("quote")), quoted),
            **self.bookkeeping(),
        }
        return _insert(STATEMENTS.table, columns, [source])

    def force_proposals(self, counts: Counts) -> list[Insert]:
        sql = self.sql
        numbers = sql.series(counts.force_proposals, "proposal_numbers")
        f = numbers.c.n
        region = sql.choose(f, "proposal-region", words.REGIONS)
        troops_min = sql.between(f, "troops-min", 5, 30) * number(1000)
        needed = sql.between(f, "troops-needed", 50, 300)
        needs = sql.below(f, "troops-needed?", p.PROPOSAL_FIELD_SHARE)
        texts = words.PROPOSAL_TEXTS
        columns: dict[str, Expression] = {
            "id": self.ident(FORCE_PROPOSALS, f),
            "title": region.concat(" stabilisation force"),
            "contributors": self.share(
                f, "contributors?", p.PROPOSAL_FIELD_SHARE, literal("the proposing states", Text)
            ),
            "troops_min": troops_min,
            "troops_max": troops_min + sql.between(f, "troops-extra", 5, 40) * number(1000),
            "troops_needed": sql.maybe(needs, needed * number(1000)),
            "troops_needed_text": sql.maybe(
                needs, literal("about ", Text).concat(sql.text(needed)).concat(",000 troops")
            ),
            "deployment_area": sql.templates(
                sql.draw(f, "deployment") % number(len(texts["deployment_area"])),
                texts["deployment_area"],
                region=region,
            ),
            "purpose": sql.templates(
                sql.draw(f, "purpose") % number(len(texts["purpose"])),
                texts["purpose"],
                region=region,
            ),
            "assessment": self.share(
                f,
                "assessment?",
                p.PROPOSAL_FIELD_SHARE,
                literal("Unlikely to deploy without allied backing.", Text),
            ),
            **self.bookkeeping(),
        }
        for name in ("risks", "motives", "criticisms", "preconditions"):
            columns[name] = self.texts(f, name, texts[name], p.TEXTS_PER_PROPOSAL_LIST)
        statements = [_insert(FORCE_PROPOSALS.table, columns, [])]
        # Proposers take places 0..2 of one spread of the party pool, the reluctant 3..4.
        parties = counts.pools["party"]
        most = p.PROPOSERS_PER_PROPOSAL[1] + p.RELUCTANT_PER_PROPOSAL[1]
        for name, bounds, first in (
            ("proposers", p.PROPOSERS_PER_PROPOSAL, 0),
            ("reluctant", p.RELUCTANT_PER_PROPOSAL, p.PROPOSERS_PER_PROPOSAL[1]),
        ):
            if bounds[1] == 0:
                continue
            numbers = sql.series(counts.force_proposals, f"{name}_proposals")
            places = sql.indexes(bounds[1], f"{name}_places")
            f, k = numbers.c.n, places.c.i
            index = self.spread(f, "proposal-parties", parties, most, k + first)
            columns = {
                "owner_id": self.ident(FORCE_PROPOSALS, f),
                "target_id": self.member("party", index),
                "position": k,
            }
            count = sql.between(f, name, *bounds)
            statements.append(
                _insert(
                    FORCE_PROPOSALS.ref_list(name).table,
                    columns,
                    [numbers.join(places, true())],
                    [k < count],
                )
            )
        return statements

    # --- citations and revisions ---------------------------------------------------------------

    def citations(self, resource: Resource, records: int, first_id: int) -> Insert:
        """Citations of ``resource``'s records, with ids from ``first_id`` on: record n's
        k-th has ``first_id + (n-1)*most + k``, so ids never depend on insertion order."""
        sql = self.sql
        low, most = citation_range(resource)
        numbers = sql.series(records, f"cited_{KIND_OF[resource.name].replace('-', '_')}")
        places = sql.indexes(most, "citation_places")
        n, k = numbers.c.n, places.c.i
        pick = sql.draw(n * 16 + k, f"quote/{resource.name}") % number(POOL_SIZE)
        source = numbers.join(places, true()).join(QUOTES, QUOTES.c.idx == pick)
        columns = {
            "id": number(first_id) + (n - 1) * number(most) + k,
            "resource": literal(resource.name, String),
            "record_id": self.ident(resource, n),
            "position": k,
            "source_id": QUOTES.c.source_id,
            "quote": QUOTES.c.quote,
            "start_offset": QUOTES.c.start_offset,
            "end_offset": QUOTES.c.end_offset,
        }
        count = sql.between(n, f"citations/{resource.name}", low, most)
        return _insert(_table(models.Citation), columns, [source], [k < count])

    def revisions(self, resource: Resource, first_id: int) -> Insert:
        """The first revision of each synthetic record: its canonical form, built from the
        rows just written (so it holds what the tables hold), with ids from ``first_id``."""
        table = resource.table
        number_of = self.sql.number_of(table.c.id, prefix_of(resource))
        columns = {
            "id": number(first_id) + number_of - 1,
            "resource": literal(resource.name, String),
            "record_id": table.c.id,
            "revision": number(1),
            "changed_at": literal(self.when, UTCDateTime()),
            "author": literal(p.AUTHOR, String),
            "deleted": literal(False),
            "data": self.canonical(resource),
        }
        where = [table.c.id.like(f"{prefix_of(resource)}%")]
        return _insert(_table(models.Revision), columns, [table], where)

    def canonical(self, resource: Resource) -> Expression:
        """The record in its fixture form, as a JSON document (``read_records``' shape)."""
        sql = self.sql
        table = resource.table
        members: list[tuple[str, Expression]] = [("id", table.c.id)]
        for spec in resource.fields:
            if isinstance(spec, Scalar):
                members.append((spec.name, table.c[spec.name]))
            elif isinstance(spec, TextList):
                members.append((spec.name, sql.json_value(table.c[spec.name])))
            elif isinstance(spec, Ref):
                members.append((spec.name, table.c[spec.column]))
            elif isinstance(spec, AnyRef):
                about = table.c[f"{spec.name}_resource"]
                written = about.concat("/").concat(table.c[f"{spec.name}_id"])
                members.append((spec.name, sql.maybe(about.isnot(None), written)))
            elif isinstance(spec, RefList):
                link = spec.table
                listed = select(link.c.target_id.label("v")).where(link.c.owner_id == table.c.id)
                members.append(
                    (spec.name, sql.json_list(listed, link.c.position, table, objects=False))
                )
            elif isinstance(spec, Positions):
                held = _table(models.Position)
                stance = sql.json_object([("holder", held.c.holder_id), ("stance", held.c.stance)])
                listed = select(stance.label("v")).where(held.c.obstacle_id == table.c.id)
                members.append(
                    (spec.name, sql.json_list(listed, held.c.position, table, objects=True))
                )
        members.append(("notes", table.c.notes))
        cited = _table(models.Citation)
        citation = sql.json_object(
            [
                ("source", cited.c.source_id),
                ("quote", cited.c.quote),
                ("start", cited.c.start_offset),
                ("end", cited.c.end_offset),
            ]
        )
        listed = select(citation.label("v")).where(
            cited.c.resource == resource.name, cited.c.record_id == table.c.id
        )
        members.append(("citations", sql.json_list(listed, cited.c.position, table, objects=True)))
        return sql.json_object(members)


def _insert(
    table: Table,
    columns: dict[str, Expression],
    froms: Sequence[Any],
    where: Sequence[Expression] = (),
) -> Insert:
    chosen = select(*(value.label(name) for name, value in columns.items()))
    if froms:
        chosen = chosen.select_from(*froms)
    if where:
        chosen = chosen.where(and_(*where))
    return insert(table).from_select(list(columns), chosen)


def _table(model: type[models.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
