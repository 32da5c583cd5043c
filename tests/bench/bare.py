"""The framework's limit: a bare Flask app returning a fixed small JSON document.

``python -m tests.bench.bare --port 0 --workers N --threads T`` serves it through
``api.serving.serve``, the very code behind ``parley serve``, with only the
application swapped: every gunicorn setting (worker class, threads, keep-alive,
logging, timeouts) is the one Parley is measured under.
"""

from __future__ import annotations

import argparse

from flask import Flask, Response, jsonify

from api import serving
from api.config import Settings

DOCUMENT = {
    "id": "bare",
    "title": "A fixed small JSON document",
    "links": {"self": "/"},
    "count": 1,
}


def create_bare_app() -> Flask:
    app = Flask("bare")

    @app.get("/")
    def document() -> Response:
        return jsonify(DOCUMENT)

    return app


class BareServer(serving.ParleyServer):
    """Parley's gunicorn application with the bare app loaded in each worker."""

    def load(self) -> Flask:
        return create_bare_app()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bare")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--keep-alive", type=int, default=0)
    args = parser.parse_args(argv)
    # serve() builds its options and runs ParleyServer: run ours with the same options.
    serving.ParleyServer = BareServer  # type: ignore[misc]
    serving.serve(
        Settings.from_env({}),
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        keep_alive=args.keep_alive,
    )


if __name__ == "__main__":
    main()
