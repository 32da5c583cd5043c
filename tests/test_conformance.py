"""The conformance kit (exporters.testing) accepts exporters that keep the contract and
refuses each way of breaking it with a message that says what is wrong; its sample
records are v1 records. The ndjson test plugin (tests/plugins/parley-ndjson) is a
distribution of its own, installed into the venv, and found through its entry point."""

from __future__ import annotations

import datetime
import doctest
import importlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS31Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from api.resources import RESOURCES
from api.v1.schemas import field_names, schema_name
from exporters import Collection, Dataset, RecordParts, testing
from exporters.manager import load_registry
from exporters.testing import (
    LONG_COLLECTION,
    MAX_PULLS,
    SAMPLE_COLLECTIONS,
    ConformanceError,
    check_exporter,
    export_bytes,
    sample_collection,
    sample_dataset,
    sample_records,
)

REPO = Path(__file__).resolve().parent.parent
INSTALL = ".venv/bin/pip install --no-build-isolation -e tests/plugins/parley-ndjson"


@pytest.fixture(scope="module")
def ndjson() -> ModuleType:
    try:
        return importlib.import_module("parley_ndjson")
    except ModuleNotFoundError:
        pytest.fail(f"the test plugin parley-ndjson is not installed; run: {INSTALL}")


def ndjson_lines(exporter: Any, collection: Collection) -> list[str]:
    text = export_bytes(exporter, collection).decode("utf-8")
    assert text.endswith("\n")
    return text.split("\n")[:-1]


# --- Exporters that keep the contract --------------------------------------------------


class Lines:
    """The smallest good exporter: one id per line."""

    name = "lines"
    media_type = "text/x-lines"
    extension = "txt"
    version = "1"

    def export(self, collection: Collection) -> Iterator[str]:
        for record in collection.records:
            yield record["id"] + "\n"


class HeaderThenBatches:
    """A header before reading anything, then bytes in batches of 500 records."""

    name = "batches"
    media_type = "text/x-batches"
    extension = "txt"

    def export(self, collection: Collection) -> Iterator[str | bytes]:
        yield "# " + ",".join(collection.fields) + "\n"
        while batch := list(itertools.islice(collection.records, 500)):
            yield "".join(record["id"] + "\n" for record in batch).encode("utf-8")


class Snapshots(Lines):
    """With the optional members: a file per collection and one static document."""

    def export_dataset(self, dataset: Dataset) -> Iterator[tuple[str, Iterator[str]]]:
        for collection in dataset.collections():
            yield f"{collection.name}.txt", self.export(collection)

    def documents(self) -> Iterator[tuple[str, str, bytes]]:
        yield "lines/about.txt", "text/plain; charset=utf-8", b"One id per line.\n"


def test_the_kit_accepts_the_ndjson_plugins_exporter(ndjson: ModuleType) -> None:
    check_exporter(ndjson.NdjsonExporter())


@pytest.mark.parametrize("exporter", [Lines(), HeaderThenBatches(), Snapshots()], ids=type)
def test_the_kit_accepts_a_minimal_good_exporter(exporter: Any) -> None:
    check_exporter(exporter)


def test_a_collection_factory_replaces_the_sample_collections() -> None:
    sizes: list[int] = []

    def statements(n: int) -> Collection:
        sizes.append(n)
        return sample_collection("statements", n=n)

    check_exporter(Lines(), statements)
    assert {0, LONG_COLLECTION} <= set(sizes)


def test_the_module_docstrings_example_runs() -> None:
    result = doctest.testmod(testing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --- Exporters that break it, one way each ---------------------------------------------


class NoMediaType:
    name = "lines"
    extension = "txt"

    def export(self, collection: Collection) -> Iterator[str]:
        yield from ()


class BadName(Lines):
    name = "Lines Format"


class NumberVersion(Lines):
    version = 1  # type: ignore[assignment]


class Ints(Lines):
    def export(self, collection: Collection) -> Iterator[Any]:
        for record in collection.records:
            yield len(record["id"])


class Joined(Lines):
    def export(self, collection: Collection) -> Any:
        return "".join(record["id"] + "\n" for record in collection.records)


class FirstFive(Lines):
    def export(self, collection: Collection) -> Iterator[str]:
        for record in itertools.islice(collection.records, 5):
            yield record["id"] + "\n"


class Buffering(Lines):
    def export(self, collection: Collection) -> Iterator[str]:
        records = list(collection.records)
        for record in records:
            yield record["id"] + "\n"


class Counter(Lines):
    exports = itertools.count()

    def export(self, collection: Collection) -> Iterator[str]:
        yield f"# export number {next(self.exports)}\n"
        yield from super().export(collection)


class Clock(Lines):
    def export(self, collection: Collection) -> Iterator[str]:
        yield f"# exported at {datetime.datetime.now(datetime.UTC).isoformat()}\n"
        yield from super().export(collection)


class LocalTimes(Lines):
    def export(self, collection: Collection) -> Iterator[str]:
        for record in collection.records:
            created = datetime.datetime.fromisoformat(record["created_at"]).astimezone()
            yield f"{record['id']} {created.isoformat()}\n"


class DictOrder(Lines):
    def export(self, collection: Collection) -> Iterator[str]:
        for record in collection.records:
            yield json.dumps(record) + "\n"


class BreaksWhenEmpty(Lines):
    def export(self, collection: Collection) -> Iterator[str]:
        first = next(collection.records)  # for a header; raises inside the generator
        yield ",".join(first) + "\n"
        yield from super().export(collection)


REFUSED = [
    pytest.param(NoMediaType(), "lacks the attribute 'media_type'", id="lacks-an-attribute"),
    pytest.param(BadName(), "name 'Lines Format' is not a lowercase word", id="bad-name"),
    pytest.param(NumberVersion(), "version must be a str", id="version-not-str"),
    pytest.param(Ints(), "of type int; every chunk must be str or bytes", id="yields-ints"),
    pytest.param(
        Joined(), "returned a str; it must return an iterable of chunks", id="returns-str"
    ),
    pytest.param(FirstFive(), "leaving 7 unread; it must export every record", id="drops-records"),
    pytest.param(
        Buffering(),
        f"pulled more than {MAX_PULLS} records before its first chunk; it must read "
        "collection.records lazily",
        id="buffers-the-collection",
    ),
    pytest.param(Counter(), "two exports of an empty collection", id="embeds-a-counter"),
    pytest.param(Clock(), "must depend only on the records", id="embeds-the-time"),
    pytest.param(LocalTimes(), "changes with the local time zone", id="writes-local-time"),
    pytest.param(DictOrder(), "when the records' keys come in another order", id="dict-order"),
    pytest.param(
        BreaksWhenEmpty(),
        "export of an empty collection (the sample sources collection (0 records)) raised "
        "RuntimeError",
        id="breaks-when-empty",
    ),
]


@pytest.mark.parametrize(("exporter", "message"), REFUSED)
def test_the_kit_refuses_an_exporter_that_breaks_the_contract(exporter: Any, message: str) -> None:
    with pytest.raises(ConformanceError, match="^" + type(exporter).__name__) as refused:
        check_exporter(exporter)
    assert message in str(refused.value)


def test_the_streaming_check_stops_a_buffering_exporter_early() -> None:
    pulled = 0

    def counted(n: int) -> Collection:
        def records() -> Iterator[dict[str, Any]]:
            nonlocal pulled
            for record in sample_records("talks", n):
                pulled += 1
                yield record

        return sample_collection("talks", records(), fields=testing.sample_fields("talks"))

    with pytest.raises(ConformanceError):
        testing.check_streaming(Buffering(), counted)
    assert pulled == MAX_PULLS


def test_a_conformance_error_is_an_assertion_error() -> None:
    assert issubclass(ConformanceError, AssertionError)


class SlashedFiles(Snapshots):
    def export_dataset(self, dataset: Dataset) -> Iterator[tuple[str, Iterator[str]]]:
        for collection in dataset.collections():
            yield f"collections/{collection.name}.txt", self.export(collection)


class OneFileName(Snapshots):
    def export_dataset(self, dataset: Dataset) -> Iterator[tuple[str, Iterator[str]]]:
        for collection in dataset.collections():
            yield "records.txt", self.export(collection)


class Upward(Snapshots):
    def documents(self) -> Iterator[tuple[str, str, bytes]]:
        yield "../secrets.txt", "text/plain", b""


class Shadowing(Snapshots):
    def documents(self) -> Iterator[tuple[str, str, bytes]]:
        yield "talks.txt", "text/plain", b""


@pytest.mark.parametrize(
    ("exporter", "message"),
    [
        pytest.param(SlashedFiles(), "contains a path separator", id="file-in-a-folder"),
        pytest.param(OneFileName(), "yielded the file 'records.txt' twice", id="same-file-twice"),
    ],
)
def test_the_dataset_check_refuses_bad_file_names(exporter: Any, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        testing.check_dataset(exporter)


@pytest.mark.parametrize(
    ("exporter", "message"),
    [
        pytest.param(Upward(), "'..' segment", id="leaves-v1"),
        pytest.param(Shadowing(), "would shadow /v1/talks", id="shadows-a-collection"),
    ],
)
def test_the_documents_check_refuses_bad_paths(exporter: Any, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        testing.check_documents(exporter)


class Parted(Lines):
    """Lines, with parts that add up to its export."""

    def export_parts(self, collection: Collection) -> RecordParts:
        return RecordParts(head="", record=lambda record: record["id"] + "\n")


class PartsWithoutTheTail(Lines):
    def export(self, collection: Collection) -> Iterator[str]:
        yield from super().export(collection)
        yield "end\n"

    def export_parts(self, collection: Collection) -> RecordParts:
        return RecordParts(head="", record=lambda record: record["id"] + "\n")


class NumberedParts(Lines):
    """Each line numbered by its place: a chunk that depends on the other records."""

    def export(self, collection: Collection) -> Iterator[str]:
        for place, record in enumerate(collection.records):
            yield f"{place} {record['id']}\n"

    def export_parts(self, collection: Collection) -> RecordParts:
        places = itertools.count()
        return RecordParts(head="", record=lambda record: f"{next(places)} {record['id']}\n")


class NotParts(Lines):
    def export_parts(self, collection: Collection) -> Any:
        return ("", "")


def test_the_parts_check_accepts_parts_that_add_up_to_the_export() -> None:
    testing.check_parts(Parted())
    check_exporter(Parted())


@pytest.mark.parametrize(
    ("exporter", "message"),
    [
        pytest.param(PartsWithoutTheTail(), "does not add up to export", id="missing-tail"),
        pytest.param(NumberedParts(), "another chunk in another collection", id="not-alone"),
        pytest.param(NotParts(), "not RecordParts", id="not-parts"),
    ],
)
def test_the_parts_check_refuses_parts_that_are_not_the_export(exporter: Any, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        testing.check_parts(exporter)


# --- The sample records ----------------------------------------------------------------


def test_the_samples_cover_every_collection() -> None:
    assert tuple(resource.name for resource in RESOURCES) == SAMPLE_COLLECTIONS


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_sample_records_have_the_v1_fields_in_order(resource: Any) -> None:
    collection = sample_collection(resource.name)
    assert collection.fields == field_names(resource)
    assert all(tuple(record) == field_names(resource) for record in collection.records)


@pytest.fixture(scope="module")
def openapi_registry() -> Registry:
    document = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
    return Registry().with_resource("urn:parley:openapi", DRAFT202012.create_resource(document))


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_sample_records_are_valid_v1_records(resource: Any, openapi_registry: Registry) -> None:
    schema = {"$ref": f"urn:parley:openapi#/components/schemas/{schema_name(resource)}"}
    validator = OAS31Validator(
        schema, registry=openapi_registry, format_checker=OAS31Validator.FORMAT_CHECKER
    )
    for record in sample_records(resource.name):
        validator.validate(record)


def test_every_reference_in_a_sample_dataset_resolves() -> None:
    dataset = sample_dataset(5)
    urls = {record["url"] for collection in dataset.collections() for record in collection.records}

    def links(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            if {"id", "url"} <= value.keys():
                yield value["url"]
            for key, item in value.items():
                if key != "links":
                    yield from links(item)
        elif isinstance(value, list):
            for item in value:
                yield from links(item)

    referenced = {
        url
        for collection in dataset.collections()
        for record in collection.records
        for key, value in record.items()
        if key not in {"id", "url", "links"}
        for url in links(value)
    }
    assert referenced
    assert referenced <= urls


def test_the_sample_dataset_info_lists_the_sample_sources() -> None:
    dataset = sample_dataset(4)
    assert list(dataset.info.sources) == list(dataset.collection("sources").records)


# --- The ndjson plugin -----------------------------------------------------------------


def test_ndjson_writes_one_record_per_line(ndjson: ModuleType) -> None:
    lines = ndjson_lines(ndjson.NdjsonExporter(), sample_collection("talks"))
    assert [json.loads(line) for line in lines] == list(sample_records("talks"))


def test_ndjson_sorts_keys_and_keeps_non_ascii_text(ndjson: ModuleType) -> None:
    lines = ndjson_lines(ndjson.NdjsonExporter(), sample_collection("talks"))
    for line in lines:
        keys = list(json.loads(line))
        assert keys == sorted(keys)
    assert any("İstanbul" in line for line in lines)


def test_ndjson_of_an_empty_collection_is_empty(ndjson: ModuleType) -> None:
    assert export_bytes(ndjson.NdjsonExporter(), sample_collection("talks", n=0)) == b""


def test_the_installed_plugin_is_found_through_its_entry_point(ndjson: ModuleType) -> None:
    registered = load_registry({}, builtins=()).get("ndjson")
    assert registered is not None
    assert (registered.plugin, registered.distribution) == ("ndjson", "parley-ndjson")
    assert isinstance(registered.exporter, ndjson.NdjsonExporter)
    assert registered.version == "1"


def test_the_plugin_loads_when_its_distribution_is_chosen(ndjson: ModuleType) -> None:
    assert load_registry({"PARLEY_PLUGINS": "parley-ndjson"}, builtins=()).get("ndjson")


def test_disabling_autoload_leaves_the_plugin_out(ndjson: ModuleType) -> None:
    registry = load_registry({"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"}, builtins=())
    assert registry.get("ndjson") is None


def test_choosing_other_distributions_leaves_the_plugin_out(ndjson: ModuleType) -> None:
    registry = load_registry({"PARLEY_PLUGINS": "parley-something-else"}, builtins=())
    assert registry.get("ndjson") is None


@pytest.mark.parametrize("name", load_registry({"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"}).names())
def test_every_built_in_exporter_passes_the_kit(name):
    registered = load_registry({"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"}).get(name)
    assert registered is not None
    assert registered.distribution is None
    check_exporter(registered.exporter)
