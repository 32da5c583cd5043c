"""Version 1 of the API: the blueprint and its routes.

Every collection gets the same routes, generated from the catalog, so that the
contract reads the same everywhere: ``/v1/<collection>``,
``/v1/<collection>/<id>`` and ``/v1/<collection>/<id>/<nested>``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.routing import BaseConverter, IntegerConverter

from api import db, parley
from api.errors import ProblemError
from api.paths import reference
from api.v1 import cursor, data, history, negotiation, pagecache, writes
from api.v1.catalog import COLLECTIONS, NESTED
from api.v1.collections import Collection
from api.v1.export import dataset_info, open_collection, rendered_chunks
from api.v1.http import cacheable, etag_for, live_etag, not_modified
from api.v1.pagecache import CachedPage, page_cache
from api.v1.pagekey import page_key
from api.v1.params import CollectionParams, parse, wants_count
from api.v1.schemas import VERSION, Urls, dump, field_names
from exporters import Collection as ExportCollection

blueprint = Blueprint("v1", __name__, url_prefix=f"/{VERSION}")

ID_PATTERN = "<slug:record_id>"
SUFFIX = ".<extension>"
# Members of a JSON page that an export (every matching record, streamed) has no use for.
PAGE_ONLY = ("limit", "cursor", "fields")


class SlugConverter(BaseConverter):
    """A record id: lowercase words joined by hyphens (so ``istanbul-talks.csv`` is not one)."""

    regex = r"[a-z0-9]+(?:-[a-z0-9]+){0,40}"


class RevisionConverter(IntegerConverter):
    """A revision number in ASCII digits (werkzeug's ``int`` takes any Unicode digit, so
    that ``/revisions/١`` would be revision 1 under a second URL)."""

    regex = r"[0-9]{1,19}"


def _urls() -> Urls:
    return Urls(parley(current_app).settings.base_url)


def _args() -> Any:
    """The query without ``format``, which negotiation has already read."""
    args = request.args.copy()
    args.poplist("format")
    return args


def _negotiated(response: Response) -> Response:
    response.vary.add("Accept")
    return response


def _record_or_404(collection: Collection, record_id: str) -> dict[str, Any]:
    record, deleted = data.fetch_one(db.get_session(), collection.resource, record_id)
    if deleted:
        raise writes.gone(collection.resource, record_id)
    if record is None:
        raise ProblemError(404, f"There is no {collection.resource.singular} {record_id!r}.")
    return record


def list_records(
    collection: Collection,
    fixed: dict[str, str],
    scope: str,
    self_url: str,
    extension: str | None = None,
) -> Response:
    registry = parley(current_app).exporters
    exporter = negotiation.choose(registry, extension)
    params = parse(collection, _args(), fixed)
    if exporter is not None:
        given = [name for name in PAGE_ONLY if name in request.args]
        if given:
            raise ProblemError(
                400,
                f"Invalid query parameter(s): {', '.join(given)}.",
                errors=[
                    {
                        "parameter": name,
                        "detail": "applies to JSON pages only; an export "
                        "streams every matching record",
                    }
                    for name in given
                ],
            )
    count = wants_count(request.headers.get("Prefer"))
    session = db.get_session()
    key = page_key(
        session,
        collection,
        params,
        scope=scope,
        path=request.path,
        base_url=_urls().base_url,
        count=count,
        exporter=negotiation.exporter_key(exporter),
    )
    revision, etag = key.revision, key.etag
    cached = not_modified(etag)
    if cached is not None:
        return _negotiated(cached)
    pages = None if exporter is not None or reference() else page_cache(current_app)
    kept = pages.get(etag, revision) if pages is not None else None
    if kept is not None:
        response = current_app.response_class(kept.body, mimetype="application/json")
        response.headers.extend(kept.headers)
        return _negotiated(cacheable(response, etag))

    conditions = [collection.filter(name).condition(value) for name, value in params.filters]  # type: ignore[union-attr]
    if params.q is not None:
        conditions.append(collection.search_condition(params.q))
    if exporter is not None:
        records = open_collection(
            session,
            collection.name,
            _urls(),
            dataset_info(session, _urls()),
            conditions=tuple(conditions),
            sort=params.sort,
            id_descending=params.id_descending,
        )
        chunks = rendered_chunks(
            session,
            current_app,
            exporter,
            records,
            _urls(),
            conditions=tuple(conditions),
            sort=params.sort,
            id_descending=params.id_descending,
        )
        file_name = f"{scope.replace('/', '-')}.{exporter.exporter.extension}"
        response = negotiation.export_response(exporter, records, file_name, chunks)
        return _negotiated(cacheable(response, etag))
    page = data.fetch_page(
        session,
        collection.resource,
        data.PageQuery(
            conditions=tuple(conditions),
            sort=params.sort,
            limit=params.limit,
            id_descending=params.id_descending,
            after=key.after,
        ),
        count=count,
    )
    items = _select(dump(collection.resource, page.rows, _urls()), params)
    next_url = None
    if page.next_after is not None:
        token = cursor.encode(scope, key.digest, page.next_after)
        next_url = f"{self_url}?{params.query_string(cursor=token)}"
    body: dict[str, Any] = {
        "items": items,
        "links": {
            "self": f"{self_url}?{params.query_string(cursor=params.cursor)}",
            "next": next_url,
        },
    }
    if page.total is not None:
        body["total"] = page.total
    response = jsonify(body)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    if count:
        response.headers["Preference-Applied"] = "count=exact"
    if pages is not None:
        kept_headers = tuple(
            (name, response.headers[name])
            for name in ("Link", "Preference-Applied")
            if name in response.headers
        )
        pages.put(etag, revision, CachedPage(response.get_data(), kept_headers))
    return _negotiated(cacheable(response, etag))


def _select(items: list[dict[str, Any]], params: CollectionParams) -> list[dict[str, Any]]:
    if params.fields is None:
        return items
    return [{name: item[name] for name in params.fields} for item in items]


def _collection_view(collection: Collection) -> Any:
    def view(extension: str | None = None) -> Response:
        return list_records(
            collection, {}, collection.name, _urls().collection(collection.name), extension
        )

    view.__name__ = f"list_{collection.name.replace('-', '_')}"
    return view


def _item_view(collection: Collection) -> Any:
    def view(record_id: str, extension: str | None = None) -> Response:
        registry = parley(current_app).exporters
        exporter = negotiation.choose(registry, extension)
        args = _args()
        as_of = args.poplist("as_of")
        if args or len(as_of) > 1:
            problems = [{"parameter": name, "detail": "unknown parameter"} for name in args]
            if len(as_of) > 1:
                problems.append({"parameter": "as_of", "detail": "given more than once"})
            raise ProblemError(
                400, "Items take no query parameters but format and as_of.", errors=problems
            )
        if as_of:
            if exporter is not None:
                raise ProblemError(
                    400,
                    "as_of is answered in JSON only.",
                    errors=[{"parameter": "as_of", "detail": "not with an export format"}],
                )
            return history.as_of_response(collection.resource, record_id, as_of[0])
        session = db.get_session()
        # The record must exist before a 304 can say the client's copy is current.
        record = _record_or_404(collection, record_id)
        etag = live_etag(
            collection.resource, record, _urls().base_url, negotiation.exporter_key(exporter)
        )
        cached = not_modified(etag)
        if cached is not None:
            return _negotiated(cached)
        if exporter is not None:
            info = dataset_info(session, _urls())
            one = dump(collection.resource, [record], _urls())
            export = ExportCollection(
                collection.name, field_names(collection.resource), iter(one), info
            )
            file_name = f"{collection.name}-{record_id}.{exporter.exporter.extension}"
            response = negotiation.export_response(exporter, export, file_name)
            return _negotiated(cacheable(response, etag))
        return _negotiated(
            cacheable(jsonify(dump(collection.resource, [record], _urls())[0]), etag)
        )

    view.__name__ = f"get_{collection.resource.singular.replace(' ', '_')}"
    return view


def _nested_view(parent: Collection, child: Collection) -> Any:
    filter_name, template = child.nested_under[parent.name]

    def view(record_id: str, extension: str | None = None) -> Response:
        if not data.exists(db.get_session(), parent.resource, record_id):
            raise ProblemError(404, f"There is no {parent.resource.singular} {record_id!r}.")
        scope = f"{parent.name}/{record_id}/{child.name}"
        return list_records(
            child,
            {filter_name: template.format(id=record_id)},
            scope,
            f"{_urls().item(parent.name, record_id)}/{child.name}",
            extension,
        )

    view.__name__ = (
        f"list_{parent.resource.singular.replace(' ', '_')}_{child.name.replace('-', '_')}"
    )
    return view


@blueprint.get("")
def version_index() -> Response:
    from api.index import record_counts

    urls = _urls()
    counts = record_counts()
    return jsonify(
        {
            "version": VERSION,
            "collections": [
                {"name": name, "url": urls.collection(name), "count": counts[name]}
                for name in COLLECTIONS
            ],
            "links": {
                "self": f"{urls.base_url}/{VERSION}",
                "openapi": f"{urls.base_url}/{VERSION}/openapi.json",
                "docs": f"{urls.base_url}/docs",
            },
        }
    )


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    from api.openapi import served_spec

    return jsonify(served_spec(_urls().base_url, parley(current_app).exporters))


@blueprint.get("/exporters")
def list_exporters() -> Response:
    return jsonify({"exporters": negotiation.describe(parley(current_app).exporters)})


for _collection in COLLECTIONS.values():
    _list = _collection_view(_collection)
    blueprint.add_url_rule(f"/{_collection.name}", view_func=_list)
    blueprint.add_url_rule(f"/{_collection.name}{SUFFIX}", view_func=_list)
    _item = _item_view(_collection)
    blueprint.add_url_rule(f"/{_collection.name}/{ID_PATTERN}", view_func=_item)
    blueprint.add_url_rule(f"/{_collection.name}/{ID_PATTERN}{SUFFIX}", view_func=_item)
    for _child in NESTED[_collection.name]:
        _nested = _nested_view(_collection, COLLECTIONS[_child])
        blueprint.add_url_rule(f"/{_collection.name}/{ID_PATTERN}/{_child}", view_func=_nested)
        blueprint.add_url_rule(
            f"/{_collection.name}/{ID_PATTERN}/{_child}{SUFFIX}", view_func=_nested
        )


writes.register(blueprint, ID_PATTERN)
history.register(blueprint, ID_PATTERN)


def _document_view(path: str, media_type: str, body: bytes, version: str) -> Any:
    def view() -> Response:
        response = Response(body, content_type=negotiation.content_type(media_type))
        return cacheable(response, etag_for(path, version, body.hex()[:64]))

    return view


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    pagecache.init_app(app, parley(app).settings.page_cache_bytes)
    # Static documents a format needs (the JSON-LD context), one route each, as the
    # app's exporters provide them: a catch-all route would shadow every other path.
    seen: set[str] = set()
    for registered in parley(app).exporters.exporters.values():
        documents = getattr(registered.exporter, "documents", None)
        for path, media_type, body in documents() if documents is not None else ():
            if path in seen:
                continue
            seen.add(path)
            app.add_url_rule(
                f"/{VERSION}/{path}",
                endpoint=f"exporter_document_{len(seen)}",
                view_func=_document_view(path, media_type, body, registered.version),
                methods=["GET"],
            )
