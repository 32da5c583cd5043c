"""CSV: one collection as an RFC 4180 table, or the whole dataset as a Frictionless package.

A collection's CSV
------------------

UTF-8 (no byte-order mark), CRLF line ends, a header row, fields quoted only
when they contain a comma, a double quote, CR or LF (quotes doubled inside).
The columns are the collection's fields in their documented order, except
``links`` (the record's ``url`` column is kept). One row per record:

- a text, integer or date is written as is; an integer is a bare number;
- an empty cell is null (an empty text is not told apart from null);
- a reference (``party``, ``speaker``, ``talk``…) is the referenced record's id;
- ``about`` (a reference to a record of any collection) is ``<resource>/<id>``;
- ``citations`` is the number of citations (an integer); their text is in the
  snapshot's ``citations.csv``;
- a list of references is its ids joined with ``;`` (``russia;ukraine``);
- a list of texts is its items joined with `` | ``; an obstacle's ``positions``
  are ``<holder id>: <stance>`` items joined the same way;
- inside a joined item, a backslash is written ``\\\\`` and the separator's
  character (``;`` or ``|``) ``\\;`` or ``\\|``, so a cell splits back into
  exactly its items (``split_list``); an empty cell is an empty list.

To read a cell back: ``restore`` it (below), then ``split_list`` it if it is a
list. Joined cells are for people reading the table; programs that want lists should
prefer the snapshot's join tables, which have one row per item.

Formula injection (OWASP "CSV injection"): a text cell that begins with ``=``,
``+``, ``-``, ``@``, a tab, a carriage return or NUL gets a leading ``'`` so
that a spreadsheet shows it as text rather than running it. So that this stays
reversible, a text cell that begins with ``'`` gets one too: a cell beginning
with ``'`` has had exactly one added (``restore`` removes it). Numbers are never
prefixed: ``-5`` stays ``-5``. The rule applies to every CSV written here.

The output is streamed: the header first, then rows in chunks of at most
``ROWS_PER_CHUNK`` records, read from ``collection.records`` as they are needed.

The dataset snapshot
--------------------

``export_dataset`` yields, in this order:

- ``datapackage.json``: a Frictionless Tabular Data Package describing every
  file below (Table Schema types, primary keys, foreign keys), with sorted
  keys, two-space indentation and a trailing newline;
- ``<collection>.csv`` for each collection, exactly as ``export`` writes it;
- one join table per list field, one row per item in list order, named
  ``<owner>_<field>.csv`` (``talk_parties.csv``, ``delegation_declined.csv``,
  ``proposal_risks.csv``…) with the columns ``<owner>_id``, ``position``
  (from 1) and the item: ``<target>_id`` for a list of references (``actor_id``),
  ``holder_id`` and ``stance`` for positions, ``text`` for a list of texts;
- ``citations.csv``: every citation of every record: ``resource``,
  ``record_id``, ``position`` (from 1), ``source_id``, ``quote``, ``start``, ``end``.

The types, keys and list fields come from the v1 resource descriptions
(``api.resources``); a collection without one gets string columns and no join
tables. Each file reads its collections afresh (``dataset.collection(name)``) when its
chunks are consumed, so a snapshot never holds more than a batch of records.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.resources import (
    BY_NAME,
    AnyRef,
    Positions,
    Ref,
    RefList,
    Resource,
    Scalar,
    TextList,
    owner_links,
)
from exporters import Collection, Dataset, Record, RecordParts, hookimpl

ROWS_PER_CHUNK = 100
ID_SEPARATOR = ";"
TEXT_SEPARATOR = " | "
ESCAPE = "\\"
# OWASP's formula triggers, NUL, and the quote itself (so that the prefix can be undone).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\x00'")
DROPPED = frozenset({"links"})

Cell = str | int | float | None
Row = Sequence[Cell]


def neutralise(text: str) -> str:
    """``text`` safe to open in a spreadsheet: prefixed ``'`` when it could start a formula."""
    return "'" + text if text and text[0] in FORMULA_TRIGGERS else text


def restore(cell: str) -> str:
    """The text ``neutralise`` was given (a cell read back from the CSV)."""
    return cell[1:] if cell.startswith("'") else cell


def join_list(items: Iterable[str], separator: str) -> str:
    """``items`` joined with ``separator``, escaping backslashes and the separator's character."""
    mark = separator.strip()
    return separator.join(
        item.replace(ESCAPE, ESCAPE + ESCAPE).replace(mark, ESCAPE + mark) for item in items
    )


def split_list(cell: str, separator: str) -> list[str]:
    """The items ``join_list`` joined (an empty cell is an empty list)."""
    if not cell:
        return []
    items: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(cell):
        char = cell[index]
        if char == ESCAPE and index + 1 < len(cell):
            current.append(cell[index + 1])
            index += 2
        elif cell.startswith(separator, index):
            items.append("".join(current))
            current = []
            index += len(separator)
        else:
            current.append(char)
            index += 1
    items.append("".join(current))
    return items


def _is_link(value: Any) -> bool:
    return isinstance(value, Mapping) and "id" in value and "holder" not in value


def _item(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if "holder" in value:
            holder = value["holder"]
            holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
            return f"{holder_id}: {value.get('stance') or ''}"
        if "id" in value:
            return str(value["id"])
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _joined_plainly(items: Sequence[Any]) -> str | None:
    """``join_list`` of a list of texts or of links (the common lists) when no item needs
    escaping, at C speed; None for any other list, which takes the general way."""
    texts: list[str] = []
    links = True
    for item in items:
        kind = type(item)
        if kind is str:
            links = False
            texts.append(item)
        elif kind is dict and "id" in item and "holder" not in item:
            texts.append(str(item["id"]))
        else:
            return None
    separator = ID_SEPARATOR if links else TEXT_SEPARATOR
    joined = separator.join(texts)
    # Each separator holds its character once: any more means an item holds it too.
    if ESCAPE in joined or joined.count(separator.strip()) != max(len(texts) - 1, 0):
        return None
    return joined


def cell(name: str, value: Any) -> Cell:
    """The CSV cell of member ``name`` of a v1 record (see the module's rules)."""
    # The commonest kinds first: this runs once per cell.
    if isinstance(value, str):
        return neutralise(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict | Mapping):
        if "resource" in value and "id" in value:
            return neutralise(f"{value['resource']}/{value['id']}")
        if "id" in value:
            return neutralise(str(value["id"]))
        return neutralise(json.dumps(value, sort_keys=True, ensure_ascii=False))
    if isinstance(value, list | tuple):
        if name == "citations":
            return len(value)
        joined = _joined_plainly(value)
        if joined is not None:
            return neutralise(joined)
        separator = ID_SEPARATOR if all(_is_link(v) for v in value) else TEXT_SEPARATOR
        return neutralise(join_list((_item(v) for v in value), separator))
    return neutralise(str(value))


def _safe_row(row: Row) -> list[Cell]:
    return [neutralise(v) if isinstance(v, str) else v for v in row]


def _csv_chunks(header: Sequence[str], rows: Iterable[Row]) -> Iterator[bytes]:
    """The header, then the rows ``ROWS_PER_CHUNK`` at a time, as UTF-8 CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text.encode("utf-8")

    writer.writerow(header)
    yield flush()
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield flush()
            pending = 0
    if pending:
        yield flush()


def columns(collection: Collection) -> list[str]:
    """The header of ``collection``'s CSV."""
    return [name for name in collection.fields if name not in DROPPED]


def _record_rows(names: Sequence[str], records: Iterator[Record]) -> Iterator[list[Cell]]:
    """``cell`` of every member, with texts, nulls and integers (most cells) written
    inline: a call per cell would cost more than the rest of the row."""
    triggers = FORMULA_TRIGGERS
    for record in records:
        row: list[Cell] = []
        append = row.append
        for name in names:
            value = record.get(name)
            kind = type(value)
            if kind is str:
                append("'" + value if value and value[0] in triggers else value)
            elif value is None or kind is int:
                append(value)
            else:
                append(cell(name, value))
        yield row


# --- the snapshot's description (Frictionless Table Schema) -------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str | None = None
    format: str | None = None
    constraints: Mapping[str, Any] = field(default_factory=dict)
    # (resource, field) this column refers to.
    reference: tuple[str, str] | None = None

    def descriptor(self) -> dict[str, Any]:
        described: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description:
            described["description"] = self.description
        if self.format:
            described["format"] = self.format
        if self.constraints:
            described["constraints"] = dict(self.constraints)
        return described


@dataclass(frozen=True)
class Table:
    name: str  # the Frictionless resource name; the file is <name>.csv
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    rows: Callable[[], Iterator[Row]] = field(repr=False)
    description: str | None = None

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    def chunks(self) -> Iterator[bytes]:
        return _csv_chunks([c.name for c in self.columns], self.rows())

    def descriptor(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [c.descriptor() for c in self.columns],
            "primaryKey": list(self.primary_key),
        }
        foreign_keys = [
            {
                "fields": [c.name],
                "reference": {
                    "resource": "" if c.reference[0] == self.name else c.reference[0],
                    "fields": [c.reference[1]],
                },
            }
            for c in self.columns
            if c.reference is not None
        ]
        if foreign_keys:
            schema["foreignKeys"] = foreign_keys
        described: dict[str, Any] = {
            "name": self.name,
            "path": self.path,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": schema,
        }
        if self.description:
            described["description"] = self.description
        return described


SCALAR_TYPES = {"text": "string", "int": "integer", "date": "date"}
ID = Column("id", description="The record's stable id.")
COMMON = {
    "url": Column("url", format="uri", description="The record's URL in the API."),
    "revision": Column("revision", "integer", "Increases with every accepted change."),
    "created_at": Column("created_at", "datetime"),
    "updated_at": Column("updated_at", "datetime"),
    "notes": Column("notes", description="Curators' notes."),
    "citations": Column(
        "citations",
        "integer",
        "The number of the record's citations (the quotes are in citations.csv).",
        constraints={"minimum": 0},
    ),
}


def _singular(collection: str) -> str:
    """``force-proposals`` -> ``proposal``: the stem of a join table's names."""
    resource = BY_NAME.get(collection)
    return resource.singular.split()[-1] if resource else collection.replace("-", "_")


def _column(resource: Resource | None, name: str) -> Column:
    if name == "id":
        return ID
    if name in COMMON:
        return COMMON[name]
    if resource is None:
        return Column(name)
    for owner_name, owner, _spec in owner_links(resource):
        if owner_name == name:
            return Column(
                name, description=f"The id of the {owner.singular}.", reference=(owner.name, "id")
            )
    spec = next((s for s in resource.fields if s.name == name), None)
    stem = f"{_singular(resource.name)}_{name}.csv"
    if isinstance(spec, Scalar):
        constraints: dict[str, Any] = {}
        if spec.required:
            constraints["required"] = True
        if spec.choices:
            constraints["enum"] = list(spec.choices)
        return Column(name, SCALAR_TYPES[spec.type], constraints=constraints)
    if isinstance(spec, Ref):
        return Column(
            name,
            description=f"The id of a record of {spec.target}.",
            constraints={"required": True} if spec.required else {},
            reference=(spec.target, "id"),
        )
    if isinstance(spec, AnyRef):
        return Column(name, description="<resource>/<id> of the record referred to.")
    if isinstance(spec, RefList):
        return Column(
            name, description=f"Ids of {spec.target} joined with ';' (one per row in {stem})."
        )
    if isinstance(spec, TextList):
        return Column(name, description=f"Texts joined with ' | ' (one per row in {stem}).")
    if isinstance(spec, Positions):
        return Column(
            name, description=f"'<holder id>: <stance>' joined with ' | ' (one per row in {stem})."
        )
    return Column(name)


def _list_rows(
    dataset: Dataset, collection: str, name: str, item: Callable[[Any], Sequence[Cell]]
) -> Callable[[], Iterator[Row]]:
    def rows() -> Iterator[Row]:
        for record in dataset.collection(collection).records:
            for position, value in enumerate(record.get(name) or (), start=1):
                yield _safe_row((record["id"], position, *item(value)))

    return rows


def _link_id(value: Any) -> Cell:
    return value.get("id") if isinstance(value, Mapping) else value


def _join_tables(dataset: Dataset, resource: Resource) -> Iterator[Table]:
    stem = _singular(resource.name)
    owner = Column(f"{stem}_id", reference=(resource.name, "id"))
    position = Column("position", "integer", "The item's place in the list, from 1.")
    for spec in resource.fields:
        name = f"{stem}_{spec.name}"
        described = f"One row per item of the {spec.name} of each {resource.singular}."
        item_columns: tuple[Column, ...]
        item: Callable[[Any], Sequence[Cell]]
        if isinstance(spec, RefList):
            target = f"{_singular(spec.target)}_id"
            if target == owner.name:
                target = f"{spec.name}_id"
            item_columns = (Column(target, reference=(spec.target, "id")),)

            def item(value: Any) -> Sequence[Cell]:
                return (_link_id(value),)
        elif isinstance(spec, Positions):
            item_columns = (
                Column("holder_id", reference=(spec.holder_target, "id")),
                Column("stance"),
            )

            def item(value: Any) -> Sequence[Cell]:
                return (_link_id(value.get("holder")), value.get("stance"))
        elif isinstance(spec, TextList):
            item_columns = (Column("text"),)

            def item(value: Any) -> Sequence[Cell]:
                return (value,)
        else:
            continue
        yield Table(
            name,
            (owner, position, *item_columns),
            (owner.name, "position"),
            _list_rows(dataset, resource.name, spec.name, item),
            described,
        )


def _citation_rows(dataset: Dataset) -> Iterator[Row]:
    for name in dataset.names:
        for record in dataset.collection(name).records:
            for position, citation in enumerate(record.get("citations") or (), start=1):
                yield _safe_row(
                    (
                        name,
                        record["id"],
                        position,
                        _link_id(citation.get("source")),
                        citation.get("quote"),
                        citation.get("start"),
                        citation.get("end"),
                    )
                )


def _citations_table(dataset: Dataset) -> Table:
    return Table(
        "citations",
        (
            Column("resource", description="The collection of the cited record."),
            Column("record_id", description="The id of the cited record."),
            Column("position", "integer", "The citation's place in the record's list, from 1."),
            Column("source_id", reference=("sources", "id")),
            Column("quote", description="Verbatim text of the source document."),
            Column("start", "integer", "Offset of the quote in its seed file, in code points."),
            Column("end", "integer", "End of the quote (exclusive), in code points."),
        ),
        ("resource", "record_id", "position"),
        lambda: _citation_rows(dataset),
        "Every citation of every record.",
    )


def _collection_table(dataset: Dataset, name: str) -> Table:
    # Opened once here for its field names; its records are read by the file's chunks.
    fields = columns(dataset.collection(name))
    resource = BY_NAME.get(name)
    cols = tuple(_column(resource, f) for f in fields)

    def rows() -> Iterator[Row]:
        collection = dataset.collection(name)
        return _record_rows(columns(collection), collection.records)

    described = f"One row per {resource.singular}." if resource else None
    return Table(name, cols, ("id",), rows, described)


def tables(dataset: Dataset) -> list[Table]:
    """Every table of the snapshot, in the order of its files."""
    found = [_collection_table(dataset, name) for name in dataset.names]
    for name in dataset.names:
        resource = BY_NAME.get(name)
        if resource is not None:
            found.extend(_join_tables(dataset, resource))
    found.append(_citations_table(dataset))
    return found


def datapackage(dataset: Dataset, found: Sequence[Table]) -> bytes:
    """The Frictionless descriptor of the snapshot: deterministic JSON with a trailing newline."""
    info = dataset.info
    package: dict[str, Any] = {
        "profile": "tabular-data-package",
        "resources": [table.descriptor() for table in found],
    }
    if info.name:
        package["name"] = info.name
    if info.version:
        package["version"] = info.version
    sources = [
        {"title": s["title"], "path": s["url"]}
        for s in info.sources
        if s.get("title") and s.get("url")
    ]
    if sources:
        package["sources"] = sources
    text = json.dumps(package, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    return text.encode("utf-8")


class CsvExporter:
    name = "csv"
    media_type = "text/csv"
    extension = "csv"
    version = "1"

    def export(self, collection: Collection) -> Iterator[bytes]:
        names = columns(collection)
        return _csv_chunks(names, _record_rows(names, collection.records))

    def export_parts(self, collection: Collection) -> RecordParts:
        """The header, then one row per record: what ``export`` writes, cut per record."""
        names = columns(collection)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

        def written(row: Row) -> bytes:
            writer.writerow(row)
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
            return text.encode("utf-8")

        def record(one: Record) -> bytes:
            return written(next(_record_rows(names, iter((one,)))))

        return RecordParts(written(names), record)

    def export_dataset(self, dataset: Dataset) -> Iterator[tuple[str, Iterator[bytes]]]:
        found = tables(dataset)
        yield "datapackage.json", iter((datapackage(dataset, found),))
        for table in found:
            yield table.path, table.chunks()


@hookimpl
def parley_register_exporters() -> list[CsvExporter]:
    return [CsvExporter()]
