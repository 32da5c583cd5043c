"""RFC 9457 problem documents for every error the service returns.

Nothing but a problem document leaves the service on an error path: no HTML
error pages, and never a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, json
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, MethodNotAllowed

PROBLEM_MEDIA_TYPE = "application/problem+json"
# How long a client should wait before retrying while the database is away.
DATABASE_RETRY_AFTER = 5
# What a database that is down, unreachable, too slow or out of connections raises:
# a 503 the client may retry, not a 500 that says the server is broken.
DATABASE_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)

log = logging.getLogger(__name__)


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(
        json.dumps(body, ensure_ascii=False, sort_keys=True),
        status=status,
        mimetype=PROBLEM_MEDIA_TYPE,
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    retry_after = error.response.headers.get("Retry-After") if error.response else None
    if retry_after:
        headers["Retry-After"] = retry_after
    return problem(status, error.description, headers=headers)


def _unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "The server failed to answer this request; it has been logged.")


def _database_unavailable(error: Exception) -> Response:
    cause = getattr(error, "orig", None) or error
    log.warning("database unavailable: %s: %s", type(cause).__name__, str(cause).strip()[:200])
    return problem(
        503,
        "The database is unavailable or did not answer in time; retry later.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


class ProblemError(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> Response:
        extra = dict(self.extra)
        if self.errors is not None:
            extra["errors"] = self.errors
        return problem(self.status, self.detail, headers=self.headers, **extra)


def bad_parameters(errors: list[dict[str, str]]) -> ProblemError:
    names = ", ".join(sorted({e["parameter"] for e in errors}))
    return ProblemError(400, f"Invalid query parameter(s): {names}.", errors=errors)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ProblemError, lambda error: error.response())
    app.register_error_handler(HTTPException, _http_error)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, _database_unavailable)
    app.register_error_handler(Exception, _unexpected_error)
