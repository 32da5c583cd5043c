"""The databases the bench measures, built with ``parley synth`` and kept between runs.

A database is named by a key: a hash of everything that decides its content
(the generator, the models, the migrations, the fixtures and the seeds) with
the talk count and the seed. While the key is unchanged the database is reused;
any change to those files builds a new one. A build goes to a temporary name
and is renamed only once ``parley synth`` succeeded, so an interrupted build is
never taken for a finished one.

SQLite files live in the data folder; on PostgreSQL the key names a database on
the server of ``--postgres-url`` (which itself is only used to create them).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.bench import datasette_inspect
from tests.bench.options import REPO, Options
from tests.bench.tools import log

# Bump when the bench changes what it asks of a database (not when Parley changes).
LAYOUT = 1
PARLEY = Path(sys.executable).parent / "parley"
# What would point `parley` away from the database it is given.
CONFIGURATION = ("DATABASE_URL", "PARLEY_INSTANCE_PATH", "PARLEY_FIXTURES_DIR", "PARLEY_SEEDS_DIR")


def content_files(repo: Path = REPO) -> list[Path]:
    """The files whose content decides what ``parley synth`` writes."""
    synth_package = repo / "api" / "synth"
    generator = (
        sorted(synth_package.rglob("*.py")) if synth_package.is_dir() else [repo / "api/synth.py"]
    )
    files = [
        *generator,
        repo / "api" / "models.py",
        *sorted((repo / "api" / "migrations" / "versions").glob("*.py")),
        *sorted(p for p in (repo / "fixtures").rglob("*") if p.is_file()),
        *sorted(p for p in (repo / "seeds").rglob("*") if p.is_file()),
    ]
    return files


def cache_key(talks: int, seed: int, repo: Path = REPO) -> str:
    digest = hashlib.sha256(f"layout {LAYOUT}; talks {talks}; seed {seed}\n".encode())
    for path in content_files(repo):
        digest.update(str(path.relative_to(repo)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Database:
    backend: str  # sqlite | postgresql
    url: str  # SQLAlchemy URL, as DATABASE_URL takes it
    name: str  # the file stem or the PostgreSQL database name
    talks: int
    seed: int
    key: str
    path: Path | None  # the SQLite file
    built: bool  # built by this run (else reused)
    build_seconds: float | None

    @property
    def libpq_url(self) -> str:
        """The URL psql and psycopg take."""
        return make_url(self.url).set(drivername="postgresql").render_as_string(False)

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "name": self.name,
            "talks": self.talks,
            "seed": self.seed,
            "key": self.key,
            "reused": not self.built,
            "build_seconds": round(self.build_seconds, 1) if self.build_seconds else None,
        }


def parley_env(database_url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURATION}
    return env | {"DATABASE_URL": database_url, "PARLEY_INSTANCE_PATH": str(instance)}


@contextmanager
def _locked(folder: Path, talks: int, seed: int) -> Iterator[None]:
    """One build at a time of each size and seed in a data folder: two runs may start
    together, and a build removes the databases of its size built from other sources.
    Builds of different sizes go on side by side (each takes one core)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f".lock-{talks}-s{seed}").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _synth(url: str, talks: int, seed: int, options: Options) -> float:
    instance = options.data_dir / "instance"
    log(f"building {talks:,} talks (parley synth --talks {talks} --seed {seed})")
    started = time.perf_counter()
    done = subprocess.run(
        [str(PARLEY), "synth", "--talks", str(talks), "--seed", str(seed)],
        env=parley_env(url, instance),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=options.build_timeout,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"parley synth failed ({done.returncode}):\n{done.stderr[-4000:]}")
    log(f"built in {seconds:.1f} s: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def _sqlite(talks: int, seed: int, key: str, options: Options) -> Database:
    folder = options.data_dir
    stem = f"parley-{talks}-s{seed}-{key}"
    path = folder / f"{stem}.sqlite3"
    url = f"sqlite:///{path}"
    with _locked(folder, talks, seed):
        built, seconds = False, None
        if not path.is_file():
            partial = folder / f"{stem}.partial"
            for leftover in folder.glob(f"{stem}.partial*"):
                leftover.unlink()
            seconds = _synth(f"sqlite:///{partial}", talks, seed, options)
            # Fold the write-ahead log into the file: readers that open it immutable
            # (Datasette) read the file alone.
            connection = sqlite3.connect(partial)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            os.replace(partial, path)
            built = True
            for pattern in ("*.sqlite3*", f"*{datasette_inspect.SUFFIX}"):
                for stale in folder.glob(f"parley-{talks}-s{seed}-{pattern}"):
                    if not stale.name.startswith(stem):
                        log(f"removing {stale.name}, built from other sources")
                        stale.unlink()
        if not datasette_inspect.is_current(path, stem, key):
            # Counted once here, not at every start of Datasette.
            counting = time.perf_counter()
            datasette_inspect.write(path, stem, key)
            log(f"counted its tables for Datasette in {time.perf_counter() - counting:.1f} s")
    return Database("sqlite", url, stem, talks, seed, key, path, built, seconds)


def _postgresql(talks: int, seed: int, key: str, options: Options) -> Database:
    assert options.postgres_url is not None
    server = make_url(options.postgres_url)
    name = f"parley_bench_{talks}_s{seed}_{key}"
    partial = f"{name}_partial"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with _locked(options.data_dir, talks, seed), admin.connect() as connection:
            # Runs from other checkouts share the server: one build of a key at a time
            # (the lock goes with this connection).
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": int(key, 16)})
            existing = set(
                connection.scalars(
                    text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                    {"p": f"parley_bench_{talks}_s{seed}_%"},
                )
            )
            built, seconds = False, None
            if name not in existing:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{partial}"'))
                target = server.set(database=partial).render_as_string(False)
                seconds = _synth(target, talks, seed, options)
                connection.execute(text(f'ALTER DATABASE "{partial}" RENAME TO "{name}"'))
                built = True
            stale = sorted(existing - {name, partial})
            if stale:
                log(
                    "databases built from other sources (drop them when no run uses them): "
                    + ", ".join(stale)
                )
    finally:
        admin.dispose()
    url = server.set(database=name).render_as_string(False)
    return Database("postgresql", url, name, talks, seed, key, None, built, seconds)


def ensure(talks: int, options: Options) -> Database:
    """The database of ``talks`` synthetic talks, built unless kept from an earlier run."""
    key = cache_key(talks, options.seed)
    if options.postgres_url is None:
        return _sqlite(talks, options.seed, key, options)
    return _postgresql(talks, options.seed, key, options)


def ensure_all(sizes: Sequence[int], options: Options) -> list[Database]:
    """The databases of each of ``sizes`` talks, those that need building built side
    by side: a build is one process on one core, mostly computing, so two builds on
    two cores take about as long as the larger alone."""
    with ThreadPoolExecutor(max_workers=len(sizes)) as pool:
        futures = [pool.submit(ensure, talks, options) for talks in sizes]
        return [future.result() for future in futures]


def talk_rows(database: Database) -> int:
    """Rows of the talks table: every export writes one line per row."""
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(text("SELECT count(*) FROM talks")) or 0)
    finally:
        engine.dispose()


def forget_renderings(database: Database) -> None:
    """Empty the database's renderings, so that the next export renders every record."""
    engine = create_engine(database.url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM renderings"))
    finally:
        engine.dispose()


def talk_id_at(database: Database, position: int) -> str:
    """The id of the talk at ``position`` (1-based) in the API's order (ids, binary)."""
    order = 'id COLLATE "C"' if database.backend == "postgresql" else "id"
    query = (
        "SELECT id FROM talks WHERE deleted_at IS NULL "  # noqa: S608 - no value is pasted
        f"ORDER BY {order} LIMIT 1 OFFSET :offset"
    )
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            found = connection.scalar(
                text(query),
                {"offset": position - 1},
            )
    finally:
        engine.dispose()
    if not isinstance(found, str):
        raise RuntimeError(f"the database has fewer than {position} talks")
    return found
