"""CSV export rates: Parley (command line and HTTP) and the baselines, all of the talks.

Every writer runs in a process of its own, writing to the null device (or, over
HTTP, to a client process that discards the body), and is timed from start to
its last byte; rows/s counts the rows of the talks table. The command-line
writers run under ``memory``, so their peak RSS comes along.

- ``parley export --collection talks --format csv``: the bytes ``GET /v1/talks.csv`` serves;
- the Python limit: ``rawcsv`` (the driver and ``csv.writer``);
- the C limit: ``sqlite3 -csv``, or psql's ``COPY (SELECT ...) TO STDOUT WITH CSV``;
- over HTTP, Parley's ``/v1/talks.csv`` and Datasette's ``talks.csv?_stream=on``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.bench.data import PARLEY, Database, parley_env

SLACK = 120.0


@dataclass
class ExportResult:
    name: str
    rows: int
    seconds: float
    bytes: int | None = None
    peak_rss_mb: float | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> dict[str, Any]:
        return asdict(self) | {"rows_per_second": round(self.rows_per_second, 1)}


def _report(
    what: str, module: str, args: list[str], timeout: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``python -m module args`` and read the JSON report on its last line of output."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout + SLACK,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["stderr"] = done.stderr
    return report


def measured(
    name: str, command: list[str], rows: int, timeout: float, env: dict[str, str] | None = None
) -> ExportResult:
    """Run ``command`` under the memory wrapper, its output to the null device."""
    args = ["--timeout", str(timeout), "--", *command]
    report = _report(f"{name}: the memory wrapper", "tests.bench.memory", args, timeout, env)
    if report["status"] != 0:
        raise RuntimeError(f"{name} exited {report['status']}:\n{report['stderr'][-2000:]}")
    return ExportResult(
        name,
        rows,
        round(report["seconds"], 3),
        peak_rss_mb=round(report["peak_rss_kb"] / 1024, 1),
    )


def parley_cli(database: Database, rows: int, instance: Path, timeout: float) -> ExportResult:
    command = [str(PARLEY), "export", "--collection", "talks", "--format", "csv"]
    return measured("parley export", command, rows, timeout, env=parley_env(database.url, instance))


def raw_loop(database: Database, rows: int, timeout: float) -> ExportResult:
    command = [sys.executable, "-m", "tests.bench.rawcsv", database.url]
    name = "sqlite3 + csv.writer" if database.backend == "sqlite" else "psycopg + csv.writer"
    return measured(name, command, rows, timeout)


def c_limit(database: Database, rows: int, tool: str, timeout: float) -> ExportResult:
    if database.backend == "sqlite":
        assert database.path is not None
        command = [tool, "-readonly", "-csv", "-header", str(database.path), "SELECT * FROM talks;"]
        return measured("sqlite3 -csv", command, rows, timeout)
    copy = "COPY (SELECT * FROM talks) TO STDOUT WITH (FORMAT csv, HEADER)"
    command = [tool, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database.libpq_url, "-c", copy]
    return measured("psql COPY ... TO STDOUT WITH CSV", command, rows, timeout)


def over_http(name: str, url: str, rows: int, timeout: float) -> ExportResult:
    report = _report(f"{name}: the client", "tests.bench.fetch", [url, str(timeout)], timeout)
    if report["status"] != 200:
        raise RuntimeError(f"{name}: GET {url} answered {report['status']}")
    return ExportResult(name, rows, round(report["seconds"], 3), bytes=report["bytes"])
