"""Parley: curated, cited records about peace negotiations over a versioned API."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from exporters.manager import Registry

__version__ = "0.1.0"


@dataclass(frozen=True)
class Parley:
    """What the application keeps in ``app.extensions["parley"]``."""

    settings: Settings
    database_url: str
    engine: Engine
    sessions: sessionmaker[Session]
    exporters: Registry


def create_app(settings: Settings | None = None) -> Flask:
    """The application factory: configuration, database, blueprints, error handlers."""
    from api import (
        db,
        docs,
        errors,
        index,
        paths,
        protection,
        querystring,
        ratelimit,
        requestlog,
        v1,
    )
    from api.jsonprovider import FastJSONProvider
    from api.v1.fastreads import FastReads
    from exporters.manager import load_registry

    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path.resolve()) if settings.instance_path else None,
        instance_relative_config=True,
    )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    if settings.fast_paths:
        app.json = FastJSONProvider(app)
    else:
        paths.serve_reference(app)
    database_url = settings.database_url or db.sqlite_url(db.instance_dir(app.instance_path))
    engine = db.make_engine(
        database_url,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
    )
    app.extensions["parley"] = Parley(
        settings, database_url, engine, db.session_factory(engine), load_registry()
    )
    app.teardown_appcontext(db.close_session)
    app.after_request(db.keep_session_for_stream)

    app.url_map.converters["slug"] = v1.SlugConverter
    app.url_map.converters["revision"] = v1.RevisionConverter
    errors.register_error_handlers(app)
    protection.init_app(app, settings)
    ratelimit.init_app(app, settings)
    querystring.init_app(app)
    app.register_blueprint(index.blueprint)
    app.register_blueprint(docs.blueprint)
    v1.init_app(app)
    # Plain item reads and kept pages are answered beneath Flask (api.v1.fastreads);
    # the access log sees every request.
    app.wsgi_app = requestlog.RequestLog(  # type: ignore[method-assign]
        FastReads(app, app.wsgi_app), enabled=settings.access_log
    )
    return app


def parley(app: Flask) -> Parley:
    state = app.extensions["parley"]
    assert isinstance(state, Parley)
    return state
