"""Force proposals: proposed military forces, their numbers and their critics."""

from api.resources import FORCE_PROPOSALS, RefList
from api.v1.collections import Collection, lists

_proposers, _reluctant = (
    next(s for s in FORCE_PROPOSALS.fields if isinstance(s, RefList) and s.name == name)
    for name in ("proposers", "reluctant")
)

COLLECTION = Collection(
    FORCE_PROPOSALS,
    filters=(
        lists(FORCE_PROPOSALS, "proposer", _proposers, "Only proposals made by this actor."),
        lists(
            FORCE_PROPOSALS,
            "reluctant",
            _reluctant,
            "Only proposals this actor is reluctant to commit troops to.",
        ),
    ),
    search=("title", "purpose", "deployment_area", "assessment"),
)
