"""The API documentation page at ``/docs``: Swagger UI served from local assets.

The assets come from an installed package, never from a CDN: the service may
have no internet, and a strict Content-Security-Policy holds on the page.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, send_from_directory

ASSETS = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
STATIC = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-spec-url="v1/openapi.json"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""

blueprint = Blueprint("docs", __name__)


def _protected(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/docs")
def page() -> Response:
    return _protected(Response(PAGE, mimetype="text/html"))


@blueprint.get("/docs/init.js")
def init_script() -> Response:
    return _protected(send_from_directory(STATIC, "docs.js", mimetype="text/javascript"))


@blueprint.get("/docs/assets/<path:name>")
def asset(name: str) -> Response:
    return _protected(send_from_directory(ASSETS, name, max_age=3600))
