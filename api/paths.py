"""Which way the hot read paths go: fast (the default) or the reference way.

The fast paths (statements compiled once and run on the driver's cursor,
compiled dumpers, orjson) must give exactly what the straightforward ones give
(SQLAlchemy execution, the marshmallow schemas, the standard JSON encoder).
An app made with ``Settings(fast_paths=False)`` serves every request the
reference way, so that a test can compare the two byte for byte.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from flask import Flask, g
from flask.json.provider import DefaultJSONProvider

_REFERENCE: ContextVar[bool] = ContextVar("parley_reference_paths", default=False)


def reference() -> bool:
    """True while a request of a reference app is being answered."""
    return _REFERENCE.get()


def serve_reference(app: Flask) -> None:
    """Make ``app`` answer the reference way: Flask's own JSON provider, and every
    request with the reference paths switched on."""
    provider = DefaultJSONProvider(app)
    provider.sort_keys = True
    provider.ensure_ascii = False
    app.json = provider

    @app.before_request
    def switch_on() -> None:
        g.parley_reference_token = _REFERENCE.set(True)

    @app.teardown_request
    def switch_off(_error: BaseException | None = None) -> None:
        token: Token[bool] | None = g.pop("parley_reference_token", None)
        if token is not None:
            _REFERENCE.reset(token)
