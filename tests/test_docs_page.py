"""The /docs page, loaded in a real headless browser, lists every operation of the spec."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from api.docs import CONTENT_SECURITY_POLICY
from api.lifecycle import prepare_database
from tests.conftest import make_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def docs_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    # The page does not depend on the database backend: one SQLite app serves it.
    instance = tmp_path_factory.mktemp("docs")
    app = make_app(f"sqlite:///{instance / 'parley.sqlite3'}", instance)
    prepare_database(app)
    return app


@pytest.fixture
def live_url(docs_app: Flask) -> Iterator[str]:
    """The app behind a real HTTP server on a free port (bound before the thread starts)."""
    server = make_server("127.0.0.1", 0, docs_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_page_sends_a_strict_content_security_policy(docs_app):
    response = docs_app.test_client().get("/docs")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "<script>" not in response.get_data(as_text=True)  # no inline script


def test_the_assets_come_from_this_server(docs_app):
    client = docs_app.test_client()
    page = client.get("/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    for source in sources:
        assert not source.startswith(("http:", "https:", "//"))
        assert client.get("/" + source).status_code == 200


def test_a_headless_browser_sees_every_operation(live_url, docs_app):
    if CHROMIUM is None:
        reason = "no chromium installed (Debian package `chromium`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    spec = docs_app.test_client().get("/v1/openapi.json").get_json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"{live_url}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # One block per operation, id="operations-<tag>-<operationId>"; tag sections are apart.
    listed = set(re.findall(r'id="(operations-(?!tag-)[^"]+)"', result.stdout))
    assert len(listed) == operations, result.stdout[-2000:]
