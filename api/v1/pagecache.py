"""JSON pages kept by their ETag, so that a page asked for again is not made again.

A page's ETag already names everything its bytes depend on: the collection, the
normalized query, the format, the base URL and the data revision, which every
accepted write (in any worker, any process) moves on. So an entry is never
stale: after a write the same request has another ETag and misses, and old
entries age out. Each worker keeps its own cache, bounded in bytes; nothing is
shared and nothing needs invalidating.
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
        self._lock = threading.Lock()  # gthread workers answer requests concurrently

    def get(self, etag: str) -> CachedPage | None:
        with self._lock:
            page = self._pages.get(etag)
            if page is not None:
                self._pages.move_to_end(etag)
            return page

    def put(self, etag: str, page: CachedPage) -> None:
        size = len(page.body)
        if size > self.max_bytes // 8:  # one page never crowds out the others
            return
        with self._lock:
            old = self._pages.pop(etag, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._pages[etag] = page
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted.body)


KEY = "parley.page_cache"


def init_app(app: Flask, max_bytes: int) -> None:
    if max_bytes > 0:
        app.extensions[KEY] = PageCache(max_bytes)


def page_cache(app: Flask) -> PageCache | None:
    cache: PageCache | None = app.extensions.get(KEY)
    return cache
