"""Which representation a request wants, and streaming it through an exporter.

JSON is the API's own representation; every other format comes from the
registered exporters, chosen by the path's suffix (``/v1/talks.csv``), the
``format`` parameter or the ``Accept`` header, in that order. Nothing here
knows a format by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from flask import Response, current_app, request, stream_with_context
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from api import parley, ratelimit
from api.errors import DATABASE_UNAVAILABLE, ProblemError
from exporters import Chunk, Collection
from exporters.manager import Registered, Registry

JSON = "json"
JSON_MEDIA_TYPE = "application/json"
# Accept headers longer than this are parsed each time rather than remembered.
MEMO_LENGTH = 256

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
    return by_accept(registry, request.headers.get("Accept"))


def by_accept(registry: Registry, accept: str | None) -> Registered | None:
    """The exporter an ``Accept`` header asks for, or None for JSON (also when there is
    no header)."""
    if not accept:
        return None
    offered = {JSON_MEDIA_TYPE: None} | {
        r.exporter.media_type: r for r in registry.exporters.values()
    }
    match = _remembered_best_match if len(accept) <= MEMO_LENGTH else _best_match
    best = match(accept, tuple(offered))
    if best is None:
        raise _not_acceptable(registry, f"of the media types {accept!r}")
    return offered[best]


def _best_match(accept: str, media_types: tuple[str, ...]) -> str | None:
    """The best of ``media_types`` for ``accept``, as werkzeug's request would choose."""
    best: str | None = parse_accept_header(accept, MIMEAccept).best_match(list(media_types))
    return best


# Clients send the same few Accept headers again and again.
_remembered_best_match = lru_cache(maxsize=1024)(_best_match)


def content_type(media_type: str) -> str:
    if media_type.startswith("text/") and "charset" not in media_type:
        return f"{media_type}; charset=utf-8"
    return media_type


def as_bytes(chunk: Chunk) -> bytes:
    """One chunk an exporter made, as it is sent (``str`` as UTF-8)."""
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, bytes):
        return chunk
    raise TypeError(f"an exporter yielded {type(chunk).__name__}, not str or bytes")


def _encoded(chunks: Iterable[Chunk]) -> Iterator[bytes]:
    for chunk in chunks:
        yield as_bytes(chunk)


class ExporterTimeout(Exception):
    """An exporter took longer than the configured deadline to make one chunk."""


def _deadlined(chunks: Iterator[bytes], seconds: float) -> Iterator[bytes]:
    """``chunks``, each of which must come within ``seconds`` of being asked for.

    The time is measured around the exporter's own work (``next``), not around
    sending a chunk to a slow client, and checked when a chunk arrives: this
    needs no thread per chunk, and cuts an exporter that is slow between chunks.
    One that never returns from ``next`` is for the worker timeout to end
    (``api.watchdog``).
    """
    while True:
        asked = time.monotonic()
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        taken = time.monotonic() - asked
        if taken > seconds:
            raise ExporterTimeout(f"took {taken:.1f} s to make a chunk (deadline {seconds:g} s)")
        yield chunk


def export_response(
    registered: Registered,
    collection: Collection,
    file_name: str,
    chunks: Iterator[bytes] | None = None,
) -> Response:
    """Stream ``collection`` through the exporter (or ``chunks``, its export already
    made from renderings: ``api.v1.renderings``).

    The first chunk is produced before the response starts: an exporter that
    fails at once (or misses the chunk deadline, PARLEY_EXPORT_CHUNK_TIMEOUT)
    costs a problem document. One that fails or misses the deadline later ends
    the stream without its final chunk, so the client sees an incomplete read;
    the server goes on serving.
    """
    exporter = registered.exporter
    ratelimit.charge("exports")
    seconds = parley(current_app).settings.export_chunk_timeout
    try:
        made = chunks if chunks is not None else exporter.export(collection)
        chunks = _deadlined(_encoded(made), seconds)
        first = next(chunks, b"")
    except DATABASE_UNAVAILABLE:
        raise  # the database's fault, not the exporter's: a 503
    except ExporterTimeout as exc:
        log.error("exporter %r %s before its first chunk", exporter.name, exc)
        raise ProblemError(
            500,
            f"The {exporter.name!r} exporter ({registered.plugin}) {exc}; "
            "other formats are unaffected.",
        ) from None
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
        except ExporterTimeout as exc:
            log.error("exporter %r %s; the response is cut", exporter.name, exc)
            raise
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
