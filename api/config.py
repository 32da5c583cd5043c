"""Settings from the environment, with the embedded defaults of a fresh checkout."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Records are a few kilobytes; a megabyte leaves room and refuses abuse early.
DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_PAGE_CACHE_BYTES = 32 * 1_048_576
# The longest a connection attempt to the database may take, and the longest one
# statement may run (PostgreSQL's statement_timeout); 0 turns the latter off.
DEFAULT_DB_CONNECT_TIMEOUT = 5
DEFAULT_DB_STATEMENT_TIMEOUT = 30
# gunicorn kills a worker that has been silent this long (the backstop of every timeout).
DEFAULT_WORKER_TIMEOUT = 60
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?")
LIMIT = re.compile(r"(\d{1,9})/(\d{1,7})")
# A built-in exporter makes its next chunk from one batch of rows in milliseconds; an
# exporter silent for this long is stuck. Half of gunicorn's default timeout, so that
# the deadline cuts a slow exporter before gunicorn kills the whole worker.
DEFAULT_EXPORT_CHUNK_TIMEOUT = 30.0


class SettingsError(ValueError):
    """A setting in the environment that cannot be used."""


def _seconds(name: str, value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise SettingsError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


@dataclass(frozen=True)
class RateLimit:
    """At most ``quota`` requests per client in each window of ``window`` seconds."""

    quota: int
    window: int

    def __str__(self) -> str:
        return f"{self.quota}/{self.window}"


# An editor makes a change every few seconds at most; a script that sends more is
# either broken or hostile. Exports read every matching record: fewer of them.
DEFAULT_WRITE_LIMIT = RateLimit(60, 60)
DEFAULT_EXPORT_LIMIT = RateLimit(30, 60)


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
    # Keep each record's export chunks in the database until it changes (api.v1.renderings).
    renderings: bool = True
    # Origins allowed to read through CORS: empty (the default) allows none, ("*",) any.
    cors_origins: tuple[str, ...] = ()
    # None turns a limit off.
    write_limit: RateLimit | None = DEFAULT_WRITE_LIMIT
    export_limit: RateLimit | None = DEFAULT_EXPORT_LIMIT
    # "memory" (counts per worker process) or a redis:// URL (one count for all workers).
    ratelimit_storage: str = "memory"
    ratelimit_prefix: str = "parley:ratelimit:"
    db_connect_timeout: int = DEFAULT_DB_CONNECT_TIMEOUT
    db_statement_timeout: int = DEFAULT_DB_STATEMENT_TIMEOUT
    worker_timeout: int = DEFAULT_WORKER_TIMEOUT
    access_log: bool = True
    # Seconds an exporter may take to make one chunk before its response is cut.
    export_chunk_timeout: float = DEFAULT_EXPORT_CHUNK_TIMEOUT
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        chunk_timeout = _seconds(
            "PARLEY_EXPORT_CHUNK_TIMEOUT",
            env.get("PARLEY_EXPORT_CHUNK_TIMEOUT"),
            DEFAULT_EXPORT_CHUNK_TIMEOUT,
        )
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            base_url=(env.get("PARLEY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            instance_path=path("PARLEY_INSTANCE_PATH"),
            fixtures_dir=path("PARLEY_FIXTURES_DIR"),
            seeds_dir=path("PARLEY_SEEDS_DIR"),
            max_body_bytes=_number(env, "PARLEY_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1),
            cors_origins=_origins(env.get("PARLEY_CORS_ORIGINS", "")),
            write_limit=_limit(env, "PARLEY_RATELIMIT_WRITES", DEFAULT_WRITE_LIMIT),
            export_limit=_limit(env, "PARLEY_RATELIMIT_EXPORTS", DEFAULT_EXPORT_LIMIT),
            ratelimit_storage=_storage(env.get("PARLEY_RATELIMIT_STORAGE") or "memory"),
            ratelimit_prefix=env.get("PARLEY_RATELIMIT_PREFIX") or "parley:ratelimit:",
            db_connect_timeout=_number(
                env, "PARLEY_DB_CONNECT_TIMEOUT", DEFAULT_DB_CONNECT_TIMEOUT, 1
            ),
            db_statement_timeout=_number(
                env, "PARLEY_DB_STATEMENT_TIMEOUT", DEFAULT_DB_STATEMENT_TIMEOUT, 0
            ),
            worker_timeout=_number(env, "PARLEY_WORKER_TIMEOUT", DEFAULT_WORKER_TIMEOUT, 1),
            access_log=_flag(env, "PARLEY_ACCESS_LOG", default=True),
            page_cache_bytes=_number(env, "PARLEY_PAGE_CACHE_BYTES", DEFAULT_PAGE_CACHE_BYTES, 0),
            export_chunk_timeout=chunk_timeout,
            renderings=_flag(env, "PARLEY_RENDERINGS", default=True),
        )


def _number(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = env.get(name) or str(default)
    if not value.isdigit() or int(value) < minimum:
        raise SettingsError(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return int(value)


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    raise SettingsError(f"{name} must be on or off, not {value!r}")


def _origins(value: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    if "*" in origins:
        if len(origins) > 1:
            raise SettingsError("PARLEY_CORS_ORIGINS is either * or a list of origins, not both")
        return origins
    for origin in origins:
        if not ORIGIN.fullmatch(origin):
            raise SettingsError(
                f"PARLEY_CORS_ORIGINS: {origin!r} is not an origin like https://example.org"
            )
    return origins


def _limit(env: Mapping[str, str], name: str, default: RateLimit) -> RateLimit | None:
    value = (env.get(name) or str(default)).strip()
    if value.lower() == "off":
        return None
    match = LIMIT.fullmatch(value)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise SettingsError(f"{name} must be REQUESTS/SECONDS (like 60/60) or off, not {value!r}")
    return RateLimit(int(match.group(1)), int(match.group(2)))


def _storage(value: str) -> str:
    if value != "memory" and not value.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(
            f"PARLEY_RATELIMIT_STORAGE must be memory or a redis:// URL, not {value!r}"
        )
    return value
