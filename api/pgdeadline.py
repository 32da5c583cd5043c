"""Bounded waits on PostgreSQL: no request hangs on a database that stopped answering.

Three limits, from the inside out:

- ``statement_timeout`` (set at connect): the server cancels a statement that
  runs too long, and the connection stays usable;
- ``connect_timeout``: a connection attempt gives up;
- a client-side deadline on every round trip (the statement timeout plus the
  connect timeout as an allowance for the network): a server or network that
  accepted the connection and then went silent would otherwise keep the worker
  waiting forever, since no server-side timeout can fire on a server that never
  got the query. Past it the connection is closed and the request fails with
  an ``OperationalError`` (a 503), which also tells the pool to drop it.

gunicorn's worker timeout stays the backstop of all three.
"""

from __future__ import annotations

from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import PQGen
from sqlalchemy import Engine, event

RV = TypeVar("RV")
# psycopg's own polling interval between checks of a waiting connection.
WAIT_INTERVAL = 0.1


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait for the server ends by a deadline."""

    # Seconds; set per connection class by ``connection_class``.
    deadline: float | None = None

    def wait(
        self, gen: PQGen[RV], interval: float = WAIT_INTERVAL, timeout: float | None = None
    ) -> RV:
        # Every exchange with the server goes through here (queries, commit, rollback,
        # the pool's ping); connecting does not, and has connect_timeout instead.
        try:
            return super().wait(gen, interval, timeout if timeout is not None else self.deadline)
        except pg_errors._WaitTimeout:
            raise expired(self) from None


def deadline_of(connection: psycopg.Connection[Any]) -> float | None:
    """Seconds ``connection`` waits for the server at most in one round trip (None: no end)."""
    return getattr(connection, "deadline", None)


def expired(connection: psycopg.Connection[Any]) -> psycopg.OperationalError:
    """The error of a round trip past ``connection``'s deadline, which is closed: stopped
    mid-protocol, its state is unknown and it cannot be reused."""
    connection.pgconn.finish()
    return psycopg.OperationalError(
        f"the database did not answer within {deadline_of(connection)} seconds"
    )


def connection_class(deadline: float | None) -> type[DeadlineConnection]:
    return type("DeadlineConnection", (DeadlineConnection,), {"deadline": deadline})


def install(engine: Engine, *, connect_timeout: int, statement_timeout: int) -> None:
    """Make ``engine`` (on psycopg) connect with both timeouts and deadline its waits."""
    deadline = float(statement_timeout + connect_timeout) if statement_timeout else None
    connection = connection_class(deadline)

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        cparams.setdefault("connect_timeout", connect_timeout)
        if statement_timeout:
            option = f"-c statement_timeout={statement_timeout * 1000}"
            cparams["options"] = f"{cparams.get('options', '')} {option}".strip()
        return connection.connect(*cargs, **cparams)
