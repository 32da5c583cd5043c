"""Which representation a request wants, and streaming it through an exporter.

JSON is the API's own representation; every other format comes from the
registered exporters, chosen by the path's suffix (``/v1/talks.csv``), the
``format`` parameter or the ``Accept`` header, in that order. Nothing here
knows a format by name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, request, stream_with_context

from api import ratelimit
from api.errors import DATABASE_UNAVAILABLE, ProblemError
from exporters import Chunk, Collection
from exporters.manager import Registered, Registry

JSON = "json"
JSON_MEDIA_TYPE = "application/json"

log = logging.getLogger(__name__)


def _not_acceptable(registry: Registry, asked: str) -> ProblemError:
    available = [JSON, *registry.names()]
    media_types = [JSON_MEDIA_TYPE, *(r.exporter.media_type for r in registry.exporters.values())]
    return ProblemError(
        406,
        f"No representation {asked}; available formats: {', '.join(available)}.",
        available_formats=available,
        available_media_types=media_types,
    )


def choose(registry: Registry, extension: str | None) -> Registered | None:
    """The exporter the request asks for, or None for JSON."""
    if extension is not None:
        if extension == JSON:
            return None
        found = registry.by_extension(extension)
        if found is None:
            raise _not_acceptable(registry, f"with the suffix .{extension}")
        return found
    name = request.args.get("format")
    if name is not None:
        if len(request.args.getlist("format")) > 1:
            raise ProblemError(
                400,
                "Invalid query parameter(s): format.",
                errors=[{"parameter": "format", "detail": "given more than once"}],
            )
        if name == JSON:
            return None
        found = registry.get(name)
        if found is None:
            raise _not_acceptable(registry, f"in the format {name!r}")
        return found
    if not request.headers.get("Accept"):
        return None
    offered = {JSON_MEDIA_TYPE: None} | {
        r.exporter.media_type: r for r in registry.exporters.values()
    }
    best = request.accept_mimetypes.best_match(list(offered))
    if best is None:
        raise _not_acceptable(registry, f"of the media types {request.headers['Accept']!r}")
    return offered[best]


def content_type(media_type: str) -> str:
    if media_type.startswith("text/") and "charset" not in media_type:
        return f"{media_type}; charset=utf-8"
    return media_type


def _encoded(chunks: Iterable[Chunk]) -> Iterator[bytes]:
    for chunk in chunks:
        if isinstance(chunk, str):
            yield chunk.encode("utf-8")
        elif isinstance(chunk, bytes):
            yield chunk
        else:
            raise TypeError(f"an exporter yielded {type(chunk).__name__}, not str or bytes")


def export_response(registered: Registered, collection: Collection, file_name: str) -> Response:
    """Stream ``collection`` through the exporter.

    The first chunk is produced before the response starts: an exporter that
    fails at once costs a problem document. One that fails later ends the
    stream without its final chunk, so the client sees an incomplete read; the
    server goes on serving.
    """
    exporter = registered.exporter
    ratelimit.charge("exports")
    try:
        chunks = _encoded(exporter.export(collection))
        first = next(chunks, b"")
    except DATABASE_UNAVAILABLE:
        raise  # the database's fault, not the exporter's: a 503
    except Exception:
        log.exception("exporter %r failed before its first chunk", exporter.name)
        raise ProblemError(
            500,
            f"The {exporter.name!r} exporter ({registered.plugin}) failed; "
            "other formats are unaffected.",
        ) from None

    def stream() -> Iterator[bytes]:
        if first:
            yield first
        try:
            yield from chunks
        except Exception:
            log.exception("exporter %r failed mid-stream; the response is cut", exporter.name)
            raise

    response = Response(
        stream_with_context(stream()), content_type=content_type(exporter.media_type)
    )
    # The file name is built from a collection name and a slug id: nothing from a
    # record's content reaches this header.
    response.headers["Content-Disposition"] = f'inline; filename="{file_name}"'
    return response


def exporter_key(registered: Registered | None) -> tuple[str, str]:
    """What of the exporter goes into the ETag."""
    if registered is None:
        return (JSON, "1")
    return (registered.exporter.name, registered.version)


def describe(registry: Registry) -> list[dict[str, Any]]:
    return [
        {
            "name": r.exporter.name,
            "media_type": r.exporter.media_type,
            "extension": r.exporter.extension,
            "version": r.version,
            "plugin": r.plugin,
            "distribution": r.distribution,
        }
        for r in registry.exporters.values()
    ]
