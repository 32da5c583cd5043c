"""A conformance kit for exporter plugins: check an exporter against the contract.

The checks need no database: they feed the exporter synthetic records shaped
exactly like Parley's v1 records (``sample_collection``), including nulls,
empty lists, non-ASCII text, quotes, commas, newlines and formula-like text.

Run every check at once (the first problem raises ``ConformanceError``, an
``AssertionError``, naming the exporter and saying what to fix):

>>> from exporters.testing import check_exporter, sample_collection
>>> class LinesExporter:
...     name = "lines"
...     media_type = "text/x-lines"
...     extension = "txt"
...     version = "1"
...     def export(self, collection):
...         for record in collection.records:
...             yield record["id"] + "\\n"
>>> check_exporter(LinesExporter())
>>> "".join(LinesExporter().export(sample_collection("talks", n=2)))
'sample-talk-0\\nsample-talk-1\\n'

An exporter that reads the whole collection before writing is refused:

>>> class BufferingExporter(LinesExporter):
...     def export(self, collection):
...         records = list(collection.records)
...         return (record["id"] + "\\n" for record in records)
>>> check_exporter(BufferingExporter())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
exporters.testing.ConformanceError: BufferingExporter 'lines': ... pulled more than 1000 records...

In a plugin's test suite, each check can also run on its own::

    import pytest
    from exporters import testing
    from my_plugin import MyExporter

    @pytest.mark.parametrize("check", [
        testing.check_attributes, testing.check_chunk_types,
        testing.check_reads_every_record, testing.check_empty,
        testing.check_streaming, testing.check_determinism,
    ])
    def test_my_exporter_conforms(check):
        check(MyExporter())

``check_dataset``, ``check_documents`` and ``check_parts`` apply to exporters with
``export_dataset``, ``documents`` and ``export_parts``; ``check_exporter`` runs them
when present.

What is checked:

- attributes: ``name`` and ``extension`` are lowercase words
  (``exporters.manager.NAME``), ``media_type`` is ``type/subtype``
  (``exporters.manager.MEDIA_TYPE``), none is the API's own JSON, ``version``
  (optional) is a ``str``, ``export`` is callable;
- chunks: ``export`` returns an iterable (not a ``str``) whose chunks are each
  ``str`` or ``bytes`` (they may differ from chunk to chunk; ``str`` is sent as
  UTF-8), and it reads every record;
- an empty collection exports without error;
- streaming: the first chunk that follows reading a record comes after at most
  ``MAX_PULLS`` records of a collection of ``LONG_COLLECTION`` records;
- determinism: equal collections give byte-identical output, also when the
  records' keys come in another order and under another local time zone;
- ``export_dataset(dataset)``: ``(file_name, chunks)`` pairs with unique plain
  file names (no path separators, no ``..``), deterministic, also for an empty
  dataset;
- ``export_parts(collection)``: ``RecordParts`` whose head, each record's chunk
  and tail add up to exactly what ``export`` writes (also for an empty
  collection), a record's chunk being the same in any collection;
- ``documents()``: ``(path, media_type, bytes)`` with unique relative paths
  (no ``..``) that do not shadow a collection under ``/v1/``, deterministic.

By default every check runs on a sample of each of the seven collections.
Pass ``collection_factory`` (``n -> Collection`` of exactly ``n`` fresh
records, generated lazily: the streaming check asks for ``LONG_COLLECTION``)
to check your own collections instead, e.g.
``check_exporter(exporter, lambda n: sample_collection("statements", n=n))``.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from exporters import Chunk, Collection, Dataset, DatasetInfo, Record
from exporters.manager import MEDIA_TYPE, NAME, RESERVED

CollectionFactory = Callable[[int], Collection]
DatasetFactory = Callable[[int], Dataset]

# How many records the everyday checks export, and the streaming check's bounds.
SAMPLE_SIZE = 12
LONG_COLLECTION = 100_000
MAX_PULLS = 1_000
SAMPLE_BASE_URL = "https://parley.example"
SAMPLE_SOURCES = 3
# Two fixed local time zones (POSIX TZ strings, no tz database needed) 14 hours apart.
TIME_ZONES = ("UTC0", "KIT-14")


class ConformanceError(AssertionError):
    """An exporter breaks the exporter contract; the message says how."""


# --- Sample records -------------------------------------------------------------------

ACTOR_KINDS = ("state", "organization", "alliance", "person", "group", "role")
TALK_STATUSES = ("scheduled", "ongoing", "concluded", "cancelled")
STATEMENT_KINDS = ("quote", "judgement", "expectation", "key-point", "assessment")

# Each collection's slug singular, its fields between the common ones (in the v1
# order) as (field, kind, argument), and the nested collections of its ``links``.
# tests/test_conformance.py keeps these in step with api/resources.py and the
# v1 schemas.
_Field = tuple[str, str, Any]
_SHAPES: dict[str, tuple[str, tuple[_Field, ...], tuple[str, ...]]] = {
    "sources": (
        "source",
        (
            ("title", "required", None),
            ("alternate_headline", "text", None),
            ("seed_file", "text", None),
            ("line_start", "int", None),
            ("line_end", "int", None),
        ),
        (),
    ),
    "actors": (
        "actor",
        (
            ("name", "required", None),
            ("kind", "choice", ACTOR_KINDS),
            ("title", "text", None),
            ("affiliation", "ref", "actors"),
            ("description", "text", None),
        ),
        ("delegations", "obstacles", "talks", "statements"),
    ),
    "delegations": (
        "delegation",
        (
            ("party", "required-ref", "actors"),
            ("level", "text", None),
            ("head", "ref", "actors"),
            ("head_description", "text", None),
            ("declined", "refs", "actors"),
            ("talk", "ref", "talks"),
        ),
        ("statements",),
    ),
    "obstacles": (
        "obstacle",
        (
            ("title", "required", None),
            ("description", "text", None),
            ("positions", "positions", "actors"),
        ),
        ("statements",),
    ),
    "talks": (
        "talk",
        (
            ("title", "required", None),
            ("venue", "text", None),
            ("parties", "refs", "actors"),
            ("timing", "text", None),
            ("date", "date", None),
            ("status", "choice", TALK_STATUSES),
            ("format", "text", None),
            ("level", "text", None),
            ("precedent", "text", None),
            ("aims", "texts", None),
            ("expectations", "text", None),
            ("delegations", "refs", "delegations"),
            ("obstacles", "refs", "obstacles"),
        ),
        ("delegations", "obstacles", "statements"),
    ),
    "force-proposals": (
        "force-proposal",
        (
            ("title", "required", None),
            ("proposers", "refs", "actors"),
            ("contributors", "text", None),
            ("troops_min", "int", None),
            ("troops_max", "int", None),
            ("troops_needed", "int", None),
            ("troops_needed_text", "text", None),
            ("reluctant", "refs", "actors"),
            ("deployment_area", "text", None),
            ("purpose", "text", None),
            ("risks", "texts", None),
            ("motives", "texts", None),
            ("criticisms", "texts", None),
            ("preconditions", "texts", None),
            ("assessment", "text", None),
        ),
        ("statements",),
    ),
    "statements": (
        "statement",
        (
            ("speaker", "ref", "actors"),
            ("about", "about", ("talks", "delegations", "obstacles", "force-proposals")),
            ("kind", "choice", STATEMENT_KINDS),
            ("text", "required", None),
            ("quoted", "text", None),
        ),
        (),
    ),
}
SAMPLE_COLLECTIONS: tuple[str, ...] = tuple(_SHAPES)

_EPOCH = datetime.datetime(2025, 5, 16, 9, 0, tzinfo=datetime.UTC)


def sample_fields(name: str) -> tuple[str, ...]:
    """The fields of a v1 record of collection ``name``, in their documented order."""
    _, specific, _ = _shape(name)
    common = ("id", "url", "revision", "created_at", "updated_at")
    return (*common, *(field for field, _, _ in specific), "notes", "citations", "links")


def _shape(name: str) -> tuple[str, tuple[_Field, ...], tuple[str, ...]]:
    try:
        return _SHAPES[name]
    except KeyError:
        known = ", ".join(SAMPLE_COLLECTIONS)
        raise ValueError(f"no sample records for {name!r}; the collections are {known}") from None


def _text(singular: str, field: str, i: int) -> str:
    """A text that, across records, covers the characters formats must escape."""
    base = f"{singular.replace('-', ' ')} {i} {field.replace('_', ' ')}"
    variant = i % 4
    if variant == 1:
        return f'{base} — “İstanbul”, «Стамбул» & "quoted"'
    if variant == 2:
        return f"{base}, with a comma\nand a second line"
    if variant == 3:
        return f"=1+1 {base} <b>\\</b>\ttab 'single'"
    return base.capitalize()


def _link(base_url: str, collection: str, index: int) -> dict[str, Any]:
    record_id = f"sample-{_SHAPES[collection][0]}-{index}"
    return {"id": record_id, "url": f"{base_url}/v1/{collection}/{record_id}"}


def _value(
    kind: str, argument: Any, field: str, singular: str, i: int, size: int, base: str
) -> Any:
    missing = i % 5 == 4  # every fifth record lacks its optional values
    if kind == "required":
        return _text(singular, field, i)
    if kind == "text":
        return None if missing else _text(singular, field, i)
    if kind == "int":
        return None if missing else 1000 * (i + 1) + len(field)
    if kind == "date":
        return None if missing else (_EPOCH.date() + datetime.timedelta(days=i % 365)).isoformat()
    if kind == "choice":
        return argument[i % len(argument)]
    if kind == "texts":
        return [_text(singular, f"{field} {k + 1}", i + k) for k in range(i % 3)]
    if kind == "required-ref":
        return _link(base, argument, (i + 1) % size)
    if kind == "ref":
        return None if missing else _link(base, argument, (i + 1) % size)
    if kind == "refs":
        return [_link(base, argument, (i + k) % size) for k in range(min(i % 3, size))]
    if kind == "about":
        if missing:
            return None
        resource = argument[i % len(argument)]
        return {"resource": resource} | _link(base, resource, i % size)
    if kind == "positions":
        return [
            {
                "holder": _link(base, argument, (i + k) % size),
                "stance": _text("stance", field, i + k),
            }
            for k in range(i % 3)
        ]
    raise AssertionError(kind)  # pragma: no cover - exhaustive over _SHAPES


def _record(name: str, i: int, size: int, base_url: str, sources: int) -> Record:
    singular, specific, nested = _SHAPES[name]
    own = _link(base_url, name, i)
    stamp = (_EPOCH + datetime.timedelta(minutes=i)).isoformat()
    record: Record = {
        "id": own["id"],
        "url": own["url"],
        "revision": 1 + i % 3,
        "created_at": stamp,
        "updated_at": stamp,
    }
    for field, kind, argument in specific:
        record[field] = _value(kind, argument, field, singular, i, size, base_url)
    record["notes"] = _text(singular, "notes", i) if i % 3 == 2 else None
    citations = []
    for k in range(1 + i % 2 if sources else 0):
        quote = _text(singular, f"quote {k + 1}", i + k)
        start = 100 * i + 10 * k
        citations.append(
            {
                "source": _link(base_url, "sources", (i + k) % sources),
                "quote": quote,
                "start": start,
                "end": start + len(quote),
            }
        )
    record["citations"] = citations
    record["links"] = {"self": own["url"]} | {child: f"{own['url']}/{child}" for child in nested}
    return record


def _records(name: str, n: int, base_url: str, sources: int) -> Iterator[Record]:
    _shape(name)  # fail at once on an unknown name, not at the first record
    return (_record(name, i, max(n, 1), base_url, sources) for i in range(n))


def sample_info(*, base_url: str = SAMPLE_BASE_URL, sources: int = SAMPLE_SOURCES) -> DatasetInfo:
    """A ``DatasetInfo`` with ``sources`` sample source records."""
    return DatasetInfo(
        name="parley-sample",
        version="0.0.0",
        base_url=base_url,
        data_revision=1,
        sources=tuple(_records("sources", sources, base_url, sources)),
    )


def sample_records(
    name: str = "talks", n: int = SAMPLE_SIZE, *, info: DatasetInfo | None = None
) -> Iterator[Record]:
    """``n`` synthetic v1 records of collection ``name``, generated lazily.

    References point at ``sample-<singular>-<k>`` records with ``k < n``;
    citations cite the sources of ``info`` (by default ``sample_info()``).
    The same arguments always give equal records.
    """
    info = info or sample_info()
    return _records(name, n, info.base_url, len(info.sources))


def sample_collection(
    name: str = "talks",
    records: Iterable[Record] | None = None,
    n: int = SAMPLE_SIZE,
    *,
    info: DatasetInfo | None = None,
    fields: tuple[str, ...] | None = None,
) -> Collection:
    """A fresh ``Collection``: the given ``records``, or ``n`` sample records of ``name``.

    ``fields`` defaults to the v1 fields of ``name``; give it for other names.
    """
    info = info or sample_info()
    if fields is None:
        fields = sample_fields(name)
    stream = iter(records) if records is not None else sample_records(name, n, info=info)
    return Collection(name=name, fields=fields, records=stream, dataset=info)


def sample_dataset(n: int = SAMPLE_SIZE, *, base_url: str = SAMPLE_BASE_URL) -> Dataset:
    """All seven collections with ``n`` sample records each; every reference resolves."""
    info = sample_info(base_url=base_url, sources=n)
    return Dataset(
        info=info,
        names=SAMPLE_COLLECTIONS,
        opener=lambda name: sample_collection(name, n=n, info=info),
    )


def export_bytes(exporter: Any, collection: Collection) -> bytes:
    """The whole export of ``collection``, ``str`` chunks encoded as UTF-8."""
    return _joined(exporter, collection, f"the {collection.name} collection")


# --- Checks -----------------------------------------------------------------------------


def _label(exporter: Any) -> str:
    name = getattr(exporter, "name", None)
    kind = type(exporter).__name__
    return f"{kind} {name!r}" if isinstance(name, str) else kind


def _fail(exporter: Any, message: str) -> ConformanceError:
    return ConformanceError(f"{_label(exporter)}: {message}")


def check_media_type(exporter: Any) -> None:
    """``media_type`` is a ``type/subtype`` (lowercase, no parameters) and not the API's own."""
    media_type = getattr(exporter, "media_type", None)
    if not isinstance(media_type, str):
        raise _fail(exporter, f"media_type must be a str, not {type(media_type).__name__}")
    if not MEDIA_TYPE.match(media_type):
        raise _fail(
            exporter,
            f"media_type {media_type!r} is not a lowercase type/subtype without parameters "
            f"(pattern {MEDIA_TYPE.pattern}), e.g. 'text/csv' or 'application/x-ndjson'",
        )
    if media_type in RESERVED["media_type"]:
        raise _fail(exporter, f"media_type {media_type!r} is the API's own JSON; pick another")


def check_attributes(exporter: Any) -> None:
    """``name``, ``media_type``, ``extension``, ``export`` and the optional members are sound."""
    for attribute in ("name", "media_type", "extension"):
        if not hasattr(exporter, attribute):
            raise _fail(exporter, f"lacks the attribute {attribute!r} (a str)")
        value = getattr(exporter, attribute)
        if not isinstance(value, str):
            raise _fail(exporter, f"{attribute} must be a str, not {type(value).__name__}")
    if not callable(getattr(exporter, "export", None)):
        raise _fail(exporter, "lacks the method export(collection)")
    for attribute, use in (
        ("name", "?format=, --format and file names"),
        ("extension", "/v1/<collection>.<extension> and snapshot file names"),
    ):
        value = getattr(exporter, attribute)
        if not NAME.match(value):
            raise _fail(
                exporter,
                f"{attribute} {value!r} is not a lowercase word (pattern {NAME.pattern}); "
                f"it appears in {use}",
            )
        if value in RESERVED[attribute]:
            raise _fail(exporter, f"{attribute} {value!r} is the API's own JSON; pick another")
    check_media_type(exporter)
    if hasattr(exporter, "version") and not isinstance(exporter.version, str):
        raise _fail(
            exporter,
            f"version must be a str (it goes into the ETag), not {type(exporter.version).__name__}",
        )
    for optional in ("export_dataset", "documents"):
        member = getattr(exporter, optional, None)
        if member is not None and not callable(member):
            raise _fail(exporter, f"{optional} must be a method, not {type(member).__name__}")


def _chunks(exporter: Any, produce: Callable[[], Any], what: str) -> Generator[Chunk]:
    """The chunks ``produce()`` returns, each checked; the exporter's errors become ours."""
    try:
        result = produce()
    except ConformanceError:
        raise
    except Exception as exc:
        raise _fail(exporter, f"{what} raised {type(exc).__name__}: {exc}") from exc
    if result is None or isinstance(result, str | bytes | bytearray):
        raise _fail(
            exporter,
            f"{what} returned a {type(result).__name__}; it must return an iterable of "
            "chunks (e.g. be a generator that yields str or bytes)",
        )
    try:
        iterator = iter(result)
    except TypeError:
        raise _fail(
            exporter, f"{what} returned a {type(result).__name__}, which is not iterable"
        ) from None
    try:
        while True:
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            except ConformanceError:
                raise
            except Exception as exc:
                raise _fail(exporter, f"{what} raised {type(exc).__name__}: {exc}") from exc
            if not isinstance(chunk, str | bytes):
                raise _fail(
                    exporter,
                    f"{what} yielded {chunk!r:.60}, of type {type(chunk).__name__}; "
                    "every chunk must be str or bytes",
                )
            if isinstance(chunk, str):
                try:
                    chunk.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise _fail(
                        exporter, f"{what} yielded a str that is not valid UTF-8: {exc}"
                    ) from None
            yield chunk
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            close()


def _export(exporter: Any, collection: Collection, what: str) -> Generator[Chunk]:
    return _chunks(exporter, lambda: exporter.export(collection), f"export of {what}")


def _encode(chunk: Chunk) -> bytes:
    return chunk.encode("utf-8") if isinstance(chunk, str) else chunk


def _joined(exporter: Any, collection: Collection, what: str) -> bytes:
    return b"".join(_encode(chunk) for chunk in _export(exporter, collection, what))


def _sample_factory(name: str) -> CollectionFactory:
    return lambda n: sample_collection(name, n=n)


def _factories(collection_factory: CollectionFactory | None) -> list[tuple[str, CollectionFactory]]:
    """(origin, factory) pairs: the given factory, or one per sample collection."""
    if collection_factory is not None:
        return [("the factory's", collection_factory)]
    return [("the sample", _sample_factory(name)) for name in SAMPLE_COLLECTIONS]


def _described(origin: str, name: str, n: int) -> str:
    return f"{origin} {name} collection ({n} records)"


class _CountingRecords:
    """A collection's records, counting pulls and refusing those beyond ``limit``."""

    def __init__(self, records: Iterator[Record], limit: int | None = None) -> None:
        self.records = records
        self.limit = limit
        self.pulls = 0
        self.overdrawn = False

    def __iter__(self) -> _CountingRecords:
        return self

    def __next__(self) -> Record:
        if self.limit is not None and self.pulls >= self.limit:
            self.overdrawn = True
            raise ConformanceError(f"more than {self.limit} records were read")
        record = next(self.records)
        self.pulls += 1
        return record


def check_chunk_types(
    exporter: Any, collection_factory: CollectionFactory | None = None, *, n: int = SAMPLE_SIZE
) -> None:
    """``export`` returns an iterable (not a ``str``) of ``str``/``bytes`` chunks only."""
    for what, factory in _factories(collection_factory):
        collection = factory(n)
        for _ in _export(exporter, collection, _described(what, collection.name, n)):
            pass


def check_reads_every_record(
    exporter: Any, collection_factory: CollectionFactory | None = None, *, n: int = SAMPLE_SIZE
) -> None:
    """A complete export reads ``collection.records`` to the end."""
    for what, factory in _factories(collection_factory):
        collection = factory(n)
        counter = _CountingRecords(collection.records)
        described = _described(what, collection.name, n)
        for _ in _export(exporter, dataclasses.replace(collection, records=counter), described):
            pass
        unread = sum(1 for _ in collection.records)
        if unread:
            raise _fail(
                exporter,
                f"export of {described} finished after reading {counter.pulls} records, "
                f"leaving {unread} unread; it must export every record",
            )


def check_empty(exporter: Any, collection_factory: CollectionFactory | None = None) -> None:
    """An empty collection exports without error (to a header only, or to nothing)."""
    for what, factory in _factories(collection_factory):
        collection = factory(0)
        described = f"an empty collection ({_described(what, collection.name, 0)})"
        first = _joined(exporter, collection, described)
        second = _joined(exporter, factory(0), described)
        if first != second:
            raise _differ(exporter, described, first, second)


def check_streaming(
    exporter: Any,
    collection_factory: CollectionFactory | None = None,
    *,
    length: int = LONG_COLLECTION,
    max_pulls: int = MAX_PULLS,
) -> None:
    """``export`` writes as it reads: output follows the first record within ``max_pulls``.

    The collection has ``length`` records; reading more than ``max_pulls`` of
    them before yielding a chunk (after the first record read) fails at once,
    so the check stays fast. Chunks that precede any read (a header) are fine.
    """
    for what, factory in _factories(collection_factory):
        collection = factory(length)
        counter = _CountingRecords(collection.records, limit=max_pulls)
        described = _described(what, collection.name, length)
        chunks = _export(exporter, dataclasses.replace(collection, records=counter), described)
        try:
            for _ in chunks:
                if counter.pulls:
                    break
            else:
                raise _fail(
                    exporter,
                    f"export of {described} ended after reading only {counter.pulls} records; "
                    "it must export every record",
                )
        except Exception as exc:
            if not counter.overdrawn:
                raise
            raise _fail(
                exporter,
                f"export of {described} pulled more than {max_pulls} records before its first "
                "chunk; it must read collection.records lazily and yield as it goes (per record "
                "or per small batch), never collect the whole collection first",
            ) from exc
        finally:
            chunks.close()


def _reordered(value: Any) -> Any:
    """``value`` with every dict's keys in reverse order: equal, but ordered differently."""
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(value)}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


@contextmanager
def _time_zone(zone: str) -> Iterator[None]:
    if not hasattr(time, "tzset"):  # pragma: no cover - Windows has no tzset
        yield
        return
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _difference(first: bytes, second: bytes) -> str:
    at = next(
        (k for k, (a, b) in enumerate(zip(first, second, strict=False)) if a != b),
        min(len(first), len(second)),
    )
    start = max(0, at - 30)

    def excerpt(data: bytes) -> str:
        return repr(data[start : at + 30].decode("utf-8", "replace"))

    return f"at byte {at}: {excerpt(first)} versus {excerpt(second)}"


def _differ(exporter: Any, described: str, first: bytes, second: bytes) -> ConformanceError:
    return _fail(
        exporter,
        f"two exports of {described} differ {_difference(first, second)}; the output must "
        "depend only on the records and dataset.base_url, never on the clock, a counter, "
        "random numbers or set iteration order",
    )


def check_determinism(
    exporter: Any, collection_factory: CollectionFactory | None = None, *, n: int = SAMPLE_SIZE
) -> None:
    """Equal collections export to identical bytes, whatever the clock, key order or time zone."""
    for what, factory in _factories(collection_factory):
        described = _described(what, factory(0).name, n)
        first = _joined(exporter, factory(n), described)
        second = _joined(exporter, factory(n), described)
        if first != second:
            raise _differ(exporter, described, first, second)
        collection = factory(n)
        reordered = dataclasses.replace(
            collection, records=(_reordered(record) for record in collection.records)
        )
        shuffled = _joined(exporter, reordered, f"{described} with reordered keys")
        if first != shuffled:
            raise _fail(
                exporter,
                f"export of {described} changes when the records' keys come in another "
                f"order {_difference(first, shuffled)}; follow collection.fields or sort keys "
                "(json.dumps(..., sort_keys=True)) instead of the dicts' order",
            )
        for zone in TIME_ZONES:
            with _time_zone(zone):
                zoned = _joined(exporter, factory(n), f"{described} under TZ={zone}")
            if first != zoned:
                raise _fail(
                    exporter,
                    f"export of {described} changes with the local time zone (TZ={zone}) "
                    f"{_difference(first, zoned)}; it must not write the time or the date",
                )


def _file_name_problem(name: Any) -> str | None:
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not a str"
    if not name or name.strip() != name:
        return "is empty or has surrounding white space"
    if any(character in name for character in "/\\\x00"):
        return "contains a path separator or NUL; it must be a plain file name"
    if ".." in name:
        return "contains '..'"
    return None


def _dataset_files(exporter: Any, dataset: Dataset, what: str) -> list[tuple[str, bytes]]:
    pairs = _pairs(exporter, lambda: exporter.export_dataset(dataset), f"export_dataset of {what}")
    files: list[tuple[str, bytes]] = []
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise _fail(
                exporter,
                f"export_dataset of {what} yielded {pair!r:.60}, not a (file_name, chunks) pair",
            )
        name, chunks = pair
        problem = _file_name_problem(name)
        if problem:
            raise _fail(exporter, f"export_dataset of {what}: file name {name!r} {problem}")
        if name in dict(files):
            raise _fail(exporter, f"export_dataset of {what} yielded the file {name!r} twice")
        content = b"".join(
            _encode(chunk) for chunk in _chunks(exporter, _given(chunks), f"the file {name!r}")
        )
        files.append((name, content))
    return files


def _given(value: Any) -> Callable[[], Any]:
    return lambda: value


def _pairs(exporter: Any, produce: Callable[[], Any], what: str) -> Iterator[Any]:
    try:
        result = produce()
        iterator = iter(result)
    except Exception as exc:
        raise _fail(exporter, f"{what} raised {type(exc).__name__}: {exc}") from exc
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except ConformanceError:
            raise
        except Exception as exc:
            raise _fail(exporter, f"{what} raised {type(exc).__name__}: {exc}") from exc
        yield item


def check_dataset(
    exporter: Any, dataset_factory: DatasetFactory | None = None, *, n: int = 4
) -> None:
    """``export_dataset`` yields uniquely and plainly named files of chunks, deterministically.

    ``dataset_factory`` (``n -> Dataset``, default ``sample_dataset``) must
    give equal datasets for equal ``n``; ``n=0`` must give an empty one.
    """
    if not callable(getattr(exporter, "export_dataset", None)):
        raise _fail(exporter, "has no export_dataset(dataset) method to check")
    factory = dataset_factory or sample_dataset
    first = _dataset_files(exporter, factory(n), f"a dataset of {n} records per collection")
    second = _dataset_files(exporter, factory(n), f"a dataset of {n} records per collection")
    if [name for name, _ in first] != [name for name, _ in second]:
        raise _fail(
            exporter,
            "two snapshots of the same dataset have different files: "
            f"{[name for name, _ in first]} versus {[name for name, _ in second]}",
        )
    for (name, content), (_, again) in zip(first, second, strict=True):
        if content != again:
            raise _fail(
                exporter,
                f"two snapshots of the same dataset differ in {name!r} "
                f"{_difference(content, again)}; the output must depend only on the data",
            )
    _dataset_files(exporter, factory(0), "an empty dataset")


def _document_problem(path: Any) -> str | None:
    if not isinstance(path, str):
        return f"is a {type(path).__name__}, not a str"
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return "must be a relative path with '/' separators (served under /v1/)"
    segments = path.split("/")
    if any(segment in {"", ".", ".."} for segment in segments):
        return "has an empty, '.' or '..' segment"
    stem = segments[0].split(".")[0]
    if stem in SAMPLE_COLLECTIONS:
        return f"would shadow /v1/{stem}, a collection"
    return None


def _documents(exporter: Any) -> list[tuple[str, str, bytes]]:
    found: list[tuple[str, str, bytes]] = []
    for item in _pairs(exporter, exporter.documents, "documents()"):
        if not isinstance(item, tuple) or len(item) != 3:
            raise _fail(
                exporter, f"documents() yielded {item!r:.60}, not a (path, media_type, bytes) tuple"
            )
        path, media_type, content = item
        problem = _document_problem(path)
        if problem:
            raise _fail(exporter, f"documents(): the path {path!r} {problem}")
        if any(path == other for other, _, _ in found):
            raise _fail(exporter, f"documents() yielded the path {path!r} twice")
        essence = media_type.split(";")[0].strip() if isinstance(media_type, str) else None
        if essence is None or not MEDIA_TYPE.match(essence):
            raise _fail(
                exporter,
                f"documents(): the media type {media_type!r} of {path!r} is not type/subtype",
            )
        if not isinstance(content, bytes):
            raise _fail(
                exporter,
                f"documents(): the content of {path!r} is a {type(content).__name__}, not bytes",
            )
        found.append((path, media_type, content))
    return found


def check_documents(exporter: Any) -> None:
    """``documents()`` yields ``(relative path, media type, bytes)``, unique and deterministic."""
    if not callable(getattr(exporter, "documents", None)):
        raise _fail(exporter, "has no documents() method to check")
    first = _documents(exporter)
    if first != _documents(exporter):
        raise _fail(exporter, "two calls of documents() give different documents")


def check_parts(
    exporter: Any, collection_factory: CollectionFactory | None = None, *, n: int = SAMPLE_SIZE
) -> None:
    """``export_parts(collection)`` gives ``RecordParts`` whose head, records and tail
    are exactly what ``export`` writes, each record's chunk the same whichever records
    surround it (an empty collection included)."""
    from exporters import RecordParts

    if not callable(getattr(exporter, "export_parts", None)):
        raise _fail(exporter, "has no export_parts(collection) method to check")
    for what, factory in _factories(collection_factory):
        for size in (0, n):
            described = _described(what, factory(0).name, size)
            whole = _joined(exporter, factory(size), described)
            parts = exporter.export_parts(factory(size))
            if not isinstance(parts, RecordParts):
                raise _fail(
                    exporter,
                    f"export_parts of {described} gave {type(parts).__name__}, not RecordParts",
                )
            records = list(factory(size).records)
            chunks = [parts.head, *(parts.record(r) for r in records), parts.tail]
            for chunk in chunks:
                if not isinstance(chunk, str | bytes):
                    raise _fail(
                        exporter,
                        f"export_parts of {described} made a {type(chunk).__name__} part, "
                        "not str or bytes",
                    )
            cut = b"".join(_encode(chunk) for chunk in chunks)
            if cut != whole:
                raise _fail(
                    exporter,
                    f"export_parts of {described} does not add up to export "
                    f"{_difference(whole, cut)}; head + record(r) for each record + tail "
                    "must be exactly the bytes export writes",
                )
            # A record's chunk is reused in any export that includes it: alone, too.
            for record in records[:3]:
                alone = exporter.export_parts(factory(1)).record(record)
                if _encode(alone) != _encode(parts.record(record)):
                    raise _fail(
                        exporter,
                        f"export_parts of {described}: record {record.get('id')!r} gives "
                        "another chunk in another collection; a record's chunk must "
                        "depend on that record alone",
                    )


def check_exporter(
    exporter: Any,
    collection_factory: CollectionFactory | None = None,
    *,
    dataset_factory: DatasetFactory | None = None,
) -> None:
    """Every check, in order; raises ``ConformanceError`` on the first problem."""
    check_attributes(exporter)
    check_chunk_types(exporter, collection_factory)
    check_reads_every_record(exporter, collection_factory)
    check_empty(exporter, collection_factory)
    check_streaming(exporter, collection_factory)
    check_determinism(exporter, collection_factory)
    if getattr(exporter, "export_dataset", None) is not None:
        check_dataset(exporter, dataset_factory)
    if getattr(exporter, "documents", None) is not None:
        check_documents(exporter)
    if getattr(exporter, "export_parts", None) is not None:
        check_parts(exporter, collection_factory)


__all__ = [
    "LONG_COLLECTION",
    "MAX_PULLS",
    "SAMPLE_COLLECTIONS",
    "SAMPLE_SIZE",
    "CollectionFactory",
    "ConformanceError",
    "DatasetFactory",
    "check_attributes",
    "check_chunk_types",
    "check_dataset",
    "check_determinism",
    "check_documents",
    "check_empty",
    "check_exporter",
    "check_media_type",
    "check_parts",
    "check_reads_every_record",
    "check_streaming",
    "export_bytes",
    "sample_collection",
    "sample_dataset",
    "sample_fields",
    "sample_info",
    "sample_records",
]
