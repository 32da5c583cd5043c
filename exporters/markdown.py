"""Markdown: one collection as a GitHub-flavoured Markdown table, the dataset as a cited report.

A collection's Markdown
-----------------------

A level-1 heading with the collection's name, a blank line, then one GFM table
(https://github.github.com/gfm/#tables-extension-): a header row of the
collection's fields in their documented order except ``links``, the delimiter
row (integer columns are right-aligned), and one row per record::

    # talks

    | id | url | revision | ... | parties | ... | citations |
    | --- | --- | ---: | ... | --- | ... | ---: |
    | istanbul-talks | http://parley.example/v1/talks/istanbul-talks | 1 | ... | russia, ukraine |

A cell holds:

- a text, integer or date as is (``true``/``false`` for a boolean); null is an
  empty cell;
- a reference (``party``, ``speaker``, ``talk``...) as the referenced record's id;
- ``about`` as ``<resource>/<id>``;
- a list of references as the ids joined with ``", "``;
- a list of texts as the texts joined with ``"; "``, and an obstacle's
  ``positions`` as ``<holder id>: <stance>`` items joined the same way;
- ``citations`` as the number of citations.

Escaping (``escape``). Text from the records is never Markdown or HTML, so that
it renders as the text it is, in any CommonMark or GFM renderer, even one that
passes raw HTML through:

- every line break (CR, LF, CRLF, VT, FF, NEL, U+2028, U+2029) becomes one space:
  a record is one line of the table, and a report's fact one line of its list;
- ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;`` and ``&gt;``: no raw HTML
  (``<script>``, ``<img onerror=...>``), no autolink (``<http://...>``), no
  entity of the data's own is ever decoded;
- the punctuation that opens or closes an inline construct gets a backslash
  (CommonMark lets any ASCII punctuation be escaped so): ``\\`` (escapes),
  `````` ` `````` (code spans), ``*`` and ``_`` (emphasis), ``[`` and ``]``
  (links, images, footnote references: ``[x](javascript:...)`` and
  ``![i](http://...)`` cannot form), ``!`` (images), ``~`` (GFM strikethrough),
  ``|`` (GFM table cells: a pipe never ends a cell) and ``#`` (ATX headings and
  their closing sequences);
- at the start of a text, where a block could begin, ``-``, ``+`` and ``=``
  get a backslash (list items, thematic breaks, setext underlines), so does the
  ``.`` or ``)`` of a leading ``1.`` or ``1)`` (ordered lists), and leading
  spaces and tabs become ``&#32;`` and ``&#9;`` (no indented code).

A renderer's extensions that turn bare ``http(s)://`` or ``www.`` text into links
(GFM's autolink extension) still may: such links only ever point at the URL
written in the data, never at a ``javascript:`` one.

The output is streamed: the heading, header and delimiter rows come before any
record is read, then rows in chunks of at most ``ROWS_PER_CHUNK`` records.

The dataset snapshot
--------------------

``export_dataset`` yields ``report.md`` (below), then ``<collection>.md`` for each
collection, exactly as ``export`` writes it.

``report.md`` is a readable account of the data, meant for dataset snapshots
(small, curated datasets) rather than for large collections: to name the
records a fact refers to, it reads the actors, delegations and obstacles (and
the sources of ``dataset.info``) into memory. The talks and force proposals are
streamed, one section per record; the statements are read once to learn what
they are about, then once more for each subject, so that they are grouped
without being held in memory. It has:

- a title with the dataset's name and version;
- a section per talk: title, venue, parties, timing, date, status, format,
  level, precedent, aims and expectations; its delegations (party, level, head,
  who declined) and its obstacles (description, each position with its holder);
- a section per force proposal: the proposed troops (``troops_min``–``troops_max``),
  the troops needed (``troops_needed`` with ``troops_needed_text``), proposers,
  contributors, reluctant states, deployment area, purpose, risks, motives,
  criticisms, preconditions and assessment;
- the statements, grouped by what they are about (talks first, then force
  proposals, then the other records, then the statements about nothing in
  particular), each with its speaker and kind;
- the sources;
- curators' notes, labelled as such, under the records they are about;
- the footnotes.

References are given by name (an actor's ``name``, a record's ``title``), or by
id when the record is unknown. Integers are written with ``,`` between groups
of thousands (``10,000``), whatever the locale.

Every fact (a line of a list, a heading naming a record) ends with one or more
footnote references ``[^n]``; each footnote quotes one of the citations of the
fact's record, verbatim (line breaks as spaces)::

    - **Troops proposed:** 10,000–40,000[^15]
    ...
    [^15]: “Proposal aims for 10,000 to 40,000 troops ...” — European ..., offsets 4281–4397

Which citations a fact gets (``supporting``): the record's citations whose
quotes share the most words with the fact, chosen greedily until the fact's
words are covered (at most ``MAX_NOTES_PER_FACT``); a fact that shares no word
with any quote gets the record's first citation (the curators list the
citation of the record as a whole first). Footnotes are numbered from 1 in the
order of their first reference; a citation cited twice keeps its number. The
definitions come at the end of the report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.resources import BY_NAME, Scalar
from exporters import Chunk, Collection, Dataset, Record, hookimpl

MEDIA_TYPE = "text/markdown"
ROWS_PER_CHUNK = 100
REPORT_FILE = "report.md"
DROPPED = frozenset({"links"})
ID_SEPARATOR = ", "
TEXT_SEPARATOR = "; "
MAX_NOTES_PER_FACT = 3
INTEGER_COLUMNS = frozenset({"revision", "citations"})

# --- escaping ------------------------------------------------------------------------------

LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
_ACTIVE = re.compile(r"[\\`*_\[\]!~|#&<>]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BLOCK_START = re.compile(r"[-+=]|\d{1,9}[.)]|[ \t]+")


def _inline(match: re.Match[str]) -> str:
    character = match.group()
    return _ENTITIES.get(character) or "\\" + character


def _block_start(match: re.Match[str]) -> str:
    opening = match.group()
    if opening[0] in " \t":
        return opening.replace(" ", "&#32;").replace("\t", "&#9;")
    return opening[:-1] + "\\" + opening[-1]


def one_line(text: str) -> str:
    """``text`` with every line break replaced by a space."""
    return LINE_BREAK.sub(" ", text)


def escape(text: str, *, line_start: bool = True) -> str:
    """``text`` as Markdown that renders as exactly this text (line breaks as spaces).

    ``line_start=False`` is for text that follows other text on its line (a
    table cell, a heading, a list item after its label), where no block begins:
    there the start of the text needs no guard.
    """
    escaped = _ACTIVE.sub(_inline, one_line(text))
    if not line_start:
        return escaped
    return (
        _BLOCK_START.sub(_block_start, escaped, count=1) if _BLOCK_START.match(escaped) else escaped
    )


def inline(text: str) -> str:
    """``escape`` for text that follows other text on its line."""
    return escape(text, line_start=False)


# --- cells ---------------------------------------------------------------------------------


def _is_link(value: Any) -> bool:
    return isinstance(value, Mapping) and "id" in value and "holder" not in value


def _link_id(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("id", ""))
    return "" if value is None else str(value)


def _item(value: Any) -> str:
    if isinstance(value, Mapping):
        if "holder" in value:
            return f"{_link_id(value.get('holder'))}: {value.get('stance') or ''}"
        if "id" in value:
            return str(value["id"])
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        if "resource" in value and "id" in value:
            return f"{value['resource']}/{value['id']}"
        if "id" in value:
            return str(value["id"])
        return ", ".join(f"{key}: {_scalar(value[key])}" for key in sorted(value))
    if isinstance(value, list | tuple):
        return TEXT_SEPARATOR.join(_item(item) for item in value)
    return str(value)


def cell_text(name: str, value: Any) -> str:
    """The text (before escaping) of the cell of member ``name`` of a v1 record."""
    if isinstance(value, list | tuple):
        if name == "citations":
            return str(len(value))
        if value and all(_is_link(item) for item in value):
            return ID_SEPARATOR.join(_link_id(item) for item in value)
        return TEXT_SEPARATOR.join(_item(item) for item in value)
    return _scalar(value)


def columns(collection: Collection) -> list[str]:
    """The header of ``collection``'s table."""
    return [name for name in collection.fields if name not in DROPPED]


def _right_aligned(collection: str, column: str) -> bool:
    if column in INTEGER_COLUMNS:
        return True
    resource = BY_NAME.get(collection)
    if resource is None:
        return False
    return any(
        isinstance(spec, Scalar) and spec.name == column and spec.type == "int"
        for spec in resource.fields
    )


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |\n"


def table(collection: Collection) -> Iterator[str]:
    """The lines of ``collection``'s heading and table, streamed."""
    names = columns(collection)
    head = f"# {inline(collection.name)}\n"
    if not names:  # a table needs a column: the heading alone, every record still read
        yield head
        for _record in collection.records:
            pass
        return
    delimiters = ("---:" if _right_aligned(collection.name, n) else "---" for n in names)
    yield head + "\n" + _row(inline(name) for name in names) + _row(delimiters)
    pending: list[str] = []
    for record in collection.records:
        cells = (inline(cell_text(name, record.get(name))) for name in names)
        pending.append(_row(cells))
        if len(pending) == ROWS_PER_CHUNK:
            yield "".join(pending)
            pending = []
    if pending:
        yield "".join(pending)


# --- footnotes -----------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_DIGIT_GROUP = re.compile(r"(?<=\d)[,\u00a0\u202f](?=\d{3}(?!\d))")
STOPWORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has"),
        *("have", "he", "her", "his", "in", "is", "it", "its", "not", "of", "on", "or"),
        *("our", "she", "that", "the", "their", "them", "they", "this", "to", "was"),
        *("were", "which", "will", "with"),
    }
)


def words(text: str) -> frozenset[str]:
    """The words of ``text`` that can tie a fact to a quote (``10,000`` is ``10000``)."""
    folded = _DIGIT_GROUP.sub("", text.casefold())
    return frozenset(
        word
        for word in _WORD.findall(folded)
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit())
    )


def _covered(wanted: Iterable[str], quote: frozenset[str]) -> set[str]:
    """The ``wanted`` words the quote has, also as a longer or shorter form (russia/russian)."""
    found = set()
    for word in wanted:
        if word in quote or (
            len(word) >= 4
            and any(
                len(other) >= 4 and (other.startswith(word) or word.startswith(other))
                for other in quote
            )
        ):
            found.add(word)
    return found


def supporting(fact: str, citations: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The citations (in their order) whose quotes support ``fact``; see the module's rule."""
    if not citations:
        return []
    wanted = words(fact)
    quotes = [words(str(citation.get("quote") or "")) for citation in citations]
    uncovered = set(wanted)
    chosen: list[int] = []
    # A further citation must add a fair share of the fact's words, not one stray word.
    further = max(2, math.ceil(len(wanted) / 4))
    while uncovered and len(chosen) < MAX_NOTES_PER_FACT:
        best, gain = -1, 0
        for index, quote in enumerate(quotes):
            if index in chosen:
                continue
            adds = len(_covered(uncovered, quote))
            if adds > gain:
                best, gain = index, adds
        if best < 0 or (chosen and gain < further):
            break
        chosen.append(best)
        uncovered -= _covered(uncovered, quotes[best])
    return [citations[index] for index in sorted(chosen or [0])]


@dataclass
class Footnotes:
    """Footnote numbers by citation, given in the order of first reference."""

    source_titles: Mapping[str, str]
    numbers: dict[tuple[str, int | None, int | None, str], int] = field(default_factory=dict)
    definitions: list[str] = field(default_factory=list)

    def reference(self, citation: Mapping[str, Any]) -> str:
        source = _link_id(citation.get("source"))
        quote = str(citation.get("quote") or "")
        start, end = citation.get("start"), citation.get("end")
        key = (source, start, end, quote)
        number = self.numbers.get(key)
        if number is None:
            number = self.numbers[key] = len(self.numbers) + 1
            title = self.source_titles.get(source, source)
            where = f", offsets {start}–{end}" if start is not None and end is not None else ""
            self.definitions.append(
                f"[^{number}]: “{inline(quote)}” — {inline(title)}{inline(where)}\n"
            )
        return f"[^{number}]"

    def cite(self, fact: str, record: Mapping[str, Any]) -> str:
        """The footnote references of ``fact`` of ``record``."""
        citations = [c for c in record.get("citations") or () if isinstance(c, Mapping)]
        return "".join(self.reference(c) for c in supporting(fact, citations))


# --- the report ----------------------------------------------------------------------------


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        return []
    return [str(item) for item in value if item is not None and str(item) != ""]


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != ()


@dataclass
class Writer:
    """Renders records as report sections, naming references and citing every fact."""

    notes: Footnotes
    actors: Mapping[str, str]
    titles: dict[tuple[str, str], str] = field(default_factory=dict)

    def actor(self, link: Any) -> str:
        actor_id = _link_id(link)
        return self.actors.get(actor_id, actor_id)

    def actor_list(self, value: Any) -> str:
        if not isinstance(value, list | tuple):
            return ""
        return ", ".join(self.actor(link) for link in value)

    def fact(self, label: str, text: str, record: Mapping[str, Any]) -> str:
        """``- **label:** text[^n]``; ``text`` is plain text, escaped here."""
        return f"- **{inline(label)}:** {inline(text)}{self.notes.cite(text, record)}\n"

    def facts(self, label: str, items: Sequence[str], record: Mapping[str, Any]) -> str:
        """A label, then one cited line per item."""
        lines = [f"- **{inline(label)}:**\n"]
        lines += [f"  - {escape(item)}{self.notes.cite(item, record)}\n" for item in items]
        return "".join(lines)

    def heading(self, level: int, prefix: str, text: str, record: Mapping[str, Any]) -> str:
        return f"{'#' * level} {prefix}{inline(text)}{self.notes.cite(text, record)}\n\n"

    def note(self, record: Mapping[str, Any]) -> str:
        notes = record.get("notes")
        if not isinstance(notes, str) or not notes.strip():
            return ""
        return f"\n*Curators' note:* {inline(notes)}\n"

    def subject(self, about: Any) -> str:
        """The name of the record a statement is about."""
        if not isinstance(about, Mapping):
            return ""
        resource, record_id = str(about.get("resource", "")), _link_id(about)
        if resource == "actors":
            return self.actor(about)
        return self.titles.get((resource, record_id), record_id)

    # Sections --------------------------------------------------------------------------

    def talk(
        self,
        talk: Record,
        delegations: Mapping[str, Record],
        obstacles: Mapping[str, Record],
    ) -> str:
        title = str(talk.get("title") or talk.get("id") or "")
        parts = [self.heading(2, "Talk: ", title, talk)]
        if _present(talk.get("venue")):
            parts.append(self.fact("Venue", str(talk["venue"]), talk))
        if _present(talk.get("parties")):
            parts.append(self.fact("Parties", self.actor_list(talk["parties"]), talk))
        for label, name in (
            ("Timing", "timing"),
            ("Date", "date"),
            ("Status", "status"),
            ("Format", "format"),
            ("Level", "level"),
            ("Precedent", "precedent"),
        ):
            if _present(talk.get(name)):
                parts.append(self.fact(label, str(talk[name]), talk))
        if _texts(talk.get("aims")):
            parts.append(self.facts("Aims", _texts(talk["aims"]), talk))
        if _present(talk.get("expectations")):
            parts.append(self.fact("Expectations", str(talk["expectations"]), talk))
        parts.append(self.note(talk))
        listed = [link for link in talk.get("delegations") or () if _link_id(link)]
        if listed:
            parts.append("\n### Delegations\n\n")
            for link in listed:
                parts.append(self.delegation(delegations.get(_link_id(link)), _link_id(link)))
        listed = [link for link in talk.get("obstacles") or () if _link_id(link)]
        if listed:
            parts.append("\n### Obstacles\n\n")
            for link in listed:
                parts.append(self.obstacle(obstacles.get(_link_id(link)), _link_id(link)))
        return "".join(parts) + "\n"

    def delegation(self, delegation: Record | None, delegation_id: str) -> str:
        if delegation is None:
            return f"#### Delegation {inline(delegation_id)}\n\n"
        party = self.actor(delegation.get("party")) if delegation.get("party") else delegation_id
        parts = [self.heading(4, "Delegation of ", party, delegation)]
        if _present(delegation.get("level")):
            parts.append(self.fact("Level", str(delegation["level"]), delegation))
        head = self.actor(delegation["head"]) if delegation.get("head") else ""
        description = str(delegation.get("head_description") or "")
        if head and description and description != head:
            head = f"{head} ({description})"
        if head or description:
            parts.append(self.fact("Head", head or description, delegation))
        if _present(delegation.get("declined")):
            declined = self.actor_list(delegation["declined"])
            parts.append(self.fact("Declined to attend", declined, delegation))
        parts.append(self.note(delegation))
        return "".join(parts) + "\n"

    def obstacle(self, obstacle: Record | None, obstacle_id: str) -> str:
        if obstacle is None:
            return f"#### {inline(obstacle_id)}\n\n"
        title = str(obstacle.get("title") or obstacle_id)
        parts = [self.heading(4, "", title, obstacle)]
        if _present(obstacle.get("description")):
            parts.append(self.fact("Description", str(obstacle["description"]), obstacle))
        positions = [p for p in obstacle.get("positions") or () if isinstance(p, Mapping)]
        if positions:
            parts.append("- **Positions:**\n")
            for position in positions:
                holder = self.actor(position.get("holder"))
                stance = str(position.get("stance") or "")
                parts.append(self._position(holder, stance, obstacle))
        parts.append(self.note(obstacle))
        return "".join(parts) + "\n"

    def _position(self, holder: str, stance: str, obstacle: Record) -> str:
        cited = self.notes.cite(f"{holder} {stance}", obstacle)
        return f"  - **{inline(holder)}:** {inline(stance)}{cited}\n"

    def proposal(self, proposal: Record) -> str:
        title = str(proposal.get("title") or proposal.get("id") or "")
        parts = [self.heading(2, "Force proposal: ", title, proposal)]
        low, high = proposal.get("troops_min"), proposal.get("troops_max")
        if low is not None or high is not None:
            proposed = "–".join(_number(v) for v in (low, high) if v is not None)
            parts.append(self.fact("Troops proposed", proposed, proposal))
        needed, needed_text = proposal.get("troops_needed"), proposal.get("troops_needed_text")
        if needed is not None or _present(needed_text):
            text = _number(needed) if needed is not None else ""
            if _present(needed_text):
                text = f"{text} ({needed_text})" if text else str(needed_text)
            parts.append(self.fact("Troops needed", text, proposal))
        if _present(proposal.get("proposers")):
            parts.append(self.fact("Proposers", self.actor_list(proposal["proposers"]), proposal))
        if _present(proposal.get("contributors")):
            parts.append(self.fact("Contributors", str(proposal["contributors"]), proposal))
        if _present(proposal.get("reluctant")):
            reluctant = self.actor_list(proposal["reluctant"])
            parts.append(self.fact("Reluctant states", reluctant, proposal))
        for label, name in (("Deployment area", "deployment_area"), ("Purpose", "purpose")):
            if _present(proposal.get(name)):
                parts.append(self.fact(label, str(proposal[name]), proposal))
        for label, name in (
            ("Risks", "risks"),
            ("Motives", "motives"),
            ("Criticisms", "criticisms"),
            ("Preconditions", "preconditions"),
        ):
            if _texts(proposal.get(name)):
                parts.append(self.facts(label, _texts(proposal[name]), proposal))
        if _present(proposal.get("assessment")):
            parts.append(self.fact("Assessment", str(proposal["assessment"]), proposal))
        parts.append(self.note(proposal))
        return "".join(parts) + "\n"

    def statement(self, statement: Record) -> str:
        speaker = self.actor(statement["speaker"]) if statement.get("speaker") else "Unattributed"
        kind = str(statement.get("kind") or "")
        text = str(statement.get("text") or "")
        said = f"**{inline(speaker)}**" + (f" ({inline(kind)})" if kind else "")
        cited = self.notes.cite(text, statement)
        quoted = statement.get("quoted")
        if _present(quoted):
            cited += f" (quoting “{inline(str(quoted))}”)"
        line = f"- {said}: {inline(text)}{cited}\n"
        note = self.note(statement)
        return line + (f"\n  {note.strip()}\n\n" if note else "")

    def source(self, source: Record) -> str:
        title = str(source.get("title") or source.get("id") or "")
        line = f"- {escape(title)}{self.notes.cite(title, source)}"
        alternate = source.get("alternate_headline")
        if _present(alternate):
            cited = self.notes.cite(str(alternate), source)
            line += f" (also headlined “{inline(str(alternate))}”{cited})"
        return line + "\n"


RESOURCE_ORDER = ("talks", "force-proposals", "delegations", "obstacles", "actors", "sources")


def _by_id(records: Iterable[Record]) -> dict[str, Record]:
    return {str(record["id"]): record for record in records if "id" in record}


def _about_key(statement: Record) -> tuple[str, str] | None:
    about = statement.get("about")
    if not isinstance(about, Mapping) or "id" not in about:
        return None
    return (str(about.get("resource", "")), str(about["id"]))


SINGULAR = {
    "talks": "talk",
    "force-proposals": "force proposal",
    "delegations": "delegation",
    "obstacles": "obstacle",
    "actors": "actor",
    "sources": "source",
    "statements": "statement",
}


def report(dataset: Dataset) -> Iterator[str]:
    """The chunks of ``report.md`` (see the module's description)."""
    info = dataset.info
    names = set(dataset.names)

    def read(name: str) -> Iterator[Record]:
        return dataset.collection(name).records if name in names else iter(())

    source_titles = {
        str(s["id"]): str(s.get("title") or s["id"]) for s in info.sources if "id" in s
    }
    actors = {str(a["id"]): str(a.get("name") or a["id"]) for a in read("actors") if "id" in a}
    writer = Writer(Footnotes(source_titles), actors)
    delegations = _by_id(read("delegations"))
    obstacles = _by_id(read("obstacles"))
    for delegation_id, delegation in delegations.items():
        party = delegation.get("party")
        name = f"delegation of {writer.actor(party)}" if party else delegation_id
        writer.titles[("delegations", delegation_id)] = name
    for obstacle_id, obstacle in obstacles.items():
        writer.titles[("obstacles", obstacle_id)] = str(obstacle.get("title") or obstacle_id)
    for source_id, title in source_titles.items():
        writer.titles[("sources", source_id)] = title

    title = inline(info.name or "Parley dataset")
    if info.version:
        title += f", version {inline(info.version)}"
    yield (
        f"# {title}\n\n"
        "A report of the dataset's records. Every fact ends with footnotes that quote, "
        "verbatim, the passages of the sources it comes from.\n\n"
    )
    for talk in read("talks"):
        writer.titles[("talks", str(talk.get("id")))] = str(talk.get("title") or talk.get("id"))
        yield writer.talk(talk, delegations, obstacles)
    for proposal in read("force-proposals"):
        writer.titles[("force-proposals", str(proposal.get("id")))] = str(
            proposal.get("title") or proposal.get("id")
        )
        yield writer.proposal(proposal)

    subjects: dict[tuple[str, str] | None, None] = {}
    for statement in read("statements"):
        subjects.setdefault(_about_key(statement))

    def order(key: tuple[str, str] | None) -> tuple[int, int, str, str]:
        if key is None:
            return (1, 0, "", "")
        resource, record_id = key
        rank = RESOURCE_ORDER.index(resource) if resource in RESOURCE_ORDER else len(RESOURCE_ORDER)
        name = writer.subject({"resource": resource, "id": record_id})
        return (0, rank, name.casefold(), f"{resource}/{record_id}")

    if subjects:
        yield "## Statements\n\n"
    for key in sorted(subjects, key=order):
        if key is None:
            heading = "### Not about a particular record"
        else:
            resource, record_id = key
            name = writer.subject({"resource": resource, "id": record_id})
            kind = SINGULAR.get(resource, resource)
            heading = f"### About {inline(name)} ({inline(kind)})"
        lines = [f"{heading}\n\n"]
        lines += [writer.statement(s) for s in read("statements") if _about_key(s) == key]
        yield "".join(lines) + "\n"

    if info.sources:
        yield "## Sources\n\n" + "".join(writer.source(s) for s in info.sources) + "\n"
    if writer.notes.definitions:
        yield "".join(writer.notes.definitions)


class MarkdownExporter:
    """GitHub-flavoured Markdown tables, and a cited report of a dataset snapshot."""

    name = "markdown"
    media_type = MEDIA_TYPE
    extension = "md"
    version = "1"

    def export(self, collection: Collection) -> Iterator[Chunk]:
        return table(collection)

    def export_dataset(self, dataset: Dataset) -> Iterator[tuple[str, Iterator[Chunk]]]:
        yield REPORT_FILE, report(dataset)  # a generator: nothing is read until it is
        for name in dataset.names:
            yield f"{name}.md", self._collection_file(dataset, name)

    def _collection_file(self, dataset: Dataset, name: str) -> Iterator[Chunk]:
        """``export`` of collection ``name``, opened only when its first chunk is wanted."""
        yield from self.export(dataset.collection(name))


@hookimpl
def parley_register_exporters() -> list[MarkdownExporter]:
    return [MarkdownExporter()]
