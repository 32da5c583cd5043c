"""Where the seed documents and the fixtures are read from.

In a wheel they ship as package data of ``api`` (``api/_bundled/``); in a
checkout they are the top-level ``seeds/`` and ``fixtures/`` folders. Both are
reached through :mod:`importlib.resources`, so an installed Parley never
depends on the working directory.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def _bundled(name: str) -> Traversable:
    packaged = resources.files("api") / "_bundled" / name
    if packaged.is_dir():
        return packaged
    return _CHECKOUT_ROOT / name


def seeds_dir() -> Traversable:
    return _bundled("seeds")


def fixtures_dir() -> Traversable:
    return _bundled("fixtures")
