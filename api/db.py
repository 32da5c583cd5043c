"""Engines, sessions and the database's life cycle (migrate, first load).

One session per request: ``get_session()`` opens it on first use inside a
request and the app's teardown closes it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Response, current_app, g, request
from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api import models, pgdeadline
from api.config import DEFAULT_DB_CONNECT_TIMEOUT, DEFAULT_DB_STATEMENT_TIMEOUT

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option of a connection that is about to write (see ``writing``).
WRITE_OPTION = "parley_write"
# Key of the PostgreSQL transaction-level advisory lock that orders all writes.
WRITE_LOCK_KEY = 0x7061726C6579_77  # "parley" + "w"; the start-up lock is "parley"


def sqlite_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'parley.sqlite3'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling starts transactions late (before the first
    # INSERT) and never for SAVEPOINT: SQLAlchemy is told to begin them instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while a writer commits; the busy timeout makes a second
    # writer (another gunicorn worker) wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A write transaction takes the database's write lock when it begins: taken later,
    # after reads, SQLite cannot wait for it and fails at once when another writer won.
    mode = connection.get_execution_options().get(WRITE_OPTION) and "IMMEDIATE"
    statement = f"BEGIN {mode or ''}".strip()
    driver = connection.connection.driver_connection
    if not mode and driver.in_transaction:
        return  # a request's reader began the read transaction: the session joins it
    # On the driver's connection: SQLAlchemy's execution costs more than the statement,
    # and this runs for every request.
    _sqlite_execute(driver, statement, connection.dialect)


def _sqlite_execute(driver: sqlite3.Connection, statement: str, dialect: Any) -> None:
    """``statement`` on the driver's connection, its errors SQLAlchemy's (as they would
    be through SQLAlchemy: a locked or lost database is a 503, not a 500)."""
    try:
        driver.execute(statement)
    except sqlite3.Error as exc:
        raise sa_exc.DBAPIError.instance(
            statement, (), exc, sqlite3.Error, dialect=dialect
        ) from exc


def make_engine(
    url: str,
    *,
    connect_timeout: int = DEFAULT_DB_CONNECT_TIMEOUT,
    statement_timeout: int = DEFAULT_DB_STATEMENT_TIMEOUT,
    **kwargs: Any,
) -> Engine:
    """An engine on ``url``; on PostgreSQL with the timeouts of ``api.pgdeadline``.

    Statement parameters are kept out of error messages (and so out of logs):
    they include the hashes of presented tokens.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_timeout", connect_timeout)
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)
    if parsed.get_driver_name() == "psycopg":
        pgdeadline.install(
            engine, connect_timeout=connect_timeout, statement_timeout=statement_timeout
        )
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return _script_head()


@cache
def _script_head() -> str | None:
    # The migrations ship with the code: their head cannot change while it runs.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def writing(session: Session) -> None:
    """Start ``session``'s transaction as a write that commits in change-feed order.

    Must come before anything else the transaction does. Revisions get their feed
    positions from a sequence, taken before commit: writers take one
    transaction-level lock first, so positions become visible in the order they
    were given and a reader resuming from a position never skips a late commit.
    On SQLite, the write lock itself (BEGIN IMMEDIATE) does the same.
    """
    connection = session.connection(execution_options={WRITE_OPTION: True})
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))


@contextmanager
def bulk_writes(engine: Engine) -> Iterator[Connection]:
    """A connection for one very large write transaction (``parley synth``).

    On SQLite, the database leaves WAL mode while it lasts (where no other
    connection has it open): a transaction of gigabytes would otherwise be
    written twice, to the WAL and then into the database. A rollback journal
    keeps the transaction atomic; syncs wait until the commit. Everything is put
    back afterwards.

    On PostgreSQL, a statement of a million talks' rows runs for minutes: the
    connection has no statement timeout and no round-trip deadline (both meant
    for requests), and is discarded afterwards rather than pooled with them off.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql("SET statement_timeout = 0")
            connection.commit()  # the caller's transaction starts on its own
            driver = connection.connection.driver_connection
            if isinstance(driver, pgdeadline.DeadlineConnection):
                driver.deadline = None
            try:
                yield connection
            finally:
                connection.invalidate()
        return
    if engine.dialect.name != "sqlite":
        with engine.connect() as connection:
            yield connection
        return
    engine.dispose()  # idle pooled connections would keep the database in WAL mode
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        saved = {
            name: raw.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("synchronous", "cache_size")
        }
        # Another process with the database open keeps it in WAL: then it stays there.
        raw.execute("PRAGMA busy_timeout=0")
        with suppress(sqlite3.OperationalError):
            raw.execute("PRAGMA journal_mode=DELETE")
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute("PRAGMA cache_size=-262144")  # KiB: 256 MiB for the indexes being built
        try:
            yield connection.execution_options(**{WRITE_OPTION: True})
        finally:
            if connection.in_transaction():
                connection.rollback()
            with suppress(sqlite3.OperationalError):
                raw.execute("PRAGMA journal_mode=WAL")
            for name, value in saved.items():
                raw.execute(f"PRAGMA {name}={int(value)}")


def is_loaded(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(models.Meta)) != 0


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise start-up work between processes (gunicorn workers, parallel starts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Reader:
    """A read request's connection, taken from the pool without a ``Connection``
    around it: the fast read paths run on its driver connection.

    Most reads run only prepared statements (``api.prepared``), for which
    SQLAlchemy's connection and transaction objects cost more than the query. The
    request's session still works as ever: its first statement gets this same
    connection (``RequestSession.get_bind``), so every read of a request, fast or
    not, sees one snapshot.
    """

    def __init__(self, engine: Engine, *, autocommit: bool = False) -> None:
        self.engine = engine
        # Statements outside any transaction, for a request of one statement, which is
        # its own snapshot anyway. On PostgreSQL this saves the BEGIN and the ROLLBACK,
        # two round trips of three; on SQLite the same two statements, each a release
        # and a retake of the GIL that another request thread of the worker waits on.
        self.autocommit = autocommit
        self.fairy: Any = None
        self.wrapped: Connection | None = None

    @property
    def _switches_driver(self) -> bool:
        """Whether autocommit is the driver connection's setting, to set and to reset
        (psycopg's); SQLite's connections are in autocommit (``_sqlite_pragmas``) until
        a ``BEGIN``, which an autocommit reader leaves out."""
        return self.autocommit and self.engine.dialect.name == "postgresql"

    def _checked_out(self) -> Any:
        if self.fairy is not None and not self.fairy.is_valid:
            self.close()  # a kept connection invalidated since (``can_keep``)
        if self.fairy is None:
            dialect = self.engine.dialect
            try:
                self.fairy = self.engine.raw_connection()
            except dialect.loaded_dbapi.Error as exc:
                # As ``engine.connect()`` raises it: a database that is down is a 503.
                raise sa_exc.DBAPIError.instance(
                    None,
                    None,
                    exc,
                    dialect.loaded_dbapi.Error,
                    connection_invalidated=dialect.is_disconnect(exc, None, None),
                    dialect=dialect,
                ) from exc
            if self._switches_driver:
                self.fairy.driver_connection.autocommit = True
        return self.fairy

    def driver(self) -> Any:
        """The driver's connection, in a transaction (one snapshot on SQLite) unless
        the reader is in autocommit."""
        driver = self._checked_out().driver_connection
        if (
            not self.autocommit
            and self.engine.dialect.name == "sqlite"
            and not driver.in_transaction
        ):
            _sqlite_execute(driver, "BEGIN", self.engine.dialect)
        return driver

    def connection(self) -> Connection:
        """The same connection as SQLAlchemy's, for the session's statements."""
        if self.wrapped is None:
            self.wrapped = Connection(self.engine, connection=self._checked_out())
        return self.wrapped

    def can_keep(self) -> bool:
        """Whether the connection may stay checked out for this reader's next request
        (a request thread's own reader, ``api.v1.fastreads``): it ran only driver
        statements, outside a transaction, and is still valid."""
        fairy = self.fairy
        return (
            fairy is not None
            and self.autocommit
            and self.wrapped is None
            and fairy.is_valid
            and not getattr(fairy.driver_connection, "in_transaction", False)
        )

    def close(self) -> None:
        """Back to the pool, which rolls the read transaction back."""
        held, self.fairy, wrapped, self.wrapped = self.fairy, None, self.wrapped, None
        if held is not None and self._switches_driver and held.is_valid:
            try:
                held.driver_connection.autocommit = False
            except Exception:
                # A connection left in autocommit would make a later write's statements
                # commit one by one: it must never be handed out again.
                held.invalidate()
        if wrapped is not None:
            wrapped.close()
        elif held is not None:
            held.close()


class RequestSession(Session):
    """A session whose statements go through its ``reader`` when it has one."""

    reader: Reader | None = None

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        if self.reader is not None:
            return self.reader.connection()
        return super().get_bind(*args, **kwargs)


# Requests that only read: their sessions get a reader.
READ_METHODS = frozenset({"GET", "HEAD"})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=RequestSession, expire_on_commit=False)


def get_session() -> Session:
    """The current request's session, opened on first use."""
    if "db_session" not in g:
        state = current_app.extensions["parley"]
        session = state.sessions()
        if (
            isinstance(session, RequestSession)
            and request.method in READ_METHODS
            and state.settings.fast_paths
        ):
            session.reader = Reader(state.engine)
        g.db_session = session
    found: Session = g.db_session
    return found


def reader_of(session: Session) -> Reader | None:
    """The session's reader: a read request's session has one, any other none."""
    reader = getattr(session, "reader", None)
    return reader if isinstance(reader, Reader) else None


def keep_session_for_stream(response: Response) -> Response:
    """Hand the request's session to a streamed response (an export), to be closed
    when the response is.

    Flask tears the request down when the view returns, before a streamed body is
    produced: closed then, the session would be opened again by the stream, on a
    connection that nothing returns to the pool until the garbage collector runs;
    a busy server runs out of connections first.
    """
    if response.is_streamed and "db_session" in g:
        session: Session = g.pop("db_session")
        response.call_on_close(lambda: close_quietly(session))
    return response


def close_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        close_quietly(session)


def close_quietly(session: Session) -> None:
    """Close ``session``; a connection lost meanwhile cannot fail the response.

    The request has been answered (a lost connection during it is a 503): the
    rollback that closing makes fails on a dead connection, which SQLAlchemy
    then invalidates, so the pool never hands it out again.
    """
    reader = reader_of(session)
    try:
        try:
            # A session that only lent its reader to the fast paths holds nothing to close.
            if reader is None or reader.wrapped is not None or session.in_transaction():
                session.close()
        finally:
            if reader is not None:
                reader.close()
    except sa_exc.DBAPIError as exc:
        log.warning("closing a session failed: %s", type(exc.orig or exc).__name__)


def instance_dir(instance_path: str) -> Path:
    path = Path(instance_path)
    os.makedirs(path, exist_ok=True)
    return path
