"""The Markdown exporter: a GFM table per collection that renders data as text and never
as markup, streamed, deterministic, and a report of the dataset whose every fact is footnoted
with a verbatim quote of the records' citations.

Rendering uses markdown-it-py's CommonMark preset, which passes raw HTML through: anything
the exporter let slip from the data would show up in the HTML as markup.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from api import parley
from api.v1.export import open_dataset
from api.v1.schemas import Urls
from exporters import Collection, Dataset, DatasetInfo
from exporters.manager import load_registry
from exporters.markdown import (
    REPORT_FILE,
    ROWS_PER_CHUNK,
    MarkdownExporter,
    escape,
    parley_register_exporters,
)
from exporters.testing import check_exporter, sample_dataset

EXPORTER = MarkdownExporter()
INFO = DatasetInfo(name=None, version=None, base_url="http://example.test", data_revision=0)
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin)
FOOTNOTE = re.compile(r"^“(?P<quote>.*)” — (?P<title>.*), offsets (?P<start>\d+)–(?P<end>\d+)$")
REFERENCE = re.compile(r"\[\^(\d+)\]")


class Page(HTMLParser):
    """The parts of rendered HTML the tests look at (texts without footnote references)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[list[list[str]]] = []
        self.blocks: list[tuple[str, str]] = []  # ("h2", text), ("li", text), in order
        self.footnotes: list[str] = []
        self._open: list[tuple[str, list[str]]] = []
        self._skipped: list[str] = []  # footnote references and back-references
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if {"footnote-ref", "footnote-backref"} & set((attributes.get("class") or "").split()):
            self._skipped.append(tag)
        if tag in {"th", "td", "h1", "h2", "h3", "h4", "li"}:
            kind = "footnote" if "footnote-item" in (attributes.get("class") or "") else tag
            self._open.append((kind, []))

    def handle_endtag(self, tag: str) -> None:
        if self._skipped and self._skipped[-1] == tag:
            self._skipped.pop()
        if tag in {"th", "td", "h1", "h2", "h3", "h4", "li"} and self._open:
            kind, parts = self._open.pop()
            text = "".join(parts).strip()
            if self._open:
                self._open[-1][1].append("".join(parts))
            if kind in {"th", "td"}:
                self.tables[-1][-1].append(text)
            elif kind == "footnote":
                self.footnotes.append(text)
            else:
                self.blocks.append((kind, text))

    def handle_data(self, data: str) -> None:
        if self._open and not self._skipped:
            self._open[-1][1].append(data)

    def has(self, tag: str) -> bool:
        return any(name == tag for name, _ in self.tags)

    def headings(self, tag: str) -> list[str]:
        return [text for kind, text in self.blocks if kind == tag]


def text_of(chunks: Iterable[str | bytes]) -> str:
    return "".join(c.decode("utf-8") if isinstance(c, bytes) else c for c in chunks)


def export(collection: Collection) -> str:
    return text_of(EXPORTER.export(collection))


def render(markdown: str) -> Page:
    return Page(MARKDOWN.render(markdown))


def synthetic(records: list[dict[str, Any]], fields: tuple[str, ...]) -> Collection:
    return Collection("things", fields, iter(records), INFO)


def link(resource: str, record_id: str) -> dict[str, str]:
    return {"id": record_id, "url": f"http://example.test/v1/{resource}/{record_id}"}


@pytest.fixture
def dataset(loaded_app: Flask) -> Iterator[Dataset]:
    with parley(loaded_app).sessions() as session:
        yield open_dataset(session, Urls(parley(loaded_app).settings.base_url))


@pytest.fixture(scope="module")
def loaded(loaded_app: Flask) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], Dataset]:
    """Every collection's records, the snapshot's files, and the (closed) dataset's info."""
    with parley(loaded_app).sessions() as session:
        dataset = open_dataset(session, Urls(parley(loaded_app).settings.base_url))
        records = {name: list(dataset.collection(name).records) for name in dataset.names}
        files = {name: text_of(chunks) for name, chunks in EXPORTER.export_dataset(dataset)}
    return records, files, dataset


@pytest.fixture(scope="module")
def records(loaded: Any) -> dict[str, list[dict[str, Any]]]:
    return loaded[0]


@pytest.fixture(scope="module")
def report(loaded: Any) -> str:
    return str(loaded[1][REPORT_FILE])


@pytest.fixture(scope="module")
def report_page(report: str) -> Page:
    return render(report)


def actor_names(records: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    return {actor["id"]: actor["name"] for actor in records["actors"]}


# --- registration -------------------------------------------------------------------------


def test_hook_offers_one_markdown_exporter():
    (exporter,) = parley_register_exporters()
    attributes = (exporter.name, exporter.media_type, exporter.extension, exporter.version)
    assert attributes == ("markdown", "text/markdown", "md", "1")


def test_plugin_manager_accepts_the_module():
    registry = load_registry(
        {"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"}, builtins=("exporters.markdown",)
    )
    assert registry.refused == []
    assert registry.by_extension("md") is not None


def test_conforms_to_the_exporter_contract():
    check_exporter(EXPORTER)


# --- one collection, from real records ----------------------------------------------------


def test_collection_is_a_heading_and_one_table(dataset: Dataset):
    for collection in dataset.collections():
        page = render(export(collection))
        assert page.headings("h1") == [collection.name]
        assert len(page.tables) == 1


def test_table_header_is_the_fields_without_links(dataset: Dataset):
    for collection in dataset.collections():
        header = render(export(collection)).tables[0][0]
        assert header == [name for name in collection.fields if name != "links"]


def test_table_has_one_row_per_record_after_the_header(dataset: Dataset, records: Any):
    for name in dataset.names:
        (rows,) = render(export(dataset.collection(name))).tables
        assert len(rows) == 1 + len(records[name])
        assert all(len(row) == len(rows[0]) for row in rows)


def expected_cell(column: str, value: Any) -> str:
    """The rules of the module's docstring, applied to one v1 value."""
    if column == "citations":
        return str(len(value))
    if value is None:
        return ""
    if isinstance(value, dict) and "resource" in value:
        return f"{value['resource']}/{value['id']}"
    if isinstance(value, dict):
        return value["id"]
    if isinstance(value, list) and value and isinstance(value[0], dict) and "holder" in value[0]:
        return "; ".join(f"{p['holder']['id']}: {p['stance']}" for p in value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return ", ".join(item["id"] for item in value)
    if isinstance(value, list):
        return "; ".join(value)
    return " ".join(str(value).splitlines())


def test_cells_render_as_the_records_values(dataset: Dataset, records: Any):
    for name in dataset.names:
        header, *rows = render(export(dataset.collection(name))).tables[0]
        for record, row in zip(records[name], rows, strict=True):
            expected = [expected_cell(column, record[column]) for column in header]
            assert row == [cell.strip() for cell in expected]


def test_integer_columns_are_right_aligned(dataset: Dataset):
    text = export(dataset.collection("force-proposals"))
    page = Page(MARKDOWN.render(text))
    aligned = [
        attributes.get("style") for tag, attributes in page.tags if tag == "th"
    ]  # in column order
    header = page.tables[0][0]
    right = {column for column, style in zip(header, aligned, strict=True) if style}
    assert {"troops_min", "troops_max", "troops_needed", "revision", "citations"} == right


def test_same_records_give_the_same_table(dataset: Dataset):
    for name in dataset.names:
        assert export(dataset.collection(name)) == export(dataset.collection(name))


# --- escaping -----------------------------------------------------------------------------

HOSTILE = [
    "a | b",
    "pipe at end |",
    "back\\slash and \\| escaped pipe and \\\\|",
    "two\nlines\r\nand a\rcarriage return",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "![i](http://x/y.png)",
    "<http://example.test/autolink>",
    "&lt;script&gt; stays an entity's text",
    "`code` *em* _em_ **strong** ~~strike~~",
    "# not a heading #",
    "[^1] is no footnote",
    "trailing backslash \\",
    "ends with a bang!",
]


def hostile_table() -> Page:
    fields = ("id", "value", "after")
    rows = [{"id": f"r{n}", "value": value, "after": "z"} for n, value in enumerate(HOSTILE)]
    return render(export(synthetic(rows, fields)))


def test_hostile_text_creates_no_script_link_or_image():
    page = hostile_table()
    assert not page.has("script")
    assert not page.has("img")
    assert not page.has("a")
    assert not page.has("code")
    assert not page.has("em")
    assert not page.has("s")


def test_hostile_text_keeps_every_row_to_its_cells():
    (rows,) = hostile_table().tables
    assert len(rows) == 1 + len(HOSTILE)
    assert [len(row) for row in rows] == [3] * len(rows)
    assert [row[2] for row in rows[1:]] == ["z"] * len(HOSTILE)


def test_hostile_text_renders_as_exactly_that_text():
    (rows,) = hostile_table().tables
    shown = [row[1] for row in rows[1:]]
    # Line breaks become one space each; a cell's outer spaces are the table's.
    assert shown == [" ".join(re.split(r"\r\n|\r|\n", value)).strip() for value in HOSTILE]


@pytest.mark.parametrize(
    "text",
    [
        "# h",
        "- x",
        "+ x",
        "* x",
        "1. x",
        "2) x",
        "---",
        "***",
        "___",
        "> q",
        "    code",
        "```",
        "~~~",
        "=",
        "| a |",
        "\ttab",
    ],
)
def test_text_starting_a_line_opens_no_block(text: str):
    page = Page(MARKDOWN.render(f"- {escape(text)}\n"))
    assert [tag for tag, _ in page.tags] == ["ul", "li"]
    assert page.blocks == [("li", text.strip())]


# --- streaming ----------------------------------------------------------------------------


def test_heading_and_header_come_before_any_record_is_read():
    pulled = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for number in range(5 * ROWS_PER_CHUNK):
            pulled += 1
            yield {"id": f"r{number}"}

    chunks = iter(EXPORTER.export(Collection("things", ("id",), counted(), INFO)))
    first = next(chunks)
    assert pulled == 0
    assert render(str(first)).tables == [[["id"]]]


def test_records_beyond_the_first_chunk_are_not_read_early():
    released = False

    def guarded() -> Iterator[dict[str, Any]]:
        for number in range(10 * ROWS_PER_CHUNK):
            if number > ROWS_PER_CHUNK and not released:
                raise AssertionError(f"record {number} read before the first rows were taken")
            yield {"id": f"r{number}"}

    chunks = iter(EXPORTER.export(Collection("things", ("id",), guarded(), INFO)))
    head, rows = next(chunks), next(chunks)
    released = True
    rest = text_of(chunks)
    (table,) = render(text_of([head, rows, rest])).tables
    assert len(table) == 1 + 10 * ROWS_PER_CHUNK


# --- the snapshot -------------------------------------------------------------------------


def test_snapshot_is_the_report_then_a_table_per_collection(loaded: Any, dataset: Dataset):
    _records, files, _ = loaded
    assert list(files) == [REPORT_FILE, *(f"{name}.md" for name in dataset.names)]
    for name in dataset.names:
        assert files[f"{name}.md"] == export(dataset.collection(name))


def test_snapshot_is_byte_identical_twice(dataset: Dataset):
    def run() -> dict[str, str]:
        return {name: text_of(chunks) for name, chunks in EXPORTER.export_dataset(dataset)}

    assert run() == run()


def test_report_reads_the_talks_one_at_a_time():
    """The talks (like the force proposals) are streamed: one section per record read."""
    sample = sample_dataset(6)
    pulled = 0

    def counting(name: str) -> Collection:
        collection = sample.collection(name)
        if name != "talks":
            return collection

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal pulled
            for record in collection.records:
                pulled += 1
                yield record

        return dataclasses.replace(collection, records=counted())

    files = dict(EXPORTER.export_dataset(dataclasses.replace(sample, opener=counting)))
    for chunk in files[REPORT_FILE]:
        if "## Talk: " in str(chunk):
            break
    assert pulled == 1


# --- the report ---------------------------------------------------------------------------


def test_report_title_gives_the_dataset_name_and_version(report_page: Page, loaded: Any):
    info = loaded[2].info
    (title,) = report_page.headings("h1")
    assert info.name in title
    assert info.version in title


def test_report_has_a_section_per_talk_and_force_proposal(report_page: Page, records: Any):
    sections = report_page.headings("h2")
    for talk in records["talks"]:
        assert f"Talk: {talk['title']}" in sections
    for proposal in records["force-proposals"]:
        assert f"Force proposal: {proposal['title']}" in sections


def test_report_gives_the_troop_numbers_of_the_records(report_page: Page, records: Any):
    facts = [text for kind, text in report_page.blocks if kind == "li"]
    for proposal in records["force-proposals"]:
        proposed = f"Troops proposed: {proposal['troops_min']:,}–{proposal['troops_max']:,}"
        needed = f"Troops needed: {proposal['troops_needed']:,} ({proposal['troops_needed_text']})"
        assert proposed in facts
        assert needed in facts


def test_troop_numbers_cite_the_quote_that_gives_them(report: str, records: Any):
    definitions = dict(re.findall(r"^\[\^(\d+)\]: (.*)$", report, re.MULTILINE))
    (line,) = [line for line in report.splitlines() if line.startswith("- **Troops proposed:**")]
    quotes = [definitions[number] for number in REFERENCE.findall(line)]
    (proposal,) = records["force-proposals"]
    assert any(
        f"{proposal['troops_min']:,}" in quote and f"{proposal['troops_max']:,}" in quote
        for quote in quotes
    )


def test_every_footnote_quotes_a_citation_of_the_records_verbatim(
    report_page: Page, records: Any, loaded: Any
):
    titles = {source["id"]: source["title"] for source in loaded[2].info.sources}
    citations = {
        (c["quote"], titles[c["source"]["id"]], c["start"], c["end"])
        for collection in records.values()
        for record in collection
        for c in record["citations"]
    }
    assert report_page.footnotes
    for footnote in report_page.footnotes:
        match = FOOTNOTE.match(footnote)
        assert match, footnote
        quoted = (match["quote"], match["title"], int(match["start"]), int(match["end"]))
        assert quoted in citations


def test_every_fact_carries_a_footnote(report: str):
    body = report.split("\n[^1]: ", 1)[0]
    for line in body.splitlines():
        if re.match(r"^ *- ", line):
            assert REFERENCE.search(line) or line.endswith(":**"), line
        if re.match(r"^#{2,4} (Talk: |Force proposal: |Delegation of )", line):
            assert REFERENCE.search(line), line


def test_footnotes_are_numbered_in_order_of_first_reference(report: str):
    body, definitions = report.split("\n[^1]: ", 1)
    first_seen = list(dict.fromkeys(int(n) for n in REFERENCE.findall(body)))
    defined = [int(n) for n in re.findall(r"^\[\^(\d+)\]:", "[^1]: " + definitions, re.M)]
    assert first_seen == list(range(1, len(first_seen) + 1))
    assert defined == first_seen


def test_report_names_parties_heads_and_holders(report_page: Page, records: Any):
    names = actor_names(records)
    headings = report_page.headings("h4")
    facts = [text for kind, text in report_page.blocks if kind == "li"]
    for delegation in records["delegations"]:
        assert f"Delegation of {names[delegation['party']['id']]}" in headings
        if delegation["head"]:
            assert any(
                fact.startswith(f"Head: {names[delegation['head']['id']]}") for fact in facts
            )
    for obstacle in records["obstacles"]:
        assert obstacle["title"] in headings
        for position in obstacle["positions"]:
            assert f"{names[position['holder']['id']]}: {position['stance']}" in facts


def test_statements_are_grouped_by_what_they_are_about(report_page: Page, records: Any):
    names = actor_names(records)
    titles = {
        (resource, record["id"]): record["title"]
        for resource in ("talks", "force-proposals", "obstacles")
        for record in records[resource]
    }
    titles |= {("actors", actor_id): name for actor_id, name in names.items()}
    heading_of: dict[str, list[str]] = {}
    current = ""
    for kind, text in report_page.blocks:
        if kind == "h3":
            current = text
        elif kind == "li":
            heading_of.setdefault(text, []).append(current)
    for statement in records["statements"]:
        speaker = names[statement["speaker"]["id"]] if statement["speaker"] else "Unattributed"
        line = next(
            text
            for text in heading_of
            if text.startswith(f"{speaker} ({statement['kind']}): {statement['text']}")
        )
        (heading,) = set(heading_of[line])
        about = statement["about"]
        if about is None:
            assert heading == "Not about a particular record"
        elif (about["resource"], about["id"]) in titles:
            assert heading.startswith(f"About {titles[(about['resource'], about['id'])]} (")
        else:
            assert heading.startswith("About ")


def test_report_is_byte_identical_twice(dataset: Dataset, report: str):
    again = text_of(dict(EXPORTER.export_dataset(dataset))[REPORT_FILE])
    assert again == report
