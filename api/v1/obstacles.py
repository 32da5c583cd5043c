"""Obstacles: issues blocking agreement, with the positions the sources state."""

from api.resources import OBSTACLES, TALKS
from api.v1.collections import Collection, holds_position, listed_by

COLLECTION = Collection(
    OBSTACLES,
    filters=(
        holds_position(OBSTACLES, "Only obstacles on which this actor holds a stated position."),
        listed_by(
            OBSTACLES, "talk", TALKS.ref_list("obstacles"), "Only the obstacles facing this talk."
        ),
    ),
    search=("title", "description"),
    nested_under={"talks": ("talk", "{id}"), "actors": ("actor", "{id}")},
)
