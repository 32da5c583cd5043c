"""The worker-timeout backstop: one rule for sync and threaded workers.

gunicorn's own rules differ by worker class, and neither fits a server of
long streamed exports. A *gthread* worker's main loop keeps reporting to the
arbiter whatever its request threads do, so gunicorn never notices a stuck
thread; each one holds a thread of the pool for good. A *sync* worker reports
only between requests, so gunicorn kills it past ``--timeout`` even while it
streams an export that is making steady progress (a first export of a million
talks takes minutes).

A WSGI wrapper notes when each request is busy inside the application (running
the view, or making its next chunk) and when it last made progress, and a
thread in every worker checks them:

- a request busy past the timeout stops the worker, which lets its other
  requests finish (within the graceful timeout) and then exits, to be replaced
  by the arbiter;
- in a sync worker, the thread reports to the arbiter on the request's behalf
  while it makes progress (a chunk made or sent within the timeout). A client
  that stops reading stops the reports, and gunicorn kills the worker after the
  timeout as ever; so does a client that connects and never sends its request,
  which the application never sees.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# How often the watching thread looks: the cut comes at most this late.
POLL_SECONDS = 0.5
# A worker that cannot stop this way exits with this status (any but gunicorn's
# boot and load errors, 3 and 4, which would halt the whole server).
EXIT_STATUS = 1


@dataclass
class _Request:
    description: str
    busy_since: float | None
    # When it last made progress: started, or made a chunk, or had its last one sent.
    progressed_at: float


class RequestWatchdog:
    """A WSGI app that keeps track of how long each of its requests has been busy.

    No lock: the request threads only add and remove their own entries and set their
    own ``busy_since``, each one step under the GIL, and the watching thread reads a
    copy of the entries (``dict.copy`` is one step too). A lock would be taken five
    times a request, by every request.
    """

    def __init__(
        self, app: WSGIApp, timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.timeout = timeout
        self._clock = clock
        self._ids = itertools.count()
        self._requests: dict[int, _Request] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        key = next(self._ids)
        description = f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '')}"
        now = self._clock()
        request = self._requests[key] = _Request(description, now, now)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._forget(key)
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(result, file_wrapper):
            # A file sent as it is (gunicorn's sendfile): nothing in it can hang.
            self._forget(key)
            return result
        request.busy_since = None
        request.progressed_at = self._clock()
        return _WatchedBody(self, key, request, result)

    def _forget(self, key: int) -> None:
        self._requests.pop(key, None)

    def overdue(self) -> list[str]:
        """The requests busy inside the application for longer than the timeout."""
        now = self._clock()
        overdue = []
        for request in self._requests.copy().values():
            busy_since = request.busy_since  # read once: its thread may change it
            if busy_since is not None and now - busy_since > self.timeout:
                overdue.append(f"{request.description} busy for {now - busy_since:.1f} s")
        return overdue

    def in_flight(self) -> int:
        return len(self._requests)

    def progressing(self) -> bool:
        """Whether requests are in flight and each made progress within the timeout."""
        now = self._clock()
        requests = self._requests.copy().values()
        return bool(requests) and all(now - r.progressed_at <= self.timeout for r in requests)


class _WatchedBody:
    """The app's response body, busy while it makes each chunk.

    A class rather than a generator: gunicorn may close a body it never
    iterated, and an unstarted generator would skip its clean-up.
    """

    def __init__(
        self, watchdog: RequestWatchdog, key: int, request: _Request, result: Iterable[bytes]
    ) -> None:
        self._watchdog = watchdog
        self._key = key
        self._request = request
        self._clock = watchdog._clock
        self._result = result
        self._iterator = iter(result)

    def __iter__(self) -> _WatchedBody:
        return self

    def __next__(self) -> bytes:
        request = self._request
        # Asked for the next chunk: the last one has been sent.
        request.busy_since = request.progressed_at = self._clock()
        try:
            return next(self._iterator)
        finally:
            request.busy_since = None
            request.progressed_at = self._clock()

    def close(self) -> None:
        close = getattr(self._result, "close", None)
        try:
            if close is not None:
                close()
        finally:
            self._watchdog._forget(self._key)


def watch(
    worker: Any, watchdog: RequestWatchdog, graceful_timeout: float, *, reports: bool = False
) -> None:
    """Stop ``worker`` once a request overstays; with ``reports``, tell the arbiter the
    worker is alive while its requests make progress. Runs in its own daemon thread."""
    while True:
        time.sleep(POLL_SECONDS)
        overdue = watchdog.overdue()
        if overdue:
            break
        if reports and watchdog.progressing():
            worker.notify()
    worker.log.critical(
        "WORKER TIMEOUT (pid:%s): %s, past the %g s timeout; the worker stops and is replaced",
        os.getpid(),
        "; ".join(overdue),
        watchdog.timeout,
    )
    # Stop accepting; the requests that are not stuck get the graceful timeout.
    worker.alive = False
    stuck = len(overdue)
    deadline = time.monotonic() + graceful_timeout
    while watchdog.in_flight() > stuck and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    # A stuck thread cannot be stopped, and the interpreter would wait for it at exit.
    os._exit(EXIT_STATUS)


def start_watching(worker: Any) -> None:
    """gunicorn's ``post_worker_init`` hook."""
    from gunicorn.workers.sync import SyncWorker

    watchdog = worker.wsgi
    if isinstance(watchdog, RequestWatchdog):
        threading.Thread(
            target=watch,
            args=(worker, watchdog, worker.cfg.graceful_timeout),
            # A sync worker reports to the arbiter only between requests.
            kwargs={"reports": isinstance(worker, SyncWorker)},
            name="parley-watchdog",
            daemon=True,
        ).start()
