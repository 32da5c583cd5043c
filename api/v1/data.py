"""The read side of the data layer: Core statements in, plain dicts out.

No ORM object leaves this module. A page costs a fixed number of queries
whatever its size: one for the rows, one per list-valued relation and one for
the citations (never one per record).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from api import models
from api.paths import reference
from api.prepared import STATEMENTS, dialect_of, id_list, ids_in
from api.records import Row, checked_columns, from_canonical, hydrate, with_canonical
from api.resources import (
    Resource,
    Scalar,
)

# What a page selects from a resource's table, for a dialect (``page_statement``'s
# ``columns``).
Columns = Callable[[Resource, str], Select[Any]]


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class PageQuery:
    """What one page of a collection asks for, already validated."""

    conditions: tuple[ColumnElement[bool], ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int = 50
    id_descending: bool = False
    # The sort values and id of the last row of the previous page.
    after: tuple[Any, ...] | None = None


@dataclass
class Page:
    rows: list[Row]
    # The keyset position of the last row, when more rows follow.
    next_after: tuple[Any, ...] | None
    total: int | None = None


def sort_column(resource: Resource, name: str, dialect: str) -> ColumnElement[Any]:
    column: ColumnElement[Any] = resource.table.c[name]
    spec = next((s for s in resource.fields if s.name == name), None)
    if dialect == "postgresql" and (
        name == "id" or (isinstance(spec, Scalar) and spec.type == "text")
    ):
        # Binary order on both backends: SQLite compares bytes; PostgreSQL would
        # otherwise use the database's locale.
        column = column.collate("C")
    return column


def _keyset_after(
    columns: Sequence[tuple[ColumnElement[Any], bool]],
    values: Sequence[Any],
    id_key: tuple[ColumnElement[Any], bool],
    last_id: str,
) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order (columns NULLS LAST..., id)."""
    if not columns:
        id_column, id_descending = id_key
        return id_column < last_id if id_descending else id_column > last_id
    (column, descending), rest = columns[0], columns[1:]
    value = values[0]
    tail = _keyset_after(rest, values[1:], id_key, last_id)
    if value is None:
        # NULLs sort last: only other NULLs can follow at this level.
        return and_(column.is_(None), tail)
    beyond = column < value if descending else column > value
    return or_(beyond, column.is_(None), and_(column == value, tail))


def page_statement(
    resource: Resource,
    query: PageQuery,
    dialect: str,
    *,
    limit: Any = None,
    columns: Columns | None = None,
) -> Select[Any]:
    """One page of live rows: every column of the table, or what ``columns`` selects
    (``canonical``: those and each row's canonical form)."""
    table = resource.table
    statement = select(table) if columns is None else columns(resource, dialect)
    statement = statement.where(table.c.deleted_at.is_(None), *query.conditions)
    ordered = [(sort_column(resource, key.field, dialect), key.descending) for key in query.sort]
    id_column = sort_column(resource, "id", dialect)
    if query.after is not None:
        *values, last_id = query.after
        statement = statement.where(
            _keyset_after(ordered, values, (id_column, query.id_descending), last_id)
        )
    order_by: list[Any] = []
    for column, descending in ordered:
        order_by.append((column.desc() if descending else column.asc()).nulls_last())
    order_by.append(id_column.desc() if query.id_descending else id_column.asc())
    bound = limit if limit is not None else query.limit + 1
    return limited(statement.order_by(*order_by), bound, dialect)


def limited(statement: Select[Any], limit: Any, dialect: str) -> Select[Any]:
    """``LIMIT n`` and nothing else.

    SQLAlchemy's SQLite dialect always appends ``OFFSET 0`` to a limit; keyset
    pages never skip rows, so the statement carries a plain bound LIMIT instead.
    """
    if dialect == "sqlite":
        if isinstance(limit, BindParameter):  # given at execution (a prepared statement)
            return statement.suffix_with(text(f"LIMIT :{limit.key}"))
        return statement.suffix_with(text("LIMIT :page_limit").bindparams(page_limit=limit))
    return statement.limit(limit)


def count_statement(resource: Resource, query: PageQuery) -> Select[Any]:
    table = resource.table
    return (
        select(func.count())
        .select_from(table)
        .where(table.c.deleted_at.is_(None), *query.conditions)
    )


def _page_shape(query: PageQuery) -> tuple[Any, ...] | None:
    """What a prepared page statement depends on besides its values; None when the
    page is filtered (filters are built per request)."""
    if query.conditions:
        return None
    nulls = None if query.after is None else tuple(v is None for v in query.after[:-1])
    return ("page", tuple(query.sort), query.id_descending, nulls)


def canonical(resource: Resource, _dialect: str = "") -> Select[Any]:
    """Every column of the table and each row's canonical form (``records.with_canonical``)."""
    return with_canonical(select(resource.table), resource)


def page_rows(
    session: Session,
    resource: Resource,
    query: PageQuery,
    columns: Columns = canonical,
    key: str = "canonical",
    **bound: Any,
) -> list[Row]:
    """The page's rows as ``columns`` selects them (by default with their canonical
    forms); ``bound`` gives the values of parameters ``columns`` binds. ``key`` names
    ``columns`` among the prepared statements."""
    shape = _page_shape(query)
    if shape is None:
        dialect = dialect_of(session).name
        statement = page_statement(resource, query, dialect, columns=columns)
        return [dict(r) for r in session.execute(statement, bound).mappings()]
    after = query.after

    def build(dialect: str) -> Select[Any]:
        bound: tuple[Any, ...] | None = None
        if after is not None:
            bound = tuple(
                None if value is None else bindparam(f"after_{i}") for i, value in enumerate(after)
            )
        template = PageQuery((), query.sort, 0, query.id_descending, bound)
        return page_statement(
            resource, template, dialect, limit=bindparam("limit"), columns=columns
        )

    compiled = STATEMENTS.get(session, (resource.name, key, *shape), build)
    params: dict[str, Any] = {"limit": query.limit + 1, **bound}
    if after is not None:
        params |= {f"after_{i}": value for i, value in enumerate(after) if value is not None}
    return compiled.mappings(session, **params)


def fetch_page(session: Session, resource: Resource, query: PageQuery, *, count: bool) -> Page:
    if reference():
        # The straightforward way: the table's rows, then every relation read whole.
        statement = page_statement(resource, query, dialect_of(session).name)
        rows = [dict(r) for r in session.execute(statement).mappings()]
    else:
        rows = page_rows(session, resource, query)
    next_after = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        next_after = (*(last[key.field] for key in query.sort), last["id"])
    total = session.scalar(count_statement(resource, query)) if count else None
    records = (
        hydrate(session, resource, rows) if reference() else from_canonical(session, resource, rows)
    )
    return Page(records, next_after, total)


def fetch_one(session: Session, resource: Resource, record_id: str) -> tuple[Row | None, bool]:
    """The record and whether it exists but was deleted."""
    table = resource.table
    if reference():
        found = [
            dict(r)
            for r in session.execute(select(table).where(table.c.id == record_id)).mappings()
        ]
    else:
        # Only what building the record from its canonical form needs; the whole row
        # is read again in the rare case that the form is missing or disagrees.
        def build(_dialect: str) -> Select[Any]:
            checked = select(*(table.c[name] for name in checked_columns(resource)))
            return with_canonical(checked, resource).where(table.c.id == bindparam("id"))

        compiled = STATEMENTS.get(session, (resource.name, "one"), build)
        found = compiled.mappings(session, id=record_id)
    if not found:
        return None, False
    row = found[0]
    if row["deleted_at"] is not None:
        return None, True
    if reference():
        return hydrate(session, resource, [row])[0], False

    def whole(ids: list[str]) -> list[Row]:
        return [
            dict(r)
            for r in session.execute(canonical(resource).where(table.c.id.in_(ids))).mappings()
        ]

    built = from_canonical(session, resource, [row], reread=whole)
    return (built[0], False) if built else (None, False)


def fetch_records(session: Session, resource: Resource, ids: Sequence[str]) -> list[Row]:
    """The records of ``ids`` (live or not), in the order given: what ``fetch_page``
    gives for them."""
    if not ids:
        return []
    table = resource.table
    dialect = dialect_of(session).name

    def build(dialect_: str) -> Select[Any]:
        return canonical(resource).where(ids_in(table.c.id, "ids", dialect_))

    compiled = STATEMENTS.get(session, (resource.name, "by-ids"), build)
    found = compiled.mappings(session, ids=id_list(ids, dialect))
    by_id = {record["id"]: record for record in from_canonical(session, resource, found)}
    return [by_id[record_id] for record_id in ids if record_id in by_id]


def fetch_state(session: Session, resource: Resource, record_id: str) -> Row | None:
    """The record's bookkeeping columns (revision, updated_at, deleted_at), deleted or not."""
    table = resource.table
    row = (
        session.execute(
            select(table.c.revision, table.c.updated_at, table.c.deleted_at).where(
                table.c.id == record_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def exists(session: Session, resource: Resource, record_id: str) -> bool:
    table = resource.table
    return (
        session.scalar(
            select(literal(1)).where(table.c.id == record_id, table.c.deleted_at.is_(None))
        )
        is not None
    )


def data_revision(session: Session) -> int:
    def build(_dialect: str) -> Select[Any]:
        return select(func.max(models.Revision.id))

    ((revision,),) = STATEMENTS.get(session, "data-revision", build).rows(session)
    return int(revision or 0)
