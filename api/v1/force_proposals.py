"""Force proposals: proposed military forces, their numbers and their critics."""

from api.resources import FORCE_PROPOSALS
from api.v1.collections import Collection, lists

COLLECTION = Collection(
    FORCE_PROPOSALS,
    filters=(
        lists(
            FORCE_PROPOSALS,
            "proposer",
            FORCE_PROPOSALS.ref_list("proposers"),
            "Only proposals made by this actor.",
        ),
        lists(
            FORCE_PROPOSALS,
            "reluctant",
            FORCE_PROPOSALS.ref_list("reluctant"),
            "Only proposals this actor is reluctant to commit troops to.",
        ),
    ),
    search=("title", "purpose", "deployment_area", "assessment"),
)
