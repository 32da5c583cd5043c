"""Statements compiled once, run on a psycopg connection through the extended
protocol directly.

psycopg's cursor prepares a statement it runs often and then runs it with Bind
and Execute, as this module does; around that it converts the query, looks its
prepared form up and keeps the results for fetching: about 20 µs of CPU a
statement, a tenth of what reading one record costs on PostgreSQL. A statement
compiled once (``api.prepared``) needs none of it. Values are dumped and rows
loaded by psycopg's own ``Transformer`` (the dumpers and loaders its cursor
uses, so rows come out the same), and every wait goes through the connection's
``wait``, so that its deadline holds (``api.pgdeadline``).

Only for a connection in autocommit: in a transaction psycopg itself must send
the ``BEGIN`` before the first statement, or that statement would run outside it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import generators, pq
from psycopg.adapt import PyFormat, Transformer

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
            _result(driver, pq.ExecStatus.COMMAND_OK)
            state.prepared[key] = name
        pgconn.send_query_prepared(name, params, param_formats=transformer.formats)
        result = _result(driver, pq.ExecStatus.TUPLES_OK)
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)


def forget(driver: Any) -> None:
    """Drop ``driver``'s state (its transformer and prepared statements' names)."""
    if getattr(driver, STATE, None) is not None:
        delattr(driver, STATE)


def _result(driver: psycopg.Connection[Any], expected: pq.ExecStatus) -> pq.abc.PGresult:
    result: pq.abc.PGresult = driver.wait(generators.execute(driver.pgconn))[-1]
    if result.status != expected:
        raise pg_errors.error_from_result(result, encoding=driver.info.encoding)
    return result
