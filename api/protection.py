"""Security headers on every response, and CORS for reads only.

The API serves JSON and exports, never pages to render (but ``/docs``, which
sets its own, looser policy): every response forbids scripts, framing and
content sniffing, and leaks no referrer.

CORS lets pages of the configured origins read the public data. Writes never
get CORS allowance, whatever the configuration: a browser page may not
spend an editor's token, so a preflight for a write is answered without any
``Access-Control-Allow-*`` field and the browser refuses it.
"""

from __future__ import annotations

from flask import Flask, Response, request

from api.config import Settings

# For everything but /docs (api.docs sets a policy that lets its page run).
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
READ_METHODS = frozenset({"GET", "HEAD"})
# What a cross-origin read may send beyond the CORS-safelisted headers.
ALLOWED_REQUEST_HEADERS = "Accept, If-None-Match, Prefer, X-Request-Id"
# What a cross-origin read may see beyond the CORS-safelisted response headers.
EXPOSED_HEADERS = (
    "ETag, Link, Preference-Applied, Content-Disposition, Retry-After, "
    "RateLimit, RateLimit-Policy, X-Request-Id"
)
PREFLIGHT_MAX_AGE = "600"


class Cors:
    """The CORS policy of one app: which origins may read."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.any = origins == ("*",)
        self.origins = frozenset(origins)

    def allowed_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, or None."""
        if not origin or not self.origins:
            return None
        if self.any:
            return "*"
        return origin if origin in self.origins else None

    def preflight(self) -> Response | None:
        """The answer to a CORS preflight (an OPTIONS naming the method to come)."""
        wanted = request.headers.get("Access-Control-Request-Method")
        if request.method != "OPTIONS" or wanted is None or request.url_rule is None:
            return None
        response = Response(status=204)
        response.vary.update(("Origin", "Access-Control-Request-Method"))
        allowed = self.allowed_origin(request.headers.get("Origin"))
        if allowed is None or wanted.upper() not in READ_METHODS:
            return response  # no allowance: the browser does not send the request
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response

    def annotate(self, response: Response) -> None:
        if not self.origins:
            return
        if not self.any:
            # The answer depends on the Origin: caches must keep one per origin.
            response.vary.add("Origin")
        if request.method not in READ_METHODS or "Access-Control-Allow-Origin" in response.headers:
            return
        allowed = self.allowed_origin(request.headers.get("Origin"))
        if allowed is not None:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def secure_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over the headers, not one per name: this runs for every response.
    present = {name.lower() for name, _value in headers.items()}
    for name, value in DEFAULT_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    return response


DEFAULT_HEADERS = (
    *SECURITY_HEADERS.items(),
    ("Content-Security-Policy", API_CONTENT_SECURITY_POLICY),
)


def init_app(app: Flask, settings: Settings) -> None:
    cors = Cors(settings.cors_origins)

    @app.before_request
    def _preflight() -> Response | None:
        return cors.preflight()

    @app.after_request
    def _headers(response: Response) -> Response:
        cors.annotate(response)
        return secure_headers(response)
