"""The servers the bench measures: Parley, the bare Flask app and Datasette.

Parley is ``parley serve`` itself, and the bare app is served by the same
``api.serving`` code (see ``bare``), so both run under identical gunicorn
settings; both bind port 0 and report the port gunicorn chose. Datasette runs
under uvicorn with as many worker processes, on a free port found by binding
port 0. A server is ready when an HTTP request to it succeeds: readiness is
polled against a deadline, never assumed after a sleep. Every server is its own
process group, stopped (and, past a deadline, killed) when its block ends.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench import datasette_inspect
from tests.bench.data import PARLEY, Database, parley_env
from tests.bench.options import REPO, ServeConfig

LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
STARTUP_TIMEOUT = 120.0
# Datasette counts every table of an immutable file before it serves (without a time
# limit), which reads gigabytes of a 1,000,000-talk database: from the disk, minutes.
# The inspect file written with the database spares it that; this limit is for a
# database whose inspect file could not be written.
DATASETTE_STARTUP_TIMEOUT = 900.0
STOP_TIMEOUT = 20.0
POLL_INTERVAL = 0.05
DATASETTE_SETTINGS = {"max_csv_mb": 0, "default_page_size": 50}


@dataclass
class Server:
    name: str
    process: subprocess.Popen[str]
    port: int | None = None
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))
    description: dict[str, Any] = field(default_factory=dict)
    # Set once the server has reported its port (gunicorn's "Listening at" line).
    reported: threading.Event = field(default_factory=threading.Event)
    # gunicorn's quick shutdown: a graceful one waits out gthread's keep-alive connections.
    stop_signal: signal.Signals = signal.SIGQUIT

    @property
    def base_url(self) -> str:
        assert self.port is not None
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        elif self.process.returncode is not None:
            # Workers of a dead master may linger in its group.
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(name: str, command: list[str], env: dict[str, str]) -> Server:
    process = subprocess.Popen(
        command,
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        # gunicorn's access log goes to stdout: discarded, by every server alike.
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    server = Server(name, process, description={"command": [Path(command[0]).name, *command[1:]]})

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            server.lines.append(line)
            if server.port is None and (match := LISTENING.search(line)):
                server.port = int(match.group(1))
                server.reported.set()

    threading.Thread(target=read, daemon=True).start()
    return server


def _get(port: int, path: str, timeout: float) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_ready(server: Server, path: str, deadline: float) -> None:
    """Until ``GET path`` answers 200: the server listens and its workers serve."""
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited ({server.process.returncode}):\n{server.output()}"
            )
        if server.port is None:
            server.reported.wait(timeout=POLL_INTERVAL)
            continue
        try:
            status = _get(server.port or 0, path, timeout=5.0)
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200:
                return
            last = f"status {status}"
        # The interval between two polls; a server that exits meanwhile ends it at once.
        with suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=POLL_INTERVAL)
    raise RuntimeError(f"{server.name} not ready in time ({last}):\n{server.output()}")


@contextmanager
def running(server: Server, ready_path: str, timeout: float = STARTUP_TIMEOUT) -> Iterator[Server]:
    try:
        wait_ready(server, ready_path, time.monotonic() + timeout)
        yield server
    finally:
        server.stop()


def gunicorn_description(config: ServeConfig) -> dict[str, Any]:
    return {
        "server": "gunicorn (api.serving.serve, as parley serve)",
        "workers": config.workers,
        "threads": config.threads,
        "worker_class": config.worker_class,
        "keepalive": (
            f"{config.keep_alive} s" if config.threads > 1 and config.keep_alive else "off"
        ),
        "access_log": "on, to a discarded stdout",
    }


def _serving_args(config: ServeConfig) -> list[str]:
    """The options Parley's server and the bare one share: the same gunicorn set-up."""
    return [
        *("--port", "0", "--workers", str(config.workers), "--threads", str(config.threads)),
        *("--keep-alive", str(config.keep_alive)),
    ]


def parley(database: Database, config: ServeConfig, instance: Path) -> Server:
    command = [str(PARLEY), "serve", "--host", "127.0.0.1", *_serving_args(config)]
    server = _start("parley", command, parley_env(database.url, instance))
    server.description |= {**gunicorn_description(config)}
    return server


def bare(config: ServeConfig) -> Server:
    command = [sys.executable, "-m", "tests.bench.bare", *_serving_args(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "DATABASE_"))}
    server = _start("bare", command, env)
    server.description |= {**gunicorn_description(config)}
    return server


def datasette(python: str, database: Database, processes: int) -> Server:
    assert database.path is not None
    port = free_port()
    command = [
        python,
        "-m",
        "uvicorn",
        "--app-dir",
        str(Path(__file__).parent.relative_to(REPO)),
        "datasette_asgi:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(processes),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "PYTHON"))}
    env["PARLEY_BENCH_DATASETTE_FILE"] = str(database.path)
    env["PARLEY_BENCH_DATASETTE_SETTINGS"] = json.dumps(DATASETTE_SETTINGS)
    inspect_file = datasette_inspect.path_for(database.path)
    counted = inspect_file.is_file()
    if counted:
        env["PARLEY_BENCH_DATASETTE_INSPECT"] = str(inspect_file)
    server = _start("datasette", command, env)
    server.port = port
    server.stop_signal = signal.SIGTERM  # uvicorn's shutdown (it does not handle SIGQUIT)
    server.reported.set()
    server.description |= {
        "server": "uvicorn --workers N with Datasette's ASGI app (datasette serve runs one "
        "process); the file opened immutable (-i)"
        + (", its table counts from an inspect file (--inspect-file)" if counted else ""),
        "processes": processes,
        "settings": DATASETTE_SETTINGS,
        "keepalive": "uvicorn's default",
        "access_log": "off (uvicorn --no-access-log)",
    }
    return server


def fetch_json(base_url: str, path: str, timeout: float = 30.0) -> tuple[int, Any]:
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, None
