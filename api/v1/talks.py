"""Talks: negotiation events."""

from api.resources import TALK_STATUSES, TALKS, RefList
from api.v1.collections import Collection, equals, lists

_parties, _delegations, _obstacles = (
    next(s for s in TALKS.fields if isinstance(s, RefList) and s.name == name)
    for name in ("parties", "delegations", "obstacles")
)

COLLECTION = Collection(
    TALKS,
    filters=(
        lists(TALKS, "party", _parties, "Only talks with this actor among the parties."),
        equals(TALKS, "venue", "Only talks at this venue (exact match).", kind="text"),
        equals(TALKS, "status", "Only talks in this status.", choices=TALK_STATUSES),
        lists(TALKS, "obstacle", _obstacles, "Only talks facing this obstacle."),
        lists(TALKS, "delegation", _delegations, "Only the talk this delegation attends."),
    ),
    search=("title", "venue", "precedent", "expectations"),
    nested_under={"actors": ("party", "{id}")},
)
