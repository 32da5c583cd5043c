"""The reads clients make most, answered beneath Flask: one record
(``GET /v1/<collection>/<id>``) and a JSON page the page cache holds
(``GET /v1/<collection>?...``).

Flask's request and response machinery (contexts, URL matching, hooks, header
objects) costs several times what reading and dumping one record does, or
finding a kept page. This WSGI layer answers the plain cases itself: GET or
HEAD, no conditional header, JSON wanted; for an item no query at all and a
live record, for a page a valid query whose page is kept. It runs the views'
own data layer, dumper, page keys and header values, so the answer is byte for
byte what the view gives (``tests/test_fast_reads.py`` compares the two).
Anything else (a page not kept yet, a 404, a 410, a 304, a 400, another
format, CORS, a failure of any kind) goes on to the app, which answers it as
ever; for a failed read that means the app reads once more and reports what
it finds.

Nothing is cached here beyond the page cache the view itself fills: every
answer reads the database (a record, or the data revision a kept page is
named by), so a write is seen by the next read in every worker. What is kept
is each request thread's connection (``HeldReaders``), outside any
transaction between reads, so that it holds no snapshot.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.http import quote_etag

from api import Parley, db, jsonprovider, parley, querystring
from api.protection import DEFAULT_HEADERS
from api.records import Row
from api.requestlog import StartResponse, WsgiApp
from api.v1 import SlugConverter, data, negotiation
from api.v1.catalog import COLLECTIONS
from api.v1.collections import Collection
from api.v1.http import PUBLIC_CACHE_CONTROL, live_etag
from api.v1.pagecache import page_cache
from api.v1.pagekey import page_key
from api.v1.params import parse, wants_count
from api.v1.schemas import VERSION, Urls, dump

log = logging.getLogger(__name__)

# Headers that make the views answer differently from the plain case.
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE")
# The headers and body of a 200.
Answer = tuple[list[tuple[str, str]], bytes]


def _headers(body: bytes, etag: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    """A JSON 200's headers in the order the views' responses carry them."""
    return [
        ("Content-Type", negotiation.JSON_MEDIA_TYPE),
        ("Content-Length", str(len(body))),
        *extra,
        ("ETag", quote_etag(etag)),
        ("Cache-Control", PUBLIC_CACHE_CONTROL),
        ("Vary", "Accept"),
        *DEFAULT_HEADERS,
    ]


class HeldReaders:
    """A reader per request thread whose connection stays checked out between its
    fast reads.

    Taking a connection from the pool and giving it back (the queue's lock and
    condition, the reset, the checkout events; on PostgreSQL the ping, a round trip)
    costs about as much as reading the record. A fast read runs one statement outside
    any transaction, so it leaves nothing on the connection that the next one could
    see. A read that fails, or that used SQLAlchemy's connection, gives the connection
    back (``db.Reader.can_keep``), and the next read takes a fresh one; a lost
    connection thus costs one fast read, which the app then answers on a connection
    the pool has checked.

    A thread's connection goes back to the pool when the thread ends (servers that
    start a thread per request, such as the development server, hold none for
    long) or when the layer itself is collected.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def reader(self, engine: Engine) -> db.Reader:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.reader.engine is not engine:
            held = self._local.held = _Held(db.Reader(engine, autocommit=True))
        return held.reader


class _Held:
    """A thread's held reader, which gives its connection back when the thread's
    locals are dropped."""

    def __init__(self, reader: db.Reader) -> None:
        self.reader = reader

    def __del__(self) -> None:
        try:
            self.reader.close()
        except Exception:  # at exit or collection: the connection is dropped either way
            log.debug("giving a held read connection back failed", exc_info=True)


class FastReads:
    """WSGI middleware around the Flask app: plain item and kept page reads, answered
    directly."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = wsgi_app
        self.flask = app
        routed = _routed_beside_items(app)
        self.items = {name: c for name, c in COLLECTIONS.items() if name not in routed}
        self.item_pattern = re.compile(rf"/{VERSION}/([a-z][a-z-]*)/({SlugConverter.regex})")
        self.lists = {f"/{VERSION}/{name}": c for name, c in COLLECTIONS.items()}
        self.readers = HeldReaders()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # The app's state is looked up on every request, as the views do: it may be
        # replaced (the tests run writes in a transaction of their own that way).
        state = parley(self.flask)
        settings = state.settings
        # CORS adds headers that depend on the request's Origin: the app's job.
        enabled = settings.fast_paths and not settings.cors_origins
        answer = self._answer(state, environ) if enabled else None
        if answer is None:
            return self.app(environ, start_response)
        headers, body = answer
        start_response("200 OK", headers)
        return [body] if environ["REQUEST_METHOD"] == "GET" else []

    def _answer(self, state: Parley, environ: dict[str, Any]) -> Answer | None:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        if any(environ.get(name) for name in CONDITIONAL):
            return None
        accept = environ.get("HTTP_ACCEPT")
        if accept:
            try:
                if negotiation.by_accept(state.exporters, accept) is not None:
                    return None
            except Exception:  # a 406, which the app words
                return None
        path = environ.get("PATH_INFO", "")
        try:
            listed = self.lists.get(path)
            if listed is not None:
                return self._kept_page(state, listed, path, environ)
            if environ.get("QUERY_STRING"):
                return None
            matched = self.item_pattern.fullmatch(path)
            if matched is None:
                return None
            collection = self.items.get(matched[1])
            if collection is None:
                return None
            return self._item(state, collection, matched[2])
        except Exception:
            # The app reads again and answers (a 400 for a bad query, a 503 for a
            # database that is down).
            log.debug("a fast read failed; the app answers it", exc_info=True)
            return None

    def _kept_page(
        self, state: Parley, collection: Collection, path: str, environ: dict[str, Any]
    ) -> Answer | None:
        pages = page_cache(self.flask)
        if pages is None:
            return None
        query = environ.get("QUERY_STRING", "").encode("latin1")
        if querystring.undecodable(query):
            return None
        # As werkzeug's ``request.args`` reads the query.
        args = MultiDict(
            parse_qsl(query.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
        )
        if "format" in args:
            return None
        params = parse(collection, args, {})
        count = wants_count(environ.get("HTTP_PREFER"))
        session = self._reading(state)
        read = False
        try:
            key = page_key(
                session,
                collection,
                params,
                scope=collection.name,
                path=path,
                base_url=state.settings.base_url,
                count=count,
                exporter=negotiation.exporter_key(None),
            )
            read = True
        finally:
            _done(session, read)
        kept = pages.get(key.etag, key.revision)
        if kept is None:
            return None  # the view makes it, and keeps it for the next request
        return _headers(kept.body, key.etag, *kept.headers), kept.body

    def _reading(self, state: Parley) -> Session:
        """A session as a read request's (``db.get_session``) gets it, for one
        statement, run outside any transaction (a single statement is its own
        snapshot) on this thread's held connection."""
        session = state.sessions()
        if isinstance(session, db.RequestSession):
            session.reader = self.readers.reader(state.engine)
        return session

    def _item(self, state: Parley, collection: Collection, record_id: str) -> Answer | None:
        session = self._reading(state)
        read = False
        try:
            record, _deleted = data.fetch_one(session, collection.resource, record_id)
            read = True
        finally:
            _done(session, read)
        return _item_answer(state, collection, record)


def _done(session: Session, read: bool) -> None:
    """The end of a fast read's session: a held reader keeps its connection after a
    read of its own statements only; anything else is closed as a request's session."""
    reader = db.reader_of(session)
    if read and reader is not None and reader.can_keep() and not session.in_transaction():
        return
    db.close_quietly(session)


def _item_answer(state: Parley, collection: Collection, record: Row | None) -> Answer | None:
    if record is None:
        return None  # a 404 or a 410: the app's problem documents
    resource = collection.resource
    urls = Urls(state.settings.base_url)
    encoded = jsonprovider.encoded(dump(resource, [record], urls)[0])
    if encoded is None:
        return None  # a value only Flask's provider writes: the view's jsonify does
    body = encoded + b"\n"  # as jsonify ends a response
    etag = live_etag(resource, record, urls.base_url, negotiation.exporter_key(None))
    return _headers(body, etag), body


def _routed_beside_items(app: Flask) -> set[str]:
    """The collections with a fixed path beside their items (``/v1/<name>/something``),
    whose item paths are left to the app's URL map, which may route them elsewhere."""
    fixed: set[str] = set()
    for rule in app.url_map.iter_rules():
        parts = rule.rule.strip("/").split("/")
        if len(parts) == 3 and parts[0] == VERSION and "<" not in parts[2]:
            fixed.add(parts[1])
    return fixed
