"""Real `parley serve` processes for tests: gunicorn on port 0.

Readiness is gunicorn's own "Listening at" line on stderr, never a sleep; every
wait is bounded, and every process started here is stopped.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PARLEY = Path(sys.executable).parent / "parley"
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
LOADED = "loaded the fixtures: "
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
# What would point the server away from its embedded default.
CONFIGURATION = ("DATABASE_URL", "PARLEY_BASE_URL", "PARLEY_FIXTURES_DIR", "PARLEY_SEEDS_DIR")


class Server:
    """One `parley serve --port 0` process, its stderr read line by line by a thread."""

    def __init__(
        self,
        instance: Path,
        extra_env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k not in CONFIGURATION}
        env["PARLEY_INSTANCE_PATH"] = str(instance)
        env.update(extra_env or {})
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [str(PARLEY), "serve", "--port", "0", "--workers", "2", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            # Its own process group, so that the workers go down with it on a kill.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_until_listening(self, deadline: float) -> str:
        """The base URL gunicorn reports once its socket listens."""
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                status = self.process.wait(timeout=STOP_TIMEOUT)
                raise AssertionError(f"parley serve exited ({status}):\n{''.join(self.stderr)}")
            if match := LISTENING.search(line):
                return match.group(1)
        raise AssertionError(f"parley serve not listening in time:\n{''.join(self.stderr)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=STOP_TIMEOUT)
        if self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def parley_serve(
    instance: Path, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[Server]:
    server = Server(instance, extra_env, args)
    try:
        yield server
    finally:
        server.stop()


def get_json(url: str) -> tuple[int, Any]:
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310 - local server
        return response.status, json.load(response)
