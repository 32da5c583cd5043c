"""Rate limits on writes and on exports, announced in the IETF RateLimit fields.

The fields follow draft-ietf-httpapi-ratelimit-headers-10 (September 2025):

    RateLimit-Policy: "writes";q=60;w=60     the policy: a quota of 60 per 60-second window
    RateLimit: "writes";r=12;t=34            what is left of it, and seconds until it resets

A client over its quota gets a ``429`` problem with ``Retry-After``.

Counting is a fixed window per client address, which is cheap and exact: one
counter per client and window, incremented atomically. The counters live in
this process (``memory``: each gunicorn worker counts on its own, so a client
may get up to workers x quota) or in Redis (one count for every worker and
host). A Redis that cannot be reached lets requests through and logs it: the
limiter protects the service, it must not become the reason it is down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, Response, current_app, g, request

from api.config import RateLimit, Settings
from api.errors import ProblemError

DRAFT = "draft-ietf-httpapi-ratelimit-headers-10"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXTENSION_KEY = "parley.ratelimits"
# How long a Redis command may take before the limiter gives up on it (seconds).
REDIS_TIMEOUT = 0.5

log = logging.getLogger(__name__)


class Counter(Protocol):
    def hit(self, key: str, window: int, now: float) -> int:
        """Count one request under ``key`` (a key of one window) and return the count."""


class MemoryCounter:
    """Counters in this process; expired windows are dropped as new ones begin."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, tuple[float, int]] = {}
        self.next_sweep = 0.0

    def hit(self, key: str, window: int, now: float) -> int:
        with self.lock:
            if now >= self.next_sweep:
                self.counts = {k: v for k, v in self.counts.items() if v[0] > now}
                self.next_sweep = now + 1.0
            expires, count = self.counts.get(key, (now + window, 0))
            self.counts[key] = (expires, count + 1)
            return count + 1


class RedisCounter:
    """Counters in Redis: INCR and EXPIRE in one transaction, so that every worker
    sees one count and no key outlives its window."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )

    def hit(self, key: str, window: int, now: float) -> int:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count, _ = pipe.execute()
        return int(count)


@dataclass(frozen=True)
class Verdict:
    policy: str
    limit: RateLimit
    remaining: int
    reset: int

    @property
    def allowed(self) -> bool:
        return self.remaining >= 0

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit.quota};w={self.limit.window}',
            "RateLimit": f'"{self.policy}";r={max(self.remaining, 0)};t={self.reset}',
        }


class Limiter:
    """The limits of one app: a named policy each for writes and exports."""

    def __init__(self, settings: Settings) -> None:
        self.policies = {"writes": settings.write_limit, "exports": settings.export_limit}
        self.prefix = settings.ratelimit_prefix
        # Wall-clock time: windows are aligned to it, so every worker and host agrees on them.
        self.clock: Callable[[], float] = time.time
        self.counter: Counter = (
            MemoryCounter()
            if settings.ratelimit_storage == "memory"
            else RedisCounter(settings.ratelimit_storage)
        )

    def check(self, policy: str, client: str) -> Verdict | None:
        limit = self.policies[policy]
        if limit is None:
            return None
        now = self.clock()
        window = int(now // limit.window)
        reset = max(1, math.ceil((window + 1) * limit.window - now))
        key = f"{self.prefix}{policy}:{client}:{window}"
        try:
            count = self.counter.hit(key, limit.window, now)
        except Exception as exc:  # the limiter's store is down: let the request through
            log.warning("rate limit store unavailable, not limiting: %s", type(exc).__name__)
            return None
        return Verdict(policy, limit, limit.quota - count, reset)


def _client() -> str:
    # The peer address. Behind a reverse proxy that is the proxy's: have the proxy
    # limit by client, or give each client its own Parley-facing address.
    return request.remote_addr or "unknown"


def charge(policy: str) -> None:
    """Count the current request against ``policy``: a 429 problem when over quota.

    The fields for the response are kept in ``g`` and added after the view.
    """
    limiter = current_app.extensions[EXTENSION_KEY]
    assert isinstance(limiter, Limiter)
    verdict = limiter.check(policy, _client())
    if verdict is None:
        return
    if not verdict.allowed:
        raise ProblemError(
            429,
            f"Too many {policy} from this client: at most {verdict.limit.quota} every "
            f"{verdict.limit.window} seconds. Retry after {verdict.reset} seconds.",
            headers={**verdict.headers(), "Retry-After": str(verdict.reset)},
        )
    g.parley_ratelimit = verdict


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[EXTENSION_KEY] = Limiter(settings)

    @app.before_request
    def _limit_writes() -> None:
        # Before authentication: a flood of bad tokens is limited too.
        if request.method in WRITE_METHODS and request.url_rule is not None:
            charge("writes")

    @app.after_request
    def _announce(response: Response) -> Response:
        verdict: Verdict | None = g.pop("parley_ratelimit", None)
        if verdict is not None:
            for name, value in verdict.headers().items():
                response.headers.setdefault(name, value)
        return response
