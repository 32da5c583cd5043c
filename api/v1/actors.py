"""Actors: states, organizations, alliances, persons, unnamed groups and roles."""

from api.resources import ACTOR_KINDS, ACTORS
from api.v1.collections import Collection, equals, ref_equals

COLLECTION = Collection(
    ACTORS,
    filters=(
        equals(ACTORS, "kind", "Only actors of this kind.", choices=ACTOR_KINDS),
        ref_equals(
            ACTORS, "affiliation", "affiliation_id", "Only actors affiliated with this actor."
        ),
    ),
    search=("name", "title", "description"),
)
