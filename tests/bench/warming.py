"""The database read into the operating system's page cache before a server is loaded.

A server that has run for a while reads its database from memory; one started
on a database the kernel has not cached (just built, or dropped from the cache
since) waits on the disk for every record it has not read yet. With ids drawn
at random from a million talks, each request reads pages that no earlier one
read, so a few seconds of warm-up warm nothing, and the figures then measure
the disk, differently from run to run as the cache happens to be. So before
each server's loads every server meets the same warm database: the SQLite file
is read through once (the kernel keeps it while memory allows; the bench's
databases are a fraction of this kind of machine's memory), and on PostgreSQL
every table and index of the database is read with ``pg_prewarm`` (mode
``read``: into the kernel's cache, as the file read does for SQLite).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.bench.data import Database

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Warmup:
    how: str
    bytes: int
    seconds: float

    def describe(self) -> dict[str, object]:
        return {"how": self.how, "bytes": self.bytes, "seconds": round(self.seconds, 2)}


def warm(database: Database) -> Warmup:
    """Read ``database`` into the page cache; what was read and how long it took."""
    started = time.perf_counter()
    if database.path is not None:
        read = sum(_read_through(path) for path in _sqlite_files(database.path))
        how = "file read through"
    else:
        read = _prewarm_postgresql(database.url)
        how = "pg_prewarm (read) of every table and index"
    return Warmup(how, read, time.perf_counter() - started)


def _sqlite_files(path: Path) -> list[Path]:
    """The database file and its write-ahead log, when there is one."""
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]


def _read_through(path: Path) -> int:
    """Read ``path`` into the page cache: spliced to the null device by the kernel
    (about twice as fast as reading it into Python, and no memory of ours), or read
    into one buffer where ``sendfile`` cannot write there."""
    with path.open("rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        try:
            return _spliced_to_null(handle.fileno(), size)
        except OSError:
            handle.seek(0)
            buffer = memoryview(bytearray(CHUNK))
            read = 0
            while count := handle.readinto(buffer):
                read += count
            return read


def _spliced_to_null(descriptor: int, size: int) -> int:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        sent = 0
        while sent < size:
            count = os.sendfile(null, descriptor, sent, min(size - sent, 1 << 30))
            if count == 0:
                break
            sent += count
        return sent
    finally:
        os.close(null)


def _prewarm_postgresql(url: str) -> int:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            relations = text(
                "SELECT c.oid::regclass::text AS name, pg_relation_size(c.oid) AS size"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')"
            )
            read = 0
            for name, size in connection.execute(relations).all():
                connection.execute(text("SELECT pg_prewarm(:name, 'read')"), {"name": name})
                read += int(size)
            return read
    finally:
        engine.dispose()
