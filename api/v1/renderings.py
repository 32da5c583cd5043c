"""Renderings: each record's chunk of an export, kept in the database until it changes.

An exporter that offers ``export_parts`` (``exporters.RecordParts``: a head, one
chunk per record, a tail) lets an export of unchanged records skip every step
between the database and the bytes: reading the canonical form, dumping the v1
record and formatting it. Its chunks are kept in the ``renderings`` table, one
per record and *variant*, and an export reads them with the rows' keys.

A rendering is used only while it still says what the exporter would write:

- its ``revision`` is the record's current one (every write makes a new one);
- its ``context`` names the record's current owners (a delegation's talk, which
  changes when the talk's list does, without a revision of the delegation);
- its ``variant`` is a hash of all else the chunk depends on: the API version,
  the base URL, the collection and its fields, the exporter (name, version,
  plugin) and the source of the exporter's module and of the modules that shape a
  v1 record. New code or a new ``PARLEY_BASE_URL`` is a new variant.

So nothing ever needs deleting to stay correct: a write, a move or an upgrade
leaves the old rendering unused, and the next export that renders the record
replaces it. Renderings of variants this code can no longer make (after an
upgrade, or of another base URL) are deleted when ``parley serve`` starts
(``prune``), so that they do not pile up release after release.

Renderings are filled as exports read: the chunks an export had to render are
stored batch by batch in a short transaction of their own, on another
connection, so that the export's own transaction stays a read of one snapshot.
Each is stored only if that connection sees the revision it was made from as
committed (a rendering of a transaction that is later rolled back is never
kept), and a batch that cannot have the write lock at once is skipped: it is a
cache, and the next export stores it.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, bindparam, delete, select, true
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api import db, models
from api.records import _exclusive_owners
from api.resources import Resource, owner_links
from api.v1 import data
from api.v1.catalog import COLLECTIONS
from api.v1.data import PageQuery, SortKey
from api.v1.negotiation import as_bytes
from api.v1.schemas import VERSION, Urls, dump, field_names
from exporters import Collection, DatasetInfo, RecordParts
from exporters.manager import Registered, Registry

log = logging.getLogger(__name__)

BATCH = 1000
# The modules whose code decides a v1 record: a change to any makes a new variant.
RECORD_MODULES = (
    "api.resources",
    "api.records",
    "api.v1.schemas",
    "api.v1.dumpers",
    "api.v1.renderings",
)
# How long a batch's store waits for SQLite's write lock before it is skipped.
STORE_WAIT_MS = 20


def _source(module_name: str) -> bytes | None:
    try:
        # Imported here if need be: what was imported so far must not decide the hash.
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    file = getattr(module, "__file__", None)
    if file is None:
        return None
    try:
        return Path(file).read_bytes()
    except OSError:
        return None


@cache
def _code_digest(module_names: tuple[str, ...]) -> str | None:
    """A hash of the source of ``module_names``; None when one cannot be read."""
    digest = hashlib.sha256()
    for name in module_names:
        source = _source(name)
        if source is None:
            return None
        digest.update(name.encode() + b"\0" + source + b"\0")
    return digest.hexdigest()


def variant(registered: Registered, collection: Collection) -> str | None:
    """The variant of ``collection``'s renderings by ``registered``; None when its code
    cannot be told apart from another version's (its source cannot be read)."""
    exporter = registered.exporter
    code = _code_digest((*RECORD_MODULES, type(exporter).__module__))
    if code is None:
        return None
    described = "\0".join(
        (
            VERSION,
            collection.dataset.base_url,
            collection.name,
            ",".join(collection.fields),
            exporter.name,
            registered.version,
            registered.plugin,
            registered.distribution or "",
            code,
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()[:32]


def current_variants(registry: Registry, base_url: str) -> set[str]:
    """The variants of every collection and exporter with parts, as this code and
    ``base_url`` make them."""
    info = DatasetInfo(name=None, version=None, base_url=base_url, data_revision=0)
    found: set[str] = set()
    for registered in registry.exporters.values():
        if getattr(registered.exporter, "export_parts", None) is None:
            continue
        for name, listed in COLLECTIONS.items():
            collection = Collection(name, field_names(listed.resource), iter(()), info)
            key = variant(registered, collection)
            if key is not None:
                found.add(key)
    return found


def prune(engine: Engine, keep: set[str]) -> int:
    """Delete the renderings of every variant but ``keep`` (older code, another base
    URL, an exporter gone): they can never be used again by this code. The number
    deleted."""
    with engine.begin() as connection:
        statement = delete(models.Rendering)
        if keep:
            statement = statement.where(models.Rendering.variant.not_in(sorted(keep)))
        return int(connection.execute(statement).rowcount or 0)


def _parts(registered: Registered, collection: Collection) -> RecordParts:
    parts = registered.exporter.export_parts(collection)  # type: ignore[attr-defined]
    if not isinstance(parts, RecordParts):
        raise TypeError(f"export_parts gave {type(parts).__name__}, not RecordParts")
    return parts


@cache
def _keyed(sort_fields: tuple[str, ...]) -> data.Columns:
    """What an export reads of each row: its keys, the sort's values and its rendering
    of the bound variant, if any."""

    def columns(resource: Resource, dialect: str) -> Select[Any]:
        table = resource.table
        rendering = models.Rendering.__table__
        matching = (
            rendering.c.resource == resource.name,
            rendering.c.record_id == table.c.id,
            rendering.c.variant == bindparam("variant"),
        )
        wanted = dict.fromkeys(("id", "revision", *sort_fields))
        selected = (rendering.c.revision, rendering.c.context, rendering.c.body)
        if dialect == "postgresql":
            # A lookup per row, so that the planner cannot scan the renderings table
            # once per row instead: its statistics lag behind a first export that is
            # filling it (seen: an estimate of 4 rows for 100,000, and 118 rows/s).
            # The LIMIT (the key is unique anyway) keeps the subquery from being
            # pulled up into a plain join.
            found = select(*selected).where(*matching).limit(1).lateral("rendered")
            source = table.outerjoin(found, true())
            selected = (found.c.revision, found.c.context, found.c.body)
        else:
            source = table.outerjoin(rendering, and_(*matching))
        revision, context, body = selected
        return select(
            *(table.c[name] for name in wanted),
            revision.label("rendered_revision"),
            context.label("rendered_context"),
            body.label("rendered_body"),
        ).select_from(source)

    return columns


def _contexts(session: Session, resource: Resource, ids: list[str]) -> dict[str, str]:
    """Each record's owners, as its renderings' context ('' for a resource without)."""
    if not owner_links(resource):
        return {}
    owners = _exclusive_owners(session, resource, ids)
    return {
        record_id: ";".join(
            f"{name}={owner_of.get(record_id) or ''}" for name, owner_of in owners.items()
        )
        for record_id in ids
    }


def export_chunks(
    session: Session,
    engine: Engine,
    registered: Registered,
    collection: Collection,
    urls: Urls,
    *,
    sort: tuple[SortKey, ...] = (),
    id_descending: bool = False,
    conditions: tuple[Any, ...] = (),
) -> Iterator[bytes] | None:
    """``registered``'s export of ``collection`` from renderings, storing those it
    had to make; None when the exporter has no parts or no variant."""
    if getattr(registered.exporter, "export_parts", None) is None:
        return None
    key = variant(registered, collection)
    if key is None:
        return None
    return _chunks(
        session, engine, registered, collection, urls, key, sort, id_descending, conditions
    )


def _chunks(
    session: Session,
    engine: Engine,
    registered: Registered,
    collection: Collection,
    urls: Urls,
    key: str,
    sort: tuple[SortKey, ...],
    id_descending: bool,
    conditions: tuple[Any, ...],
) -> Iterator[bytes]:
    parts = _parts(registered, collection)
    resource = COLLECTIONS[collection.name].resource
    columns = _keyed(tuple(k.field for k in sort))
    yield as_bytes(parts.head)
    storing = True
    after: tuple[Any, ...] | None = None
    while True:
        query = PageQuery(conditions, sort, BATCH, id_descending, after)
        rows = data.page_rows(session, resource, query, columns, key="rendered", variant=key)
        more = len(rows) > BATCH
        rows = rows[:BATCH]
        if not rows:
            break
        ids = [row["id"] for row in rows]
        contexts = _contexts(session, resource, ids)
        bodies: list[bytes | None] = []
        missing: list[str] = []
        for row in rows:
            context = contexts.get(row["id"], "")
            if row["rendered_revision"] == row["revision"] and row["rendered_context"] == context:
                bodies.append(row["rendered_body"])
            else:
                bodies.append(None)
                missing.append(row["id"])
        if missing:
            made = _render(session, resource, missing, parts, urls)
            if storing:
                revisions = {row["id"]: row["revision"] for row in rows}
                storing = _store(
                    engine,
                    [
                        {
                            "resource": resource.name,
                            "record_id": record_id,
                            "variant": key,
                            "revision": revisions[record_id],
                            "context": contexts.get(record_id, ""),
                            "body": body,
                        }
                        for record_id, body in made.items()
                    ],
                )
            bodies = [made[i] if b is None else b for i, b in zip(ids, bodies, strict=True)]
        yield b"".join(b for b in bodies if b is not None)
        if not more:
            break
        last = rows[-1]
        after = (*(last[k.field] for k in sort), last["id"])
    if parts.tail:
        yield as_bytes(parts.tail)


def _render(
    session: Session, resource: Resource, ids: list[str], parts: RecordParts, urls: Urls
) -> dict[str, bytes]:
    records = data.fetch_records(session, resource, ids)
    made = {}
    for record in dump(resource, records, urls):
        chunk = parts.record(record)
        made[record["id"]] = as_bytes(chunk)
    return made


@contextmanager
def _short_wait(connection: Connection) -> Iterator[None]:
    """SQLite's busy timeout cut to ``STORE_WAIT_MS`` while ``connection`` stores."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA busy_timeout={STORE_WAIT_MS}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout={db.SQLITE_BUSY_TIMEOUT_MS}")


def _upsert(dialect: str) -> Any:
    """Insert or replace a rendering, if its revision is committed (seen from here)."""
    rendering = models.Rendering.__table__
    revision = models.Revision.__table__
    names = ("resource", "record_id", "variant", "revision", "context", "body")
    values = select(
        *(bindparam(name, type_=rendering.c[name].type).label(name) for name in names)
    ).where(
        revision.c.resource == bindparam("resource"),
        revision.c.record_id == bindparam("record_id"),
        revision.c.revision == bindparam("revision"),
    )
    if dialect == "postgresql":
        pg = postgresql.insert(models.Rendering).from_select(list(names), values)
        return pg.on_conflict_do_update(
            index_elements=["resource", "record_id", "variant"],
            set_={name: pg.excluded[name] for name in ("revision", "context", "body")},
        )
    lite = sqlite.insert(models.Rendering).from_select(list(names), values)
    return lite.on_conflict_do_update(
        index_elements=["resource", "record_id", "variant"],
        set_={name: lite.excluded[name] for name in ("revision", "context", "body")},
    )


def _store(engine: Engine, rows: Sequence[dict[str, Any]]) -> bool:
    """Store ``rows``; False when the database would not take them (then stop trying)."""
    if not rows:
        return True
    try:
        with engine.connect() as connection:
            writer = connection.execution_options(**{db.WRITE_OPTION: True})
            with _short_wait(writer), writer.begin():
                writer.execute(_upsert(engine.dialect.name), list(rows))
    except sa_exc.DBAPIError as exc:
        log.info("renderings not stored: %s", type(exc.orig or exc).__name__)
        return False
    return True
