"""Records for exporters: the v1 JSON items, streamed in keyset batches.

An exporter sees exactly what HTTP clients see (the same v1 schemas), never the
ORM, and never more than one batch in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from api.v1 import data
from api.v1.catalog import COLLECTIONS
from api.v1.data import SortKey
from api.v1.schemas import Urls, dump, field_names
from exporters import Collection, Dataset, DatasetInfo, Record
from exporters.manager import Registered

BATCH = 500


def dataset_info(session: Session, urls: Urls) -> DatasetInfo:
    from api.index import dataset_meta

    meta = dataset_meta(session)
    sources = tuple(records(session, "sources", urls))
    return DatasetInfo(
        name=meta.get("name"),
        version=meta.get("version"),
        base_url=urls.base_url,
        data_revision=data.data_revision(session),
        sources=sources,
    )


def records(
    session: Session,
    name: str,
    urls: Urls,
    *,
    conditions: tuple[ColumnElement[bool], ...] = (),
    sort: tuple[SortKey, ...] = (),
    id_descending: bool = False,
) -> Iterator[Record]:
    resource = COLLECTIONS[name].resource
    after: tuple[Any, ...] | None = None
    while True:
        page = data.fetch_page(
            session,
            resource,
            data.PageQuery(conditions, sort, BATCH, id_descending, after),
            count=False,
        )
        yield from dump(resource, page.rows, urls)
        if page.next_after is None:
            return
        after = page.next_after


def open_collection(
    session: Session, name: str, urls: Urls, info: DatasetInfo, **query: Any
) -> Collection:
    resource = COLLECTIONS[name].resource
    return Collection(
        name=name,
        fields=field_names(resource),
        records=records(session, name, urls, **query),
        dataset=info,
    )


def rendered_chunks(
    session: Session,
    app: Flask,
    registered: Registered,
    collection: Collection,
    urls: Urls,
    **query: Any,
) -> Iterator[bytes] | None:
    """``registered``'s export of ``collection`` made from renderings, when the exporter
    offers parts and the app keeps renderings; else None (then it exports itself)."""
    from api import parley
    from api.paths import reference
    from api.v1 import renderings

    state = parley(app)
    if reference() or not state.settings.fast_paths or not state.settings.renderings:
        return None
    return renderings.export_chunks(session, state.engine, registered, collection, urls, **query)


def open_dataset(session: Session, urls: Urls) -> Dataset:
    info = dataset_info(session, urls)
    return Dataset(
        info=info,
        names=tuple(COLLECTIONS),
        opener=lambda name: open_collection(session, name, urls, info),
    )
