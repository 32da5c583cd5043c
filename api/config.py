"""Settings from the environment, with the embedded defaults of a fresh checkout."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


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
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        return cls(
            database_url=env.get("DATABASE_URL") or None,
            base_url=(env.get("PARLEY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            instance_path=path("PARLEY_INSTANCE_PATH"),
            fixtures_dir=path("PARLEY_FIXTURES_DIR"),
            seeds_dir=path("PARLEY_SEEDS_DIR"),
        )
