"""Request ids and the structured (JSON lines) access and application logs.

The access log is written by a WSGI middleware rather than by Flask hooks: it
sees every response, including streamed exports, whose duration and size are
known only once the last chunk has gone out. Nothing a client sends is logged
but the method, the path and the query, and those with anything that looks like
a token masked: a token that reached a log would be a leaked token.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from api.tokens import PREFIX

HEADER = "X-Request-Id"
ENVIRON_KEY = "parley.request_id"
HEADER_KEY = HEADER.lower()
HEADER_LENGTH = len(HEADER)
# What an incoming request id may look like to be echoed and logged: short, and
# nothing that could split a header or a log line. Anything else is replaced.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Query parameters clients put tokens in (api.v1.auth refuses them; the log must not keep them).
SECRET_PARAMETERS = frozenset({"access_token", "token", "api_key", "apikey", "key"})
TOKEN_LIKE = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_\-%.~+/=]*")
REDACTED = "[redacted]"

access_logger = logging.getLogger("parley.access")
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "parley_request_id", default=None
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Ids:
    """New request ids: 32 hex digits, a random prefix of the process and a counter.

    As unique as ``uuid4().hex`` for the life of a process (the prefix is drawn
    again in every forked worker) without asking the kernel for randomness on
    every request.
    """

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.prefix = uuid.uuid4().hex[:16]
        self.counter = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_ids = _Ids()


def request_id(environ: dict[str, Any]) -> str:
    """The client's request id when it is well formed, else a new one."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    if isinstance(incoming, str) and WELL_FORMED.fullmatch(incoming):
        return incoming
    return _ids.new()


def masked(text: str) -> str:
    return TOKEN_LIKE.sub(PREFIX + REDACTED, text)


def masked_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(n, REDACTED if n.lower() in SECRET_PARAMETERS else v) for n, v in pairs]
    return masked(urlencode(kept))


class _Logged:
    """The response body, counted as it is sent; the access log line is written on close."""

    def __init__(self, body: Iterable[bytes], finish: Callable[[int, bool], None]) -> None:
        self.body = body
        self.finish = finish
        self.sent = 0
        self.aborted = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.body:
                self.sent += len(chunk)
                yield chunk
        except BaseException:
            self.aborted = True
            raise

    def close(self) -> None:
        try:
            # A list (the usual body) has no close: asking would make an AttributeError.
            close = None if type(self.body) is list else getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.finish(self.sent, self.aborted)


class RequestLog:
    """WSGI middleware: the request id (in ``X-Request-Id``) and one access log line."""

    def __init__(self, app: WsgiApp, *, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = request_id(environ)
        environ[ENVIRON_KEY] = rid
        token = current_request_id.set(rid)
        status: list[str] = []

        def start(status_line: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            status[:] = [status_line]
            # The length first: most names differ in it, and lower() on every header
            # of every response is a cost of its own.
            headers = [
                (k, v) for k, v in headers if len(k) != HEADER_LENGTH or k.lower() != HEADER_KEY
            ]
            headers.append((HEADER, rid))
            return start_response(status_line, headers, *exc_info)

        def finish(sent: int, aborted: bool) -> None:
            # Log lines written while the body streams still carry the id; then it ends.
            current_request_id.reset(token)
            if not self.enabled or not access_logger.isEnabledFor(logging.INFO):
                return
            code = int(status[0].split(" ", 1)[0]) if status else 500
            entry: dict[str, Any] = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "request_id": rid,
                "method": environ.get("REQUEST_METHOD", ""),
                "path": masked(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")),
                "status": code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "bytes": sent,
                "client": environ.get("REMOTE_ADDR"),
                "pid": os.getpid(),
            }
            query = environ.get("QUERY_STRING", "")
            if query:
                entry["query"] = masked_query(query)
            if aborted:
                entry["aborted"] = True
            write_access_line(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode())

        try:
            body = self.app(environ, start)
        except BaseException:
            finish(0, True)
            raise
        return _Logged(body, finish)


class JsonFormatter(logging.Formatter):
    """Application log records as JSON lines, each with the request id it belongs to."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": masked(record.getMessage()),
        }
        rid = current_request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = masked(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, sort_keys=True)


class _StreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to whatever ``sys.stdout``/``sys.stderr`` is when it emits."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.stream_name = name

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = getattr(sys, self.stream_name)
        super().emit(record)


class AccessLineHandler(_StreamHandler):
    """The served access log: each record's message as a line on standard output.

    ``write_access_line`` hands it lines directly, without a ``LogRecord``: making one
    (the caller's frame, the thread, the process) costs several times what writing the
    line does, on every request. Lines logged through the logger come out the same.
    """

    def __init__(self) -> None:
        super().__init__("stdout")
        self.setFormatter(logging.Formatter("%(message)s"))

    def write_line(self, line: str) -> None:
        self.acquire()
        try:
            stream = self.stream = sys.stdout
            stream.write(line + self.terminator)
            stream.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": line}))
        finally:
            self.release()


def write_access_line(line: str) -> None:
    """One access log line: straight to the served log's stream when that is all the
    logger does with it (``configure_process_logging``), else through the logger, to
    whatever handlers and filters it has."""
    handlers = access_logger.handlers
    if (
        len(handlers) == 1
        and type(handlers[0]) is AccessLineHandler
        and not handlers[0].filters
        and not access_logger.filters
        and handlers[0].level <= logging.INFO
    ):
        handlers[0].write_line(line)
    else:
        access_logger.info(line)


def configure_process_logging() -> None:
    """Give this process (a gunicorn worker) its log handlers: the access log on
    standard output, the application's own log on standard error, as JSON lines.

    Left to the server, not to ``create_app``: an app built in tests or by the CLI
    keeps whatever logging its process has.
    """
    access_logger.handlers[:] = [AccessLineHandler()]
    access_logger.setLevel(logging.INFO)
    access_logger.propagate = False
    application = _StreamHandler("stderr")
    application.setFormatter(JsonFormatter())
    for name in ("api", "exporters"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [application]
        logger.setLevel(logging.INFO)
        logger.propagate = False
