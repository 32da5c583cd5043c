"""Item reads answered beneath Flask: ``GET /v1/<collection>/<id>``, the request
clients make most.

Flask's request and response machinery (contexts, URL matching, hooks, header
objects) costs several times what reading and dumping one record does. This
WSGI layer answers the plain case itself: GET or HEAD, no query string, no
conditional header, JSON wanted, a live record. It runs the view's own data
layer, dumper, ETag and header values, so the answer is byte for byte what the
view gives (``tests/test_fast_items.py`` compares the two). Anything else (a
404, a 410, a 304, another format, CORS, a failure of any kind) goes on to the
app, which answers it as ever; for a failed read that means the app tries the
read once more and reports what it finds.

Nothing is cached here: every answer reads the database, so a write is seen by
the next read in every worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import orjson
from flask import Flask
from werkzeug.http import quote_etag

from api import Parley, db, parley
from api.jsonprovider import OPTIONS
from api.protection import DEFAULT_HEADERS
from api.requestlog import StartResponse, WsgiApp
from api.v1 import SlugConverter, data, negotiation
from api.v1.catalog import COLLECTIONS
from api.v1.collections import Collection
from api.v1.http import PUBLIC_CACHE_CONTROL, live_etag
from api.v1.schemas import VERSION, Urls, dump

log = logging.getLogger(__name__)

# Headers that make the view answer differently from the plain case.
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE")


# The headers and body of a 200.
Answer = tuple[list[tuple[str, str]], bytes]


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is written by Flask's provider")


class FastItems:
    """WSGI middleware around the Flask app: plain item reads, answered directly."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = wsgi_app
        self.flask = app
        self.collections = _item_routes(app)
        self.pattern = re.compile(rf"/{VERSION}/([a-z][a-z-]*)/({SlugConverter.regex})")

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
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
            return None
        if any(environ.get(name) for name in CONDITIONAL):
            return None
        path = environ.get("PATH_INFO", "")
        matched = self.pattern.fullmatch(path)
        if matched is None:
            return None
        collection = self.collections.get(matched[1])
        if collection is None:
            return None
        accept = environ.get("HTTP_ACCEPT")
        if accept:
            try:
                if negotiation.by_accept(state.exporters, accept) is not None:
                    return None
            except Exception:  # a 406, which the app words
                return None
        try:
            return _read(state, collection, matched[2])
        except Exception:
            # The app reads again and answers (a 503 for a database that is down).
            log.debug("a fast item read failed; the app answers it", exc_info=True)
            return None


def _read(state: Parley, collection: Collection, record_id: str) -> Answer | None:
    session = state.sessions()
    if isinstance(session, db.RequestSession):
        session.reader = db.Reader(state.engine)
    try:
        record, _deleted = data.fetch_one(session, collection.resource, record_id)
    finally:
        db.close_quietly(session)
    if record is None:
        return None  # a 404 or a 410: the app's problem documents
    resource = collection.resource
    urls = Urls(state.settings.base_url)
    # What jsonify writes for the view (FastJSONProvider), newline included.
    body = orjson.dumps(dump(resource, [record], urls)[0], option=OPTIONS, default=_refuse)
    body += b"\n"
    etag = live_etag(resource, record, urls.base_url, negotiation.exporter_key(None))
    headers = [
        ("Content-Type", negotiation.JSON_MEDIA_TYPE),
        ("Content-Length", str(len(body))),
        ("ETag", quote_etag(etag)),
        ("Cache-Control", PUBLIC_CACHE_CONTROL),
        ("Vary", "Accept"),
        *DEFAULT_HEADERS,
    ]
    return headers, body


def _item_routes(app: Flask) -> dict[str, Collection]:
    """The collections whose ``/v1/<name>/<id>`` the item view alone answers.

    A collection with a fixed path beside its items (``/v1/<name>/something``)
    is left to the app's URL map, which would route that path elsewhere.
    """
    fixed: set[str] = set()
    for rule in app.url_map.iter_rules():
        parts = rule.rule.strip("/").split("/")
        if len(parts) == 3 and parts[0] == VERSION and "<" not in parts[2]:
            fixed.add(parts[1])
    return {name: c for name, c in COLLECTIONS.items() if name not in fixed}
