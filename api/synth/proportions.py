"""How much of each resource a synthetic talk brings, and how often fields are empty.

Counts are fixed per talk (so a record's number says where it belongs); ranges
are inclusive. The shares are the chance that a field is set, or empty where the
name says so.
"""

from __future__ import annotations

import math
from datetime import date

from api.resources import ACTOR_KINDS

# --- identity ------------------------------------------------------------------------------

PREFIX = "synth"
AUTHOR = "synth"  # changed_by of every synthetic record, author of its revision
ID_DIGITS = 7

# --- counts (per talk unless said otherwise) -------------------------------------------------

TALKS_PER_ACTOR = 20  # one actor in the shared pool per 20 talks...
MIN_ACTORS = 50  # ...but never fewer than this
PARTIES_PER_TALK = 4
DELEGATIONS_PER_TALK = 4  # one per party, in the order of the parties
# Obstacles are disputes that come up again and again: a talk lists five of a shared
# pool, which holds one obstacle per four talks (so each is listed by about twenty).
OBSTACLES_PER_TALK = 5
TALKS_PER_OBSTACLE = 4
MIN_OBSTACLES = 50
STATEMENTS_PER_TALK = 3
POSITIONS_PER_OBSTACLE = (1, 2)
TALKS_PER_FORCE_PROPOSAL = 100
PROPOSERS_PER_PROPOSAL = (1, 3)
RELUCTANT_PER_PROPOSAL = (0, 2)
DECLINED_PER_DELEGATION = (1, 2)  # when some declined
# With one citation for each of its delegations and statements, a talk brings about
# ten citations in all.
CITATIONS_PER_TALK = (2, 4)
CITATIONS_PER_RECORD = (1, 1)  # every other record
QUOTE_LENGTH = (20, 80)  # code points, within one line of one seed document
AIMS_PER_TALK = (0, 3)
TEXTS_PER_PROPOSAL_LIST = (0, 3)  # risks, motives, criticisms, preconditions

# --- shares --------------------------------------------------------------------------------

NULL_VENUE_SHARE = 0.10
NULL_DATE_SHARE = 0.30
SUMMIT_DATE_SHARE = 0.20  # of dated talks: on one of a few summit days, which talks share
SUMMIT_DAYS = 16
FIRST_DATE = date(2020, 1, 1)
LAST_DATE = date(2026, 12, 31)
TIMING_SHARE = 0.9
FORMAT_SHARE = 0.8
LEVEL_SHARE = 0.7
PRECEDENT_SHARE = 0.3
EXPECTATIONS_SHARE = 0.6
ACTOR_DESCRIPTION_SHARE = 0.5
AFFILIATED_PERSON_SHARE = 0.70
UNAFFILIATED_TITLE_SHARE = 0.5
DELEGATION_LEVEL_SHARE = 0.8
DELEGATION_HEAD_SHARE = 0.60
HEAD_DESCRIPTION_SHARE = 0.5
DELEGATION_DECLINED_SHARE = 0.30
OBSTACLE_DESCRIPTION_SHARE = 0.6
PERSON_SPEAKER_SHARE = 0.7  # otherwise any actor speaks
STATEMENT_ABOUT_TALK_SHARE = 0.50  # otherwise about one of the talk's obstacles
PROPOSAL_FIELD_SHARE = 0.5  # contributors, troops needed, assessment

# Kinds of the actor pool after the first actors (the first ones take every kind in
# turn, so that each pool a talk draws from holds enough actors); percentages.
ACTOR_KIND_WEIGHTS = {
    "state": 25,
    "organization": 15,
    "alliance": 5,
    "person": 35,
    "group": 10,
    "role": 10,
}
FIRST_ACTORS = ACTOR_KINDS * 2
PARTY_KINDS = ("state", "organization", "alliance", "group")
assert set(ACTOR_KIND_WEIGHTS) == set(ACTOR_KINDS)
assert sum(ACTOR_KIND_WEIGHTS.values()) == 100
assert ACTOR_KINDS[0] == "state"


def synth_id(kind: str, number: int) -> str:
    return f"{PREFIX}-{kind}-{number:0{ID_DIGITS}d}"


def actor_count(talks: int) -> int:
    return max(MIN_ACTORS, math.ceil(talks / TALKS_PER_ACTOR))


def obstacle_count(talks: int) -> int:
    return max(MIN_OBSTACLES, math.ceil(talks / TALKS_PER_OBSTACLE))


def force_proposal_count(talks: int) -> int:
    return talks // TALKS_PER_FORCE_PROPOSAL
