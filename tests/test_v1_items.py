"""Items, links, the version index, conditional requests and error documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.config import Settings
from api.lifecycle import prepare_database
from api.v1.catalog import COLLECTIONS, NESTED
from tests.conftest import make_app
from tests.v1helpers import path_of

BASE = Settings().base_url


@pytest.mark.parametrize("collection", list(COLLECTIONS))
def test_every_item_carries_id_url_revision_citations_and_links(client, fixture_set, collection):
    for record_id, record in fixture_set.records[collection].items():
        item = client.get(f"/v1/{collection}/{record_id}").get_json()
        assert item["id"] == record_id
        assert item["url"] == f"{BASE}/v1/{collection}/{record_id}"
        assert item["revision"] >= 1
        assert [c["quote"] for c in item["citations"]] == [c["quote"] for c in record["citations"]]
        for citation in item["citations"]:
            assert citation["source"]["url"] == f"{BASE}/v1/sources/{citation['source']['id']}"
        assert item["links"]["self"] == item["url"]
        for nested in NESTED[collection]:
            assert item["links"][nested] == f"{item['url']}/{nested}"


def test_references_are_links_not_bare_ids(client, fixture_set):
    talk = client.get("/v1/talks/istanbul-talks").get_json()
    expected = fixture_set.records["talks"]["istanbul-talks"]
    assert [p["id"] for p in talk["parties"]] == expected["parties"]
    for party in talk["parties"]:
        assert path_of(party["url"]) == f"/v1/actors/{party['id']}"
        assert client.get(path_of(party["url"])).status_code == 200


def test_a_delegation_links_back_to_its_talk(client, fixture_set):
    for talk_id, talk in fixture_set.records["talks"].items():
        for delegation_id in talk["delegations"]:
            item = client.get(f"/v1/delegations/{delegation_id}").get_json()
            assert item["talk"]["id"] == talk_id


def test_a_statement_links_to_the_record_it_is_about(client, fixture_set):
    for record_id, record in fixture_set.records["statements"].items():
        if record["about"] is None:
            continue
        about = client.get(f"/v1/statements/{record_id}").get_json()["about"]
        assert f"{about['resource']}/{about['id']}" == record["about"]
        assert client.get(path_of(about["url"])).status_code == 200


def test_the_timing_stays_as_stated_and_the_date_stays_empty(client):
    talk = client.get("/v1/talks/istanbul-talks").get_json()
    assert (talk["timing"], talk["date"]) == ("Friday", None)


def test_the_version_index_lists_every_collection_with_its_count(client, fixture_set):
    body = client.get("/v1").get_json()
    assert [c["name"] for c in body["collections"]] == list(COLLECTIONS)
    for entry in body["collections"]:
        assert entry["count"] == len(fixture_set.records[entry["name"]])
        assert client.get(path_of(entry["url"])).status_code == 200


def test_unknown_id_is_a_404_problem(client):
    response = client.get("/v1/talks/no-such-talk")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404
    assert "no-such-talk" in body["detail"]


@pytest.mark.parametrize("path", ["/v9/talks", "/v2", "/v1/nothing", "/v1/talks/a/b/c"])
def test_unknown_paths_and_versions_are_404_problems(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/sources"),
        ("put", "/v1/sources/istanbul-talks-analysis"),
        ("patch", "/v1/sources/istanbul-talks-analysis"),
        ("delete", "/v1/sources/istanbul-talks-analysis"),
        ("post", "/v1/talks/istanbul-talks"),
        ("put", "/v1/talks"),
    ],
)
def test_sources_and_other_paths_without_writes_answer_405(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_items_take_no_query_parameters(client):
    response = client.get("/v1/talks/istanbul-talks?limit=5")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "limit"


def test_unknown_and_repeated_parameters_are_400s_naming_them(client):
    body = client.get("/v1/talks?colour=red&limit=1&limit=2").get_json()
    assert body["status"] == 400
    assert {e["parameter"] for e in body["errors"]} == {"colour", "limit"}


@pytest.mark.parametrize("value", ["a\x00b", "tab\there", "x" * 201])
def test_control_characters_and_overlong_text_are_400s(client, value):
    response = client.get("/v1/statements", query_string={"q": value})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "q"


@pytest.mark.parametrize(
    "value", ["Robert'); DROP TABLE talks;--", "' OR 1=1 --", "Ελλάδα", "東京"]
)
def test_sql_fragments_and_unicode_in_filters_match_nothing(client, value):
    response = client.get("/v1/talks", query_string={"venue": value})
    assert response.status_code == 200
    assert response.get_json()["items"] == []


@pytest.mark.parametrize(
    "path", ["/v1/talks", "/v1/talks/istanbul-talks", "/v1/talks/istanbul-talks/delegations"]
)
def test_get_sends_an_etag_and_cache_control_and_answers_304_to_it(client, path):
    response = client.get(path)
    etag = response.headers["ETag"]
    assert response.headers["Cache-Control"].startswith("public")
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert again.get_data() == b""


def test_different_queries_have_different_etags(client):
    first = client.get("/v1/actors?limit=1").headers["ETag"]
    second = client.get("/v1/actors?limit=2").headers["ETag"]
    assert first != second


def test_the_etag_changes_when_the_data_changes(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'etag.sqlite3'}", tmp_path)
    prepare_database(app)
    client = app.test_client()
    before = client.get("/v1/talks").headers["ETag"]
    from sqlalchemy import update

    from api import models, parley

    with parley(app).sessions.begin() as session:
        session.execute(
            update(models.Talk).where(models.Talk.id == "istanbul-talks").values(venue="Ankara")
        )
        session.add(
            models.Revision(
                resource="talks",
                record_id="istanbul-talks",
                revision=2,
                changed_at=datetime.now(UTC),
                author="test",
                data={},
            )
        )
    response = client.get("/v1/talks", headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["ETag"] != before
    assert response.get_json()["items"][0]["venue"] == "Ankara"


def test_if_none_match_star_on_a_missing_item_is_a_404_not_a_304(client):
    response = client.get("/v1/talks/no-such-talk", headers={"If-None-Match": "*"})
    assert response.status_code == 404


def test_if_none_match_on_a_bad_cursor_is_a_400_not_a_304(client):
    response = client.get("/v1/talks?cursor=y%C2%BB", headers={"If-None-Match": "*"})
    assert response.status_code == 400
