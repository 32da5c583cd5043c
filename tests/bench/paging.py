"""Keyset pages: cursors built without walking the pages, and deep page ÷ first page.

A cursor is what ``api.v1.cursor.encode`` makes of the collection, the digest
of the query (here ``/v1/talks?limit=50``: no filter, the default sort) and the
sort values of the last row served, which for the default sort is its id. So
the cursor of the page after row 900,000 needs only the id of row 900,000; the
bench checks that the server takes it and that the page starts where it should.

The timing is sequential, one request at a time on an idle server, the deep
and the first page alternating so that drifts of a busy machine hit both; the
figure is the ratio of their median latencies.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from werkzeug.datastructures import MultiDict

from api.v1 import cursor
from api.v1.catalog import COLLECTIONS
from api.v1.params import parse

PAGE = 50
COLLECTION = "talks"
FIRST_PAGE = f"/v1/{COLLECTION}?limit={PAGE}"


def cursor_after(talk_id: str) -> str:
    """The cursor of the page of ``/v1/talks?limit=50`` after the talk ``talk_id``."""
    params = parse(COLLECTIONS[COLLECTION], MultiDict({"limit": str(PAGE)}), {})
    return cursor.encode(COLLECTION, params.digest(COLLECTION), (talk_id,))


def page_after(talk_id: str) -> str:
    return f"{FIRST_PAGE}&cursor={quote(cursor_after(talk_id))}"


class Client:
    """Sequential GETs on one connection, reopened whenever the server closes it."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes, float]:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                started = time.perf_counter()
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                body = response.read()
                seconds = time.perf_counter() - started
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return response.status, body, seconds
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def check_page(client: Client, path: str, first_id: str | None) -> None:
    """The page answers 200 with a full page, starting at ``first_id`` when given."""
    status, body, _ = client.get(path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:500]!r}")
    items = json.loads(body)["items"]
    if len(items) != PAGE:
        raise RuntimeError(f"GET {path} gave {len(items)} items, not {PAGE}")
    if first_id is not None and items[0]["id"] != first_id:
        raise RuntimeError(f"GET {path} starts at {items[0]['id']}, not {first_id}")


@dataclass
class PageTiming:
    position: int  # the rows before the deep page
    samples: int
    first_median_ms: float
    deep_median_ms: float
    first_p90_ms: float
    deep_p90_ms: float

    @property
    def ratio(self) -> float:
        return self.deep_median_ms / self.first_median_ms

    def describe(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": round(self.ratio, 3)}


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def time_pages(base_url: str, deep_path: str, position: int, samples: int) -> PageTiming:
    client = Client(base_url)
    try:
        for _ in range(min(10, samples)):  # warm both paths
            client.get(FIRST_PAGE)
            client.get(deep_path)
        first: list[float] = []
        deep: list[float] = []
        for _ in range(samples):
            for path, into in ((FIRST_PAGE, first), (deep_path, deep)):
                status, _, seconds = client.get(path)
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}")
                into.append(seconds * 1000)
    finally:
        client.close()
    return PageTiming(
        position=position,
        samples=samples,
        first_median_ms=round(statistics.median(first), 3),
        deep_median_ms=round(statistics.median(deep), 3),
        first_p90_ms=round(_p90(first), 3),
        deep_p90_ms=round(_p90(deep), 3),
    )
