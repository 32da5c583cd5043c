"""Newline-delimited JSON (https://github.com/ndjson/ndjson-spec) for Parley.

One line per record: the v1 JSON record with sorted keys and non-ASCII text
as is, then ``\\n``. An empty collection is an empty file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from exporters import Collection, Record, RecordParts, hookimpl


class NdjsonExporter:
    name = "ndjson"
    media_type = "application/x-ndjson"
    extension = "ndjson"
    # Part of the ETag: bump it whenever the same records would give other bytes.
    version = "1"

    def export(self, collection: Collection) -> Iterator[str]:
        # Read the records as they come: never the whole collection at once.
        for record in collection.records:
            yield self.line(record)

    def export_parts(self, collection: Collection) -> RecordParts:
        # Each line depends on its record alone: Parley may keep it until the record changes.
        return RecordParts(head="", record=self.line, tail="")

    @staticmethod
    def line(record: Record) -> str:
        return json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"


@hookimpl
def parley_register_exporters() -> list[NdjsonExporter]:
    return [NdjsonExporter()]
