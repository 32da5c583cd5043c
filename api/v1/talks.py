"""Talks: negotiation events."""

from api.resources import TALK_STATUSES, TALKS
from api.v1.collections import Collection, equals, lists

COLLECTION = Collection(
    TALKS,
    filters=(
        lists(
            TALKS,
            "party",
            TALKS.ref_list("parties"),
            "Only talks with this actor among the parties.",
        ),
        equals(TALKS, "venue", "Only talks at this venue (exact match).", kind="text"),
        equals(TALKS, "status", "Only talks in this status.", choices=TALK_STATUSES),
        lists(TALKS, "obstacle", TALKS.ref_list("obstacles"), "Only talks facing this obstacle."),
        lists(
            TALKS,
            "delegation",
            TALKS.ref_list("delegations"),
            "Only the talk this delegation attends.",
        ),
    ),
    search=("title", "venue", "precedent", "expectations"),
    nested_under={"actors": ("party", "{id}")},
)
