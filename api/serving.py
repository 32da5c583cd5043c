"""`parley serve`: the application under gunicorn, configured from code."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from api import create_app, requestlog
from api.config import Settings
from api.watchdog import RequestWatchdog, start_watching


class ParleyServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn with its options given in code instead of a config file.

    Each worker builds its own app (and so its own connection pool) after the
    fork: connections are never shared between processes.
    """

    def __init__(
        self, settings: Settings, options: dict[str, Any], watchdog_timeout: float
    ) -> None:
        self.settings = settings
        self.options = options
        self.watchdog_timeout = watchdog_timeout
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask | RequestWatchdog:
        requestlog.configure_process_logging()
        return RequestWatchdog(create_app(self.settings), self.watchdog_timeout)


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int | None = None,
    keep_alive: int = 0,
) -> None:
    threaded = threads > 1
    worker_timeout = timeout if timeout is not None else settings.worker_timeout
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threaded else "sync",
        # The app writes its own access log (JSON lines, tokens masked): gunicorn's
        # would repeat every request with its full query string.
        "accesslog": None,
        "errorlog": "-",
        # The backstop for a request that hangs (an exporter stuck inside one chunk):
        # api.watchdog stops a worker once one of its requests is busy for this long;
        # gunicorn kills one silent for this long (for a sync worker, api.watchdog
        # reports while its request makes progress).
        "timeout": worker_timeout,
        "graceful_timeout": 10,
        "proc_name": "parley",
        # Parley needs no run-time control of gunicorn; several servers may share a host.
        "control_socket_disable": True,
        # Seconds a threaded worker keeps an idle connection open (sync workers close
        # each one). 0, the default, closes after every response: a worker that
        # accepted a burst of keep-alive connections would serve them all while the
        # others idle (``make bench`` measured half the throughput that way).
        "keepalive": keep_alive,
        "post_worker_init": start_watching,
    }
    ParleyServer(settings, options, worker_timeout).run()
