"""What names a JSON page before it is made: its cursor, the data revision, its ETag.

The list view and the fast read layer (``api.v1.fastreads``) both ask for a page
by this key, the view to answer a conditional request and to keep what it made,
the layer to find a page kept earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.v1 import cursor, data
from api.v1.collections import Collection
from api.v1.http import etag_for
from api.v1.params import CollectionParams
from api.v1.schemas import VERSION


@dataclass(frozen=True)
class PageKey:
    digest: str  # of the query, which the page's cursors carry
    after: tuple[Any, ...] | None  # the sort values the page starts after
    revision: int  # the data revision read
    etag: str


def page_key(
    session: Session,
    collection: Collection,
    params: CollectionParams,
    *,
    scope: str,
    path: str,
    base_url: str,
    count: bool,
    exporter: tuple[str, str],
) -> PageKey:
    """The key of the page ``params`` ask for; a cursor that does not belong to this
    query is refused first (a 304 promises that the request was good)."""
    digest = params.digest(scope)
    sort_fields = [key.field for key in params.sort]
    after = (
        cursor.decode(params.cursor, scope, digest, collection.resource, sort_fields)
        if params.cursor
        else None
    )
    revision = data.data_revision(session)
    etag = etag_for(
        VERSION,
        "page",
        path,
        revision,
        base_url,
        params.query_string(cursor=params.cursor),
        count,
        exporter,
    )
    return PageKey(digest, after, revision, etag)
