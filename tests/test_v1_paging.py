"""Sorting, sparse fields, keyset pagination and cursors."""

from __future__ import annotations

import base64
import json
import re

import pytest
from sqlalchemy import event

from api import parley
from tests.v1helpers import binary_key, ids, path_of, walk


def fixture_order(fixture_set, collection: str, field: str, descending: bool) -> list[str]:
    records = list(fixture_set.records[collection].values())
    records.sort(key=lambda r: r["id"])
    present = [r for r in records if r[field] is not None]
    missing = [r for r in records if r[field] is None]
    present.sort(key=lambda r: binary_key(r[field]), reverse=descending)
    # Ties keep id order (a stable sort of id-sorted records), NULLs go last either way.
    if descending:
        present.sort(key=lambda r: r["id"])
        present.sort(key=lambda r: r[field], reverse=True)
    return [r["id"] for r in present + missing]


@pytest.mark.parametrize(
    ("collection", "field"),
    [("statements", "kind"), ("actors", "title"), ("actors", "name"), ("statements", "quoted")],
)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 7, 500])
def test_walking_every_page_returns_each_record_once_in_order(
    client, fixture_set, collection, field, descending, limit
):
    sort = ("-" if descending else "") + field
    items, pages = walk(client, f"/v1/{collection}?sort={sort}&limit={limit}")
    expected = fixture_order(fixture_set, collection, field, descending)
    assert ids(items) == expected
    assert pages == max(1, -(-len(expected) // limit))


def test_default_order_is_by_id_in_binary_order(client, fixture_set):
    items, _ = walk(client, "/v1/actors?limit=5")
    assert ids(items) == sorted(fixture_set.records["actors"])


def test_sort_by_id_descending(client, fixture_set):
    items, _ = walk(client, "/v1/actors?sort=-id&limit=5")
    assert ids(items) == sorted(fixture_set.records["actors"], reverse=True)


def test_sort_on_several_fields(client, fixture_set):
    items, _ = walk(client, "/v1/actors?sort=kind,-name&limit=4")
    records = sorted(fixture_set.records["actors"].values(), key=lambda r: r["id"])
    records.sort(key=lambda r: r["name"], reverse=True)
    records.sort(key=lambda r: r["kind"])
    assert ids(items) == [r["id"] for r in records]


@pytest.mark.parametrize(
    ("sort", "detail"),
    [
        ("nope", "cannot sort by 'nope'"),
        ("citations", "cannot sort by 'citations'"),
        ("kind,-", "cannot sort by ''"),
        ("deleted_at", "cannot sort by 'deleted_at'"),
    ],
)
def test_bad_sort_is_a_400_naming_the_parameter(client, sort, detail):
    response = client.get(f"/v1/actors?sort={sort}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    [error] = response.get_json()["errors"]
    assert error["parameter"] == "sort"
    assert detail in error["detail"]


@pytest.mark.parametrize(
    ("given", "same_as"),
    [("kind,kind", "kind"), ("id,kind", "id"), ("-name,-id,kind", "-name,-id")],
)
def test_redundant_sort_keys_change_nothing(client, given, same_as):
    assert ids(walk(client, f"/v1/actors?sort={given}&limit=9")[0]) == ids(
        walk(client, f"/v1/actors?sort={same_as}&limit=9")[0]
    )


def test_sparse_fields_keep_the_named_members_and_the_id_and_url(client):
    body = client.get("/v1/actors?fields=name,kind&limit=3").get_json()
    for item in body["items"]:
        assert set(item) == {"id", "url", "name", "kind"}


def test_unknown_field_is_a_400(client):
    response = client.get("/v1/actors?fields=name,secret")
    assert response.status_code == 400
    assert "'secret'" in response.get_json()["errors"][0]["detail"]


def test_empty_page_has_no_next_link(client):
    response = client.get("/v1/talks?party=france")
    body = response.get_json()
    assert body["items"] == []
    assert body["links"]["next"] is None
    assert "Link" not in response.headers


def test_next_link_is_in_the_body_and_the_link_header(client):
    response = client.get("/v1/actors?limit=2")
    next_url = response.get_json()["links"]["next"]
    assert response.headers["Link"] == f'<{next_url}>; rel="next"'


def test_last_page_has_no_next_link(client, fixture_set):
    total = len(fixture_set.records["actors"])
    body = client.get(f"/v1/actors?limit={total}").get_json()
    assert len(body["items"]) == total
    assert body["links"]["next"] is None


@pytest.mark.parametrize("limit", ["0", "-1", "501", "abc", "1.5", ""])
def test_limit_out_of_bounds_is_a_400(client, limit):
    response = client.get(f"/v1/actors?limit={limit}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "limit"


@pytest.mark.parametrize("limit", [1, 500])
def test_limit_bounds_are_accepted(client, limit):
    assert client.get(f"/v1/actors?limit={limit}").status_code == 200


def next_cursor(client, url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    next_url = client.get(url).get_json()["links"]["next"]
    return parse_qs(urlsplit(next_url).query)["cursor"][0]


def tampered(token: str, **changes) -> str:
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    payload.update(changes)
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def cursor_problem(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["errors"][0]["parameter"] == "cursor"
    return body


def test_a_cursor_from_another_collection_is_refused(client):
    token = next_cursor(client, "/v1/actors?limit=2")
    body = cursor_problem(client, f"/v1/statements?limit=2&cursor={token}")
    assert "another collection" in body["errors"][0]["detail"]


def test_a_cursor_from_another_sort_is_refused(client):
    token = next_cursor(client, "/v1/actors?limit=2&sort=name")
    body = cursor_problem(client, f"/v1/actors?limit=2&sort=-name&cursor={token}")
    assert "another query" in body["errors"][0]["detail"]


def test_a_cursor_from_another_filter_is_refused(client):
    token = next_cursor(client, "/v1/actors?limit=2&kind=group")
    cursor_problem(client, f"/v1/actors?limit=2&kind=state&cursor={token}")


def test_a_cursor_from_another_parent_is_refused(client):
    token = next_cursor(client, "/v1/actors/critics/statements?limit=1")
    cursor_problem(client, f"/v1/actors/volodymyr-zelenskiy/statements?limit=1&cursor={token}")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-3],
        lambda t: t[:5],
        lambda t: t + "A",
        lambda t: "!" + t,
        lambda t: t.swapcase(),
        lambda t: base64.urlsafe_b64encode(b"[1,2,3]").decode(),
        lambda t: base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        lambda t: "A" * 3000,
        lambda t: tampered(t, k=[None]),
        lambda t: tampered(t, k=[1, 2]),
        lambda t: tampered(t, k=[{"a": 1}, "x"]),
        lambda t: tampered(t, v=2),
        lambda t: tampered(t, extra=1),
    ],
)
def test_a_tampered_or_truncated_cursor_is_a_400(client, mangle):
    token = next_cursor(client, "/v1/actors?limit=2&sort=name")
    cursor_problem(client, f"/v1/actors?limit=2&sort=name&cursor={mangle(token)}")


def test_a_forged_cursor_of_the_right_shape_only_moves_within_the_collection(client, fixture_set):
    token = next_cursor(client, "/v1/actors?limit=2")
    forged = tampered(token, k=["m"])
    body = client.get(f"/v1/actors?limit=500&cursor={forged}").get_json()
    assert ids(body["items"]) == [i for i in sorted(fixture_set.records["actors"]) if i > "m"]


def test_a_count_is_given_only_when_asked_for(client, fixture_set):
    plain = client.get("/v1/actors?limit=1")
    assert "total" not in plain.get_json()
    assert "Preference-Applied" not in plain.headers
    counted = client.get("/v1/actors?limit=1&kind=group", headers={"Prefer": "count=exact"})
    expected = sum(1 for r in fixture_set.records["actors"].values() if r["kind"] == "group")
    assert counted.get_json()["total"] == expected
    assert counted.headers["Preference-Applied"] == "count=exact"


def capture_sql(loaded_app):
    statements: list[str] = []
    engine = parley(loaded_app).engine

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return statements, lambda: event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize(
    "collection",
    ["talks", "actors", "delegations", "obstacles", "force-proposals", "statements", "sources"],
)
def test_a_page_of_one_and_a_page_of_500_take_the_same_number_of_queries(
    loaded_app, client, collection
):
    statements, stop = capture_sql(loaded_app)
    try:
        client.get(f"/v1/{collection}?limit=1")
        small = len(statements)
        statements.clear()
        client.get(f"/v1/{collection}?limit=500")
        large = len(statements)
    finally:
        stop()
    assert small == large


def test_no_query_uses_offset(loaded_app, client):
    statements, stop = capture_sql(loaded_app)
    try:
        walk(client, "/v1/statements?limit=3&sort=-quoted")
        walk(client, "/v1/actors/russia/statements?limit=1")
    finally:
        stop()
    assert statements
    assert not [s for s in statements if re.search(r"\bOFFSET\b", s, re.IGNORECASE)]


def test_links_follow_the_configured_base_url_not_the_host_header(client):
    body = client.get("/v1/actors?limit=1", headers={"Host": "evil.example"}).get_json()
    assert "evil.example" not in json.dumps(body)
    assert path_of(body["links"]["next"]).startswith("/v1/actors?")
