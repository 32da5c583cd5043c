"""JSON pages kept by their ETag, so that a page asked for again is not made again.

A page's ETag already names everything its bytes depend on: the collection, the
normalized query, the format, the base URL and the data revision, which every
accepted write (in any worker, any process) moves on. So an entry is never
stale: after a write the same request has another ETag and misses. Each worker
keeps its own cache, bounded in bytes; nothing is shared and nothing needs
invalidating.

Entries of an older data revision can never be asked for again, so the first
request that reads another one drops them all: under a steady stream of writes
the cache holds the pages of the current revision only, instead of filling up
to its bound with dead ones. (Another, not only a newer one: a database put
back from a backup numbers its next revisions again.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    headers: tuple[tuple[str, str], ...]


class PageCache:
    """A least-recently-used map of ETag to page, holding at most ``max_bytes`` of bodies."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[str, CachedPage] = OrderedDict()
        self._bytes = 0
        self._revision = 0  # the data revision the kept pages were made at
        self._lock = threading.Lock()  # gthread workers answer requests concurrently

    def get(self, etag: str, revision: int) -> CachedPage | None:
        """The page kept under ``etag``, for a request that read data revision ``revision``."""
        with self._lock:
            if revision != self._revision:
                self._pages.clear()
                self._bytes = 0
                self._revision = revision
                return None
            page = self._pages.get(etag)
            if page is not None:
                self._pages.move_to_end(etag)
            return page

    def put(self, etag: str, revision: int, page: CachedPage) -> None:
        size = len(page.body)
        if size > self.max_bytes // 8:  # one page never crowds out the others
            return
        with self._lock:
            if revision != self._revision:
                return  # a request meanwhile read another revision: this page is dead
            old = self._pages.pop(etag, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._pages[etag] = page
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted.body)

    @property
    def size(self) -> int:
        """Bytes of the bodies kept."""
        with self._lock:
            return self._bytes


KEY = "parley.page_cache"


def init_app(app: Flask, max_bytes: int) -> None:
    if max_bytes > 0:
        app.extensions[KEY] = PageCache(max_bytes)


def page_cache(app: Flask) -> PageCache | None:
    cache: PageCache | None = app.extensions.get(KEY)
    return cache
