"""What the figures were measured on: CPU, cores, memory, OS, versions, load."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text


def _first(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def postgresql_version(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.scalar(text("SHOW server_version")))
    except Exception:
        return None
    finally:
        engine.dispose()


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def describe(postgres_url: str | None) -> dict[str, Any]:
    memory_kb = _first("/proc/meminfo", "MemTotal")
    total_gb = round(int(memory_kb.split()[0]) / 1024 / 1024, 1) if memory_kb else None
    kernel = platform.release()
    try:
        git = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        git = ""
    return {
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or None,
        "cores": os.cpu_count(),
        "memory_gb": total_gb,
        "os": f"{_os_name()} (Linux {kernel})" if platform.system() == "Linux" else _os_name(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgresql_version(postgres_url) if postgres_url else None,
        "gunicorn": _package_version("gunicorn"),
        "flask": _package_version("flask"),
        "sqlalchemy": _package_version("sqlalchemy"),
        "parley_commit": git or None,
        "load_average_at_start": load_average(),
    }
