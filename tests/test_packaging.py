"""The wheel carries the seeds and the fixtures, and an installed Parley finds them
without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from api.fixtures import FixtureSet
from tests.conftest import REPO

pytestmark = pytest.mark.slow

BUILD_TIMEOUT = 300
# Anything that could make the new interpreter see the checkout or this venv's Parley.
LEAKS = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "PARLEY_FIXTURES_DIR",
    "PARLEY_SEEDS_DIR",
)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKS}
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, REPO)
    (built,) = out.glob("parley-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel installed; this venv's dependencies made importable."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel)
    site_packages = run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    ).stdout.strip()
    # A path line only: the .pth files of that folder (the editable checkout) are not run.
    (Path(site_packages) / "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    return venv


@pytest.mark.parametrize("folder", ["seeds", "fixtures"])
def test_the_wheel_holds_every_file_of_the_folder_byte_for_byte(wheel, folder):
    files = sorted(p for p in (REPO / folder).rglob("*") if p.is_file())
    assert files
    with zipfile.ZipFile(wheel) as archive:
        for path in files:
            name = f"api/_bundled/{path.relative_to(REPO).as_posix()}"
            assert archive.read(name) == path.read_bytes(), name


def test_the_installed_package_is_imported_from_the_new_venv(installed, tmp_path):
    result = run(
        installed / "bin" / "python", "-c", "import api; print(api.__file__)", cwd=tmp_path
    )

    location = Path(result.stdout.strip()).resolve()
    assert location.is_relative_to(installed.resolve())
    assert not location.is_relative_to(REPO)


def test_installed_parley_checks_its_bundled_fixtures_outside_the_checkout(
    installed, tmp_path, fixture_set: FixtureSet
):
    result = run(installed / "bin" / "parley", "check", cwd=tmp_path)

    citations = sum(
        len(r["citations"]) for records in fixture_set.records.values() for r in records.values()
    )
    assert f"{citations} citations verified" in result.stdout
