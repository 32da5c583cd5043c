"""JSON pages kept by ETag: the same bytes again, never a page older than the data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app, parley, tokens
from api.lifecycle import prepare_database
from api.v1 import data
from api.v1.pagecache import CachedPage, PageCache, page_cache
from tests.conftest import make_app

PAGE = "/v1/talks?limit=10"
TALK = "/v1/talks/istanbul-talks"


@pytest.fixture
def counted_pages(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pages were read from the database."""
    reads: list[int] = []
    original = data.fetch_page

    def counting(*args: Any, **kwargs: Any) -> data.Page:
        reads.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(data, "fetch_page", counting)
    return reads


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Flask, Flask, str]]:
    """Two apps on one database, as two gunicorn workers are, and a token."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first = make_app(url, tmp_path / "instance")
    prepare_database(first)
    second = make_app(url, tmp_path / "instance")
    with parley(second).sessions.begin() as session:
        token = tokens.create(session, "cache-test", datetime.now(UTC), None)
    yield first, second, token
    for app in (first, second):
        parley(app).engine.dispose()


def test_a_page_asked_again_is_not_read_again_and_has_the_same_bytes(loaded_app, counted_pages):
    client = loaded_app.test_client()
    first = client.get(PAGE)
    again = client.get(PAGE)
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    for header in ("ETag", "Link", "Content-Type", "Cache-Control", "Vary"):
        assert again.headers.get(header) == first.headers.get(header), header
    assert len(counted_pages) <= 1  # the page may already be kept from an earlier test


def test_another_query_is_another_entry(loaded_app):
    client = loaded_app.test_client()
    assert client.get(PAGE).get_data() != client.get("/v1/talks?limit=10&sort=-id").get_data()


def test_a_write_in_another_worker_is_seen_at_once(two_workers, counted_pages):
    reader, writer, token = two_workers
    reads = reader.test_client()
    before = reads.get("/v1/talks").get_json()["items"][0]
    assert reads.get("/v1/talks").get_json()["items"][0] == before
    kept_reads = len(counted_pages)

    writes = writer.test_client()
    etag = writes.get(f"/v1/talks/{before['id']}").headers["ETag"]
    response = writes.patch(
        f"/v1/talks/{before['id']}",
        json={"venue": "Geneva"},
        headers={"Authorization": f"Bearer {token}", "If-Match": etag},
    )
    assert response.status_code == 200

    after = reads.get("/v1/talks").get_json()["items"][0]
    assert after["venue"] == "Geneva"
    assert after["revision"] == before["revision"] + 1
    assert len(counted_pages) > kept_reads


def test_the_cache_holds_no_more_than_its_bytes():
    cache = cache_at(1, "etag-0")
    for n in range(10):
        cache.put(f"etag-{n}", 1, CachedPage(b"x" * 100, ()))
    kept = [n for n in range(10) if cache.get(f"etag-{n}", 1) is not None]
    assert kept == [2, 3, 4, 5, 6, 7, 8, 9]


def test_a_page_larger_than_an_eighth_of_the_cache_is_not_kept():
    cache = cache_at(1, "small")
    cache.put("big", 1, CachedPage(b"x" * 101, ()))
    assert cache.get("big", 1) is None


def test_a_page_used_again_outlives_newer_ones():
    cache = cache_at(1, "a")
    for name in "abcdefgh":
        cache.put(name, 1, CachedPage(b"x" * 100, ()))
    assert cache.get("a", 1) is not None
    cache.put("i", 1, CachedPage(b"x" * 100, ()))
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) is not None


def cache_at(revision: int, *etags: str) -> PageCache:
    cache = PageCache(max_bytes=800)
    cache.get(etags[0], revision)  # a request reads the revision, misses, then keeps its page
    for etag in etags:
        cache.put(etag, revision, CachedPage(b"x" * 100, ()))
    return cache


def test_a_request_reading_another_data_revision_drops_the_pages_of_the_old_one():
    cache = cache_at(1, "a", "b", "c")
    assert cache.size == 300
    assert cache.get("d", 2) is None
    assert cache.size == 0
    assert cache.get("a", 1) is None


def test_an_older_data_revision_also_drops_them():
    # A database put back from a backup numbers its revisions again.
    cache = cache_at(7, "a")
    assert cache.get("a", 3) is None
    assert cache.size == 0


def test_a_page_made_from_data_another_request_saw_replaced_is_not_kept():
    cache = cache_at(5, "new")
    cache.put("late", 4, CachedPage(b"x" * 100, ()))  # its request read before a write
    assert cache.size == 100
    assert cache.get("new", 5) is not None


def test_writes_keep_the_cache_to_the_current_revision(loaded_app, editor):
    cache = page_cache(loaded_app)
    assert cache is not None
    reads = loaded_app.test_client()
    for n in range(3):
        for limit in (1, 2, 3):
            assert reads.get(f"/v1/talks?limit={limit}").status_code == 200
        held = cache.size
        response = editor.write("PATCH", TALK, {"notes": f"note {n}"})
        assert response.status_code == 200
        assert reads.get("/v1/talks?limit=1").status_code == 200
        assert 0 < cache.size < held


def test_no_cache_when_its_size_is_zero(loaded_app, counted_pages):
    settings = dataclasses.replace(
        parley(loaded_app).settings, database_url=parley(loaded_app).database_url
    )
    app = create_app(dataclasses.replace(settings, page_cache_bytes=0))
    try:
        client = app.test_client()
        client.get(PAGE)
        client.get(PAGE)
        assert len(counted_pages) == 2
    finally:
        parley(app).engine.dispose()
