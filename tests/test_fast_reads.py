"""Plain item reads and kept pages are answered beneath Flask, byte for byte as the
views answer.

``api.v1.fastreads.FastReads`` sits between the access log and the Flask app. Each
test asks the same request of the layer and of the app beneath it and compares
status, headers (in order) and body; a spy on the app tells which of the two
answered, so that a layer which silently never answers cannot pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client, TestResponse

from api.requestlog import RequestLog
from api.v1 import fastreads, pagecache
from api.v1.catalog import COLLECTIONS
from api.v1.fastreads import FastReads
from tests.conftest import Editor
from tests.v1helpers import path_of

TALK = "/v1/talks/istanbul-talks"
MERGE_PATCH = "application/merge-patch+json"


@dataclass
class Layer:
    fast: FastReads
    app: Any
    # The paths the last ``get`` left to the app.
    asked_of_app: list[str] = field(default_factory=list)

    def get(self, path: str, method: str = "GET", **headers: str) -> TestResponse:
        """The layer's answer; ``asked_of_app`` then holds what it left to the app."""
        self.asked_of_app.clear()
        return Client(self.fast).open(path, method=method, headers=headers, buffered=True)

    def get_from_app(self, path: str, method: str = "GET", **headers: str) -> TestResponse:
        return Client(self.app).open(path, method=method, headers=headers, buffered=True)


def layer_of(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Layer:
    logged = app.wsgi_app
    assert isinstance(logged, RequestLog)
    fast = logged.app
    assert isinstance(fast, FastReads)
    layer = Layer(fast, fast.app)
    # An empty page cache of the test's own: what earlier tests kept does not count.
    if pagecache.page_cache(app) is not None:
        monkeypatch.setitem(app.extensions, pagecache.KEY, pagecache.PageCache(1_048_576))

    def spy(environ: dict[str, Any], start_response: Any) -> Any:
        layer.asked_of_app.append(environ["PATH_INFO"])
        return layer.app(environ, start_response)

    monkeypatch.setattr(fast, "app", spy)
    return layer


@pytest.fixture
def layer(loaded_app: Flask, monkeypatch: pytest.MonkeyPatch) -> Layer:
    return layer_of(loaded_app, monkeypatch)


def assert_same(fast: TestResponse, slow: TestResponse, *, besides: tuple[str, ...] = ()) -> None:
    """Same status, headers in the same order, and body (``besides`` headers aside)."""

    def headers(response: TestResponse) -> list[tuple[str, str]]:
        return [(k, v) for k, v in response.headers.to_wsgi_list() if k not in besides]

    assert fast.status == slow.status
    assert headers(fast) == headers(slow)
    assert fast.get_data() == slow.get_data()


def first_ids(app: Flask, name: str, count: int = 2) -> list[str]:
    response = app.test_client().get(f"/v1/{name}?limit={count}")
    assert response.status_code == 200
    ids = [item["id"] for item in response.get_json()["items"]]
    assert ids, name
    return ids


@pytest.mark.parametrize("name", COLLECTIONS)
def test_an_item_of_every_collection_is_answered_by_the_layer_as_the_view_answers(
    layer: Layer, loaded_app: Flask, name: str
):
    for record_id in first_ids(loaded_app, name):
        path = f"/v1/{name}/{record_id}"
        fast = layer.get(path)
        assert layer.asked_of_app == [], path
        assert fast.status_code == 200
        assert_same(fast, layer.get_from_app(path))


def test_a_head_is_answered_by_the_layer_with_the_gets_headers_and_no_body(layer: Layer):
    fast = layer.get(TALK, method="HEAD")
    assert layer.asked_of_app == []
    assert fast.get_data() == b""
    assert_same(fast, layer.get_from_app(TALK, method="HEAD"))
    assert fast.headers["Content-Length"] == layer.get(TALK).headers["Content-Length"]


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*;q=0.5, */*;q=0.1"])
def test_an_accept_header_that_wants_json_is_answered_by_the_layer(layer: Layer, accept: str):
    fast = layer.get(TALK, Accept=accept)
    assert layer.asked_of_app == []
    assert_same(fast, layer.get_from_app(TALK, Accept=accept))


OTHER_REQUESTS = {
    "a query": (TALK + "?as_of=2024-01-01T00:00:00Z", {}),
    "a format parameter": (TALK + "?format=csv", {}),
    "a suffix": (TALK + ".csv", {}),
    "another media type": (TALK, {"Accept": "text/csv"}),
    "an unacceptable media type": (TALK, {"Accept": "image/png"}),
    "an unknown record": ("/v1/talks/no-such-talk", {}),
    "an unknown collection": ("/v1/meetings/istanbul-talks", {}),
    "a malformed id": ("/v1/talks/Istanbul-Talks", {}),
    "a nested list": (TALK + "/delegations", {}),
    "a trailing slash": (TALK + "/", {}),
}


@pytest.mark.parametrize("case", OTHER_REQUESTS)
def test_any_other_read_goes_on_to_the_app(layer: Layer, case: str):
    path, headers = OTHER_REQUESTS[case]
    answered = layer.get(path, **headers)
    assert layer.asked_of_app == [path.split("?")[0]]
    # Exports count against their rate limit: each answer has one fewer left.
    assert_same(answered, layer.get_from_app(path, **headers), besides=("RateLimit",))


def test_a_conditional_read_goes_on_to_the_app_which_answers_304(layer: Layer):
    etag = layer.get(TALK).headers["ETag"]
    answered = layer.get(TALK, **{"If-None-Match": etag})
    assert answered.status_code == 304
    assert layer.asked_of_app == [TALK]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_go_on_to_the_app(layer: Layer, method: str):
    layer.get(TALK, method=method)
    assert layer.asked_of_app == [TALK]


def test_a_deleted_record_is_the_apps_410(editor: Editor, monkeypatch: pytest.MonkeyPatch):
    layer = layer_of(editor.client.application, monkeypatch)
    path = "/v1/statements/" + first_ids(editor.client.application, "statements", 1)[0]
    assert editor.write("DELETE", path).status_code == 204
    answered = layer.get(path)
    assert answered.status_code == 410
    assert layer.asked_of_app == [path]


def test_the_layer_answers_a_write_at_once_with_its_new_etag(
    editor: Editor, monkeypatch: pytest.MonkeyPatch
):
    layer = layer_of(editor.client.application, monkeypatch)
    before = layer.get(TALK)
    response = editor.write("PATCH", TALK, {"title": "Renamed talks"}, content_type=MERGE_PATCH)
    assert response.status_code == 200, response.get_json()
    after = layer.get(TALK)
    assert layer.asked_of_app == []
    assert after.get_json()["title"] == "Renamed talks"
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.headers["ETag"] == response.headers["ETag"]
    assert_same(after, layer.get_from_app(TALK))


def test_a_failed_fast_read_is_read_again_and_answered_by_the_app(
    layer: Layer, monkeypatch: pytest.MonkeyPatch
):
    expected = layer.get_from_app(TALK)

    def fail(*_args: Any) -> Any:
        raise RuntimeError("the fast read failed")

    # Only the layer's read fails: the view reads through api.v1.data itself.
    monkeypatch.setattr(fastreads, "data", _DataWith(fail))
    answered = layer.get(TALK)
    assert layer.asked_of_app == [TALK]
    assert_same(answered, expected)


class _DataWith:
    """``api.v1.data`` as the layer sees it, with ``fetch_one`` replaced."""

    def __init__(self, fetch_one: Any) -> None:
        self.fetch_one = fetch_one


def test_an_app_with_cors_origins_leaves_items_to_the_app(
    app_with: Any, monkeypatch: pytest.MonkeyPatch
):
    app = app_with(cors_origins=("https://reader.example",))
    layer = layer_of(app, monkeypatch)
    answered = layer.get(TALK, Origin="https://reader.example")
    assert layer.asked_of_app == [TALK]
    assert answered.headers["Access-Control-Allow-Origin"] == "https://reader.example"


def test_a_reference_app_leaves_items_to_the_app(app_with: Any, monkeypatch: pytest.MonkeyPatch):
    layer = layer_of(app_with(fast_paths=False), monkeypatch)
    assert layer.get(TALK).status_code == 200
    assert layer.asked_of_app == [TALK]


def test_the_full_app_tags_a_layer_answer_with_its_request_id(loaded_app: Flask, monkeypatch):
    layer = layer_of(loaded_app, monkeypatch)
    response = loaded_app.test_client().get(TALK, headers={"X-Request-Id": "fast-item-1"})
    assert response.status_code == 200
    assert layer.asked_of_app == []
    assert response.headers["X-Request-Id"] == "fast-item-1"


PAGES = {
    "the first page": "/v1/{name}",
    "a short page": "/v1/{name}?limit=2",
    "a sorted page": "/v1/{name}?sort=-id&limit=3",
    "a counted page": "/v1/{name}?limit=2",
}


@pytest.mark.parametrize("name", COLLECTIONS)
@pytest.mark.parametrize("case", PAGES)
def test_a_kept_page_of_every_collection_is_answered_by_the_layer_as_the_view_answers(
    layer: Layer, name: str, case: str
):
    path = PAGES[case].format(name=name)
    headers = {"Prefer": "count=exact"} if case == "a counted page" else {}
    made = layer.get(path, **headers)
    assert made.status_code == 200
    assert layer.asked_of_app == [f"/v1/{name}"], "a page is made by the view first"
    kept = layer.get(path, **headers)
    assert layer.asked_of_app == [], "and then answered by the layer"
    assert_same(kept, made)
    assert_same(kept, layer.get_from_app(path, **headers))


def test_the_next_page_of_a_kept_page_is_kept_and_answered_too(layer: Layer):
    first = layer.get("/v1/statements?limit=1")
    assert first.headers["Link"].startswith("<")
    following = path_of(first.get_json()["links"]["next"])
    made = layer.get(following)
    kept = layer.get(following)
    assert layer.asked_of_app == []
    assert_same(kept, made)
    assert kept.get_json()["items"] != first.get_json()["items"]


def test_a_write_moves_a_kept_page_on_to_the_view_then_back_to_the_layer(
    editor: Editor, monkeypatch: pytest.MonkeyPatch
):
    layer = layer_of(editor.client.application, monkeypatch)
    path = "/v1/talks?limit=3"
    layer.get(path)
    before = layer.get(path)
    assert layer.asked_of_app == []
    response = editor.write("PATCH", TALK, {"title": "Renamed talks"}, content_type=MERGE_PATCH)
    assert response.status_code == 200, response.get_json()
    after = layer.get(path)
    assert layer.asked_of_app == ["/v1/talks"], "the data revision moved: a new page"
    assert after.headers["ETag"] != before.headers["ETag"]
    again = layer.get(path)
    assert layer.asked_of_app == []
    assert_same(again, after)


BAD_PAGES = {
    "a limit out of range": "/v1/talks?limit=0",
    "an unknown parameter": "/v1/talks?colour=blue",
    "a cursor of another query": "/v1/talks?cursor=not-a-cursor",
    "a query that is not UTF-8": "/v1/talks?q=%FF",
    "a format": "/v1/talks?format=csv",
}


@pytest.mark.parametrize("case", BAD_PAGES)
def test_a_page_the_layer_cannot_answer_goes_on_to_the_app(layer: Layer, case: str):
    path = BAD_PAGES[case]
    for _ in range(2):  # asked twice: nothing a first answer kept changes that
        answered = layer.get(path)
        assert layer.asked_of_app == ["/v1/talks"]
    assert_same(answered, layer.get_from_app(path), besides=("RateLimit",))


def test_a_nested_list_is_left_to_the_app(layer: Layer):
    for _ in range(2):
        layer.get(TALK + "/delegations")
        assert layer.asked_of_app == [TALK + "/delegations"]


def test_an_app_without_a_page_cache_leaves_pages_to_the_app(
    app_with: Any, monkeypatch: pytest.MonkeyPatch
):
    layer = layer_of(app_with(page_cache_bytes=0), monkeypatch)
    for _ in range(2):
        assert layer.get("/v1/talks").status_code == 200
        assert layer.asked_of_app == ["/v1/talks"]
