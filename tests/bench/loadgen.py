"""The fallback load generator: wrk's job in Python, for machines without wrk.

``python -m tests.bench.loadgen`` reads a JSON spec on stdin (base URL, paths,
processes, connections, warm-up, duration, seed, per-request timeout) and prints one
line of figures in the format of ``load``'s wrk script. It runs ``processes``
processes (wrk's threads), each with its share of the connections as asyncio
tasks speaking HTTP/1.1: keep-alive when the server keeps the connection, a new
connection when it closes it (as gunicorn's sync workers do). Latency is from
writing a request to reading the last byte of its response.

Being Python, it saturates sooner than wrk: its figures are comparable with
each other (every server in a run meets the same generator), less so with a
run that used wrk; ``results.json`` says which generator ran.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import random
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tests.bench.load import RESULT_MARK

ERRORS = ("connect", "read", "write", "status", "timeout")
STARTUP_TIMEOUT = 60.0


class ProtocolError(Exception):
    pass


def path_drawer(spec: dict[str, Any], rng: random.Random) -> Callable[[], str]:
    paths = spec["paths"]
    if paths["kind"] == "random-ids":
        prefix, suffix, width = paths["prefix"], paths["suffix"], paths["width"]
        first, last = paths["first"], paths["last"]
        return lambda: f"{prefix}{rng.randint(first, last):0{width}d}{suffix}"
    listed: list[str] = paths["paths"]
    return lambda: rng.choice(listed)


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; its status and whether the connection stays open."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed before the response")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(status_line[:80])
    status = int(parts[1])
    keep = parts[0] == b"HTTP/1.1"
    length: int | None = None
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            keep = b"close" not in value
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()  # the body runs to the end of the connection
        keep = False
    return status, keep


def _within(window: tuple[float, float]) -> int:
    """1 when now is inside the measured window, else 0 (to count with)."""
    return int(window[0] <= time.monotonic() <= window[1])


async def _connection(
    host: str,
    port: int,
    draw: Callable[[], str],
    window: tuple[float, float],
    timeout: float,
    latencies: list[float],
    errors: dict[str, int],
) -> None:
    stop_at = window[1]
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.monotonic() < stop_at:
        if writer is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), timeout
                )
            except (OSError, TimeoutError):
                errors["connect"] += _within(window)
                writer = None
                await asyncio.sleep(0.01)  # a refused connection: do not spin
                continue
        assert reader is not None
        assert writer is not None
        request = f"GET {draw()} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        started = time.monotonic()
        try:
            writer.write(request)
            await writer.drain()
        except OSError:
            errors["write"] += _within(window)
            writer.close()
            writer = None
            continue
        try:
            status, keep = await asyncio.wait_for(_response(reader), timeout)
        except TimeoutError:
            errors["timeout"] += _within(window)
            keep = False
        except (OSError, ProtocolError, ValueError, asyncio.IncompleteReadError):
            errors["read"] += _within(window)
            keep = False
        else:
            # Like wrk: what completes within the measured window counts.
            if _within(window):
                latencies.append(time.monotonic() - started)
                if not 200 <= status < 400:
                    errors["status"] += 1
        if not keep:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _process_load(spec: dict[str, Any], index: int) -> dict[str, Any]:
    url = urlsplit(spec["base_url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    share = spec["connections"] // spec["processes"] + (
        1 if index < spec["connections"] % spec["processes"] else 0
    )
    latencies: list[float] = []
    errors = dict.fromkeys(ERRORS, 0)
    # The warm-up runs first, on the same connections; only what follows it counts.
    measure_from = time.monotonic() + spec["warmup"]
    stop_at = measure_from + spec["duration"]
    tasks = [
        _connection(
            host,
            port,
            path_drawer(spec, random.Random(spec["seed"] * 1000 + index * 100 + n)),
            (measure_from, stop_at),
            spec["timeout"],
            latencies,
            errors,
        )
        for n in range(share)
    ]
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "errors": errors}


def _worker(spec: dict[str, Any], index: int, ready: Any, start: Any, results: Any) -> None:
    ready.put(index)
    # Every process starts its clock together, once all of them are up.
    if not start.wait(timeout=STARTUP_TIMEOUT):
        results.put((index, None))
        return
    results.put((index, asyncio.run(_process_load(spec, index))))


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(share / 100 * len(ordered))))
    return ordered[rank - 1]


def run(spec: dict[str, Any]) -> dict[str, Any]:
    processes = max(1, min(spec["processes"], spec["connections"]))
    spec = {"warmup": 0.0} | spec | {"processes": processes}
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    workers = [
        context.Process(target=_worker, args=(spec, i, ready, start, results), daemon=True)
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=STARTUP_TIMEOUT)
        start.set()
        bound = spec["warmup"] + spec["duration"] + spec["timeout"] + STARTUP_TIMEOUT
        parts = [results.get(timeout=bound)[1] for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=STARTUP_TIMEOUT)
            if worker.is_alive():
                worker.kill()
    if any(part is None for part in parts):
        raise RuntimeError("a load process was not told to start in time")
    latencies = sorted(v for part in parts for v in part["latencies"])
    errors = {name: sum(part["errors"][name] for part in parts) for name in ERRORS}
    us = 1e6
    return {
        "requests": len(latencies),
        "duration_us": int(spec["duration"] * us),
        "p50_us": int(percentile(latencies, 50) * us),
        "p90_us": int(percentile(latencies, 90) * us),
        "p99_us": int(percentile(latencies, 99) * us),
        "mean_us": round(sum(latencies) / len(latencies) * us, 1) if latencies else 0.0,
        "max_us": int(latencies[-1] * us) if latencies else 0,
        **errors,
    }


def main() -> None:
    spec = json.load(sys.stdin)
    print(RESULT_MARK + json.dumps(run(spec)), flush=True)


if __name__ == "__main__":
    main()
