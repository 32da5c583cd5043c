"""`parley serve` with the options a test chooses, its access log (stdout) and
application log (stderr) collected line by line, and plain HTTP calls to it.

Readiness and stopping are tests.servers.Server's: gunicorn's "Listening at"
line, every wait bounded.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.servers import CONFIGURATION, PARLEY, REQUEST_TIMEOUT, STARTUP_TIMEOUT, Server


class LoggedServer(Server):
    """`parley serve --port 0 --workers W --threads T` with both of its streams kept."""

    def __init__(
        self,
        instance: Path,
        extra_env: dict[str, str] | None = None,
        *,
        workers: int = 2,
        threads: int = 1,
        keep_stdout: bool = True,
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k not in CONFIGURATION}
        env["PARLEY_INSTANCE_PATH"] = str(instance)
        env.update(extra_env or {})
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        # Lines of standard output (the access log), kept in ``stdout`` when keep_stdout.
        self.stdout_lines = 0
        self.keep_stdout = keep_stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        command = [str(PARLEY), "serve", "--port", "0"]
        command += ["--workers", str(workers), "--threads", str(threads)]
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._out_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._out_reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout_lines += 1
            if self.keep_stdout:
                self.stdout.append(line)

    def stop(self) -> None:
        super().stop()
        self._out_reader.join(timeout=STARTUP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def access_log(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.stdout) if line.startswith("{")]

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master process."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


@contextmanager
def serving(
    instance: Path,
    extra_env: dict[str, str] | None = None,
    *,
    workers: int = 2,
    threads: int = 1,
    timeout: float = STARTUP_TIMEOUT,
) -> Iterator[tuple[str, LoggedServer]]:
    import time

    server = LoggedServer(instance, extra_env, workers=workers, threads=threads)
    try:
        yield server.wait_until_listening(time.monotonic() + timeout), server
    finally:
        server.stop()


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = REQUEST_TIMEOUT,
    content_type: str = "application/merge-patch+json",
) -> Reply:
    """One request on a connection of its own, bounded by ``timeout``."""
    parts = urlsplit(base)
    assert parts.hostname == "127.0.0.1"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = content_type
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        # Header names as the server sent them; lookups below go through ``header``.
        received = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, received, response.read())
    finally:
        connection.close()
