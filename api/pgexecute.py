"""Statements compiled once, run on a psycopg connection through the extended
protocol directly.

psycopg's cursor prepares a statement it runs often and then runs it with Bind
and Execute, as this module does; around that it converts the query, looks its
prepared form up and keeps the results for fetching: about 20 µs of CPU a
statement, a tenth of what reading one record costs on PostgreSQL. A statement
compiled once (``api.prepared``) needs none of it. Values are dumped and rows
loaded by psycopg's own ``Transformer`` (the dumpers and loaders its cursor
uses, so rows come out the same).

The round trip itself is libpq's non-blocking calls and a ``poll`` on the
connection's socket, as psycopg's generators and ``wait`` make it, without
their general machinery (about 6 µs of CPU and 15 µs of latency less per
statement, measured on one record's read). Every poll ends by the connection's
deadline, as its ``wait`` would (``api.pgdeadline``).

Only for a connection in autocommit: in a transaction psycopg itself must send
the ``BEGIN`` before the first statement, or that statement would run outside it.
"""

from __future__ import annotations

import itertools
import re
import select
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

from api.pgdeadline import deadline_of, expired

# Placeholders as SQLAlchemy writes them for psycopg (pyformat), and an escaped %.
PLACEHOLDER = re.compile(r"%\(([^)]+)\)s|%%")
# Where a connection keeps its state (psycopg's connections take attributes).
STATE = "_parley_extended"
# Names of prepared statements, never reused in a process: a connection whose state
# was dropped after a failure may still hold the statements prepared before it.
_names = itertools.count()


@dataclass(frozen=True)
class Numbered:
    """A statement with numbered placeholders (``$1``...) for its named parameters."""

    sql: bytes
    names: tuple[str, ...]  # $k takes the value of names[k - 1]


def numbered(sql: str) -> Numbered:
    """``sql`` (pyformat) with numbered placeholders; a name used twice is one number."""
    names: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        number = names.setdefault(name, len(names) + 1)
        return f"${number}"

    return Numbered(PLACEHOLDER.sub(replace, sql).encode(), tuple(names))


class _State:
    """A connection's transformer and the statements prepared on it, by their SQL and
    parameter types (as psycopg keys its own)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.transformer = Transformer(connection)
        self.prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        # A connection keeps its socket for life.
        socket = connection.pgconn.socket
        self.readable = select.poll()
        self.readable.register(socket, select.POLLIN)
        self.writable = select.poll()
        self.writable.register(socket, select.POLLOUT)


def usable(driver: Any) -> bool:
    """Whether ``driver`` is a psycopg connection this module can run statements on."""
    return isinstance(driver, psycopg.Connection) and driver.autocommit


def rows(
    driver: psycopg.Connection[Any], statement: Numbered, values: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` with ``values``, as psycopg's cursor would give them.
    After a failure the connection's state is dropped: its next statement starts afresh."""
    try:
        return _rows(driver, statement, values)
    except Exception:
        forget(driver)
        raise


def _rows(
    driver: psycopg.Connection[Any], statement: Numbered, values: dict[str, Any]
) -> list[tuple[Any, ...]]:
    state: _State | None = getattr(driver, STATE, None)
    if state is None:
        state = _State(driver)
        setattr(driver, STATE, state)
    transformer = state.transformer
    pgconn = driver.pgconn
    with driver.lock:
        params = transformer.dump_sequence(
            [values[name] for name in statement.names], [PyFormat.AUTO] * len(statement.names)
        )
        types = tuple(transformer.types or ())
        key = (statement.sql, types)
        name = state.prepared.get(key)
        if name is None:
            name = f"_parley_{next(_names)}".encode()
            pgconn.send_prepare(name, statement.sql, param_types=types)
            _result(driver, state, pq.ExecStatus.COMMAND_OK)
            state.prepared[key] = name
        pgconn.send_query_prepared(name, params, param_formats=transformer.formats)
        result = _result(driver, state, pq.ExecStatus.TUPLES_OK)
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)


def forget(driver: Any) -> None:
    """Drop ``driver``'s state (its transformer and prepared statements' names)."""
    if getattr(driver, STATE, None) is not None:
        delattr(driver, STATE)


def _result(
    driver: psycopg.Connection[Any], state: _State, expected: pq.ExecStatus
) -> pq.abc.PGresult:
    """The last result of what was just sent (psycopg's ``execute`` generator)."""
    pgconn = driver.pgconn
    seconds = deadline_of(driver)
    ends = None if seconds is None else time.monotonic() + seconds
    while pgconn.flush():  # the rest did not fit in the socket's buffer
        _wait(driver, state.writable, ends)
    last: pq.abc.PGresult | None = None
    while True:
        # get_result blocks while libpq is busy, whatever the connection's mode.
        while pgconn.is_busy():
            _wait(driver, state.readable, ends)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            break
        last = result
    if last is None:
        raise psycopg.OperationalError("the database sent no result")
    if last.status != expected:
        raise pg_errors.error_from_result(last, encoding=driver.info.encoding)
    return last


def _wait(driver: psycopg.Connection[Any], poller: select.poll, ends: float | None) -> None:
    """Until the socket is ready as ``poller`` asks, or past the deadline ``ends``."""
    if ends is None:
        poller.poll()
        return
    if not poller.poll(max(0.0, ends - time.monotonic()) * 1000):
        raise expired(driver)
