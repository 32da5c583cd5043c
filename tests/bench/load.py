"""Load from another process: wrk, or the Python fallback (``loadgen``), same figures.

A load draws its request paths either from a numbered range (``RandomIds``: a
talk id drawn at random from the whole range on every request, so that no
single-record cache flatters a server) or from a list (``PathList``: cursors of
random deep pages, or one fixed path). Each run is a warm-up, whose figures are
thrown away, then the measured run: requests/s and the p50/p90/p99 latency of
completed requests, and the errors (connection errors, timeouts, and answers
other than 2xx/3xx, which make the run invalid).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULT_MARK = "BENCH-RESULT "
SLACK = 60.0  # seconds a load may take beyond its duration before it is stopped


@dataclass(frozen=True)
class RandomIds:
    """``prefix + zero-padded n + suffix`` for n drawn uniformly in [first, last]."""

    prefix: str
    width: int
    first: int
    last: int
    suffix: str = ""

    def path(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}{self.suffix}"


@dataclass(frozen=True)
class PathList:
    paths: tuple[str, ...]


Paths = RandomIds | PathList


@dataclass(frozen=True)
class LoadSettings:
    tool: str  # wrk | python
    threads: int
    connections: int
    duration: float
    warmup: float
    wrk: str | None = None  # the wrk executable
    seed: int = 1
    timeout: float = 10.0  # per request


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    requests_per_second: float
    latency_ms: dict[str, float]  # p50, p90, p99, mean, max
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.requests == 0 or any(self.errors.values())

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def paths_spec(paths: Paths) -> dict[str, Any]:
    if isinstance(paths, RandomIds):
        return {"kind": "random-ids", **asdict(paths)}
    return {"kind": "list", "paths": list(paths.paths)}


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII is a valid Lua string


def lua_script(paths: Paths, seed: int) -> str:
    """A wrk script drawing paths as ``paths`` says and printing the figures as JSON."""
    if isinstance(paths, RandomIds):
        draw = (
            f"local prefix, suffix = {_lua_string(paths.prefix)}, {_lua_string(paths.suffix)}\n"
            f'local pattern = "%0{paths.width}d"\n'
            "function request()\n"
            f"  local n = math.random({paths.first}, {paths.last})\n"
            "  return wrk.format(nil, prefix .. string.format(pattern, n) .. suffix)\n"
            "end\n"
        )
    else:
        listed = ",\n".join(f"  {_lua_string(p)}" for p in paths.paths)
        draw = (
            f"local paths = {{\n{listed}\n}}\n"
            "function request()\n"
            "  return wrk.format(nil, paths[math.random(#paths)])\n"
            "end\n"
        )
    return (
        "local threads = 0\n"
        "function setup(thread)\n"
        "  threads = threads + 1\n"
        "  thread:set('thread_number', threads)\n"
        "end\n"
        "function init(args)\n"
        f"  math.randomseed({seed} * 1000 + thread_number)\n"
        "end\n"
        f"{draw}"
        "function done(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        f"  io.write({_lua_string(RESULT_MARK)} .. string.format(\n"
        '    \'{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,\' ..\n'
        '    \'"mean_us":%.1f,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,\' ..\n'
        "    '\"timeout\":%d}\\n',\n"
        "    summary.requests, summary.duration, latency:percentile(50),\n"
        "    latency:percentile(90), latency:percentile(99), latency.mean, latency.max,\n"
        "    e.connect, e.read, e.write, e.status, e.timeout))\n"
        "end\n"
    )


def _marked(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith(RESULT_MARK):
            loaded: dict[str, Any] = json.loads(line[len(RESULT_MARK) :])
            return loaded
    raise RuntimeError(f"the load generator reported nothing:\n{output[-2000:]}")


def _wrk(base_url: str, paths: Paths, settings: LoadSettings, seconds: float) -> dict[str, Any]:
    assert settings.wrk is not None
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as folder:
        script = Path(folder) / "load.lua"
        script.write_text(lua_script(paths, settings.seed))
        command = [
            settings.wrk,
            "--threads",
            str(settings.threads),
            "--connections",
            str(settings.connections),
            # wrk takes whole seconds.
            "--duration",
            f"{max(1, math.ceil(seconds))}s",
            "--timeout",
            f"{max(1, math.ceil(settings.timeout))}s",
            "--script",
            str(script),
            base_url,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + SLACK, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return _marked(done.stdout)


def _python(base_url: str, paths: Paths, settings: LoadSettings, warmup: float) -> dict[str, Any]:
    spec = {
        "base_url": base_url,
        "paths": paths_spec(paths),
        "processes": settings.threads,
        "connections": settings.connections,
        "warmup": warmup,
        "duration": settings.duration,
        "seed": settings.seed,
        "timeout": settings.timeout,
    }
    seconds = warmup + settings.duration
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=seconds + SLACK,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the Python load generator failed: {done.stderr.strip()[-2000:]}")
    return _marked(done.stdout)


def run(base_url: str, paths: Paths, settings: LoadSettings) -> LoadResult:
    if settings.tool == "wrk":
        if settings.warmup > 0:
            _wrk(base_url, paths, settings, settings.warmup)
        raw = _wrk(base_url, paths, settings, settings.duration)
    else:
        # The Python generator warms up on the connections it then measures with.
        raw = _python(base_url, paths, settings, settings.warmup)
    seconds = raw["duration_us"] / 1e6
    return LoadResult(
        tool=settings.tool,
        requests=raw["requests"],
        seconds=round(seconds, 3),
        requests_per_second=round(raw["requests"] / seconds, 1) if seconds else 0.0,
        latency_ms={
            name: round(raw[f"{name}_us"] / 1000, 3)
            for name in ("p50", "p90", "p99", "mean", "max")
        },
        errors={name: int(raw[name]) for name in ("connect", "read", "write", "status", "timeout")},
    )
