"""Statements compiled once, run on the driver's own cursor: the hot read paths.

A read of one record or one page runs the same few statements again and again
with other values. SQLAlchemy would build each, compute its cache key, find
its compiled form and wrap every row, on every request; here a statement is
built and compiled once per backend, and each execution is the driver's
``execute`` plus the columns' own result conversions (the ones SQLAlchemy
applies, so values come out exactly as a Core ``execute`` returns them).

Lists of ids are bound as one value (``ids_in``), so one compiled statement
serves every length.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Dialect,
    Select,
    String,
    bindparam,
    column,
    func,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from api import pgexecute
from api.db import reader_of
from api.paths import reference

Processor = Callable[[Any], Any]
# Distinct stored values a conversion remembers (timestamps repeat across records).
REMEMBERED = 4096


def ids_in(column_: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """``column IN (the ids bound as parameter name)``, one parameter whatever the count:
    a JSON array on SQLite (``json_each``), an array on PostgreSQL (``= ANY``)."""
    if dialect == "postgresql":
        return column_ == func.any(bindparam(name, type_=ARRAY(String)))
    listed: Select[Any] = select(column("value")).select_from(
        func.json_each(bindparam(name, type_=String))
    )
    return column_.in_(listed.scalar_subquery())


def id_list(ids: Sequence[str], dialect: str) -> Any:
    """The value to bind for ``ids_in``."""
    return list(ids) if dialect == "postgresql" else json.dumps(list(ids))


def _remembering(process: Processor) -> Processor:
    """``process`` with its last REMEMBERED distinct inputs remembered."""
    remembered = lru_cache(maxsize=REMEMBERED)(process)

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return remembered(value)
        except TypeError:  # an unhashable stored value (a JSON document on PostgreSQL)
            return process(value)

    return convert


@dataclass(frozen=True)
class Compiled:
    statement: Select[Any]
    sql: str
    positional: tuple[str, ...] | None  # parameter order for qmark drivers; None: by name
    defaults: dict[str, Any]
    binders: dict[str, Processor]
    names: tuple[str, ...]
    processors: tuple[tuple[int, Processor], ...]
    # The statement for api.pgexecute, on psycopg; None on other drivers.
    extended: pgexecute.Numbered | None = None

    def rows(self, session: Session, **params: Any) -> list[tuple[Any, ...]]:
        """The statement's rows, converted, in the session's transaction."""
        if reference():
            return [tuple(row) for row in session.execute(self.statement, params)]
        driver = driver_connection(session)
        values = dict(self.defaults)
        for name, value in params.items():
            bind = self.binders.get(name)
            values[name] = bind(value) if bind is not None and value is not None else value
        try:
            if self.extended is not None and pgexecute.usable(driver):
                fetched = pgexecute.rows(driver, self.extended, values)
            else:
                fetched = self._fetched(driver, values)
        except Exception as exc:
            error = translated(session, self.sql, values, exc)
            if error is exc:
                raise
            raise error from exc
        if not self.processors:
            return fetched
        converted = []
        for row in fetched:
            values_ = list(row)
            for index, process in self.processors:
                values_[index] = process(values_[index])
            converted.append(tuple(values_))
        return converted

    def _fetched(self, driver: Any, values: dict[str, Any]) -> list[Any]:
        """The rows as the driver's cursor gives them."""
        cursor, kept = _cursor(driver)
        try:
            if self.positional is not None:
                cursor.execute(self.sql, [values[name] for name in self.positional])
            else:
                cursor.execute(self.sql, values)
            fetched: list[Any] = cursor.fetchall()
        except Exception:
            if kept:
                _forget_cursor(driver)
            raise
        finally:
            if not kept:
                cursor.close()
        return fetched

    def mappings(self, session: Session, **params: Any) -> list[dict[str, Any]]:
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in self.rows(session, **params)]


DRIVER_KEY = "parley.driver_connection"
# A driver connection's own cursor, kept on it between statements where the driver
# allows (psycopg's connections take attributes; sqlite3's do not, and its cursors
# cost next to nothing): a new psycopg cursor per statement cost about 40 µs of CPU,
# a third of a one-row query's.
KEPT_CURSOR = "_parley_cursor"


# Whether a driver's connections take attributes, by connection type: asked once per
# type, since finding out costs a failed attribute lookup.
_KEEPS_CURSORS: dict[type, bool] = {}


def _cursor(driver: Any) -> tuple[Any, bool]:
    """A cursor of ``driver`` and whether it is the connection's kept one (left open
    for its next statement) rather than a new one to close after this statement."""
    kind = type(driver)
    keeps = _KEEPS_CURSORS.get(kind)
    if keeps is None:
        keeps = _KEEPS_CURSORS[kind] = hasattr(driver, "__dict__")
    if not keeps:
        return driver.cursor(), False
    kept = getattr(driver, KEPT_CURSOR, None)
    if kept is None or kept.closed:
        kept = driver.cursor()
        setattr(driver, KEPT_CURSOR, kept)
    return kept, True


def _forget_cursor(driver: Any) -> None:
    """Close and drop ``driver``'s kept cursor: after a failed statement its state
    is the driver's business, and the next statement gets a new one."""
    kept = getattr(driver, KEPT_CURSOR, None)
    if kept is not None:
        delattr(driver, KEPT_CURSOR)
        kept.close()


def dialect_of(session: Session) -> Dialect:
    """The session's dialect, without making the session take a connection."""
    reader = reader_of(session)
    if reader is not None:
        return reader.engine.dialect
    return session.get_bind().dialect


def driver_connection(session: Session) -> Any:
    """The driver's connection of the session's current transaction (remembered for
    the transaction: asking the session each time costs more than the query), or of
    its reader (``db.Reader``), which is the same connection."""
    reader = reader_of(session)
    if reader is not None:
        return reader.driver()
    transaction = session.get_transaction()
    if transaction is not None:
        remembered = session.info.get(DRIVER_KEY)
        if remembered is not None and remembered[0] is transaction:
            return remembered[1]
    driver = session.connection().connection.driver_connection
    session.info[DRIVER_KEY] = (session.get_transaction(), driver)
    return driver


def translated(session: Session, sql: str, values: Any, exc: Exception) -> Exception:
    """The error SQLAlchemy would have raised for ``exc``, raised by the driver.

    Without this, a lost connection on a fast path would reach the error
    handlers as the driver's own error (a 500, not a 503), and its connection
    would go back to the pool to fail the next request too.
    """
    connection = session.connection()
    dialect = connection.dialect
    if not isinstance(exc, dialect.loaded_dbapi.Error):
        return exc
    disconnected = dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
    if disconnected:
        connection.invalidate(exc)
    return sa_exc.DBAPIError.instance(
        sql,
        values,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=disconnected,
        dialect=dialect,
    )


def compile_for(statement: Select[Any], dialect: Dialect) -> Compiled:
    compiled = statement.compile(dialect=dialect)
    positional = tuple(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
    defaults = {
        name: parameter.effective_value
        for name, parameter in compiled.binds.items()
        if parameter.value is not None or parameter.callable is not None
    }
    # Bound values SQLAlchemy would convert (dates, JSON, UTC times) are converted here.
    binders: dict[str, Processor] = {}
    for name, parameter in compiled.binds.items():
        process = parameter.type._cached_bind_processor(dialect)
        if process is not None:
            binders[name] = process
            if name in defaults:
                defaults[name] = process(defaults[name])
    processors = []
    names = []
    for index, selected in enumerate(statement.selected_columns):
        names.append(selected.key or selected.name)
        process = selected.type._cached_result_processor(dialect, None)
        if process is not None:
            processors.append((index, _remembering(process)))
    extended = pgexecute.numbered(compiled.string) if dialect.driver == "psycopg" else None
    return Compiled(
        statement,
        compiled.string,
        positional,
        defaults,
        binders,
        tuple(names),
        tuple(processors),
        extended,
    )


class Statements:
    """Compiled statements by key, built on first use for each backend."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, Hashable], Compiled] = {}

    def get(self, session: Session, key: Hashable, build: Callable[[str], Select[Any]]) -> Compiled:
        dialect = dialect_of(session)
        found = self._compiled.get((dialect.name, key))
        if found is None:
            found = compile_for(build(dialect.name), dialect)
            self._compiled[(dialect.name, key)] = found
        return found


STATEMENTS = Statements()
