"""The `parley` command line.

Exit statuses (also in the README):

====  =====================================================================
0     success
1     an unexpected error (a bug: please report it)
2     usage error (unknown option, bad argument)
3     the fixtures or seeds are invalid; nothing was written
4     loaded, but records were left as they are (changed through the API,
      or no longer in the fixtures); see --force and --prune
5     the database is unreachable or failed
6     ``export --check``: the data no longer matches the snapshot
7     ``export``: an exporter failed (the other formats were written)
====  =====================================================================
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from api import create_app, db, lifecycle, parley
from api.config import Settings, SettingsError
from api.fixtures import FixtureError
from api.fixtures.loader import LoadReport, summary_lines

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_FIXTURES = 3
EXIT_LEFT_AS_IS = 4
EXIT_DATABASE = 5
EXIT_DRIFT = 6
EXIT_EXPORTER = 7

F = TypeVar("F", bound=Callable[..., Any])


def _settings(fixtures: Path | None = None, seeds: Path | None = None) -> Settings:
    settings = Settings.from_env()
    overrides: dict[str, Any] = {}
    if fixtures is not None:
        overrides["fixtures_dir"] = fixtures
    if seeds is not None:
        overrides["seeds_dir"] = seeds
    if not overrides:
        return settings
    return Settings(**(settings.__dict__ | overrides))


def _fail(status: int, lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(status)


def handles_failures(command: F) -> F:
    """Turn the failures a user can cause into a message and a documented status."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FixtureError as exc:
            count = len(exc.problems)
            _fail(
                EXIT_FIXTURES,
                [str(p) for p in exc.problems] + [f"{count} problem(s) found; nothing was written"],
            )
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            _fail(EXIT_DATABASE, [f"database error: {reason}"])
        except SettingsError as exc:
            _fail(EXIT_USAGE, [str(exc)])

    return wrapper  # type: ignore[return-value]


fixtures_option = click.option(
    "--fixtures",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Fixtures folder (default: the bundled fixtures).",
)
seeds_option = click.option(
    "--seeds",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Seeds folder (default: the bundled seeds).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="parley")
def main() -> None:
    """Parley: curated, cited records about peace negotiations.

    Configured from the environment: DATABASE_URL (default: a SQLite file in the
    instance folder) and PARLEY_BASE_URL (the public base of absolute URLs).
    """


def _prune_renderings(app: Any) -> None:
    """Renderings this code can no longer use go before the workers start."""
    from api.v1 import renderings

    state = parley(app)
    if not state.settings.renderings:
        return
    keep = renderings.current_variants(state.exporters, state.settings.base_url)
    pruned = renderings.prune(state.engine, keep)
    if pruned:
        click.echo(f"deleted {pruned} renderings of other code or base URLs", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker: 1 runs gunicorn's sync workers, more its gthread workers "
    "(README, Performance: sync workers served items 40 to 55% faster).",
)
@click.option(
    "--keep-alive",
    default=0,
    show_default=True,
    type=click.IntRange(0, 3600),
    help="Seconds a threaded worker keeps an idle connection open for the next request; "
    "0 closes it after each response, which spreads the load evenly over the workers "
    "(README, Performance).",
)
@click.option(
    "--timeout",
    default=None,
    type=click.IntRange(1, 3600),
    help="Seconds a request may stay busy inside the application (its view, or its "
    "next chunk) before its worker is stopped and replaced. "
    "Default: PARLEY_WORKER_TIMEOUT, 60.",
)
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader.")
@handles_failures
def serve(
    host: str,
    port: int,
    workers: int,
    threads: int,
    keep_alive: int,
    timeout: int | None,
    dev: bool,
) -> None:
    """Serve the API (gunicorn), migrating and loading an empty database first."""
    settings = _settings()
    app = create_app(settings)
    # Before any worker forks: migrate, and load the fixtures into an empty database.
    report = lifecycle.prepare_database(app)
    if report is not None:
        click.echo(f"loaded the fixtures: {next(iter(summary_lines(report)))}", err=True)
    _prune_renderings(app)
    parley(app).engine.dispose()
    if dev:
        app.run(host=host, port=port, debug=True, use_reloader=True)
        return
    from api.serving import serve as run_gunicorn

    run_gunicorn(
        settings,
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=timeout,
        keep_alive=keep_alive,
    )


def _report(report: LoadReport) -> None:
    for line in summary_lines(report):
        click.echo(line, err=True)
    if report.conflicts or report.removed:
        sys.exit(EXIT_LEFT_AS_IS)


@main.command()
@fixtures_option
@seeds_option
@click.option("--force", is_flag=True, help="Overwrite records changed through the API.")
@click.option("--prune", is_flag=True, help="Soft-delete records no longer in the fixtures.")
@handles_failures
def load(fixtures: Path | None, seeds: Path | None, force: bool, prune: bool) -> None:
    """Validate the fixtures and apply them to the database in one transaction."""
    app = create_app(_settings(fixtures, seeds))
    _report(lifecycle.load(app, force=force, prune=prune))


@main.command()
@fixtures_option
@seeds_option
@handles_failures
def check(fixtures: Path | None, seeds: Path | None) -> None:
    """Validate the fixtures and their citations without writing anything."""
    fixture_set = lifecycle.read_configured_fixtures(_settings(fixtures, seeds))
    counts = ", ".join(f"{len(v)} {k}" for k, v in fixture_set.records.items())
    quotes = sum(len(r["citations"]) for v in fixture_set.records.values() for r in v.values())
    click.echo(f"ok: {counts}; {quotes} citations verified")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@handles_failures
def dump(folder: Path) -> None:
    """Write the database's live records as fixture files into FOLDER.

    Creates FOLDER when missing and overwrites the fixture files in it, so that
    changes made through the API can become the next release (check it with
    `parley check --fixtures FOLDER`).
    """
    from sqlalchemy.orm import Session

    from api.fixtures.dump import DumpError, dump_fixtures

    state = parley(create_app(_settings()))
    with state.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot for every table read.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=connection) as session:
            try:
                paths = dump_fixtures(session, folder)
            except DumpError as exc:
                raise click.UsageError(str(exc)) from None
    for path in paths:
        click.echo(path)


@main.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
def openapi(output: Path | None) -> None:
    """Print the OpenAPI document generated from the code (commit it as openapi.yaml)."""
    from api.openapi import build_spec, to_yaml

    text = to_yaml(build_spec())
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@main.command("export")
@click.option(
    "--format",
    "formats",
    default=None,
    help="Comma-separated formats (default: every built-in one; a plugin's only when named).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a snapshot into this folder.",
)
@click.option(
    "--check",
    "check_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Compare the data with the snapshot in this folder; list the files that differ.",
)
@click.option(
    "--collection",
    default=None,
    help="Export this one collection in one --format, to standard output (or to "
    "DIR/<collection>.<extension> with --out DIR): the bytes GET /v1/<collection>.<extension> "
    "serves.",
)
@handles_failures
def export(
    formats: str | None, out: Path | None, check_dir: Path | None, collection: str | None
) -> None:
    """Write a whole-dataset snapshot (one folder per format and manifest.json).

    With --collection, write that one collection in one format instead.
    """
    import os
    import sys as _sys

    from api.v1.export import open_dataset
    from api.v1.schemas import Urls
    from exporters.snapshot import check_snapshot, read_manifest, write_snapshot

    if collection is not None:
        _export_collection(collection, formats, out, check_dir)
        return
    if (out is None) == (check_dir is None):
        raise click.UsageError("give exactly one of --out DIR and --check DIR")
    app = create_app(_settings())
    state = parley(app)
    registry = state.exporters
    if formats is None and check_dir is not None:
        wanted = list(read_manifest(check_dir)["formats"])
    elif formats is None:
        wanted = [name for name, r in registry.exporters.items() if r.distribution is None]
    else:
        wanted = [name.strip() for name in formats.split(",") if name.strip()]
    unknown = [name for name in wanted if registry.get(name) is None]
    if unknown or not wanted:
        raise click.UsageError(
            f"unknown format(s) {', '.join(unknown) or '(none given)'}; "
            f"available: {', '.join(registry.names())}"
        )
    chosen = [r for name in wanted if (r := registry.get(name)) is not None]
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    show = _sys.stderr.isatty()

    def progress(path: str) -> None:
        click.echo(f"  writing {path}", err=True)

    with state.sessions() as session:
        dataset = open_dataset(session, Urls(state.settings.base_url))
        if check_dir is not None:
            differing, _ = check_snapshot(dataset, chosen, check_dir)
            for path in differing:
                click.echo(path)
            if differing:
                click.echo(f"{len(differing)} file(s) differ from the data", err=True)
                _sys.exit(EXIT_DRIFT)
            click.echo("the snapshot matches the data", err=True)
            return
        assert out is not None
        result = write_snapshot(
            dataset,
            chosen,
            out,
            source_date_epoch=int(epoch) if epoch else None,
            progress=progress if show else None,
        )
    files = len(result.manifest["files"])
    click.echo(f"wrote {files} file(s) in {', '.join(result.manifest['formats'])}", err=True)
    if result.failures:
        for name, reason in result.failures.items():
            click.echo(f"the {name!r} exporter failed: {reason}", err=True)
        _sys.exit(EXIT_EXPORTER)


def _export_collection(
    name: str, formats: str | None, out: Path | None, check_dir: Path | None
) -> None:
    """``export --collection``: one collection, in one format, as HTTP serves it."""
    import os

    from api.v1.catalog import COLLECTIONS
    from api.v1.export import dataset_info, open_collection, rendered_chunks
    from api.v1.schemas import Urls

    if check_dir is not None:
        raise click.UsageError("--check compares whole snapshots; it takes no --collection")
    if name not in COLLECTIONS:
        raise click.UsageError(
            f"unknown collection {name!r}; collections: {', '.join(COLLECTIONS)}"
        )
    app = create_app(_settings())
    state = parley(app)
    registry = state.exporters
    wanted = [part.strip() for part in (formats or "").split(",") if part.strip()]
    chosen = registry.get(wanted[0]) if len(wanted) == 1 else None
    if chosen is None:
        raise click.UsageError(
            f"--collection needs exactly one --format; available: {', '.join(registry.names())}"
        )
    exporter = chosen.exporter
    urls = Urls(state.settings.base_url)
    with state.sessions() as session, _output(out, f"{name}.{exporter.extension}") as sink:
        records = open_collection(session, name, urls, dataset_info(session, urls))
        try:
            made = rendered_chunks(session, app, chosen, records, urls)
            for chunk in made if made is not None else exporter.export(records):
                sink.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
        except BrokenPipeError:
            # The reader went away (`| head`): nothing more can be written, not even a flush.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sink.fileno())
            _fail(1, ["the output was closed before the export ended"])
        except Exception as exc:
            _fail(EXIT_EXPORTER, [f"the {exporter.name!r} exporter failed: {exc}"])


@contextmanager
def _output(folder: Path | None, file_name: str) -> Iterator[BinaryIO]:
    """Standard output, or ``folder/file_name`` (the folder is created when missing)."""
    if folder is None:
        stream = sys.stdout.buffer
        yield stream
        stream.flush()
        return
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / file_name).open("wb") as stream:
        yield stream


@main.group("tokens")
def tokens_group() -> None:
    """Bearer tokens for writes (only their hashes are stored)."""


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@tokens_group.command("create")
@click.option("--name", required=True, help="Who or what uses the token (unique).")
@click.option(
    "--expires",
    type=click.IntRange(1, 3650),
    default=None,
    help="Days until the token expires (default: never).",
)
@handles_failures
def tokens_create(name: str, expires: int | None) -> None:
    """Create a token and print it: this is the only time it is shown."""
    from datetime import timedelta

    from api import tokens

    app = create_app(_settings())
    state = parley(app)
    with lifecycle.startup_lock(app):
        db.upgrade(state.engine)
    try:
        with state.sessions.begin() as session:
            token = tokens.create(
                session, name, _now(), timedelta(days=expires) if expires else None
            )
    except tokens.TokenError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(token)
    click.echo(f"created token {name!r}; store it now, it cannot be shown again", err=True)


@tokens_group.command("list")
@handles_failures
def tokens_list() -> None:
    """List the tokens: name, state, creation and expiry (never the token)."""
    from api import tokens

    state = parley(create_app(_settings()))
    now = _now()
    with state.sessions() as session:
        for info in tokens.list_tokens(session):
            expires = info.expires_at.isoformat() if info.expires_at else "never"
            created = info.created_at.isoformat()
            click.echo(f"{info.name}\t{info.state(now)}\tcreated {created}\texpires {expires}")


@tokens_group.command("revoke")
@click.argument("name")
@handles_failures
def tokens_revoke(name: str) -> None:
    """Revoke the token NAME; it stops working at once."""
    from api import tokens

    state = parley(create_app(_settings()))
    try:
        with state.sessions.begin() as session:
            tokens.revoke(session, name, _now())
    except tokens.TokenError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"revoked token {name!r}", err=True)


@main.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@handles_failures
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    app = create_app(_settings())
    with lifecycle.startup_lock(app):
        db.upgrade(parley(app).engine, revision)
    click.echo(f"schema at {db.current_revision(parley(app).engine)}")


@db_group.command("downgrade")
@click.argument("revision")
@handles_failures
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ("base" for an empty database)."""
    app = create_app(_settings())
    with lifecycle.startup_lock(app):
        db.downgrade(parley(app).engine, revision)
    click.echo(f"schema at {db.current_revision(parley(app).engine)}")


@db_group.command("current")
@handles_failures
def db_current() -> None:
    """Print the schema revision of the database and the newest one."""
    engine = parley(create_app(_settings())).engine
    click.echo(f"{db.current_revision(engine)} (newest: {db.head_revision(engine)})")


@main.command()
@click.option(
    "--talks",
    required=True,
    type=click.IntRange(1, 1_000_000),
    help="How many talks; the other resources follow in fixed proportions.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    help="Seed of every random choice: the same talks and seed give the same data.",
)
@handles_failures
def synth(talks: int, seed: int) -> None:
    """Add deterministic synthetic records of every resource, for load and sort tests.

    Migrates and loads the fixtures first when the database is empty; writes
    everything in one transaction. A database that already holds synthetic
    records is refused (exit status 2): use a fresh one.
    """
    import sys
    import time

    from api.synth import SynthError, synthesize

    def progress(line: str) -> None:
        click.echo(f"  {line}", err=True)

    started = time.perf_counter()
    try:
        report = synthesize(
            create_app(_settings()),
            talks=talks,
            seed=seed,
            progress=progress if sys.stderr.isatty() else None,
        )
    except SynthError as exc:
        raise click.UsageError(str(exc)) from None
    seconds = time.perf_counter() - started
    click.echo(f"synthesized {report.summary()} in {seconds:.1f} s", err=True)
