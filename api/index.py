"""The service index (``GET /``) and the health check (``GET /healthz``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api import __version__, db, models, parley
from api.resources import RESOURCES

blueprint = Blueprint("index", __name__)

API_VERSIONS = ("v1",)


def record_counts() -> dict[str, int]:
    session = db.get_session()
    counts = {}
    for resource in RESOURCES:
        table = resource.table
        counts[resource.name] = (
            session.scalar(
                select(func.count()).select_from(table).where(table.c.deleted_at.is_(None))
            )
            or 0
        )
    return counts


def dataset_meta(session: Session) -> dict[str, str]:
    return {m.key: m.value for m in session.scalars(select(models.Meta))}


def dataset_info() -> dict[str, Any]:
    session = db.get_session()
    meta = dataset_meta(session)
    data_revision = session.scalar(select(func.max(models.Revision.id))) or 0
    return {
        "name": meta.get("name"),
        "title": meta.get("title"),
        "version": meta.get("version"),
        "released": meta.get("released"),
        "license": meta.get("license"),
        "data_revision": data_revision,
    }


@blueprint.get("/")
def service_index() -> Response:
    base = parley(current_app).settings.base_url
    return jsonify(
        {
            "name": "Parley",
            "description": "Curated, cited records about peace negotiations.",
            "software_version": __version__,
            "dataset": dataset_info(),
            "api_versions": [
                {"version": version, "url": f"{base}/{version}", "status": "current"}
                for version in API_VERSIONS
            ],
            "counts": record_counts(),
            "links": {"self": f"{base}/", "health": f"{base}/healthz"},
        }
    )


def _unreachable_reason(cause: BaseException) -> str:
    """What went wrong, in words that name no host, user or database."""
    message = str(cause).lower()
    if "timeout" in message or "did not answer" in message or "timed out" in message:
        return "the database did not answer in time"
    if "refused" in message:
        return "the database refused the connection"
    if "closed" in message or "terminat" in message or "lost" in message:
        return "the connection to the database was lost"
    return "the database could not be reached"


@blueprint.get("/healthz")
def health() -> tuple[Response, int]:
    state = parley(current_app)
    database: dict[str, Any] = {"backend": state.engine.dialect.name}
    try:
        current = db.current_revision(state.engine)
        expected = db.head_revision(state.engine)
        database |= {"schema_revision": current, "expected_schema_revision": expected}
        if current != expected:
            database["status"] = "needs migration (run `parley db upgrade`)"
        elif not db.is_loaded(db.get_session()):
            database["status"] = "empty (run `parley load`)"
        else:
            database["status"] = "ok"
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        database["status"] = "unreachable"
        database["error"] = type(cause).__name__
        database["detail"] = _unreachable_reason(cause)
    healthy = database["status"] == "ok"
    body = {"status": "ok" if healthy else "unavailable", "database": database}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    if not healthy:
        response.headers["Retry-After"] = "5"
    return response, 200 if healthy else 503
