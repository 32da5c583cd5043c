"""Parley's exporter plugins: the contract an exporter implements.

A plugin module implements one hook, ``parley_register_exporters``, returning
exporter objects. Parley's own formats are plugins of exactly this kind.

An exporter has three attributes and one method:

- ``name``: used in ``?format=``, the CLI's ``--format`` and file names;
- ``media_type``: used for ``Accept`` negotiation and ``Content-Type``;
- ``extension``: used for ``/v1/talks.<extension>`` and snapshot file names;
- ``export(collection)``: yields ``str`` or ``bytes`` chunks of one collection,
  reading ``collection.records`` as it goes (never the whole collection at once).

Optional members (new ones may be added, none removed): ``version`` (part of
the ETag), ``export_dataset(dataset)`` yielding ``(file_name, chunks)`` pairs
for a whole-dataset snapshot, and ``documents()`` yielding
``(path, media_type, bytes)`` of static documents the format needs, which the
API serves under ``/v1/``.

One more optional member, ``export_parts(collection)``, is for formats whose
output is a head, then one chunk per record that depends on that record alone,
then a tail (a CSV row per record, a line of NDJSON). It returns
``RecordParts``; ``head``, then ``record(r)`` for each record, then ``tail``
(``str`` or ``bytes`` each, as chunks are) must be exactly what ``export``
writes (the conformance kit checks it). Parley then keeps each record's chunk in
the database and reuses it until the record changes (``api.v1.renderings``), so
that exporting unchanged records costs no serialization at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pluggy

PROJECT_NAME = "parley"
ENTRY_POINT_GROUP = "parley.exporters"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Chunk = str | bytes
Record = dict[str, Any]


@dataclass(frozen=True)
class DatasetInfo:
    """What every output says about the data it came from."""

    name: str | None
    version: str | None
    base_url: str
    data_revision: int
    # The source documents, as v1 records (an exporter cites them).
    sources: tuple[Record, ...] = ()


@dataclass(frozen=True)
class Collection:
    """One collection to export: its name, its ordered fields and a stream of records."""

    name: str
    fields: tuple[str, ...]
    records: Iterator[Record]
    dataset: DatasetInfo


@dataclass(frozen=True)
class Dataset:
    """Every collection, each opened afresh (a new record stream) on request."""

    info: DatasetInfo
    names: tuple[str, ...]
    opener: Callable[[str], Collection] = field(repr=False)

    def collection(self, name: str) -> Collection:
        return self.opener(name)

    def collections(self) -> Iterator[Collection]:
        for name in self.names:
            yield self.opener(name)


@dataclass(frozen=True)
class RecordParts:
    """An export cut into parts: ``head``, ``record(r)`` for each record, ``tail``.

    ``record`` must depend on its record alone (never on the others, their order or
    their number), since Parley reuses a record's chunk in any export that includes it.
    """

    head: Chunk
    record: Callable[[Record], Chunk]
    tail: Chunk = b""


@runtime_checkable
class Exporter(Protocol):
    name: str
    media_type: str
    extension: str

    def export(self, collection: Collection) -> Iterable[Chunk]: ...


__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "Chunk",
    "Collection",
    "Dataset",
    "DatasetInfo",
    "Exporter",
    "Record",
    "RecordParts",
    "hookimpl",
    "hookspec",
]
