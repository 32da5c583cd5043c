"""A streaming HTTP client: ``python -m tests.bench.fetch URL`` reads and discards a body.

Prints one JSON line: the status, the bytes of the body and the seconds from
sending the request to reading its last byte. The bench uses it to time the
CSV exports over HTTP from a process other than the server's.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from urllib.parse import urlsplit

CHUNK = 1 << 16


def fetch(url: str, timeout: float) -> dict[str, object]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=timeout
    )
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    size = 0
    try:
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        while chunk := response.read(CHUNK):
            size += len(chunk)
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    return {"status": response.status, "bytes": size, "seconds": seconds}


def main(argv: list[str]) -> None:
    timeout = float(argv[1]) if len(argv) > 1 else 600.0
    print(json.dumps(fetch(argv[0], timeout)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
