"""Synthetic records at scale, for load tests and for exercising sorting and filtering.

``parley synth --talks N`` adds realistic, *deterministic* records of every
resource to a database that already holds the fixtures: one ``random.Random``
seeded from the command line drives every choice, timestamps are the dataset's
release time and ids are zero-padded counters, so the same N and seed give the
same rows on SQLite and PostgreSQL.

Every synthetic record is in its canonical (fixture) form before it is
written, as ``read_records`` would return it: that form is its revision's
data, and its rows are derived from it through the resource descriptions. Its
citations quote the real seed: random spans of one line of a seed document.

Rows are written in one transaction (the caller commits) through the session's
own DBAPI connection: COPY on PostgreSQL, one prepared executemany per table on
SQLite, with values converted by the columns' SQLAlchemy types, so they are
stored exactly as a Core insert would store them (see ``_Writer``).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from api import db, lifecycle, models, parley
from api.fixtures.loader import release_time
from api.fixtures.reader import Record
from api.resources import (
    ACTOR_KINDS,
    ACTORS,
    DELEGATIONS,
    FORCE_PROPOSALS,
    OBSTACLES,
    RESOURCES,
    SOURCES,
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
from api.seeds import SeedDocument, Seeds, read_seeds

# --- identity --------------------------------------------------------------------------

PREFIX = "synth"
AUTHOR = "synth"  # changed_by of every synthetic record, author of its revision
ID_DIGITS = 7

# --- proportions (per talk unless said otherwise) -----------------------------------------

TALKS_PER_ACTOR = 20  # one actor in the shared pool per 20 talks...
MIN_ACTORS = 50  # ...but never fewer than this
PARTIES_PER_TALK = 2
DELEGATIONS_PER_TALK = 2  # one per party, in the order of the parties
OBSTACLES_PER_TALK = 3
POSITIONS_PER_OBSTACLE = (1, 2)  # inclusive range
STATEMENTS_PER_TALK = 2
TALKS_PER_FORCE_PROPOSAL = 100
PROPOSERS_PER_PROPOSAL = (1, 3)
RELUCTANT_PER_PROPOSAL = (0, 2)
DECLINED_PER_DELEGATION = (1, 2)  # when some declined
CITATIONS_PER_RECORD = (1, 2)
QUOTE_LENGTH = (20, 80)  # code points, within one line of one seed document

# --- shares --------------------------------------------------------------------------------

NULL_VENUE_SHARE = 0.10
NULL_DATE_SHARE = 0.30
REPEATED_DATE_SHARE = 0.20  # of dated talks: on the same day as an earlier talk
FIRST_DATE = date(2020, 1, 1)
LAST_DATE = date(2026, 12, 31)
AFFILIATED_PERSON_SHARE = 0.70
DELEGATION_HEAD_SHARE = 0.60
DELEGATION_DECLINED_SHARE = 0.30
STATEMENT_ABOUT_TALK_SHARE = 0.50  # otherwise about one of the talk's obstacles

# Kinds of the actor pool after one actor of each kind (the first actor is a state).
ACTOR_KIND_WEIGHTS = {
    "state": 25,
    "organization": 15,
    "alliance": 5,
    "person": 35,
    "group": 10,
    "role": 10,
}
PARTY_KINDS = ("state", "organization", "alliance", "group")
assert set(ACTOR_KIND_WEIGHTS) == set(ACTOR_KINDS)
assert ACTOR_KINDS[0] == "state"

# --- vocabulary ----------------------------------------------------------------------------

VENUES = (
    "Istanbul", "Geneva", "Vienna", "Doha", "Riyadh", "Jeddah", "Oslo", "Helsinki",
    "Minsk", "Abu Dhabi", "Ankara", "Astana", "Baku", "Cairo", "Paris", "London",
    "Berlin", "Rome", "Warsaw", "Brussels", "Stockholm", "Copenhagen", "The Hague",
    "Nairobi", "Beijing",
)  # fmt: skip
TOPICS = (
    "ceasefire terms", "prisoner exchanges", "grain exports", "maritime security",
    "nuclear plant safety", "humanitarian corridors", "energy infrastructure",
    "border demarcation", "sanctions relief", "troop withdrawal", "security guarantees",
    "the return of deported children", "reconstruction funding", "mine clearance",
    "water rights", "airspace access", "minority rights", "refugee return",
    "war crimes accountability", "local elections",
)  # fmt: skip
TIMINGS = (
    "Friday", "Monday morning", "early next week", "later this month", "mid-March",
    "after the holidays", "within days", "next spring", "before the summit",
)  # fmt: skip
FORMATS = ("direct talks", "mediated talks", "proximity talks", "shuttle diplomacy")
LEVELS = ("heads of state", "foreign ministers", "defense ministers", "envoys", "technical")
PRECEDENTS = (
    "the first direct talks in two years",
    "a follow-up to last year's framework agreement",
    "the third round this year",
    "the first talks since the ceasefire collapsed",
)
AIMS = (
    "ceasefire conditions", "conflict resolution", "a prisoner swap", "humanitarian access",
    "a demilitarised zone", "a monitoring mission", "a timetable for withdrawal",
    "the release of detained journalists", "safe passage for shipping",
)  # fmt: skip
EXPECTATIONS = (
    "Breakthrough unlikely; observers expect little beyond a joint statement.",
    "Officials hope for a limited agreement on humanitarian issues.",
    "Diplomats describe the mood as cautiously optimistic.",
    "Analysts expect the talks to stall over sequencing.",
)
SYLLABLES = ("al", "bar", "cor", "dan", "el", "for", "gal", "hel", "ist", "kar",
             "lor", "mar", "nor", "or", "pal", "ros", "sar", "tal", "ur", "val", "zar")  # fmt: skip
COUNTRY_ENDINGS = ("ia", "land", "ova", "istan", "ar", "ania", "mark")
FIRST_NAMES = ("Anna", "Boris", "Chen", "Daria", "Emre", "Fatima", "Georg", "Hana",
               "Ivan", "Julia", "Kofi", "Lena", "Marek", "Nadia", "Omar", "Petra",
               "Rustam", "Sofia", "Tomas", "Yusuf")  # fmt: skip
LAST_NAMES = ("Adler", "Bondar", "Costa", "Demir", "Eriksen", "Fischer", "Grigoryan",
              "Haddad", "Ivanova", "Jansen", "Kovac", "Lindqvist", "Moreau", "Novak",
              "Okafor", "Petrenko", "Rossi", "Sato", "Tkachenko", "Weber")  # fmt: skip
PERSON_TITLES = ("Foreign Minister", "Defense Minister", "President", "Prime Minister",
                 "Chief Negotiator", "National Security Adviser", "Ambassador")  # fmt: skip
REGIONS = ("Northern", "Southern", "Eastern", "Western", "Baltic", "Black Sea",
           "Caspian", "Danube", "Atlantic", "Central")  # fmt: skip
ORGANIZATION_KINDS = ("Council", "Commission", "Agency", "Institute", "Mission")
THEMES = ("Regional Security", "Humanitarian Affairs", "Nuclear Safety", "Human Rights",
          "Reconstruction", "Maritime Cooperation")  # fmt: skip
ALLIANCE_KINDS = ("Defence Pact", "Security Alliance", "Coalition", "Union")
GROUP_COLORS = ("Crimson", "Azure", "Golden", "Black", "White", "Green")
GROUP_KINDS = ("Front", "Brigade", "Movement", "Legion")
ROLES = ("Special Envoy for the {region} Region", "Chief Monitor of the {region} Mission",
         "Mediator of the {region} Talks")  # fmt: skip
DELEGATION_LEVELS = ("ministerial", "deputy-minister", "second-tier", "technical", "envoy")
OBSTACLE_TITLES = (
    "Control of the {region} territories", "Sequencing of {topic}", "Guarantees for {topic}",
    "Monitoring of {topic}", "Status of the {region} corridor", "Compensation for {topic}",
)  # fmt: skip
STANCES = (
    "insists on {topic} before any other step",
    "rejects any deal on {topic} without guarantees",
    "demands international monitoring of {topic}",
    "is open to a phased approach to {topic}",
    "calls {topic} a red line",
)
STATEMENT_TEXTS = {
    "quote": "{speaker} called the talks “{quoted}”.",
    "judgement": "{speaker} judged the talks on {topic} premature.",
    "expectation": "{speaker} expects progress on {topic} to be slow.",
    "key-point": "{speaker} stressed that {topic} must come first.",
    "assessment": "{speaker} assessed the chances of agreement on {topic} as low.",
}
QUOTED = ("a waste of time", "decorative", "a first step", "long overdue", "a trap")
assert set(STATEMENT_TEXTS) == set(STATEMENT_KINDS)
PROPOSAL_TEXTS = {
    "purpose": ("to uphold a ceasefire", "to secure the {region} corridor",
                "to protect civilian infrastructure"),
    "deployment_area": ("the {region} border", "safer rear areas", "the {region} coast"),
    "risks": ("escalation if peacekeepers are attacked", "unclear rules of engagement",
              "mission creep", "logistical overstretch"),
    "motives": ("regional leadership", "deterrence", "domestic pressure"),
    "criticisms": ("political theatre", "too few troops", "no clear end-state"),
    "preconditions": ("a clear mandate", "more troops committed", "allied backing"),
}  # fmt: skip


class SynthError(Exception):
    """The database cannot take synthetic data (already present, or nothing to cite)."""


@dataclass(frozen=True)
class SynthReport:
    records: dict[str, int]  # resource name -> synthetic records written
    citations: int
    revisions: int

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.records.items())
        return f"{counts}; {self.citations} citations, {self.revisions} revisions"


def synth_id(kind: str, number: int) -> str:
    return f"{PREFIX}-{kind}-{number:0{ID_DIGITS}d}"


def actor_count(talks: int) -> int:
    return max(MIN_ACTORS, math.ceil(talks / TALKS_PER_ACTOR))


def force_proposal_count(talks: int) -> int:
    return talks // TALKS_PER_FORCE_PROPOSAL


# --- quotes ----------------------------------------------------------------------------------


class _Quotes:
    """Random citations: a span of QUOTE_LENGTH code points inside one line of a document."""

    def __init__(self, seeds: Seeds, documents: Sequence[SeedDocument]) -> None:
        self.seeds = seeds
        self.lines: dict[str, list[tuple[int, int]]] = {}
        for document in documents:
            text = seeds.text_of(document)
            spans = []
            offset = 0
            for line in text.split("\n"):
                start, end = offset, offset + len(line)
                offset = end + 1
                if document.char_start <= start and end <= document.char_end:
                    spans.append((start, end))
            if any(end - start >= QUOTE_LENGTH[0] for start, end in spans):
                self.lines[document.id] = spans
        if not self.lines:
            raise SynthError("no source document has a line long enough to quote")
        self.documents = [d for d in documents if d.id in self.lines]
        self.longest = {key: max(e - s for s, e in spans) for key, spans in self.lines.items()}
        # (document, length) -> the lines that fit, and the running count of their starts.
        self._fits: dict[tuple[str, int], tuple[list[int], list[int]]] = {}

    def _starts(self, document: SeedDocument, length: int) -> tuple[list[int], list[int]]:
        key = (document.id, length)
        if key not in self._fits:
            firsts, running, total = [], [], 0
            for start, end in self.lines[document.id]:
                if end - start >= length:
                    firsts.append(start)
                    total += end - start - length + 1
                    running.append(total)
            self._fits[key] = (firsts, running)
        return self._fits[key]

    def pick(self, draw: Callable[[], float]) -> Record:
        document = self.documents[int(draw() * len(self.documents))]
        low, high = QUOTE_LENGTH
        length = min(low + int(draw() * (high - low + 1)), self.longest[document.id])
        firsts, running = self._starts(document, length)
        k = int(draw() * running[-1])
        i = bisect.bisect_right(running, k)
        start = firsts[i] + k - (running[i - 1] if i else 0)
        quote = self.seeds.text_of(document)[start : start + length]
        return {"source": document.id, "quote": quote, "start": start, "end": start + length}


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """A resource's fields as ``add`` fills them: (name, is a list, is required)."""

    fields: tuple[tuple[str, bool, bool], ...]
    allowed: frozenset[str]

    @classmethod
    def of(cls, resource: Resource) -> _Shape:
        fields = tuple(
            (
                spec.name,
                isinstance(spec, TextList | RefList | Positions),
                isinstance(spec, Scalar | Ref) and spec.required,
            )
            for spec in resource.fields
        )
        return cls(fields, frozenset(name for name, _, _ in fields) | {"notes"})


class _Generator:
    def __init__(self, rng: random.Random, quotes: _Quotes) -> None:
        self.rng = rng
        # random() is the fastest draw; choice and between are built on it.
        self.random = rng.random
        self.quotes = quotes
        self.records: dict[str, list[Record]] = {r.name: [] for r in RESOURCES if r != SOURCES}
        self.shapes = {r.name: _Shape.of(r) for r in RESOURCES}
        self.by_kind: dict[str, list[Record]] = {kind: [] for kind in ACTOR_KINDS}
        self.names: dict[str, str] = {}
        self.all_actors: list[str] = []
        self.persons: list[str] = []
        self.parties: list[str] = []

    def add(self, resource: Resource, record_id: str, **values: Any) -> Record:
        """A record in canonical form: every field (unset ones empty), notes, citations."""
        shape = self.shapes[resource.name]
        if not values.keys() <= shape.allowed:
            unknown = sorted(values.keys() - shape.allowed)
            raise ValueError(f"{resource.name} has no field(s) {unknown}")
        record: Record = {"id": record_id}
        for name, is_list, required in shape.fields:
            value = values.get(name)
            if value is None:
                if required:
                    raise ValueError(f"{resource.name}.{name} is required")
                if is_list:
                    value = []
            record[name] = value
        record["notes"] = values.get("notes")
        count = self.between(*CITATIONS_PER_RECORD)
        record["citations"] = [self.quotes.pick(self.random) for _ in range(count)]
        self.records[resource.name].append(record)
        return record

    def choice(self, items: Sequence[Any]) -> Any:
        return items[int(self.random() * len(items))]

    def between(self, low: int, high: int) -> int:
        """An int of [low, high], both included."""
        return low + int(self.random() * (high - low + 1))

    def sample(self, items: Sequence[Any], count: int) -> list[Any]:
        """``count`` distinct items (or all of them), in the order drawn."""
        count = min(count, len(items))
        drawn: list[int] = []
        while len(drawn) < count:
            index = int(self.random() * len(items))
            if index not in drawn:
                drawn.append(index)
        return [items[i] for i in drawn]

    def maybe(self, share: float, value: Callable[[], Any]) -> Any:
        return value() if self.random() < share else None

    def texts(self, choices: Sequence[str], low: int, high: int, **fmt: str) -> list[str]:
        count = min(self.between(low, high), len(choices))
        return [c.format(**fmt) for c in self.sample(choices, count)]

    # actors

    def actors(self, count: int) -> None:
        kinds = list(ACTOR_KINDS) + self.rng.choices(
            list(ACTOR_KIND_WEIGHTS), weights=list(ACTOR_KIND_WEIGHTS.values()), k=count
        )
        for number, kind in enumerate(kinds[:count], start=1):
            name, title, affiliation = self.actor_name(kind)
            actor = self.add(
                ACTORS,
                synth_id("actor", number),
                name=name,
                kind=kind,
                title=title,
                affiliation=affiliation,
                description=f"A synthetic {kind} actor." if self.random() < 0.5 else None,
            )
            self.by_kind[kind].append(actor)
            self.names[actor["id"]] = name
        self.all_actors = [a["id"] for a in self.records[ACTORS.name]]
        self.persons = [a["id"] for a in self.by_kind["person"]]
        self.parties = [a["id"] for k in PARTY_KINDS for a in self.by_kind[k]]

    def actor_name(self, kind: str) -> tuple[str, str | None, str | None]:
        region = self.choice(REGIONS)
        if kind == "state":
            root = "".join(self.choice(SYLLABLES) for _ in range(self.between(1, 2)))
            return (root + self.choice(COUNTRY_ENDINGS)).capitalize(), None, None
        if kind == "person":
            name = f"{self.choice(FIRST_NAMES)} {self.choice(LAST_NAMES)}"
            states = self.by_kind["state"]
            if self.random() < AFFILIATED_PERSON_SHARE:
                state = self.choice(states)
                return name, f"{self.choice(PERSON_TITLES)} of {state['name']}", state["id"]
            return name, self.maybe(0.5, lambda: self.choice(PERSON_TITLES)), None
        if kind == "organization":
            organization = f"{region} {self.choice(ORGANIZATION_KINDS)} for {self.choice(THEMES)}"
            return organization, None, None
        if kind == "alliance":
            return f"{region} {self.choice(ALLIANCE_KINDS)}", None, None
        if kind == "group":
            return f"{self.choice(GROUP_COLORS)} {self.choice(GROUP_KINDS)}", None, None
        return self.choice(ROLES).format(region=region), None, None

    # talks and what hangs off them

    def talks(self, count: int) -> None:
        dates: list[date] = []
        span = (LAST_DATE - FIRST_DATE).days
        for number in range(1, count + 1):
            parties = self.sample(self.parties, PARTIES_PER_TALK)
            delegations = [
                self.delegation(number, i, parties[i % len(parties)])
                for i in range(DELEGATIONS_PER_TALK)
            ]
            topic = self.choice(TOPICS)
            obstacles = [self.obstacle(number, i, topic) for i in range(OBSTACLES_PER_TALK)]
            venue = None if self.random() < NULL_VENUE_SHARE else self.choice(VENUES)
            day: date | None = None
            if self.random() >= NULL_DATE_SHARE:
                if dates and self.random() < REPEATED_DATE_SHARE:
                    day = self.choice(dates)
                else:
                    day = FIRST_DATE + timedelta(days=self.between(0, span))
                dates.append(day)
            talk = self.add(
                TALKS,
                synth_id("talk", number),
                title=f"Talks on {topic}" + (f" in {venue}" if venue else ""),
                venue=venue,
                parties=parties,
                timing=self.maybe(0.9, lambda: self.choice(TIMINGS)),
                date=day.isoformat() if day else None,
                status=self.choice(TALK_STATUSES),
                format=self.maybe(0.8, lambda: self.choice(FORMATS)),
                level=self.maybe(0.7, lambda: self.choice(LEVELS)),
                precedent=self.maybe(0.3, lambda: self.choice(PRECEDENTS)),
                aims=self.texts(AIMS, 0, 3),
                expectations=self.maybe(0.6, lambda: self.choice(EXPECTATIONS)),
                delegations=delegations,
                obstacles=obstacles,
            )
            for i in range(STATEMENTS_PER_TALK):
                self.statement(talk, (number - 1) * STATEMENTS_PER_TALK + i + 1, topic)

    def delegation(self, talk_number: int, index: int, party: str) -> str:
        number = (talk_number - 1) * DELEGATIONS_PER_TALK + index + 1
        head = self.maybe(DELEGATION_HEAD_SHARE, lambda: self.choice(self.persons))
        declined: list[str] = []
        if self.random() < DELEGATION_DECLINED_SHARE:
            count = self.between(*DECLINED_PER_DELEGATION)
            # One more than needed, so that dropping the head still leaves enough.
            drawn = self.sample(self.persons, min(count + 1, len(self.persons)))
            declined = [p for p in drawn if p != head][:count]
        record = self.add(
            DELEGATIONS,
            synth_id("delegation", number),
            party=party,
            level=self.maybe(0.8, lambda: self.choice(DELEGATION_LEVELS)),
            head=head,
            head_description=self.maybe(0.5, lambda: f"the {self.choice(PERSON_TITLES).lower()}"),
            declined=declined,
        )
        return str(record["id"])

    def obstacle(self, talk_number: int, index: int, topic: str) -> str:
        number = (talk_number - 1) * OBSTACLES_PER_TALK + index + 1
        fmt = {"region": self.choice(REGIONS), "topic": topic}
        holders = self.sample(self.all_actors, self.between(*POSITIONS_PER_OBSTACLE))
        record = self.add(
            OBSTACLES,
            synth_id("obstacle", number),
            title=self.choice(OBSTACLE_TITLES).format(**fmt),
            description=self.maybe(0.6, lambda: f"Disagreement over {topic}."),
            positions=[
                {"holder": h, "stance": self.choice(STANCES).format(**fmt)} for h in holders
            ],
        )
        return str(record["id"])

    def statement(self, talk: Record, number: int, topic: str) -> None:
        speaker = self.choice(self.persons if self.random() < 0.7 else self.all_actors)
        if self.random() < STATEMENT_ABOUT_TALK_SHARE:
            about = f"{TALKS.name}/{talk['id']}"
        else:
            about = f"{OBSTACLES.name}/{self.choice(talk['obstacles'])}"
        kind = self.choice(STATEMENT_KINDS)
        quoted = self.choice(QUOTED) if kind == "quote" else None
        self.add(
            STATEMENTS,
            synth_id("statement", number),
            speaker=speaker,
            about=about,
            kind=kind,
            text=STATEMENT_TEXTS[kind].format(
                speaker=self.names[speaker], topic=topic, quoted=quoted
            ),
            quoted=quoted,
        )

    def force_proposals(self, count: int) -> None:
        for number in range(1, count + 1):
            region = self.choice(REGIONS)
            proposers = self.sample(self.parties, self.between(*PROPOSERS_PER_PROPOSAL))
            others = [p for p in self.parties if p not in proposers]
            reluctant = self.sample(others, self.between(*RELUCTANT_PER_PROPOSAL))
            troops_min = self.between(5, 30) * 1_000
            troops_max = troops_min + self.between(5, 40) * 1_000
            needed = self.maybe(0.5, lambda: self.between(50, 300) * 1_000)
            texts = {
                name: self.texts(PROPOSAL_TEXTS[name], 0, 3, region=region)
                for name in ("risks", "motives", "criticisms", "preconditions")
            }
            self.add(
                FORCE_PROPOSALS,
                synth_id("force-proposal", number),
                title=f"{region} stabilisation force",
                proposers=proposers,
                contributors=self.maybe(0.5, lambda: "the proposing states"),
                troops_min=troops_min,
                troops_max=troops_max,
                troops_needed=needed,
                troops_needed_text=f"about {needed:,} troops" if needed else None,
                reluctant=reluctant,
                deployment_area=self.choice(PROPOSAL_TEXTS["deployment_area"]).format(
                    region=region
                ),
                purpose=self.choice(PROPOSAL_TEXTS["purpose"]).format(region=region),
                assessment=self.maybe(0.5, lambda: "Unlikely to deploy without allied backing."),
                **texts,
            )


# --- rows ------------------------------------------------------------------------------------

Row = Sequence[Any]
Processor = Callable[[Any], Any]


def _record_columns(resource: Resource) -> tuple[str, ...]:
    """The columns a record of ``resource`` fills itself, in the order of ``_record_row``."""
    columns = ["id", "notes"]
    for spec in resource.fields:
        if isinstance(spec, Scalar | TextList):
            columns.append(spec.name)
        elif isinstance(spec, Ref):
            columns.append(spec.column)
        elif isinstance(spec, AnyRef):
            columns += [f"{spec.name}_resource", f"{spec.name}_id"]
    return tuple(columns)


def _record_row(resource: Resource, record: Record) -> Row:
    """The values of ``record`` for ``_record_columns(resource)``."""
    row: list[Any] = [record["id"], record["notes"]]
    for spec in resource.fields:
        value = record[spec.name]
        if isinstance(spec, Scalar):
            row.append(date.fromisoformat(value) if spec.type == "date" and value else value)
        elif isinstance(spec, TextList | Ref):
            row.append(value)
        elif isinstance(spec, AnyRef):
            about, _, about_id = (value or "").partition("/")
            row += [about or None, about_id or None]
    return row


LINK_COLUMNS = ("owner_id", "target_id", "position")
POSITION_COLUMNS = ("obstacle_id", "position", "holder_id", "stance")


def _link_rows(records: list[Record], field: str) -> Iterator[Row]:
    for record in records:
        for i, target in enumerate(record[field]):
            yield record["id"], target, i


def _position_rows(records: list[Record], field: str) -> Iterator[Row]:
    for record in records:
        for i, p in enumerate(record[field]):
            yield record["id"], i, p["holder"], p["stance"]


def _child_rows(
    resource: Resource, records: list[Record]
) -> Iterator[tuple[Table, tuple[str, ...], Iterator[Row]]]:
    """The link-table and position rows of ``records``: table, columns, rows (lazily)."""
    for spec in resource.fields:
        if isinstance(spec, RefList):
            yield spec.table, LINK_COLUMNS, _link_rows(records, spec.name)
        elif isinstance(spec, Positions):
            yield _table(models.Position), POSITION_COLUMNS, _position_rows(records, spec.name)


CITATION_COLUMNS = ("record_id", "position", "source_id", "quote", "start_offset", "end_offset")


def _citation_rows(records: list[Record]) -> Iterator[Row]:
    for record in records:
        for i, c in enumerate(record["citations"]):
            yield record["id"], i, c["source"], c["quote"], c["start"], c["end"]


def _table(model: type[models.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _converted(
    rows: Iterable[Row], processors: Sequence[Processor | None], shared: tuple[Any, ...]
) -> Iterator[Row]:
    """``rows`` with each value passed through its column's processor, then ``shared``."""
    active = [(i, process) for i, process in enumerate(processors) if process is not None]
    if not active:
        for row in rows:
            yield (*row, *shared)
        return
    for row in rows:
        values = list(row)
        for i, process in active:
            values[i] = process(values[i])
        values += shared
        yield values


class _Writer:
    """Bulk writes through the session's own DBAPI connection, inside its transaction.

    Every value goes through its column type's bind processor for the connection's
    dialect, the conversion a Core ``insert(table)`` applies (UTC datetimes, dates and
    JSON included), so rows are stored exactly as SQLAlchemy would store them; only its
    per-row statement machinery is skipped. PostgreSQL (psycopg) takes the rows through
    COPY, SQLite through the executemany of one prepared INSERT. Both consume the rows
    as they come, so that no table's rows are ever all in memory at once.
    """

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect = connection.dialect
        self.copies = self.dialect.name == "postgresql" and self.dialect.driver == "psycopg"
        if not self.copies and self.dialect.name != "sqlite":
            backend = f"{self.dialect.name}+{self.dialect.driver}"
            raise SynthError(f"synthetic data is written to SQLite or psycopg only, not {backend}")
        self.driver: Any = connection.connection.driver_connection
        self.preparer = self.dialect.identifier_preparer

    def _processor(self, table: Table, column: str) -> Processor | None:
        processor: Processor | None = (
            table.c[column].type.dialect_impl(self.dialect).bind_processor(self.dialect)
        )
        return processor

    def write(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[Row],
        shared: dict[str, Any] | None = None,
    ) -> None:
        """Insert ``rows`` (values of ``columns``) into ``table``.

        ``shared`` values are the same in every row: they are converted once, not per row.
        """
        shared = shared or {}
        constants = []
        for column, value in shared.items():
            process = self._processor(table, column)
            constants.append(process(value) if process else value)
        processors = [self._processor(table, column) for column in columns]
        values = _converted(rows, processors, tuple(constants))
        names = ", ".join(self.preparer.quote(column) for column in (*columns, *shared))
        target = f"{self.preparer.format_table(table)} ({names})"
        if self.copies:
            with self.driver.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * (len(columns) + len(shared)))
            cursor = self.driver.cursor()
            try:
                # Names from the models, quoted by the dialect; the values are bound.
                insert = f"INSERT INTO {target} VALUES ({marks})"  # noqa: S608
                cursor.executemany(insert, values)
            finally:
                cursor.close()


def _check_empty(session: Session) -> None:
    for resource in RESOURCES:
        table = resource.table
        found = session.scalar(select(table.c.id).where(table.c.id.like(f"{PREFIX}-%")).limit(1))
        if found is not None:
            raise SynthError("synthetic data already present; use a fresh database")


def _released(session: Session) -> date:
    meta = session.get(models.Meta, "released")
    if meta is None:
        raise SynthError("the database holds no dataset release date; load the fixtures first")
    return date.fromisoformat(meta.value)


def _citable(session: Session, seeds: Seeds) -> list[SeedDocument]:
    """The seed documents stored as sources (what citations cite), in code-point order of
    their ids: sorted here, as the database's collation may differ between backends."""
    stored = session.execute(
        select(models.Source.id, models.Source.seed_file, models.Source.line_start).where(
            models.Source.deleted_at.is_(None)
        )
    ).all()
    documents = []
    for source_id, seed_file, line_start in sorted(stored):
        document = seeds.documents.get(source_id)
        if document and (document.file, document.line_start) == (seed_file, line_start):
            documents.append(document)
    if not documents:
        raise SynthError("the database holds no source of the seeds to cite")
    return documents


def generate(session: Session, seeds: Seeds, *, talks: int, seed: int = 0) -> SynthReport:
    """Write the synthetic records for ``talks`` talks (the caller owns the transaction)."""
    _check_empty(session)
    when = release_time(_released(session))
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    generator = _Generator(rng, _Quotes(seeds, _citable(session, seeds)))
    generator.actors(actor_count(talks))
    generator.talks(talks)
    generator.force_proposals(force_proposal_count(talks))

    written = [(r, generator.records[r.name]) for r in RESOURCES if generator.records.get(r.name)]
    writer = _Writer(session)
    shared = {
        "revision": 1,
        "created_at": when,
        "updated_at": when,
        "changed_by": AUTHOR,
        "deleted_at": None,
    }
    for resource, records in written:
        rows: Iterator[Row] = (_record_row(resource, r) for r in records)
        writer.write(resource.table, _record_columns(resource), rows, shared)
        for table, columns, children in _child_rows(resource, records):
            writer.write(table, columns, children)
    # Citations, then revisions, each in resource and record order: their serial ids
    # are part of the content, so the order of inserts never varies.
    citations = _table(models.Citation)
    for resource, records in written:
        rows = _citation_rows(records)
        writer.write(citations, CITATION_COLUMNS, rows, {"resource": resource.name})
    revisions = _table(models.Revision)
    revision = {"revision": 1, "changed_at": when, "author": AUTHOR, "deleted": False}
    for resource, records in written:
        rows = ((record["id"], record) for record in records)
        writer.write(revisions, ("record_id", "data"), rows, revision | {"resource": resource.name})
    session.flush()
    return SynthReport(
        {name: len(records) for name, records in generator.records.items()},
        sum(len(record["citations"]) for _, records in written for record in records),
        sum(len(records) for _, records in written),
    )


def synthesize(app: Flask, *, talks: int, seed: int = 0) -> SynthReport:
    """Migrate and load the fixtures if needed, then add synthetic records in one transaction."""
    lifecycle.prepare_database(app)
    state = parley(app)
    _, _, seeds_folder, seeds_label = lifecycle.fixture_sources(state.settings)
    seeds = read_seeds(seeds_folder, seeds_label)
    with state.sessions() as session, session.begin():
        db.writing(session)
        return generate(session, seeds, talks=talks, seed=seed)


__all__ = [
    "SynthError",
    "SynthReport",
    "actor_count",
    "force_proposal_count",
    "generate",
    "synth_id",
    "synthesize",
]
