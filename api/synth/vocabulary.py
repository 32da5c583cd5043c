"""The words synthetic records are made of.

Templates name their placeholders (``{region}``, ``{topic}``, ``{speaker}``,
``{quoted}``); the generator fills them in SQL, so each template has each
placeholder at most once.
"""

from __future__ import annotations

from api.resources import STATEMENT_KINDS

VENUES = (
    "Istanbul", "Geneva", "Vienna", "Doha", "Riyadh", "Jeddah", "Oslo", "Helsinki",
    "Minsk", "Abu Dhabi", "Ankara", "Astana", "Baku", "Cairo", "Paris", "London",
    "Berlin", "Rome", "Warsaw", "Brussels", "Stockholm", "Copenhagen", "The Hague",
    "Nairobi", "Beijing",
)  # fmt: skip
TOPICS = (
    "ceasefire terms", "prisoner exchanges", "grain exports", "maritime security",
    "nuclear plant safety", "humanitarian corridors", "energy infrastructure",
    "border demarcation", "sanctions relief", "troop withdrawal", "security guarantees",
    "the return of deported children", "reconstruction funding", "mine clearance",
    "water rights", "airspace access", "minority rights", "refugee return",
    "war crimes accountability", "local elections",
)  # fmt: skip
TIMINGS = (
    "Friday", "Monday morning", "early next week", "later this month", "mid-March",
    "after the holidays", "within days", "next spring", "before the summit",
)  # fmt: skip
FORMATS = ("direct talks", "mediated talks", "proximity talks", "shuttle diplomacy")
LEVELS = ("heads of state", "foreign ministers", "defense ministers", "envoys", "technical")
PRECEDENTS = (
    "the first direct talks in two years",
    "a follow-up to last year's framework agreement",
    "the third round this year",
    "the first talks since the ceasefire collapsed",
)
AIMS = (
    "ceasefire conditions", "conflict resolution", "a prisoner swap", "humanitarian access",
    "a demilitarised zone", "a monitoring mission", "a timetable for withdrawal",
    "the release of detained journalists", "safe passage for shipping",
)  # fmt: skip
EXPECTATIONS = (
    "Breakthrough unlikely; observers expect little beyond a joint statement.",
    "Officials hope for a limited agreement on humanitarian issues.",
    "Diplomats describe the mood as cautiously optimistic.",
    "Analysts expect the talks to stall over sequencing.",
)
SYLLABLES = ("al", "bar", "cor", "dan", "el", "for", "gal", "hel", "ist", "kar",
             "lor", "mar", "nor", "or", "pal", "ros", "sar", "tal", "ur", "val", "zar")  # fmt: skip
COUNTRY_ENDINGS = ("ia", "land", "ova", "istan", "ar", "ania", "mark")
FIRST_NAMES = ("Anna", "Boris", "Chen", "Daria", "Emre", "Fatima", "Georg", "Hana",
               "Ivan", "Julia", "Kofi", "Lena", "Marek", "Nadia", "Omar", "Petra",
               "Rustam", "Sofia", "Tomas", "Yusuf")  # fmt: skip
LAST_NAMES = ("Adler", "Bondar", "Costa", "Demir", "Eriksen", "Fischer", "Grigoryan",
              "Haddad", "Ivanova", "Jansen", "Kovac", "Lindqvist", "Moreau", "Novak",
              "Okafor", "Petrenko", "Rossi", "Sato", "Tkachenko", "Weber")  # fmt: skip
PERSON_TITLES = ("Foreign Minister", "Defense Minister", "President", "Prime Minister",
                 "Chief Negotiator", "National Security Adviser", "Ambassador")  # fmt: skip
REGIONS = ("Northern", "Southern", "Eastern", "Western", "Baltic", "Black Sea",
           "Caspian", "Danube", "Atlantic", "Central")  # fmt: skip
ORGANIZATION_KINDS = ("Council", "Commission", "Agency", "Institute", "Mission")
THEMES = ("Regional Security", "Humanitarian Affairs", "Nuclear Safety", "Human Rights",
          "Reconstruction", "Maritime Cooperation")  # fmt: skip
ALLIANCE_KINDS = ("Defence Pact", "Security Alliance", "Coalition", "Union")
GROUP_COLORS = ("Crimson", "Azure", "Golden", "Black", "White", "Green")
GROUP_KINDS = ("Front", "Brigade", "Movement", "Legion")
ROLES = ("Special Envoy for the {region} Region", "Chief Monitor of the {region} Mission",
         "Mediator of the {region} Talks")  # fmt: skip
DELEGATION_LEVELS = ("ministerial", "deputy-minister", "second-tier", "technical", "envoy")
OBSTACLE_TITLES = (
    "Control of the {region} territories", "Sequencing of {topic}", "Guarantees for {topic}",
    "Monitoring of {topic}", "Status of the {region} corridor", "Compensation for {topic}",
)  # fmt: skip
STANCES = (
    "insists on {topic} before any other step",
    "rejects any deal on {topic} without guarantees",
    "demands international monitoring of {topic}",
    "is open to a phased approach to {topic}",
    "calls {topic} a red line",
)
STATEMENT_TEXTS = {
    "quote": "{speaker} called the talks “{quoted}”.",
    "judgement": "{speaker} judged the talks on {topic} premature.",
    "expectation": "{speaker} expects progress on {topic} to be slow.",
    "key-point": "{speaker} stressed that {topic} must come first.",
    "assessment": "{speaker} assessed the chances of agreement on {topic} as low.",
}
QUOTED = ("a waste of time", "decorative", "a first step", "long overdue", "a trap")
assert set(STATEMENT_TEXTS) == set(STATEMENT_KINDS)
PROPOSAL_TEXTS = {
    "purpose": ("to uphold a ceasefire", "to secure the {region} corridor",
                "to protect civilian infrastructure"),
    "deployment_area": ("the {region} border", "safer rear areas", "the {region} coast"),
    "risks": ("escalation if peacekeepers are attacked", "unclear rules of engagement",
              "mission creep", "logistical overstretch"),
    "motives": ("regional leadership", "deterrence", "domestic pressure"),
    "criticisms": ("political theatre", "too few troops", "no clear end-state"),
    "preconditions": ("a clear mandate", "more troops committed", "allied backing"),
}  # fmt: skip
