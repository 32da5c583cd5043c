"""Delegations: one party's team at one talk."""

from api.resources import DELEGATIONS, TALKS
from api.v1.collections import Collection, listed_by, lists, ref_equals

COLLECTION = Collection(
    DELEGATIONS,
    filters=(
        ref_equals(DELEGATIONS, "party", "party_id", "Only the delegations of this actor."),
        ref_equals(DELEGATIONS, "head", "head_id", "Only delegations headed by this actor."),
        listed_by(
            DELEGATIONS, "talk", TALKS.ref_list("delegations"), "Only the delegations at this talk."
        ),
        lists(
            DELEGATIONS,
            "declined",
            DELEGATIONS.ref_list("declined"),
            "Only delegations whose principal this actor was and declined to attend.",
        ),
    ),
    search=("level", "head_description"),
    nested_under={"talks": ("talk", "{id}"), "actors": ("party", "{id}")},
)
