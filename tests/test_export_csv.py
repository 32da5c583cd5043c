"""The CSV exporter: RFC 4180 tables of the v1 records, safe to open in a spreadsheet,
streamed, deterministic, and a whole-dataset snapshot that is a valid Frictionless
Tabular Data Package (foreign keys included)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import parley
from api.resources import BY_NAME, Ref
from api.v1.export import open_dataset
from api.v1.schemas import Urls
from exporters import Collection, Dataset, DatasetInfo
from exporters.manager import load_registry
from exporters.tabular import (
    ID_SEPARATOR,
    ROWS_PER_CHUNK,
    TEXT_SEPARATOR,
    CsvExporter,
    parley_register_exporters,
    restore,
    split_list,
)

INFO = DatasetInfo(name=None, version=None, base_url="http://example.test", data_revision=0)
EXPORTER = CsvExporter()

# join table -> (collection, list field, the columns that hold one item)
JOIN_TABLES = {
    "talk_parties": ("talks", "parties", ("actor_id",)),
    "talk_delegations": ("talks", "delegations", ("delegation_id",)),
    "talk_obstacles": ("talks", "obstacles", ("obstacle_id",)),
    "talk_aims": ("talks", "aims", ("text",)),
    "delegation_declined": ("delegations", "declined", ("actor_id",)),
    "obstacle_positions": ("obstacles", "positions", ("holder_id", "stance")),
    "proposal_proposers": ("force-proposals", "proposers", ("actor_id",)),
    "proposal_reluctant": ("force-proposals", "reluctant", ("actor_id",)),
    "proposal_risks": ("force-proposals", "risks", ("text",)),
    "proposal_motives": ("force-proposals", "motives", ("text",)),
    "proposal_criticisms": ("force-proposals", "criticisms", ("text",)),
    "proposal_preconditions": ("force-proposals", "preconditions", ("text",)),
}


@pytest.fixture
def dataset(loaded_app: Flask) -> Iterator[Dataset]:
    with parley(loaded_app).sessions() as session:
        yield open_dataset(session, Urls(parley(loaded_app).settings.base_url))


@pytest.fixture(scope="module")
def snapshot(loaded_app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The snapshot of the loaded data, written once per backend (tests only read it)."""
    folder = tmp_path_factory.mktemp("snapshot")
    with parley(loaded_app).sessions() as session:
        dataset = open_dataset(session, Urls(parley(loaded_app).settings.base_url))
        for file_name, chunks in EXPORTER.export_dataset(dataset):
            (folder / file_name).write_bytes(b"".join(chunks))
    return folder


def synthetic(records: list[dict[str, Any]], fields: tuple[str, ...] | None = None) -> Collection:
    names = fields or tuple(records[0])
    return Collection("things", names, iter(records), INFO)


def export(collection: Collection) -> bytes:
    return b"".join(EXPORTER.export(collection))


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def table(data: bytes) -> list[dict[str, str]]:
    header, *rows = parse(data)
    return [dict(zip(header, row, strict=True)) for row in rows]


def one_cell(value: Any) -> str:
    """The single data cell written for a record ``{"id": "r", "v": value}``."""
    return table(export(synthetic([{"id": "r", "v": value}])))[0]["v"]


def records(dataset: Dataset, name: str) -> list[dict[str, Any]]:
    return list(dataset.collection(name).records)


def link_id(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else value


# --- registration -------------------------------------------------------------------------


def test_hook_offers_one_csv_exporter():
    (exporter,) = parley_register_exporters()
    assert (exporter.name, exporter.media_type, exporter.extension, exporter.version) == (
        "csv",
        "text/csv",
        "csv",
        "1",
    )


def test_plugin_manager_accepts_the_module():
    registry = load_registry(
        {"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"}, builtins=("exporters.tabular",)
    )
    assert registry.refused == []
    assert registry.by_extension("csv") is not None


# --- one collection, from real records ----------------------------------------------------


def test_header_is_the_fields_without_links(dataset: Dataset):
    for collection in dataset.collections():
        header = parse(export(collection))[0]
        assert header == [name for name in collection.fields if name != "links"]
        assert "url" in header


def test_one_row_per_record(dataset: Dataset):
    for name in dataset.names:
        assert len(parse(export(dataset.collection(name)))) - 1 == len(records(dataset, name))


def test_cells_read_back_as_the_records(dataset: Dataset):
    for name in dataset.names:
        rows = table(export(dataset.collection(name)))
        for record, row in zip(records(dataset, name), rows, strict=True):
            for column, cell in row.items():
                value = record[column]
                text = restore(cell)
                if column == "citations":
                    assert int(cell) == len(value)
                elif value is None:
                    assert cell == ""
                elif isinstance(value, int):
                    assert int(cell) == value
                elif isinstance(value, str):
                    assert text == value
                elif isinstance(value, dict) and "resource" in value:
                    assert text == f"{value['resource']}/{value['id']}"
                elif isinstance(value, dict):
                    assert text == value["id"]
                elif value and isinstance(value[0], dict) and "holder" in value[0]:
                    expected = [f"{p['holder']['id']}: {p['stance']}" for p in value]
                    assert split_list(text, TEXT_SEPARATOR) == expected
                elif value and isinstance(value[0], dict):
                    assert split_list(text, ID_SEPARATOR) == [link["id"] for link in value]
                else:
                    assert split_list(text, TEXT_SEPARATOR) == value


def test_lists_of_references_are_ids_joined_by_semicolons(dataset: Dataset):
    (talk,) = records(dataset, "talks")
    (row,) = table(export(dataset.collection("talks")))
    assert row["parties"] == ";".join(party["id"] for party in talk["parties"])


def test_about_is_resource_slash_id(dataset: Dataset):
    statement = records(dataset, "statements")[0]
    row = table(export(dataset.collection("statements")))[0]
    assert row["about"] == f"{statement['about']['resource']}/{statement['about']['id']}"


def test_integers_are_bare_numbers(dataset: Dataset):
    (proposal,) = records(dataset, "force-proposals")
    data = export(dataset.collection("force-proposals")).decode("utf-8")
    assert f",{proposal['troops_min']},{proposal['troops_max']}," in data


def test_output_is_utf8_without_byte_order_mark(dataset: Dataset):
    chunks = list(EXPORTER.export(dataset.collection("talks")))
    assert all(isinstance(chunk, bytes) for chunk in chunks)
    data = b"".join(chunks)
    assert not data.startswith(b"\xef\xbb\xbf")
    (talk,) = records(dataset, "talks")
    assert talk["notes"].encode("utf-8") in data.replace(b'""', b'"')


def test_same_records_give_the_same_bytes(dataset: Dataset):
    for name in dataset.names:
        assert export(dataset.collection(name)) == export(dataset.collection(name))


# --- RFC 4180 -----------------------------------------------------------------------------


def test_lines_end_with_crlf():
    data = export(synthetic([{"id": "a", "n": 1}, {"id": "b", "n": 2}]))
    assert data == b"id,n\r\na,1\r\nb,2\r\n"


def test_fields_with_comma_quote_or_line_break_are_quoted():
    record = {"id": "r", "a": "x,y", "b": 'say "hi"', "c": "one\ntwo", "d": "cr\rlf", "e": "plain"}
    data = export(synthetic([record]))
    assert data.split(b"\r\n", 1)[1] == b'r,"x,y","say ""hi""","one\ntwo","cr\rlf",plain\r\n'
    assert table(data) == [record]


def test_null_is_an_empty_cell():
    assert export(synthetic([{"id": "r", "v": None}])) == b"id,v\r\nr,\r\n"


def test_missing_member_is_an_empty_cell():
    collection = synthetic([{"id": "r"}], fields=("id", "v"))
    assert export(collection) == b"id,v\r\nr,\r\n"


# --- formula injection --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "\x00x"])
def test_formula_trigger_gets_a_leading_quote(value: str):
    assert one_cell(value) == "'" + value


def test_negative_integer_is_not_prefixed():
    assert export(synthetic([{"id": "r", "v": -5}])) == b"id,v\r\nr,-5\r\n"


def test_text_that_looks_like_a_negative_number_is_prefixed():
    assert one_cell("-5") == "'-5"


def test_text_starting_with_a_quote_gets_one_more_so_restore_is_exact():
    for value in ("'=1+1", "'90s", "=1+1", "plain"):
        assert restore(one_cell(value)) == value


def test_joined_list_starting_with_a_trigger_is_prefixed():
    assert one_cell(["=cmd()", "b"]) == "'=cmd() | b"


def test_reference_is_prefixed_like_any_text():
    assert one_cell({"id": "-x", "url": "http://example.test/v1/things/-x"}) == "'-x"


# --- joined lists -------------------------------------------------------------------------


def test_joined_text_items_split_back_exactly():
    items = ["a | b", "pipe|", "back\\slash", "semi;colon", " spaced ", "\\|"]
    assert split_list(restore(one_cell(items)), TEXT_SEPARATOR) == items


def test_list_of_links_is_ids_joined_by_semicolons():
    links = [{"id": i, "url": f"http://example.test/v1/actors/{i}"} for i in ("a", "b")]
    assert one_cell(links) == "a;b"


def test_positions_are_holder_colon_stance():
    positions = [
        {"holder": {"id": "russia", "url": "u"}, "stance": "no | never"},
        {"holder": {"id": "ukraine", "url": "u"}, "stance": "yes"},
    ]
    cell = one_cell(positions)
    assert split_list(cell, TEXT_SEPARATOR) == ["russia: no | never", "ukraine: yes"]


def test_empty_list_is_an_empty_cell():
    assert one_cell([]) == ""
    assert split_list("", TEXT_SEPARATOR) == []


def test_citations_are_a_count():
    citation = {"source": {"id": "s", "url": "u"}, "quote": "q", "start": 0, "end": 1}
    data = export(synthetic([{"id": "r", "citations": [citation, citation]}]))
    assert data == b"id,citations\r\nr,2\r\n"


def test_links_are_dropped_and_url_kept():
    record = {"id": "r", "url": "http://example.test/v1/things/r", "links": {"self": "x"}}
    assert parse(export(synthetic([record])))[0] == ["id", "url"]


# --- streaming ----------------------------------------------------------------------------


def test_header_comes_before_any_record_is_read():
    pulled = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for number in range(5 * ROWS_PER_CHUNK):
            pulled += 1
            yield {"id": f"r{number}", "n": number}

    chunks = iter(EXPORTER.export(Collection("things", ("id", "n"), counted(), INFO)))
    assert next(chunks) == b"id,n\r\n"
    assert pulled == 0
    second = next(chunks)
    assert pulled <= ROWS_PER_CHUNK + 1
    assert second.startswith(b"r0,0\r\n")
    assert sum(1 for _ in chunks) >= 1  # the rest still to come


def test_records_beyond_the_first_chunk_are_not_read_early():
    def guarded() -> Iterator[dict[str, Any]]:
        for number in range(10 * ROWS_PER_CHUNK):
            if number > ROWS_PER_CHUNK and not released:
                raise AssertionError(f"record {number} read before the first chunks were taken")
            yield {"id": f"r{number}"}

    released = False
    chunks = iter(EXPORTER.export(Collection("things", ("id",), guarded(), INFO)))
    next(chunks), next(chunks)
    released = True
    assert len(parse(b"".join(chunks))) == 10 * ROWS_PER_CHUNK - ROWS_PER_CHUNK


# --- the snapshot -------------------------------------------------------------------------


def test_snapshot_files_come_in_a_fixed_order(dataset: Dataset):
    names = [file_name for file_name, _chunks in EXPORTER.export_dataset(dataset)]
    collections = [f"{name}.csv" for name in dataset.names]
    assert names[0] == "datapackage.json"
    assert names[1 : 1 + len(collections)] == collections
    assert names[-1] == "citations.csv"
    assert sorted(names[1 + len(collections) : -1]) == sorted(f"{t}.csv" for t in JOIN_TABLES)


def test_snapshot_is_a_valid_data_package(snapshot: Path):
    from frictionless import validate

    report = validate(snapshot / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_validation_catches_a_reference_to_no_record(snapshot: Path, tmp_path: Path):
    """A control: the package's foreign keys are really checked."""
    from frictionless import Package

    broken = tmp_path / "broken"
    shutil.copytree(snapshot, broken)
    parties = broken / "talk_parties.csv"
    header, first, *rest = parse(parties.read_bytes())
    first[header.index("actor_id")] = "nobody"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, first, *rest])
    parties.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    report = Package(broken / "datapackage.json").get_resource("talk_parties").validate()
    assert not report.valid
    assert report.flatten(["type"]) == [["foreign-key"]]


def test_datapackage_describes_every_file(dataset: Dataset, snapshot: Path):
    package = json.loads((snapshot / "datapackage.json").read_text(encoding="utf-8"))
    assert package["profile"] == "tabular-data-package"
    assert package["name"] == dataset.info.name
    assert package["version"] == dataset.info.version
    paths = [resource["path"] for resource in package["resources"]]
    assert sorted(paths) == sorted(p.name for p in snapshot.glob("*.csv"))
    for resource in package["resources"]:
        header = parse((snapshot / resource["path"]).read_bytes())[0]
        assert [f["name"] for f in resource["schema"]["fields"]] == header


def test_datapackage_is_sorted_json_with_a_trailing_newline(snapshot: Path):
    text = (snapshot / "datapackage.json").read_text(encoding="utf-8")
    expected = json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert text == expected


def test_datapackage_types_follow_the_fields(snapshot: Path):
    package = json.loads((snapshot / "datapackage.json").read_text(encoding="utf-8"))
    types = {
        r["name"]: {f["name"]: f["type"] for f in r["schema"]["fields"]}
        for r in package["resources"]
    }
    assert types["talks"]["date"] == "date"
    assert types["talks"]["created_at"] == "datetime"
    assert types["force-proposals"]["troops_min"] == "integer"
    assert types["actors"]["citations"] == "integer"
    assert types["citations"]["start"] == "integer"


def test_every_reference_is_a_foreign_key(snapshot: Path):
    package = json.loads((snapshot / "datapackage.json").read_text(encoding="utf-8"))
    keys = {
        r["name"]: {
            key["fields"][0]: key["reference"]["resource"] for key in r["schema"]["foreignKeys"]
        }
        for r in package["resources"]
        if "foreignKeys" in r["schema"]
    }
    for name, resource in BY_NAME.items():
        for spec in resource.fields:
            if isinstance(spec, Ref):
                target = "" if spec.target == name else spec.target
                assert keys[name][spec.name] == target
    assert keys["delegations"]["talk"] == "talks"
    assert keys["citations"] == {"source_id": "sources"}
    assert keys["obstacle_positions"] == {"obstacle_id": "obstacles", "holder_id": "actors"}


@pytest.mark.parametrize("name", sorted(JOIN_TABLES))
def test_join_table_has_one_row_per_list_item(dataset: Dataset, snapshot: Path, name: str):
    collection, field, item_columns = JOIN_TABLES[name]
    owner_column = parse((snapshot / f"{name}.csv").read_bytes())[0][0]
    expected = []
    for record in records(dataset, collection):
        for position, value in enumerate(record[field], start=1):
            if isinstance(value, dict) and "holder" in value:
                item = [value["holder"]["id"], value["stance"]]
            else:
                item = [link_id(value)]
            expected.append([record["id"], str(position), *item])
    rows = table((snapshot / f"{name}.csv").read_bytes())
    assert len(rows) == len(expected)
    got = [
        [row[owner_column], row["position"], *(restore(row[c]) for c in item_columns)]
        for row in rows
    ]
    assert got == expected


def test_citations_table_has_every_citation(dataset: Dataset, snapshot: Path):
    expected = [
        [
            name,
            record["id"],
            str(position),
            c["source"]["id"],
            c["quote"],
            str(c["start"]),
            str(c["end"]),
        ]
        for name in dataset.names
        for record in records(dataset, name)
        for position, c in enumerate(record["citations"], start=1)
    ]
    header, *rows = parse((snapshot / "citations.csv").read_bytes())
    assert header == ["resource", "record_id", "position", "source_id", "quote", "start", "end"]
    assert [[restore(cell) for cell in row] for row in rows] == expected


def test_snapshot_collection_file_is_the_collection_export(dataset: Dataset, snapshot: Path):
    for name in dataset.names:
        assert (snapshot / f"{name}.csv").read_bytes() == export(dataset.collection(name))


def test_snapshot_is_byte_identical_twice(dataset: Dataset):
    def run() -> dict[str, bytes]:
        return {name: b"".join(chunks) for name, chunks in EXPORTER.export_dataset(dataset)}

    assert run() == run()


def test_snapshot_reads_records_only_as_files_are_written(dataset: Dataset):
    pulled = 0

    def counting(name: str) -> Collection:
        collection = dataset.collection(name)

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal pulled
            for record in collection.records:
                pulled += 1
                yield record

        return replace(collection, records=counted())

    files = list(EXPORTER.export_dataset(replace(dataset, opener=counting)))
    assert pulled == 0
    b"".join(dict(files)["talks.csv"])
    assert pulled == len(records(dataset, "talks"))
