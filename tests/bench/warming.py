"""The records the loads read, read into the page cache before a server is loaded.

A server that has run for a while reads its hot records from memory; one
started on a database the kernel has not cached (just built, or dropped from
the cache since: this kind of machine gives page cache back within minutes)
waits on the disk for every record it has not read yet. With ids drawn at
random from a million talks, each request reads pages that no earlier one
read, so a few seconds of warm-up warm nothing, and the figures then measure
the disk, differently from run to run as the cache happens to be. So right
before each server's item load every server meets the same warm records: the
talks (the table and its id index) and each talk's current revision (which
holds its canonical form), read in one pass each. Not the whole file: most of a
1,000,000-talk database is other records and history, and reading 12.6 GB took
from 6 to over 100 s here as the disk allowed.

On PostgreSQL the same relations (tables and their indexes) are read with
``pg_prewarm`` in mode ``read``, into the kernel's cache as for SQLite.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, text

from tests.bench.data import Database

# One pass over each: the id index, the table, and the talks' stretch of the
# revisions index with the rows it points to.
SQLITE_READS = (
    "SELECT count(id) FROM talks",
    "SELECT sum(length(title) + length(coalesce(notes, ''))) FROM talks",
    "SELECT sum(length(data)) FROM revisions WHERE resource = 'talks'",
)
WARMED_TABLES = ("talks", "revisions")


@dataclass(frozen=True)
class Warmup:
    how: str
    seconds: float

    def describe(self) -> dict[str, object]:
        return {"how": self.how, "seconds": round(self.seconds, 2)}


def warm(database: Database) -> Warmup:
    """Read the records the loads ask for into the page cache; how, and how long."""
    started = time.perf_counter()
    if database.path is not None:
        connection = sqlite3.connect(f"file:{database.path}?mode=ro", uri=True)
        try:
            for statement in SQLITE_READS:
                connection.execute(statement).fetchall()
        finally:
            connection.close()
        how = "; ".join(SQLITE_READS)
    else:
        names = _prewarm_postgresql(database.url)
        how = f"pg_prewarm (read) of {', '.join(names)}"
    return Warmup(how, time.perf_counter() - started)


def _prewarm_postgresql(url: str) -> list[str]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            relations = text(
                "SELECT c.oid::regclass::text FROM pg_class c"
                " LEFT JOIN pg_index i ON i.indexrelid = c.oid"
                " WHERE c.oid = ANY(CAST(:tables AS regclass[]))"
                " OR i.indrelid = ANY(CAST(:tables AS regclass[]))"
                " ORDER BY 1"
            )
            names = list(connection.scalars(relations, {"tables": list(WARMED_TABLES)}))
            for name in names:
                connection.execute(text("SELECT pg_prewarm(:name, 'read')"), {"name": name})
            return names
    finally:
        engine.dispose()
