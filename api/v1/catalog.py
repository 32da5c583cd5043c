"""Every collection of version 1, and the nested collections under each item."""

from __future__ import annotations

from api.resources import RESOURCES
from api.v1 import actors, delegations, force_proposals, obstacles, sources, statements, talks
from api.v1.collections import Collection

_ALL = {
    c.name: c
    for c in (
        sources.COLLECTION,
        actors.COLLECTION,
        talks.COLLECTION,
        delegations.COLLECTION,
        obstacles.COLLECTION,
        force_proposals.COLLECTION,
        statements.COLLECTION,
    )
}
# In the order of the resources, so that every listing of collections agrees.
COLLECTIONS: dict[str, Collection] = {r.name: _ALL[r.name] for r in RESOURCES}

# parent collection -> the collections nested under its items, in a stable order.
NESTED: dict[str, tuple[str, ...]] = {
    parent.name: tuple(
        child.name for child in COLLECTIONS.values() if parent.name in child.nested_under
    )
    for parent in COLLECTIONS.values()
}

assert set(_ALL) == set(COLLECTIONS)
