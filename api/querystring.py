"""The query string must be UTF-8, checked before any view reads it.

werkzeug decodes raw bytes of the query string strictly (a byte that is not UTF-8
raised deep inside ``request.args``, a 500 behind any WSGI server that passes such
bytes on; gunicorn refuses them itself) and percent-escapes leniently (an invalid
sequence became U+FFFD, so a filter silently searched for something else). Both
are refused here with a 400 naming the parameter.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import Flask, request

from api.errors import ProblemError


def undecodable(query: bytes) -> list[str]:
    """The names of the parameters whose name or value is not UTF-8 once unescaped."""
    names = []
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        raw_name, raw_value = unquote_to_bytes(name), unquote_to_bytes(value)
        try:
            raw_name.decode("utf-8")
            raw_value.decode("utf-8")
        except UnicodeDecodeError:
            names.append(raw_name.decode("utf-8", "replace"))
    return names


def check_query_string() -> None:
    names = undecodable(request.query_string)
    if names:
        raise ProblemError(
            400,
            "The query string is not UTF-8 (percent-encode UTF-8 bytes only).",
            errors=[{"parameter": name, "detail": "is not UTF-8"} for name in names],
        )


def init_app(app: Flask) -> None:
    app.before_request(check_query_string)
