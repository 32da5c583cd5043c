"""The table counts Datasette takes at startup, counted once when a database is built.

Datasette counts every table of an immutable file before it serves the first
request. Of a 1,000,000-talk database that is gigabytes of reads, minutes from
a cold disk, on every start. Its documented answer for large immutable files is
an inspect file (``datasette inspect``, then ``datasette serve --inspect-file``)
holding the counts; the bench writes the same file right after the build and
starts Datasette with it.

Counting walks every table's smallest index, in the order of its keys, which on
a cold disk is a random read per page: the 8,000,000 revisions alone took 155 s
here, and this kind of machine gives the page cache back within minutes, so a
just-built file is not reliably cached. The file is therefore first read once
from start to end, at the disk's sequential rate, and then counted from memory.

``datasette inspect`` would also hash the whole file with SHA-256 (for the
database's ETag); the bench names the content by the key its database is built
under instead, which changes whenever the content would. The tables the bench
itself writes after the build (``renderings``, emptied and refilled by the
exports) are left out: Datasette counts a table missing from the file when a
page asks for its count, as it does without any inspect file.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SUFFIX = ".inspect.json"
# Changed by the bench's own exports after the build, so never counted ahead.
WRITTEN_BY_THE_BENCH = frozenset({"renderings"})


def path_for(database: Path) -> Path:
    """Where the inspect file of the SQLite file ``database`` lives: beside it."""
    return database.with_name(database.stem + SUFFIX)


# Large enough that the disk streams; small enough to stay out of the RSS figures.
READ_CHUNK = 16 * 1024 * 1024


def read_into_cache(path: Path) -> int:
    """Read ``path`` from start to end so the kernel caches it; the bytes read."""
    total = 0
    buffer = bytearray(READ_CHUNK)
    with path.open("rb", buffering=0) as stream:
        while read := stream.readinto(buffer):
            total += read
    return total


def count_tables(database: Path) -> dict[str, int]:
    """Every table's row count, as Datasette's startup counts them, less the bench's own."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        names = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
            if name not in WRITTEN_BY_THE_BENCH
        ]
        counts = {}
        for name in names:
            count = f'SELECT count(*) FROM "{name}"'  # noqa: S608 - a name from sqlite_master
            counts[name] = int(connection.execute(count).fetchone()[0])
        return counts
    finally:
        connection.close()


def inspect_data(database: Path, name: str, key: str) -> dict[str, Any]:
    """The document ``datasette inspect`` writes for ``database``, named ``name``."""
    return {
        name: {
            "hash": key,
            "size": database.stat().st_size,
            "file": str(database),
            "tables": {table: {"count": n} for table, n in count_tables(database).items()},
        }
    }


def write(database: Path, name: str, key: str) -> Path:
    """Count ``database``'s tables and write its inspect file; where it went."""
    read_into_cache(database)
    target = path_for(database)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(inspect_data(database, name, key), indent=2) + "\n")
    partial.replace(target)
    return target


def is_current(database: Path, name: str, key: str) -> bool:
    """Whether ``database``'s inspect file exists and was written for this build."""
    try:
        document = json.loads(path_for(database).read_text())
    except (OSError, ValueError):
        return False
    entry = document.get(name) if isinstance(document, dict) else None
    return isinstance(entry, dict) and entry.get("hash") == key
