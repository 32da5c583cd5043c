"""`parley export`: snapshots for CI jobs, byte-identical for identical data, with --check."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from api import models, parley
from api.cli import EXIT_DATABASE, EXIT_DRIFT, EXIT_EXPORTER, main
from api.lifecycle import prepare_database
from exporters import Collection
from exporters.manager import Registered, load_registry
from tests.conftest import make_app


def run(database_url: str, instance: Path, *args: str, **env: str):
    return CliRunner().invoke(
        main,
        ["export", *args],
        env={"DATABASE_URL": database_url, "PARLEY_INSTANCE_PATH": str(instance), **env},
    )


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'snapshot.sqlite3'}"
    prepare_database(make_app(url, tmp_path))
    return url


def test_the_manifest_describes_every_file_written(fresh_sqlite, tmp_path):
    result = run(fresh_sqlite, tmp_path, "--out", str(tmp_path / "snap"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "snap/manifest.json").read_text())
    builtins = load_registry({"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"}).names()
    assert manifest["formats"] == builtins
    assert manifest["manifest_version"] == 1
    assert "generated_at" not in manifest
    on_disk = {p for p in tree(tmp_path / "snap") if p != "manifest.json"}
    assert {f["path"] for f in manifest["files"]} == on_disk
    for entry in manifest["files"]:
        data = (tmp_path / "snap" / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)


def test_source_date_epoch_sets_the_generation_time(fresh_sqlite, tmp_path):
    run(fresh_sqlite, tmp_path, "--out", str(tmp_path / "snap"), SOURCE_DATE_EPOCH="1764028800")
    manifest = json.loads((tmp_path / "snap/manifest.json").read_text())
    assert manifest["generated_at"] == "2025-11-25T00:00:00Z"


@pytest.fixture
def restore_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


def test_two_fresh_loads_on_both_backends_in_different_time_zones_give_identical_snapshots(
    tmp_path, make_postgres_database, restore_tz
):
    sqlite_url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    postgres_url = make_postgres_database()
    snapshots = []
    for url, zone, name in ((sqlite_url, "UTC+14", "a"), (postgres_url, "UTC-10", "b")):
        restore_tz.setenv("TZ", zone)
        restore_tz.setenv("PGTZ", zone)
        time.tzset()
        instance = tmp_path / name
        app = make_app(url, instance)
        prepare_database(app)
        parley(app).engine.dispose()
        result = run(url, instance, "--out", str(tmp_path / f"snap-{name}"), TZ=zone, PGTZ=zone)
        assert result.exit_code == 0, result.output
        snapshots.append(tree(tmp_path / f"snap-{name}"))
    assert snapshots[0] == snapshots[1]


def test_check_passes_on_unchanged_data(fresh_sqlite, tmp_path):
    run(fresh_sqlite, tmp_path, "--out", str(tmp_path / "snap"))
    result = run(fresh_sqlite, tmp_path, "--check", str(tmp_path / "snap"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_check_names_the_files_a_one_field_change_affects(fresh_sqlite, tmp_path):
    run(fresh_sqlite, tmp_path, "--out", str(tmp_path / "snap"))
    app = make_app(fresh_sqlite, tmp_path)
    with parley(app).sessions.begin() as session:
        session.execute(
            update(models.Talk).where(models.Talk.id == "istanbul-talks").values(venue="Ankara")
        )
    parley(app).engine.dispose()
    result = run(fresh_sqlite, tmp_path, "--check", str(tmp_path / "snap"))
    assert result.exit_code == EXIT_DRIFT
    differing = result.stdout.split()
    assert "csv/talks.csv" in differing
    assert "csv/actors.csv" not in differing
    assert any(path.startswith("jsonld/") for path in differing)


def test_check_notices_a_file_edited_after_the_snapshot(fresh_sqlite, tmp_path):
    run(fresh_sqlite, tmp_path, "--out", str(tmp_path / "snap"))
    with open(tmp_path / "snap/csv/actors.csv", "ab") as handle:
        handle.write(b"tampered\r\n")
    result = run(fresh_sqlite, tmp_path, "--check", str(tmp_path / "snap"))
    assert result.exit_code == EXIT_DRIFT
    assert result.stdout.split() == ["csv/actors.csv"]


class Failing:
    name = "broken"
    media_type = "text/x-broken"
    extension = "broken"

    def export(self, collection: Collection) -> Iterator[str]:
        yield "partial"
        raise RuntimeError("the broken exporter broke")


def test_a_failing_exporter_exits_7_naming_it_and_the_others_are_written(
    fresh_sqlite, tmp_path, monkeypatch
):
    real = load_registry

    def with_broken(environ=None, **kwargs):
        registry = real({"PARLEY_DISABLE_PLUGIN_AUTOLOAD": "1"})
        registry.exporters["broken"] = Registered(Failing(), "tests.broken", None)
        return registry

    monkeypatch.setattr("exporters.manager.load_registry", with_broken)
    result = run(fresh_sqlite, tmp_path, "--format", "csv,broken", "--out", str(tmp_path / "snap"))
    assert result.exit_code == EXIT_EXPORTER
    assert "'broken'" in result.stderr
    assert (tmp_path / "snap/csv/talks.csv").is_file()
    assert not (tmp_path / "snap/broken").exists()
    manifest = json.loads((tmp_path / "snap/manifest.json").read_text())
    assert manifest["formats"] == ["csv"]


@pytest.mark.parametrize(
    "args",
    [["--format", "nope", "--out", "x"], ["--out", "x", "--check", "."], []],
)
def test_usage_errors_exit_2(fresh_sqlite, tmp_path, args):
    assert run(fresh_sqlite, tmp_path, *args).exit_code == 2


def test_an_unreachable_database_exits_5(tmp_path):
    result = run(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", tmp_path, "--out", str(tmp_path / "s")
    )
    assert result.exit_code == EXIT_DATABASE
    assert "Traceback" not in result.output


# --- one collection: `parley export --collection NAME --format F` --------------------------

# More talks than one batch of the export's keyset reads, so that batches are crossed.
COLLECTION_TALKS = 600


@pytest.fixture
def synthesized_url(empty_database_url: str, tmp_path: Path) -> str:
    from api import synth

    synth.synthesize(make_app(empty_database_url, tmp_path), talks=COLLECTION_TALKS)
    return empty_database_url


def test_one_collection_is_exported_byte_for_byte_as_http_serves_it(synthesized_url, tmp_path):
    app = make_app(synthesized_url, tmp_path)
    registry = parley(app).exporters
    client = app.test_client()
    for name in ("talks", "sources"):
        for registered in registry.exporters.values():
            extension = registered.exporter.extension
            served = client.get(f"/v1/{name}.{extension}")
            assert served.status_code == 200
            result = run(
                synthesized_url,
                tmp_path,
                "--collection",
                name,
                "--format",
                registered.exporter.name,
            )
            assert result.exit_code == 0, result.stderr
            assert result.stdout_bytes == served.data, (name, registered.exporter.name)
    talks_csv = client.get("/v1/talks.csv").data
    assert talks_csv.count(b"\n") > COLLECTION_TALKS
    out = tmp_path / "one"
    result = run(
        synthesized_url, tmp_path, "--collection", "talks", "--format", "csv", "--out", str(out)
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b""
    assert [p.name for p in out.iterdir()] == ["talks.csv"]
    assert (out / "talks.csv").read_bytes() == talks_csv


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--collection", "nope", "--format", "csv"], "unknown collection 'nope'"),
        (["--collection", "talks"], "exactly one --format"),
        (["--collection", "talks", "--format", "csv,jsonld"], "exactly one --format"),
        (["--collection", "talks", "--format", "nope"], "exactly one --format"),
        (["--collection", "talks", "--format", "csv", "--check", "."], "takes no --collection"),
    ],
)
def test_collection_usage_errors_exit_2(fresh_sqlite, tmp_path, args, message):
    result = run(fresh_sqlite, tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr
