"""One bench run, from the databases to the table: ``python -m tests.bench``.

The order keeps measurements apart: the command-line exports first (no server
is running), then Datasette alone, then each serving configuration, Parley
and the bare app side by side, loaded one at a time. A measurement that fails
is reported as such (its figures are ``error``) and the run goes on, so that
one broken server never hides the rest; ``results.json`` is always written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.synth import synth_id
from tests.bench import data, export, load, machine, paging, report, servers, tools, warming
from tests.bench.figures import (
    Measurements,
    export_figures,
    latency_figures,
    page_figures,
    throughput_figures,
)
from tests.bench.load import LoadResult, LoadSettings, PathList, RandomIds
from tests.bench.options import Options, ServeConfig, parse, serve_configs
from tests.bench.paging import PageTiming
from tests.bench.tools import log

DEEP_SHARE = 0.9  # the deep page follows 90% of the talks: row 900,000 of 1,000,000
DATASETTE_PAGE = "_size=50&_nocount=1&_nosuggest=1"


def talk_ids(talks: int) -> RandomIds:
    """The ids of the synthetic talks, ``synth-talk-0000001`` to the last, as a range."""
    sample = synth_id("talk", 1)
    width = len(sample) - len(sample.rstrip("0123456789"))
    prefix = sample[:-width]
    if synth_id("talk", talks) != f"{prefix}{talks:0{width}d}":
        raise RuntimeError("synthetic talk ids are no longer a zero-padded counter")
    return RandomIds(prefix=prefix, width=width, first=1, last=talks)


def load_settings(options: Options, wrk: tools.Tool) -> tuple[LoadSettings, str]:
    if options.load == "wrk" and wrk.path is None:
        raise SystemExit(f"bench: --load wrk, but {wrk.note}")
    use_wrk = options.load != "python" and wrk.path is not None
    if options.load == "auto" and not use_wrk:
        log(f"{wrk.note}; using the Python load generator")
    settings = LoadSettings(
        tool="wrk" if use_wrk else "python",
        threads=options.load_threads,
        connections=options.connections,
        duration=options.duration,
        warmup=options.warmup,
        wrk=wrk.path if use_wrk else None,
    )
    return settings, (wrk.version or "wrk") if use_wrk else "tests.bench.loadgen (Python)"


def _load(m: Measurements, key: tuple[str, str], run: Callable[[], LoadResult]) -> None:
    result = m.attempt(f"{key[1]} [{key[0]}]", run)
    if result is not None:
        m.loads[key] = result
        log(
            f"  {result.requests_per_second:,.0f} req/s, p50 {result.latency_ms['p50']} ms, "
            f"p99 {result.latency_ms['p99']} ms, errors {sum(result.errors.values())}"
        )


def _ok_json(base_url: str, path: str) -> Any:
    status, body = servers.fetch_json(base_url, path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return body


def measure_exports(
    m: Measurements,
    options: Options,
    big: data.Database,
    small: data.Database,
    rows: int,
    cli: tools.Tool,
) -> None:
    instance = options.data_dir / "instance"
    small_rows = data.talk_rows(small)
    timeout = options.export_timeout
    # Each database's first export starts with no renderings and stores them; the
    # second is made from them, as every export of unchanged records is.
    for database in (big, small):
        data.forget_renderings(database)
    for key, run in (
        ("cli_cold", lambda: export.parley_cli(big, rows, instance, timeout)),
        ("cli", lambda: export.parley_cli(big, rows, instance, timeout)),
        ("cli_small_cold", lambda: export.parley_cli(small, small_rows, instance, timeout)),
        ("cli_small", lambda: export.parley_cli(small, small_rows, instance, timeout)),
        ("raw", lambda: export.raw_loop(big, rows, timeout)),
    ):
        result = m.attempt(f"export {key}", run)
        if result is not None:
            m.exports[key] = result
            log(f"  {result.rows_per_second:,.0f} rows/s, peak RSS {result.peak_rss_mb} MB")
    m.servers["c_limit_tool"] = {"name": cli.name, "version": cli.version, "note": cli.note}
    if cli.path is None:
        m.skipped["export c_limit"] = cli.note
    else:
        tool = cli.path
        result = m.attempt("export c_limit", lambda: export.c_limit(big, rows, tool, timeout))
        if result is not None:
            m.exports["c_limit"] = result


def _datasette_ids(body: Any) -> list[str]:
    """The ids of the rows of a Datasette JSON answer (rows as arrays, with columns)."""
    column = body["columns"].index("id")
    return [row[column] for row in body["rows"]]


def measure_datasette(
    m: Measurements,
    python: str,
    big: data.Database,
    rows: int,
    ids: RandomIds,
    settings: LoadSettings,
    options: Options,
    rng: random.Random,
) -> None:
    db = big.name
    item = RandomIds(f"/{db}/talks/{ids.prefix}", ids.width, ids.first, ids.last, ".json")
    page = f"/{db}/talks.json?{DATASETTE_PAGE}"
    deep = PathList(
        tuple(
            f"{page}&_next={ids.path(rng.randint(1, max(1, ids.last - 50)))}"
            for _ in range(options.cursors)
        )
    )
    server = servers.datasette(python, big, options.workers)
    with servers.running(server, "/-/versions.json", servers.DATASETTE_STARTUP_TIMEOUT) as ds:
        versions = _ok_json(ds.base_url, "/-/versions.json")
        m.servers["datasette"] = ds.description | {
            "versions": {
                "datasette": versions.get("datasette", {}).get("version"),
                "uvicorn": versions.get("uvicorn"),
                "python": versions.get("python", {}).get("version"),
                "sqlite": versions.get("sqlite", {}).get("version"),
            }
        }
        # The same records as Parley's: the talk asked for, pages of 50 in id order.
        first_ids = _datasette_ids(_ok_json(ds.base_url, item.path(ids.last)))
        if first_ids != [ids.path(ids.last)]:
            raise RuntimeError(f"Datasette's {item.path(ids.last)} gave {first_ids}")
        if len(_datasette_ids(_ok_json(ds.base_url, page))) != paging.PAGE:
            raise RuntimeError(f"Datasette's {page} is not a page of {paging.PAGE} rows")
        after = deep.paths[0].rsplit("_next=", 1)[1]
        deep_ids = _datasette_ids(_ok_json(ds.base_url, deep.paths[0]))
        if len(deep_ids) != paging.PAGE or deep_ids[0] <= after:
            raise RuntimeError(f"Datasette's {deep.paths[0]} does not start after {after}")
        config = "datasette"
        _warm(m, config, big)
        _load(m, (config, "item"), lambda: load.run(ds.base_url, item, settings))
        _load(m, (config, "page"), lambda: load.run(ds.base_url, PathList((page,)), settings))
        _load(m, (config, "random_page"), lambda: load.run(ds.base_url, deep, settings))
        url = f"{ds.base_url}/{db}/talks.csv?_stream=on&_size=max"
        result = m.attempt(
            "export datasette",
            lambda: export.over_http("datasette _stream=on", url, rows, options.export_timeout),
        )
        if result is not None:
            m.exports["datasette"] = result


def _warm(m: Measurements, before: str, database: data.Database) -> None:
    """The records ``before``'s loads read into the page cache (``warming``).

    Right before the first load that reads them, the item load, with the
    servers already started: this kind of machine gives page cache back within
    minutes, so the less time between the warm-up and the reads, the less of
    it is gone when the items are asked for.
    """
    warmed = m.attempt(f"page cache warm-up before {before}", lambda: warming.warm(database))
    if warmed is not None:
        m.warmups[before] = warmed
        log(f"  read in {warmed.seconds:.1f} s")


def measure_config(
    m: Measurements,
    config: ServeConfig,
    primary: bool,
    big: data.Database,
    rows: int,
    ids: RandomIds,
    settings: LoadSettings,
    options: Options,
    rng: random.Random,
) -> None:
    label = config.label
    instance = options.data_dir / "instance"
    item = RandomIds(f"/v1/talks/{ids.prefix}", ids.width, ids.first, ids.last)
    first_page = paging.FIRST_PAGE
    deep = PathList(
        tuple(
            paging.page_after(ids.path(rng.randint(1, max(1, ids.last - 50))))
            for _ in range(options.cursors)
        )
    )
    with (
        servers.running(servers.bare(config), "/") as bare,
        servers.running(
            servers.parley(big, config, instance), item.path(ids.last)
        ) as parley_server,
    ):
        m.servers[f"gunicorn {label}"] = parley_server.description
        base = parley_server.base_url
        _ok_json(base, item.path(ids.first))
        client = paging.Client(base)
        try:
            paging.check_page(client, first_page, None)
            paging.check_page(client, deep.paths[0], None)
        finally:
            client.close()
        _load(m, (label, "bare"), lambda: load.run(bare.base_url, PathList(("/",)), settings))
        _warm(m, label, big)
        _load(m, (label, "item"), lambda: load.run(base, item, settings))
        _load(m, (label, "page"), lambda: load.run(base, PathList((first_page,)), settings))
        _load(m, (label, "random_page"), lambda: load.run(base, deep, settings))
        bare_again = PathList(("/",))
        _load(m, (label, "bare_after"), lambda: load.run(bare.base_url, bare_again, settings))
        if not primary:
            return
        position = max(1, min(rows - paging.PAGE, round(options.talks * DEEP_SHARE)))

        def deep_page() -> PageTiming:
            after = data.talk_id_at(big, position)
            path = paging.page_after(after)
            client = paging.Client(base)
            try:
                paging.check_page(client, path, data.talk_id_at(big, position + 1))
            finally:
                client.close()
            return paging.time_pages(base, path, position, options.page_samples)

        m.pages = m.attempt("deep page", deep_page)
        result = m.attempt(
            "export http",
            lambda: export.over_http(
                "GET /v1/talks.csv", f"{base}/v1/talks.csv", rows, options.export_timeout
            ),
        )
        if result is not None:
            m.exports["http"] = result


def debian_tools(options: Options) -> tuple[tools.Tool, tools.Tool]:
    """wrk, and the database's own CSV writer (the C limit), one after the other: two
    apt-get runs at once would fight over dpkg's lock."""
    wrk = tools.wrk(options.install and options.load != "python")
    if options.backend == "sqlite":
        return wrk, tools.sqlite3_cli(options.install)
    return wrk, tools.psql(options.install)


# --- the run -------------------------------------------------------------------------------


def run(options: Options) -> tuple[int, dict[str, Any]]:
    started = time.time()
    clock = time.perf_counter()
    options.out.mkdir(parents=True, exist_ok=True)
    configs = serve_configs(options)
    m = Measurements()
    log(f"{options.talks:,} talks on {options.backend}; serving {[c.label for c in configs]}")

    # The tools are installed while the databases are built: a build computes on one
    # core, and installing mostly waits for the network.
    with ThreadPoolExecutor(max_workers=2) as installs:
        debian = installs.submit(debian_tools, options)
        if options.load == "wrk":
            load_settings(options, debian.result()[0])  # no wrk: stop before the builds
        datasette_install = None
        if options.backend == "sqlite" and options.datasette:
            datasette_install = installs.submit(
                tools.datasette, options.bench_venv, options.install
            )
        described = machine.describe(options.postgres_url)
        big, small = data.ensure_all((options.talks, options.small), options)
        wrk, c_limit = debian.result()
        ds = datasette_install.result() if datasette_install is not None else None

    settings, load_tool = load_settings(options, wrk)
    datasette_python: str | None = None
    applicable = options.backend == "sqlite"
    not_applicable: dict[str, str] = {}
    if not applicable:
        not_applicable["datasette"] = "Datasette serves SQLite files only"
    elif ds is None:
        m.skipped["datasette"] = "skipped: --no-datasette"
    else:
        datasette_python = ds.path
        m.servers["datasette_tool"] = {"version": ds.version, "note": ds.note}
        if ds.path is None:
            m.skipped["datasette"] = f"skipped: {ds.note}"
    for name in ("item", "page", "random_page"):
        if "datasette" in m.skipped:
            m.skipped[f"{name} [datasette]"] = m.skipped["datasette"]
    if "datasette" in m.skipped:
        m.skipped["export datasette"] = m.skipped["datasette"]

    rows = data.talk_rows(big)
    ids = talk_ids(options.talks)
    rng = random.Random(options.seed + 1)
    setup_seconds = time.perf_counter() - clock

    measure_exports(m, options, big, small, rows, c_limit)
    if datasette_python is not None:
        python = datasette_python
        m.attempt(
            "datasette",
            lambda: measure_datasette(m, python, big, rows, ids, settings, options, rng),
        )
    for n, config in enumerate(configs):

        def serve(config: ServeConfig = config, primary: bool = n == 0) -> None:
            measure_config(m, config, primary, big, rows, ids, settings, options, rng)

        m.attempt(f"serving {config.label}", serve)

    show_datasette = applicable
    figures = [
        *throughput_figures(m, configs, show_datasette),
        *export_figures(m, show_datasette, options.talks, options.small, configs[0].label),
        *page_figures(m, configs),
        *latency_figures(m),
    ]
    status = report.exit_status(figures)
    results: dict[str, Any] = {
        "results_version": 1,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": {
            "total": round(time.perf_counter() - clock, 1),
            "setup_and_builds": round(setup_seconds, 1),
        },
        "passed": status == report.EXIT_OK,
        "exit_status": status,
        "summary": report.summary(figures),
        "options": {
            "talks": options.talks,
            "small_talks": options.small,
            "seed": options.seed,
            "backend": options.backend,
            "workers": options.workers,
            "configs": [c.label for c in configs],
            "checked_config": configs[0].label,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "connections": options.connections,
            "load_threads": options.load_threads,
            "page_samples": options.page_samples,
            "cursors": options.cursors,
        },
        "machine": described | {"load_average_at_end": machine.load_average()},
        "load_generator": load_tool,
        "databases": {"full": big.describe(), "small": small.describe(), "talk_rows": rows},
        "servers": m.servers,
        "figures": [f.describe() for f in figures],
        "targets": {k: {"op": op, "value": v} for k, (op, v) in report.TARGETS.items()},
        "loads": [
            {"config": config, "endpoint": endpoint, **result.describe()}
            for (config, endpoint), result in m.loads.items()
        ],
        "exports": {k: v.describe() for k, v in m.exports.items()},
        "pages": m.pages.describe() if m.pages else None,
        "page_cache_warmups": {k: v.describe() for k, v in m.warmups.items()},
        "skipped": m.skipped,
        "not_applicable": not_applicable,
        "errors": m.errors,
    }
    report.write(options.out / "results.json", results)
    print(report.table(figures))
    print()
    print(report.summary(figures))
    print(f"results: {options.out / 'results.json'}")
    return status, results


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    status, _ = run(options)
    return status if options.fail_on_targets else 0
