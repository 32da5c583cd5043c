"""Peak memory of one process: ``python -m tests.bench.memory [--stdout FILE] -- COMMAND...``.

Runs COMMAND as this process's only child (its standard output to FILE,
default the null device), waits for it, and prints one JSON line: its exit
status, its wall time and its peak resident set size, which the kernel keeps
for the waited-for children (``getrusage(RUSAGE_CHILDREN)``; kilobytes on
Linux). Being the only child, the figure is COMMAND's own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.memory")
    parser.add_argument("--stdout", default=os.devnull)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    with open(args.stdout, "wb") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sink)
        try:
            status = child.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            status = child.wait()
        seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"status": status, "seconds": seconds, "peak_rss_kb": peak_kb}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
