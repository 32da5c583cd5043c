"""`parley serve`: the application under gunicorn, configured from code."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from api import create_app, requestlog
from api.config import Settings


class ParleyServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn with its options given in code instead of a config file.

    Each worker builds its own app (and so its own connection pool) after the
    fork: connections are never shared between processes.
    """

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        requestlog.configure_process_logging()
        return create_app(self.settings)


def serve(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        # The app writes its own access log (JSON lines, tokens masked): gunicorn's
        # would repeat every request with its full query string.
        "accesslog": None,
        "errorlog": "-",
        "timeout": settings.worker_timeout,
        "graceful_timeout": 10,
        "proc_name": "parley",
        # Parley needs no run-time control of gunicorn; several servers may share a host.
        "control_socket_disable": True,
    }
    ParleyServer(settings, options).run()
