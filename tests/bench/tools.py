"""The programs the bench drives, found or installed: wrk, Datasette, sqlite3, psql.

Installing is allowed only with ``--install`` (the default of ``make bench``):
Debian packages through apt-get when running as root, Datasette into a venv of
its own (``.bench-venv``) from a pinned requirements file, so that its
dependencies never mix with the project's. A tool that cannot be had is
reported with the reason; the caller falls back or skips.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DATASETTE_REQUIREMENTS = Path(__file__).with_name("datasette-requirements.txt")
INSTALL_TIMEOUT = 900.0
VERSION_TIMEOUT = 30.0


@dataclass(frozen=True)
class Tool:
    name: str
    path: str | None  # None: not available
    version: str | None = None
    note: str = ""  # how it was found, or why it is missing


_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"bench [{time.monotonic() - _STARTED:6.1f} s]: {message}", file=sys.stderr, flush=True)


def _apt_install(package: str) -> str | None:
    """Install a Debian package; None on success, else the reason it failed."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "not root, or no apt-get"
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    log(f"installing {package} with apt-get")
    try:
        for attempt in (1, 2):
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
            )
            if done.returncode == 0:
                return None
            if attempt == 1:
                # The package lists may be missing or stale on a fresh machine.
                subprocess.run(
                    ["apt-get", "update", "-qq"],
                    env=env,
                    capture_output=True,
                    timeout=INSTALL_TIMEOUT,
                )
    except subprocess.TimeoutExpired:
        return f"apt-get did not finish in {INSTALL_TIMEOUT:.0f} s"
    return (done.stderr.strip().splitlines() or ["apt-get failed"])[-1]


def _version(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=VERSION_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else None


def debian_tool(name: str, package: str, version_args: list[str], install: bool) -> Tool:
    """A program from Debian's packages, installed when missing and allowed."""
    found = shutil.which(name)
    note = "found on PATH"
    if found is None:
        if not install:
            return Tool(name, None, note=f"{name} is not installed (and --no-install)")
        reason = _apt_install(package)
        found = shutil.which(name)
        if found is None:
            return Tool(
                name,
                None,
                note=f"{name} is missing and could not be installed ({reason}); "
                f"install the Debian package {package!r}",
            )
        note = f"installed the Debian package {package!r}"
    return Tool(name, found, _version([found, *version_args]), note)


def wrk(install: bool) -> Tool:
    return debian_tool("wrk", "wrk", ["-v"], install)


def sqlite3_cli(install: bool) -> Tool:
    return debian_tool("sqlite3", "sqlite3", ["-version"], install)


def psql(install: bool) -> Tool:
    return debian_tool("psql", "postgresql-client", ["--version"], install)


def _requirements_digest() -> str:
    return hashlib.sha256(DATASETTE_REQUIREMENTS.read_bytes()).hexdigest()


def datasette(venv: Path, install: bool) -> Tool:
    """Datasette's Python (with uvicorn) in its own venv, from the pinned requirements."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    current = stamp.is_file() and stamp.read_text().strip() == _requirements_digest()
    if not current:
        if not install:
            return Tool("datasette", None, note=f"no Datasette venv at {venv} (and --no-install)")
        log(f"installing Datasette into {venv}")
        try:
            if not python.exists():
                subprocess.run(
                    [sys.executable, "-m", "venv", str(venv)],
                    check=True,
                    capture_output=True,
                    timeout=INSTALL_TIMEOUT,
                )
            subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                    str(DATASETTE_REQUIREMENTS),
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            )
        except subprocess.CalledProcessError as exc:
            reason = (str(exc.stderr or "").strip().splitlines() or [str(exc)])[-1]
            return Tool("datasette", None, note=f"could not install Datasette: {reason}")
        except subprocess.TimeoutExpired:
            return Tool("datasette", None, note="installing Datasette took too long")
        stamp.write_text(_requirements_digest() + "\n")
    version = _version(
        [str(python), "-c", "import datasette.version as v, uvicorn; "
         "print('datasette', v.__version__, 'uvicorn', uvicorn.__version__)"]
    )  # fmt: skip
    if version is None or not version.startswith("datasette"):
        return Tool("datasette", None, note=f"the Datasette venv at {venv} does not work")
    return Tool("datasette", str(python), version, "pinned in " + DATASETTE_REQUIREMENTS.name)
