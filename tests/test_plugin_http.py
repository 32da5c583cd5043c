"""Installed plugins over HTTP: discovered and served with no change to Parley, and
a plugin that raises costs only its own response, against a real gunicorn."""

from __future__ import annotations

import http.client
import json
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.servers import STARTUP_TIMEOUT, get_json, parley_serve

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.yaml"


def test_the_example_plugin_is_served_through_its_entry_point(client, fixture_set):
    response = client.get("/v1/statements.ndjson")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line)["id"] for line in lines] == sorted(fixture_set.records["statements"])


def test_the_example_plugin_is_listed_with_its_distribution(client):
    exporters = client.get("/v1/exporters").get_json()["exporters"]
    ndjson = next(e for e in exporters if e["name"] == "ndjson")
    assert ndjson["distribution"] == "parley-ndjson"


def test_only_the_served_document_mentions_the_plugin(client):
    served = json.dumps(client.get("/v1/openapi.json").get_json())
    assert "application/x-ndjson" in served
    assert "ndjson" not in COMMITTED.read_text(encoding="utf-8")


BROKEN_PLUGIN = textwrap.dedent(
    """
    from exporters import hookimpl


    class Midway:
        name = "midway"
        media_type = "text/x-midway"
        extension = "midway"

        def export(self, collection):
            yield "x" * 65536
            raise RuntimeError("the midway exporter broke")


    class AtOnce:
        name = "atonce"
        media_type = "text/x-atonce"
        extension = "atonce"

        def export(self, collection):
            raise RuntimeError("the atonce exporter broke")


    @hookimpl
    def parley_register_exporters():
        return [Midway(), AtOnce()]
    """
)


def install_broken_plugin(site: Path) -> None:
    """A distribution on disk: a module and a dist-info naming its entry point."""
    site.mkdir()
    (site / "parley_broken.py").write_text(BROKEN_PLUGIN)
    dist_info = site / "parley_broken-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: parley-broken\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text("[parley.exporters]\nbroken = parley_broken\n")


def raw_get(base: str, path: str) -> tuple[int, bytes, bool]:
    """Status, body and whether the body arrived complete."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        try:
            return response.status, response.read(), True
        except http.client.IncompleteRead as exc:
            return response.status, exc.partial, False
    finally:
        connection.close()


@pytest.mark.slow
def test_a_raising_plugin_costs_only_its_own_response_under_gunicorn(tmp_path, fixture_set):
    site = tmp_path / "site"
    install_broken_plugin(site)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with parley_serve(tmp_path / "instance", {"PYTHONPATH": str(site)}) as server:
        base = server.wait_until_listening(deadline)
        status, body, complete = raw_get(base, "/v1/talks.midway")
        assert status == 200
        assert not complete  # the chunked stream ends without its final chunk
        assert body.startswith(b"x")

        status, body, complete = raw_get(base, "/v1/talks.atonce")
        assert status == 500
        assert complete
        problem = json.loads(body)
        assert problem["status"] == 500
        assert "Traceback" not in body.decode()

        for _ in range(4):  # both workers still serve
            status, index = get_json(f"{base}/")
            assert status == 200
            assert index["counts"]["talks"] == len(fixture_set.records["talks"])
        status, body, complete = raw_get(base, "/v1/talks.csv")  # other formats still work
        assert (status, complete) == (200, True)
        assert body.startswith(b"id,")
