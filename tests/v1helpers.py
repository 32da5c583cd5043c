"""Helpers for reading the v1 API in tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient


def path_of(url: str) -> str:
    """The path and query of an absolute URL the API returned."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def walk(client: FlaskClient, url: str) -> tuple[list[dict[str, Any]], int]:
    """Every item of a collection, following `next` links; and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        items.extend(body["items"])
        pages += 1
        next_url = path_of(body["links"]["next"]) if body["links"]["next"] else None
        assert pages < 10_000
    return items, pages


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def binary_key(value: Any) -> tuple[int, Any]:
    """Sort key of the API's order: binary (code point) order, NULLs last."""
    return (1, "") if value is None else (0, value)
