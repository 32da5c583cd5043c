"""Delegations: one party's team at one talk."""

from api.resources import DELEGATIONS
from api.v1.collections import Collection, listed_by, lists, ref_equals
from api.v1.talks import _delegations

_declined = DELEGATIONS.fields[-1]

COLLECTION = Collection(
    DELEGATIONS,
    filters=(
        ref_equals(DELEGATIONS, "party", "party_id", "Only the delegations of this actor."),
        ref_equals(DELEGATIONS, "head", "head_id", "Only delegations headed by this actor."),
        listed_by(DELEGATIONS, "talk", _delegations, "Only the delegations at this talk."),
        lists(
            DELEGATIONS,
            "declined",
            _declined,  # type: ignore[arg-type]
            "Only delegations whose principal this actor was and declined to attend.",
        ),
    ),
    search=("level", "head_description"),
    nested_under={"talks": ("talk", "{id}"), "actors": ("party", "{id}")},
)
