"""`make bench`'s code, kept from rotting: a smoke run end to end, and its parts.

The smoke run builds a tiny database and runs every measurement for a fraction
of a second. It checks that the table and ``results.json`` come out with every
figure present and positive, never the targets (a CI machine is noisy). It needs
neither wrk nor Datasette: the Python load generator runs, and without the
Datasette venv the Datasette figures are skipped, as ``results.json`` says.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.bench import data, datasette_inspect, load, loadgen, paging, report, servers, warming
from tests.bench.figures import Measurements, throughput_figures
from tests.bench.options import (
    REPO,
    Options,
    ServeConfig,
    parse,
    serve_configs,
    serve_default_keep_alive,
    serve_default_threads,
)

SMOKE_TALKS = 2000
# Figures that need a tool the smoke run does not install.
NEEDS_DATASETTE = ("datasette",)
NEEDS_SQLITE3_CLI = ("c_limit",)


def bench_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "DATABASE_URL"))}


@pytest.mark.slow
def test_the_bench_runs_end_to_end_at_a_tiny_scale(tmp_path):
    out = tmp_path / "bench"
    command = [
        sys.executable,
        "-m",
        "tests.bench",
        "--talks",
        str(SMOKE_TALKS),
        "--small-talks",
        "100",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--load",
        "python",
        "--connections",
        "8",
        "--load-threads",
        "1",
        "--no-install",
        "--threads",
        "2",
        "--page-samples",
        "20",
        "--cursors",
        "50",
        "--out",
        str(out),
        "--no-fail",
    ]
    done = subprocess.run(
        command, cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    assert results["errors"] == {}, results["errors"]
    assert "Python" in results["load_generator"]
    assert results["databases"]["full"]["talks"] == SMOKE_TALKS
    assert results["databases"]["talk_rows"] > SMOKE_TALKS  # and the fixtures' talks

    figures = {f["key"]: f for f in results["figures"]}
    expected = {
        "item_vs_bare",
        "page_vs_bare",
        "random_page_vs_bare",
        "item_vs_datasette",
        "page_vs_datasette",
        "random_page_vs_datasette",
        *(f"csv_{mine}_vs_{base}" for mine in ("cli", "http") for base in ("raw", "c_limit")),
        "csv_cli_vs_datasette",
        "csv_http_vs_datasette",
        "rss_growth",
        "rss_peak",
        "deep_vs_first",
        "latency_item",
        "latency_page",
        "latency_bare",
    }
    assert expected <= set(figures)
    for key, figure in figures.items():
        if figure["status"] == report.SKIPPED:
            # Only for want of a tool, and said so, never as a pass.
            assert any(tool in key for tool in NEEDS_DATASETTE + NEEDS_SQLITE3_CLI), figure
            assert figure["reason"], figure
            assert results["skipped"], figure
            continue
        assert figure["status"] in (report.PASS, report.FAIL, report.INFO), figure
        assert figure["value"] > 0, figure
    if shutil.which("sqlite3") is not None:
        assert figures["csv_cli_vs_c_limit"]["value"] > 0
    for target in report.TARGETS:
        assert target in figures or "datasette" in target
    # Datasette's inspect file, written with each database, still holds its counts
    # after every measurement (none of the tables in it was written since).
    for database in (out / "data").glob("*.sqlite3"):
        document = json.loads(datasette_inspect.path_for(database).read_text())
        (entry,) = document.values()
        assert "talks" in entry["tables"]
        assert "renderings" not in entry["tables"]
        assert {t: c["count"] for t, c in entry["tables"].items()} == _counts(database, entry)
    # The bare app was loaded before and after each configuration's Parley loads.
    loaded = {(load["config"], load["endpoint"]) for load in results["loads"]}
    for label in results["options"]["configs"]:
        assert {(label, "bare"), (label, "bare_after")} <= loaded
    # Every server met the records its loads read in the page cache.
    for label in results["options"]["configs"]:
        assert "FROM revisions" in results["page_cache_warmups"][label]["how"]

    # The table names every figure and its result.
    table = done.stdout
    assert "figure" in table.splitlines()[0]
    for figure in results["figures"]:
        assert figure["label"] in table
    assert "targets met" in table


def _lock_is_free(path: Path) -> bool:
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_a_build_locks_out_builds_of_its_own_size_only(tmp_path):
    with data._locked(tmp_path, 1000, 0):
        assert not _lock_is_free(tmp_path / ".lock-1000-s0")
        assert _lock_is_free(tmp_path / ".lock-100-s0")
        assert _lock_is_free(tmp_path / ".lock-1000-s1")
    assert _lock_is_free(tmp_path / ".lock-1000-s0")


def _counts(database: Path, entry: dict) -> dict[str, int]:
    connection = sqlite3.connect(database)
    try:
        return {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in entry["tables"]
        }
    finally:
        connection.close()


def test_the_datasette_inspect_file_counts_every_table_but_the_renderings(tmp_path):
    path = tmp_path / "parley-5-s0-k.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE talks (id TEXT PRIMARY KEY)")
    connection.execute("CREATE TABLE citations (id INTEGER PRIMARY KEY)")
    connection.execute("CREATE TABLE renderings (id INTEGER PRIMARY KEY)")
    connection.executemany("INSERT INTO talks VALUES (?)", [(str(n),) for n in range(5)])
    connection.executemany("INSERT INTO citations VALUES (?)", [(n,) for n in range(12)])
    connection.execute("INSERT INTO renderings VALUES (1)")
    connection.commit()
    connection.close()

    written = datasette_inspect.write(path, path.stem, "k")

    assert written == tmp_path / "parley-5-s0-k.inspect.json"
    document = json.loads(written.read_text())
    # The shape `datasette inspect` writes and `--inspect-file` reads, under the file's stem.
    assert document == {
        path.stem: {
            "hash": "k",
            "size": path.stat().st_size,
            "file": str(path),
            "tables": {"citations": {"count": 12}, "talks": {"count": 5}},
        }
    }
    assert datasette_inspect.is_current(path, path.stem, "k")
    assert not datasette_inspect.is_current(path, path.stem, "other-key")


def test_a_database_without_an_inspect_file_has_none_current(tmp_path):
    path = tmp_path / "parley-1-s0-k.sqlite3"
    sqlite3.connect(path).close()
    assert not datasette_inspect.is_current(path, path.stem, "k")
    datasette_inspect.path_for(path).write_text("not json")
    assert not datasette_inspect.is_current(path, path.stem, "k")


def _tiny_talks_database(path: Path) -> data.Database:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE talks (id TEXT PRIMARY KEY, title TEXT, notes TEXT)")
    connection.execute("CREATE TABLE revisions (resource TEXT, record_id TEXT, data TEXT)")
    connection.executemany(
        "INSERT INTO talks VALUES (?, ?, NULL)", [(str(n), "x" * 100) for n in range(500)]
    )
    connection.executemany(
        "INSERT INTO revisions VALUES ('talks', ?, ?)", [(str(n), "{}") for n in range(500)]
    )
    connection.commit()
    connection.close()
    return data.Database("sqlite", f"sqlite:///{path}", "talks", 500, 0, "k", path, False, None)


def test_warming_reads_the_talks_and_their_revisions_and_changes_nothing(tmp_path):
    database = _tiny_talks_database(tmp_path / "talks.sqlite3")
    before = (tmp_path / "talks.sqlite3").read_bytes()
    warmed = warming.warm(database)
    assert "FROM talks" in warmed.how
    assert "FROM revisions" in warmed.how
    assert (tmp_path / "talks.sqlite3").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talks.sqlite3"]


def test_warming_a_database_without_the_talks_fails_rather_than_warming_nothing(tmp_path):
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    database = data.Database("sqlite", f"sqlite:///{path}", "empty", 0, 0, "k", path, False, None)
    with pytest.raises(sqlite3.OperationalError, match="talks"):
        warming.warm(database)


def test_warming_prewarms_the_talks_and_revisions_of_a_postgresql_database(
    make_postgres_database,
):
    url = make_postgres_database()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE talks (id TEXT PRIMARY KEY, title TEXT)"))
        connection.execute(text("CREATE TABLE revisions (id INTEGER PRIMARY KEY, data TEXT)"))
        connection.execute(text("CREATE TABLE other (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    database = data.Database("postgresql", url, "db", 0, 0, "k", None, False, None)
    warmed = warming.warm(database)
    assert warmed.how == ("pg_prewarm (read) of revisions, revisions_pkey, talks, talks_pkey")


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2], ids=["sync-closes", "gthread-keeps-alive"])
def test_the_python_load_generator_counts_requests_and_latencies(threads):
    settings = load.LoadSettings("python", 2, 4, duration=0.5, warmup=0.1)
    server = servers.bare(ServeConfig(1, threads))
    with servers.running(server, "/") as bare:
        result = load.run(bare.base_url, load.PathList(("/",)), settings)
        missing = load.run(bare.base_url, load.PathList(("/missing",)), settings)
    assert result.requests > 0
    assert not result.failed, result.errors
    assert 0 < result.latency_ms["p50"] <= result.latency_ms["p99"] <= result.latency_ms["max"]
    assert missing.failed
    assert missing.errors["status"] == missing.requests > 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_reports_through_the_lua_script():
    settings = load.LoadSettings("wrk", 1, 2, duration=1, warmup=0, wrk=shutil.which("wrk"))
    server = servers.bare(ServeConfig(1, 2))
    with servers.running(server, "/") as bare:
        result = load.run(bare.base_url, load.RandomIds("/?n=", 3, 1, 999), settings)
    assert result.requests > 0
    assert not result.failed, result.errors
    assert 0 < result.latency_ms["p50"] <= result.latency_ms["p99"]


# --- the parts --------------------------------------------------------------------------


def fake_repo(folder: Path) -> Path:
    for name in (
        "api/synth.py",
        "api/models.py",
        "api/migrations/versions/0001_a.py",
        "fixtures/talks.yaml",
        "seeds/a.txt",
        "api/v1/talks.py",
    ):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return folder


def test_the_cache_key_follows_the_content_of_the_generator_schema_and_data(tmp_path):
    repo = fake_repo(tmp_path)
    key = data.cache_key(1000, 0, repo)
    assert data.cache_key(1000, 0, repo) == key
    assert data.cache_key(1001, 0, repo) != key
    assert data.cache_key(1000, 1, repo) != key
    (repo / "api/v1/talks.py").write_text("a faster path")  # not what decides the data
    assert data.cache_key(1000, 0, repo) == key
    for name in ("api/synth.py", "api/models.py", "fixtures/talks.yaml", "seeds/a.txt"):
        (repo / name).write_text(f"{name}, changed")
        assert data.cache_key(1000, 0, repo) != key, name
        key = data.cache_key(1000, 0, repo)
    (repo / "api/migrations/versions/0002_b.py").write_text("a new migration")
    assert data.cache_key(1000, 0, repo) != key


def test_a_synth_package_replaces_the_module_in_the_key(tmp_path):
    repo = fake_repo(tmp_path)
    (repo / "api/synth.py").unlink()
    (repo / "api/synth").mkdir()
    (repo / "api/synth/__init__.py").write_text("")
    key = data.cache_key(10, 0, repo)
    (repo / "api/synth/writer.py").write_text("COPY")
    assert data.cache_key(10, 0, repo) != key


def test_a_deep_cursor_is_taken_by_the_api_and_starts_after_its_talk(client, fixture_set):
    talks = sorted(fixture_set.records["talks"])
    first = client.get(paging.FIRST_PAGE)
    assert first.status_code == 200
    deep = client.get(paging.page_after(talks[0]))
    assert deep.status_code == 200, deep.get_json()
    assert [item["id"] for item in deep.get_json()["items"]] == talks[1:]


def test_a_skipped_or_failed_figure_is_never_a_pass():
    met = report.Figure("item_vs_bare", "item", 0.7, "x")
    missed = report.Figure("item_vs_bare", "item", 0.5, "x")
    skipped = report.Figure("item_vs_datasette", "item", None, "x", reason="no Datasette")
    failed = report.Figure("deep_vs_first", "deep", None, "x", reason="error: refused")
    other_config = report.Figure("item_vs_bare", "item", 0.1, "x", checked=False)
    assert (met.status, missed.status) == (report.PASS, report.FAIL)
    assert (skipped.status, failed.status) == (report.SKIPPED, report.ERROR)
    assert other_config.status == report.INFO
    assert report.exit_status([met, other_config]) == report.EXIT_OK
    assert report.exit_status([met, skipped]) == report.EXIT_INCOMPLETE
    assert report.exit_status([met, failed]) == report.EXIT_INCOMPLETE
    assert report.exit_status([missed, skipped]) == report.EXIT_MISSED
    assert report.Figure("rss_peak", "rss", 150.0, "MB").status == report.FAIL


def test_percentiles_are_nearest_rank():
    values = sorted(float(n) for n in range(1, 101))
    assert loadgen.percentile(values, 50) == 50.0
    assert loadgen.percentile(values, 99) == 99.0
    assert loadgen.percentile([3.0], 99) == 3.0
    assert loadgen.percentile([], 50) == 0.0


def test_the_lua_script_draws_ids_from_the_whole_range():
    script = load.lua_script(load.RandomIds("/v1/talks/synth-talk-", 7, 1, 1_000_000), seed=1)
    assert "math.random(1, 1000000)" in script
    assert '"%07d"' in script
    listed = load.lua_script(load.PathList(("/a", "/b?c=d")), seed=1)
    assert '"/b?c=d"' in listed


def test_the_options_default_to_a_million_talks_and_parley_serves_configuration(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    options = parse([])
    assert options.backend == "sqlite"
    assert options.talks == 1_000_000
    assert options.small == 100_000
    configs = serve_configs(Options())
    assert configs == [ServeConfig(2, serve_default_threads(), serve_default_keep_alive())]
    assert configs[0].worker_class == "sync"
    assert configs[0].keep_alive == 0
    repeated = serve_configs(Options(threads=((4, None), (4, None), (1, None))))
    assert [c.label for c in repeated] == ["gthread 2x4", "sync 2x1"]


def test_a_configuration_may_name_its_keep_alive():
    options = parse(["--threads", "4 4:2 1"])
    configs = serve_configs(options)
    assert [c.label for c in configs] == ["gthread 2x4", "gthread 2x4 keep-alive 2s", "sync 2x1"]
    assert servers._serving_args(configs[1])[-2:] == ["--keep-alive", "2"]
    with pytest.raises(SystemExit):
        parse(["--postgres-url", "sqlite:///x.sqlite3"])


def _loaded(rate: float, errors: int = 0) -> load.LoadResult:
    latency = {"p50": 1.0, "p90": 1.0, "p99": 2.0, "mean": 1.0, "max": 3.0}
    return load.LoadResult("wrk", int(rate * 10), 10.0, rate, latency, {"status": errors})


def _item_vs_bare(m: Measurements) -> float | None:
    config = ServeConfig(2, 4)
    (figure,) = (f for f in throughput_figures(m, [config], False) if f.key == "item_vs_bare")
    return figure.value


def test_the_item_ratio_is_taken_over_the_higher_of_the_two_bare_loads():
    m = Measurements()
    label = ServeConfig(2, 4).label
    m.loads[(label, "item")] = _loaded(1500)
    m.loads[(label, "bare")] = _loaded(2000)
    m.loads[(label, "bare_after")] = _loaded(3000)
    assert _item_vs_bare(m) == pytest.approx(0.5)
    m.loads[(label, "bare_after")] = _loaded(1000)
    assert _item_vs_bare(m) == pytest.approx(0.75)


def test_a_failed_bare_load_leaves_the_other_as_the_baseline():
    m = Measurements()
    label = ServeConfig(2, 4).label
    m.loads[(label, "item")] = _loaded(1500)
    m.loads[(label, "bare")] = _loaded(2000)
    m.loads[(label, "bare_after")] = _loaded(9000, errors=3)
    assert _item_vs_bare(m) == pytest.approx(0.75)
    del m.loads[(label, "bare")]
    assert _item_vs_bare(m) is None


def test_reading_a_database_into_the_cache_reads_every_byte_of_it(tmp_path, monkeypatch):
    monkeypatch.setattr(datasette_inspect, "READ_CHUNK", 1000)
    path = tmp_path / "parley-1-s0-k.sqlite3"
    path.write_bytes(bytes(range(256)) * 10)  # 2,560 bytes: two whole chunks and a part
    assert datasette_inspect.read_into_cache(path) == 2560
