"""OpenAPI links: where the id in one answer can be used next.

A record's life is a chain of operations (create, read, change, delete, restore)
that all name it by the same id. Links (OpenAPI 3.1, "Link Object") say so in
the document, so that a client generator, and schemathesis' state machine,
can follow the chain: the id of a created record goes on to its GET, PATCH,
PUT, DELETE and history; a deleted record's id goes on to its GET (410) and
its restore.
"""

from __future__ import annotations

from typing import Any

from api.v1.catalog import COLLECTIONS
from api.v1.collections import Collection
from api.v1.schemas import schema_name

BODY_ID = "$response.body#/id"
PATH_ID = "$request.path.id"
FIRST_ITEM_ID = "$response.body#/items/0/id"


def _link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    # Link parameters are runtime expressions or constants, always strings (OpenAPI 3.1).
    return {"operationId": operation_id, "description": description, "parameters": parameters}


def _reads(camel: str, id_from: str) -> dict[str, Any]:
    return {
        "get": _link(f"get{camel}", "The record itself.", id=id_from),
        "revisions": _link(f"list{camel}Revisions", "Its revisions.", id=id_from),
    }


def _changes(camel: str, id_from: str) -> dict[str, Any]:
    return {
        "patch": _link(f"patch{camel}", "Change members of it.", id=id_from),
        "replace": _link(f"replace{camel}", "Replace it.", id=id_from),
        "delete": _link(f"delete{camel}", "Delete it.", id=id_from),
    }


def _restore_first(camel: str, id_from: str) -> dict[str, Any]:
    return {
        "restoreFirst": _link(
            f"restore{camel}Revision", "Bring back its first revision.", id=id_from, number="1"
        )
    }


def _add(document: dict[str, Any], path: str, method: str, status: str, links: Any) -> None:
    response = document["paths"][path][method]["responses"][status]
    response.setdefault("links", {}).update(links)


def _collection_links(document: dict[str, Any], collection: Collection) -> None:
    camel = schema_name(collection.resource)
    listing = f"/v1/{collection.name}"
    item = f"{listing}/{{id}}"
    _add(document, listing, "get", "200", _reads(camel, FIRST_ITEM_ID))
    _add(
        document,
        f"{item}/revisions",
        "get",
        "200",
        {
            "revision": _link(
                f"get{camel}Revision",
                "The oldest revision listed.",
                id=PATH_ID,
                number="$response.body#/items/0/revision",
            )
        },
    )
    if not collection.resource.writable:
        return
    # Each response gets dicts of its own: shared ones would become YAML anchors.
    _add(document, item, "get", "200", {**_changes(camel, BODY_ID), **_reads(camel, BODY_ID)})
    _add(document, listing, "post", "201", {**_reads(camel, BODY_ID), **_changes(camel, BODY_ID)})
    for method in ("patch", "put"):
        _add(
            document,
            item,
            method,
            "200",
            {
                **_reads(camel, BODY_ID),
                **_changes(camel, BODY_ID),
                **_restore_first(camel, BODY_ID),
            },
        )
    _add(
        document,
        item,
        "delete",
        "204",
        {**_reads(camel, PATH_ID), **_restore_first(camel, PATH_ID)},
    )
    _add(
        document,
        f"{item}/revisions/{{number}}/restore",
        "post",
        "200",
        {**_reads(camel, BODY_ID), **_changes(camel, BODY_ID)},
    )


def add_links(document: dict[str, Any]) -> None:
    """Add the links of every collection's operations to ``document`` (in place)."""
    for collection in COLLECTIONS.values():
        _collection_links(document, collection)
