"""Each filter keeps exactly the records that match, on data it must exclude rows from.

Expected results are computed from the fixtures, never copied from responses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.config import Settings
from api.lifecycle import read_configured_fixtures
from api.v1.catalog import COLLECTIONS
from tests.v1helpers import ids, walk

Record = dict[str, Any]

_TALKS = read_configured_fixtures(Settings()).records["talks"]


def listed_by_talk(talk: str, members: str) -> Callable[[Record], bool]:
    listed = _TALKS.get(talk, {}).get(members, [])
    return lambda r: r["id"] in listed


# (collection, parameter, value, which fixture records must match)
CASES: list[tuple[str, str, str, Callable[[Record], bool]]] = [
    ("talks", "party", "russia", lambda r: "russia" in r["parties"]),
    ("talks", "party", "france", lambda r: "france" in r["parties"]),
    ("talks", "venue", "Istanbul", lambda r: r["venue"] == "Istanbul"),
    ("talks", "venue", "Ankara", lambda r: r["venue"] == "Ankara"),
    ("talks", "status", "scheduled", lambda r: r["status"] == "scheduled"),
    ("talks", "status", "concluded", lambda r: r["status"] == "concluded"),
    ("talks", "obstacle", "cease-fire", lambda r: "cease-fire" in r["obstacles"]),
    ("talks", "obstacle", "no-such-obstacle", lambda r: "no-such-obstacle" in r["obstacles"]),
    (
        "talks",
        "delegation",
        "istanbul-talks-russia",
        lambda r: "istanbul-talks-russia" in r["delegations"],
    ),
    (
        "talks",
        "delegation",
        "no-such-delegation",
        lambda r: "no-such-delegation" in r["delegations"],
    ),
    ("actors", "kind", "person", lambda r: r["kind"] == "person"),
    ("actors", "kind", "group", lambda r: r["kind"] == "group"),
    ("actors", "affiliation", "ukraine", lambda r: r["affiliation"] == "ukraine"),
    ("delegations", "party", "russia", lambda r: r["party"] == "russia"),
    (
        "delegations",
        "head",
        "ukraine-defence-minister",
        lambda r: r["head"] == "ukraine-defence-minister",
    ),
    ("delegations", "declined", "vladimir-putin", lambda r: "vladimir-putin" in r["declined"]),
    ("delegations", "talk", "istanbul-talks", listed_by_talk("istanbul-talks", "delegations")),
    ("delegations", "talk", "no-such-talk", listed_by_talk("no-such-talk", "delegations")),
    ("obstacles", "talk", "istanbul-talks", listed_by_talk("istanbul-talks", "obstacles")),
    ("obstacles", "talk", "no-such-talk", listed_by_talk("no-such-talk", "obstacles")),
    (
        "obstacles",
        "actor",
        "russia",
        lambda r: any(p["holder"] == "russia" for p in r["positions"]),
    ),
    (
        "obstacles",
        "actor",
        "ukraine",
        lambda r: any(p["holder"] == "ukraine" for p in r["positions"]),
    ),
    ("force-proposals", "proposer", "france", lambda r: "france" in r["proposers"]),
    ("force-proposals", "proposer", "russia", lambda r: "russia" in r["proposers"]),
    ("force-proposals", "reluctant", "germany", lambda r: "germany" in r["reluctant"]),
    ("force-proposals", "reluctant", "france", lambda r: "france" in r["reluctant"]),
    ("statements", "speaker", "critics", lambda r: r["speaker"] == "critics"),
    (
        "statements",
        "speaker",
        "volodymyr-zelenskiy",
        lambda r: r["speaker"] == "volodymyr-zelenskiy",
    ),
    (
        "statements",
        "about",
        "force-proposals/european-peacekeeping-force",
        lambda r: r["about"] == "force-proposals/european-peacekeeping-force",
    ),
    ("statements", "kind", "key-point", lambda r: r["kind"] == "key-point"),
]


def expected_ids(fixture_set, collection: str, keep: Callable[[Record], bool]) -> list[str]:
    return sorted(i for i, r in fixture_set.records[collection].items() if keep(r))


@pytest.mark.parametrize(("collection", "parameter", "value", "keep"), CASES)
def test_filter_keeps_exactly_the_matching_records(
    client, fixture_set, collection, parameter, value, keep
):
    items, _ = walk(client, f"/v1/{collection}?{parameter}={value}&limit=500")
    assert ids(items) == expected_ids(fixture_set, collection, keep)


def test_every_filter_is_tested_on_data_it_must_exclude_rows_from(fixture_set):
    declared = {(c.name, f.name) for c in COLLECTIONS.values() for f in c.filters}
    assert {(c, p) for c, p, _, _ in CASES} == declared
    for collection, parameter in declared:
        total = len(fixture_set.records[collection])
        kept = [
            len(expected_ids(fixture_set, c, keep))
            for c, p, _, keep in CASES
            if (c, p) == (collection, parameter)
        ]
        assert min(kept) < total, (collection, parameter)


def test_filters_combine_with_and(client, fixture_set):
    items, _ = walk(client, "/v1/statements?speaker=critics&kind=key-point")
    expected = expected_ids(
        fixture_set, "statements", lambda r: r["speaker"] == "critics" and r["kind"] == "key-point"
    )
    assert ids(items) == expected
    assert len(expected) < len(
        expected_ids(fixture_set, "statements", lambda r: r["speaker"] == "critics")
    )


@pytest.mark.parametrize("query", ["decorative", "DECORATIVE", "Decorative"])
def test_text_search_is_case_insensitive_over_the_searched_fields(client, fixture_set, query):
    items, _ = walk(client, f"/v1/statements?q={query}")
    expected = sorted(
        i
        for i, r in fixture_set.records["statements"].items()
        if "decorative" in (r["text"] or "").lower() or "decorative" in (r["quoted"] or "").lower()
    )
    assert expected
    assert ids(items) == expected


@pytest.mark.parametrize("query", ["%", "_", "100%", "a_b", "\\"])
def test_text_search_treats_like_wildcards_literally(client, fixture_set, query):
    items, _ = walk(client, f"/v1/statements?q={query.replace('%', '%25')}")
    expected = sorted(
        i
        for i, r in fixture_set.records["statements"].items()
        if query.lower() in (r["text"] or "").lower()
        or query.lower() in (r["quoted"] or "").lower()
    )
    assert ids(items) == expected


def test_nested_collection_equals_the_filtered_collection(client):
    nested, _ = walk(client, "/v1/talks/istanbul-talks/delegations")
    filtered, _ = walk(client, "/v1/delegations?talk=istanbul-talks")
    assert nested == filtered
    assert nested


def test_nested_statements_are_those_about_the_record(client, fixture_set):
    items, _ = walk(client, "/v1/force-proposals/european-peacekeeping-force/statements")
    assert ids(items) == expected_ids(
        fixture_set,
        "statements",
        lambda r: r["about"] == "force-proposals/european-peacekeeping-force",
    )


def test_nested_collection_of_an_unknown_record_is_404(client):
    response = client.get("/v1/talks/no-such-talk/delegations")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_filter_given_by_the_path_cannot_be_given_again(client):
    response = client.get("/v1/talks/istanbul-talks/delegations?talk=other")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "talk"
