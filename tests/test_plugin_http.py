"""Installed plugins over HTTP: discovered and served with no change to Parley, and
a plugin that raises, yields the wrong types, is slow between chunks or hangs costs
only its own response, against a real gunicorn whose other worker keeps serving."""

from __future__ import annotations

import http.client
import json
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
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


STUCK_PLUGIN = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from exporters import hookimpl


    class Slow:
        # Slower between chunks than the chunk deadline, quicker than gunicorn's timeout.
        name = "slow"
        media_type = "text/x-slow"
        extension = "slow"

        def export(self, collection):
            yield "first chunk\\n" * 1000
            time.sleep(float(os.environ["PARLEY_TEST_SLOW_SECONDS"]))
            yield "second chunk\\n"


    class Hangs:
        # Never returns from its first next(): only gunicorn's worker timeout ends it.
        name = "hangs"
        media_type = "text/x-hangs"
        extension = "hangs"

        def export(self, collection):
            Path(os.environ["PARLEY_TEST_HANG_MARKER"]).write_text(str(os.getpid()))
            time.sleep(3600)
            yield "never"


    class Steady:
        # Its chunks come steadily, and all of them take longer than the worker timeout.
        name = "steady"
        media_type = "text/x-steady"
        extension = "steady"

        def export(self, collection):
            chunks = int(os.environ["PARLEY_TEST_STEADY_CHUNKS"])
            for number in range(chunks):
                time.sleep(float(os.environ["PARLEY_TEST_STEADY_SECONDS"]))
                yield f"chunk {number}\\n"


    class Numbers:
        name = "numbers"
        media_type = "text/x-numbers"
        extension = "numbers"

        def export(self, collection):
            yield 42


    @hookimpl
    def parley_register_exporters():
        return [Slow(), Hangs(), Steady(), Numbers()]
    """
)
CHUNK_DEADLINE = 0.5
SLOW_SECONDS = 1.5
WORKER_TIMEOUT = 4


STEADY_SECONDS = 0.5
STEADY_CHUNKS = 12  # 6 s in all, past WORKER_TIMEOUT


def install_stuck_plugin(site: Path) -> None:
    site.mkdir()
    (site / "parley_stuck.py").write_text(STUCK_PLUGIN)
    dist_info = site / "parley_stuck-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: parley-stuck\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text("[parley.exporters]\nstuck = parley_stuck\n")


def wait_for(predicate, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.05)


def get_or_cut(base: str, path: str) -> tuple[int | None, bytes, bool]:
    """Like raw_get, but a connection closed before any answer gives (None, b"", False)."""
    try:
        return raw_get(base, path)
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return None, b"", False


@pytest.mark.slow
def test_a_slow_or_stuck_plugin_is_cut_and_the_other_worker_keeps_serving(tmp_path, fixture_set):
    site = tmp_path / "site"
    install_stuck_plugin(site)
    marker = tmp_path / "hanging"
    env = {
        "PYTHONPATH": str(site),
        "PARLEY_EXPORT_CHUNK_TIMEOUT": str(CHUNK_DEADLINE),
        "PARLEY_TEST_SLOW_SECONDS": str(SLOW_SECONDS),
        "PARLEY_TEST_HANG_MARKER": str(marker),
    }
    deadline = time.monotonic() + STARTUP_TIMEOUT
    args = ("--timeout", str(WORKER_TIMEOUT))
    with parley_serve(tmp_path / "instance", env, args) as server:
        base = server.wait_until_listening(deadline)

        # Slow between chunks: the deadline cuts the stream after the first chunk, well
        # before gunicorn's timeout, and the worker lives on.
        started = time.monotonic()
        status, body, complete = raw_get(base, "/v1/talks.slow")
        assert (status, complete) == (200, False)
        assert body.startswith(b"first chunk\n")
        assert b"second chunk" not in body
        assert time.monotonic() - started < WORKER_TIMEOUT
        wait_for(lambda: "to make a chunk" in "".join(server.stderr), "deadline log", 10)

        # Wrong types cost a problem document.
        status, body, complete = raw_get(base, "/v1/talks.numbers")
        assert (status, complete) == (500, True)
        assert json.loads(body)["status"] == 500

        # Stuck inside next(): while one worker hangs, the other serves.
        with ThreadPoolExecutor(max_workers=1) as pool:
            hung = pool.submit(get_or_cut, base, "/v1/talks.hangs")
            wait_for(marker.exists, "hanging exporter", 30)
            for _ in range(5):
                status, index = get_json(f"{base}/")
                assert status == 200
                assert index["counts"]["talks"] == len(fixture_set.records["talks"])
            hung_status, hung_body, _complete = hung.result(timeout=WORKER_TIMEOUT + 30)
        # gunicorn aborted the worker: it answers gunicorn's own 500 page on its way out
        # (or, killed outright, closes the connection), and never the export.
        assert hung_status in (None, 500), (hung_status, hung_body[:200])
        assert b"never" not in hung_body
        assert "WORKER TIMEOUT" in "".join(server.stderr)

        # gunicorn replaced the killed worker: both serve again.
        for _ in range(4):
            status, _index = get_json(f"{base}/")
            assert status == 200
        status, body, complete = raw_get(base, "/v1/talks.csv")
        assert (status, complete) == (200, True)


@pytest.mark.slow
@pytest.mark.parametrize("threads", ["1", "2"], ids=["sync", "gthread"])
def test_an_export_making_steady_progress_outlives_the_worker_timeout(
    tmp_path, fixture_set, threads
):
    site = tmp_path / "site"
    install_stuck_plugin(site)
    env = {
        "PYTHONPATH": str(site),
        "PARLEY_TEST_STEADY_SECONDS": str(STEADY_SECONDS),
        "PARLEY_TEST_STEADY_CHUNKS": str(STEADY_CHUNKS),
    }
    deadline = time.monotonic() + STARTUP_TIMEOUT
    args = ("--timeout", str(WORKER_TIMEOUT), "--threads", threads)
    with parley_serve(tmp_path / "instance", env, args) as server:
        base = server.wait_until_listening(deadline)
        started = time.monotonic()
        status, body, complete = raw_get(base, "/v1/talks.steady")
        assert time.monotonic() - started > WORKER_TIMEOUT
        assert (status, complete) == (200, True)
        assert body.decode().splitlines() == [f"chunk {n}" for n in range(STEADY_CHUNKS)]
        assert "WORKER TIMEOUT" not in "".join(server.stderr)
