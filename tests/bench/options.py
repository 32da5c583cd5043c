"""The bench's options: the command line of ``python -m tests.bench``, with its defaults.

Every duration and count is an option, so that a smoke run (a few thousand
talks, a second per load) exercises the very code a full run does.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

DEFAULT_TALKS = 1_000_000
# The memory figure compares the export of the full database with one of a tenth of it.
SMALL_SHARE = 10


@dataclass(frozen=True)
class ServeConfig:
    """One way of serving: gunicorn workers, and threads per worker (1: sync workers)."""

    workers: int
    threads: int
    # Seconds a threaded worker keeps an idle connection (parley serve --keep-alive).
    keep_alive: int = 0

    @property
    def worker_class(self) -> str:
        # What `parley serve` picks: threads need gunicorn's gthread worker.
        return "gthread" if self.threads > 1 else "sync"

    @property
    def label(self) -> str:
        label = f"{self.worker_class} {self.workers}x{self.threads}"
        if self.threads > 1 and self.keep_alive:
            label += f" keep-alive {self.keep_alive}s"
        return label


@dataclass(frozen=True)
class Options:
    talks: int = DEFAULT_TALKS
    seed: int = 0
    small_talks: int | None = None  # default: talks // SMALL_SHARE
    out: Path = REPO / "bench"  # results.json and the logs
    data: Path | None = None  # the kept databases; default: <out>/data
    postgres_url: str | None = None  # a PostgreSQL server (DATABASE_URL): bench there
    workers: int = 2
    # (threads, keep-alive seconds or None for parley serve's) per configuration;
    # default: `parley serve`'s alone (compare others with e.g. --threads '4 1')
    threads: tuple[tuple[int, int | None], ...] = ()
    duration: float = 10.0
    warmup: float = 2.0
    connections: int = 32
    load_threads: int = 2
    load: str = "auto"  # auto | wrk | python
    datasette: bool = True
    install: bool = True
    page_samples: int = 200
    cursors: int = 1000
    fail_on_targets: bool = True
    bench_venv: Path = REPO / ".bench-venv"
    build_timeout: float = 3600.0
    export_timeout: float = 1800.0

    @property
    def data_dir(self) -> Path:
        return self.data if self.data is not None else self.out / "data"

    @property
    def small(self) -> int:
        return (
            self.small_talks if self.small_talks is not None else max(1, self.talks // SMALL_SHARE)
        )

    @property
    def backend(self) -> str:
        return "sqlite" if self.postgres_url is None else "postgresql"


def serve_default_threads() -> int:
    """The threads per worker `parley serve` uses when given none."""
    return _serve_default("threads", 1)


def serve_default_keep_alive() -> int:
    """The seconds of keep-alive `parley serve` uses when given none."""
    return _serve_default("keep_alive", 0)


def _serve_default(name: str, fallback: int) -> int:
    from api.cli import serve

    for param in serve.params:
        if param.name == name and isinstance(param.default, int):
            return param.default
    return fallback


def serve_configs(options: Options) -> list[ServeConfig]:
    """The configurations to measure; the first one is checked against the targets."""
    # By default only the configuration users get: another one costs a minute of loads,
    # and the run has 15 minutes on a fresh clone, most of them spent building.
    wanted = list(options.threads) or [(serve_default_threads(), None)]
    keep_alive = serve_default_keep_alive()
    configs = [ServeConfig(options.workers, t, keep_alive if k is None else k) for t, k in wanted]
    return list(dict.fromkeys(configs))


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _positive_int(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _threads(text: str) -> tuple[tuple[int, int | None], ...]:
    """``'4 1 4:2'``: threads per worker, each optionally with ``:<keep-alive seconds>``."""
    found: list[tuple[int, int | None]] = []
    for part in (p for p in text.replace(",", " ").split() if p):
        threads, _, keep_alive = part.partition(":")
        seconds = int(keep_alive) if keep_alive else None
        if seconds is not None and seconds < 0:
            raise argparse.ArgumentTypeError("keep-alive must not be negative")
        found.append((_positive_int(threads), seconds))
    return tuple(found)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description="Parley's performance as ratios of baselines measured in the same run.",
    )
    p.add_argument("--talks", type=_positive_int, default=DEFAULT_TALKS, help="talks to build")
    p.add_argument("--seed", type=int, default=0, help="seed of parley synth")
    p.add_argument(
        "--small-talks",
        type=_positive_int,
        default=None,
        help="talks of the second database, for the memory figure (default: talks / 10)",
    )
    p.add_argument("--out", type=Path, default=REPO / "bench", help="results.json goes here")
    p.add_argument(
        "--data", type=Path, default=None, help="where databases are kept (default: OUT/data)"
    )
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("DATABASE_URL") or None,
        help="bench on this PostgreSQL server (default: DATABASE_URL; SQLite without it)",
    )
    p.add_argument("--workers", type=_positive_int, default=2, help="gunicorn workers")
    p.add_argument(
        "--threads",
        type=_threads,
        default=(),
        help="threads per worker, one configuration each, e.g. '1 4 4:2' (1: sync "
        "workers, more: gthread, with :N seconds of keep-alive instead of parley serve's "
        "default; default: parley serve's alone)",
    )
    p.add_argument("--duration", type=_positive_float, default=10.0, help="seconds per load")
    p.add_argument("--warmup", type=_non_negative_float, default=2.0, help="seconds before each")
    p.add_argument("--connections", type=_positive_int, default=32)
    p.add_argument("--load-threads", type=_positive_int, default=2)
    p.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (auto: wrk when available, else the Python one)",
    )
    p.add_argument("--no-datasette", action="store_true", help="skip the Datasette baselines")
    p.add_argument(
        "--no-install", action="store_true", help="install nothing (no wrk, no Datasette venv)"
    )
    p.add_argument("--page-samples", type=_positive_int, default=200)
    p.add_argument("--cursors", type=_positive_int, default=1000)
    p.add_argument("--no-fail", action="store_true", help="exit 0 even when a target is missed")
    p.add_argument("--bench-venv", type=Path, default=REPO / ".bench-venv")
    p.add_argument("--build-timeout", type=_positive_float, default=3600.0)
    p.add_argument("--export-timeout", type=_positive_float, default=1800.0)
    return p


def parse(argv: list[str] | None = None) -> Options:
    p = parser()
    args = p.parse_args(argv)
    if args.postgres_url is not None and not args.postgres_url.startswith("postgresql"):
        p.error(
            "--postgres-url (or DATABASE_URL) must name a PostgreSQL server; "
            "without it the bench builds SQLite databases in its data folder"
        )
    return Options(
        talks=args.talks,
        seed=args.seed,
        small_talks=args.small_talks,
        out=args.out.resolve(),
        data=args.data.resolve() if args.data is not None else None,
        postgres_url=args.postgres_url,
        workers=args.workers,
        threads=args.threads,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        load_threads=args.load_threads,
        load=args.load,
        datasette=not args.no_datasette,
        install=not args.no_install,
        page_samples=args.page_samples,
        cursors=args.cursors,
        fail_on_targets=not args.no_fail,
        bench_venv=args.bench_venv.resolve(),
        build_timeout=args.build_timeout,
        export_timeout=args.export_timeout,
    )
