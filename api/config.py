"""Settings from the environment, with the embedded defaults of a fresh checkout."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Records are a few kilobytes; a megabyte leaves room and refuses abuse early.
DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_PAGE_CACHE_BYTES = 32 * 1_048_576


class SettingsError(ValueError):
    """A setting in the environment that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment.

    ``database_url`` of ``None`` means the embedded default: a SQLite file in
    the instance folder, created, migrated and loaded on first start.
    """

    database_url: str | None = None
    base_url: str = DEFAULT_BASE_URL
    instance_path: Path | None = None
    fixtures_dir: Path | None = None
    seeds_dir: Path | None = None
    # Request bodies larger than this are refused with a 413.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # False serves every read the straightforward way (see api.paths): slower, same bytes.
    fast_paths: bool = True
    # Bytes of JSON pages each worker keeps by ETag (api.v1.pagecache); 0 keeps none.
    page_cache_bytes: int = DEFAULT_PAGE_CACHE_BYTES
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        max_body = env.get("PARLEY_MAX_BODY_BYTES") or str(DEFAULT_MAX_BODY_BYTES)
        if not max_body.isdigit() or int(max_body) < 1:
            raise SettingsError(
                f"PARLEY_MAX_BODY_BYTES must be a positive number of bytes, not {max_body!r}"
            )
        page_cache = env.get("PARLEY_PAGE_CACHE_BYTES") or str(DEFAULT_PAGE_CACHE_BYTES)
        if not page_cache.isdigit():
            raise SettingsError(
                f"PARLEY_PAGE_CACHE_BYTES must be a number of bytes (0: none), not {page_cache!r}"
            )
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            base_url=(env.get("PARLEY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            instance_path=path("PARLEY_INSTANCE_PATH"),
            fixtures_dir=path("PARLEY_FIXTURES_DIR"),
            seeds_dir=path("PARLEY_SEEDS_DIR"),
            max_body_bytes=int(max_body),
            page_cache_bytes=int(page_cache),
        )
