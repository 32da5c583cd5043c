"""Writes over HTTP: every status a write can answer, with its problem document."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

TALK = "/v1/talks/istanbul-talks"
BASE = "http://127.0.0.1:8000"


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    return body


def fields_of(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem["errors"]}


def new_actor(editor: Any, **members: Any) -> dict[str, Any]:
    """A valid new actor, citing the first quote of the talk (which is verbatim)."""
    talk = editor.client.get(TALK).get_json()
    citation = talk["citations"][0]
    body = {
        "id": "jane-doe",
        "name": "Jane Doe",
        "kind": "person",
        "citations": [{"source": citation["source"]["id"], "quote": citation["quote"]}],
    }
    body.update(members)
    return body


def revisions(editor: Any, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = editor.client.get(f"{path}/revisions").get_json()["items"]
    return items


# 201


def test_post_creates_the_record_with_201_location_etag_and_its_representation(editor):
    response = editor.write("POST", "/v1/actors", new_actor(editor))
    assert response.status_code == 201
    assert response.headers["Location"] == f"{BASE}/v1/actors/jane-doe"
    body = response.get_json()
    assert body["name"] == "Jane Doe"
    assert body["revision"] == 1
    assert body["citations"][0]["start"] >= 0
    fetched = editor.client.get("/v1/actors/jane-doe")
    assert fetched.get_json() == body
    assert fetched.headers["ETag"] == response.headers["ETag"]


def test_a_created_record_names_the_token_that_made_it(editor):
    editor.write("POST", "/v1/actors", new_actor(editor))
    [first] = revisions(editor, "/v1/actors/jane-doe")
    assert first["author"] == "token:editor"
    assert first["revision"] == 1


def test_posting_an_existing_id_is_a_422_naming_the_id(editor):
    problem = problem_of(editor.write("POST", "/v1/actors", new_actor(editor, id="russia")), 422)
    assert fields_of(problem) == {"id"}
    assert "exists already" in problem["errors"][0]["detail"]


def test_posting_without_an_id_is_a_422_naming_it(editor):
    body = new_actor(editor)
    del body["id"]
    problem = problem_of(editor.write("POST", "/v1/actors", body), 422)
    assert fields_of(problem) == {"id"}


# 200


def test_a_get_body_put_back_unchanged_is_accepted_without_a_new_revision(editor):
    before = editor.client.get(TALK)
    response = editor.write("PUT", TALK, before.get_json(), etag=before.headers["ETag"])
    assert response.status_code == 200
    assert response.get_json() == before.get_json()
    assert response.headers["ETag"] == before.headers["ETag"]
    assert len(revisions(editor, TALK)) == 1


def test_put_replaces_the_record_as_its_next_revision(editor):
    body = editor.client.get(TALK).get_json()
    body["venue"] = "Dolmabahçe Palace"
    body["aims"] = ["a ceasefire"]
    response = editor.write("PUT", TALK, body)
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["venue"] == "Dolmabahçe Palace"
    assert changed["aims"] == ["a ceasefire"]
    assert changed["revision"] == body["revision"] + 1
    assert [r["author"] for r in revisions(editor, TALK)] == ["fixtures", "token:editor"]


def test_put_leaves_out_what_the_body_leaves_out(editor):
    body = editor.client.get(TALK).get_json()
    del body["venue"]
    assert editor.write("PUT", TALK, body).get_json()["venue"] is None


def test_put_takes_references_as_ids(editor):
    body = editor.client.get(TALK).get_json()
    body["parties"] = [party["id"] for party in body["parties"]][:1]
    response = editor.write("PUT", TALK, body)
    assert [p["id"] for p in response.get_json()["parties"]] == body["parties"]


def test_patch_changes_only_the_members_it_names(editor):
    before = editor.client.get(TALK).get_json()
    response = editor.write(
        "PATCH", TALK, {"venue": "Geneva"}, content_type="application/merge-patch+json"
    )
    assert response.status_code == 200
    after = response.get_json()
    assert after["venue"] == "Geneva"
    unchanged = {k for k in before if k not in ("venue", "revision", "updated_at")}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_patch_removes_members_set_to_null(editor):
    response = editor.write(
        "PATCH", TALK, {"venue": None}, content_type="application/merge-patch+json"
    )
    assert response.get_json()["venue"] is None


def test_patch_as_application_json_is_taken_as_a_merge_patch(editor):
    response = editor.write("PATCH", TALK, {"format": "direct"})
    assert response.status_code == 200
    assert response.get_json()["format"] == "direct"


def test_a_write_changes_the_etag_and_an_old_one_no_longer_answers_304(editor):
    before = editor.client.get(TALK).headers["ETag"]
    editor.write("PATCH", TALK, {"venue": "Geneva"}, etag=before)
    again = editor.client.get(TALK, headers={"If-None-Match": before})
    assert again.status_code == 200
    assert again.headers["ETag"] != before


def test_a_write_shows_in_the_collection_pages(editor):
    editor.write("PATCH", TALK, {"venue": "Geneva"})
    page = editor.client.get("/v1/talks?venue=Geneva").get_json()
    assert [item["id"] for item in page["items"]] == ["istanbul-talks"]


# 204 and 410


def test_delete_answers_204_and_the_record_then_answers_410(editor):
    editor.write("POST", "/v1/actors", new_actor(editor))
    response = editor.write("DELETE", "/v1/actors/jane-doe")
    assert response.status_code == 204
    assert response.get_data() == b""
    gone = problem_of(editor.client.get("/v1/actors/jane-doe"), 410)
    assert gone["revisions"] == f"{BASE}/v1/actors/jane-doe/revisions"
    assert editor.client.get("/v1/actors/jane-doe").headers["ETag"] == response.headers["ETag"]


def test_a_deleted_record_leaves_the_collection_but_keeps_its_history(editor):
    editor.write("POST", "/v1/actors", new_actor(editor))
    editor.write("DELETE", "/v1/actors/jane-doe")
    page = editor.client.get("/v1/actors?q=Jane").get_json()
    assert page["items"] == []
    history = revisions(editor, "/v1/actors/jane-doe")
    assert [(r["revision"], r["deleted"]) for r in history] == [(1, False), (2, True)]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_writes_to_a_deleted_record_are_410s(editor, method):
    editor.write("POST", "/v1/actors", new_actor(editor))
    editor.write("DELETE", "/v1/actors/jane-doe")
    etag = editor.client.get("/v1/actors/jane-doe").headers["ETag"]
    body = None if method == "DELETE" else {"name": "Jane"}
    problem_of(editor.write(method, "/v1/actors/jane-doe", body, etag=etag), 410)


def test_posting_the_id_of_a_deleted_record_is_a_422_pointing_at_restore(editor):
    editor.write("POST", "/v1/actors", new_actor(editor))
    editor.write("DELETE", "/v1/actors/jane-doe")
    problem = problem_of(editor.write("POST", "/v1/actors", new_actor(editor)), 422)
    assert "restore" in problem["errors"][0]["detail"]


# 404, 405


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_writes_to_a_missing_record_are_404s(editor, method):
    body = None if method == "DELETE" else {"name": "x"}
    problem = problem_of(editor.write(method, "/v1/actors/nobody", body, etag='"x"'), 404)
    assert "nobody" in problem["detail"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_sources_answer_405_to_writes_even_with_a_token(editor, method):
    path = "/v1/sources" if method == "POST" else "/v1/sources/istanbul-talks-analysis"
    response = editor.write(method, path, {"title": "x"}, etag='"x"')
    problem_of(response, 405)
    assert response.headers["Allow"].startswith("GET")


# 409


def test_deleting_a_record_others_refer_to_is_a_409_listing_them(editor):
    problem = problem_of(editor.write("DELETE", "/v1/actors/russia"), 409)
    referrers = {(r["resource"], r["id"], r["field"]) for r in problem["referrers"]}
    assert ("talks", "istanbul-talks", "parties") in referrers
    assert ("delegations", "istanbul-talks-russia", "party") in referrers
    assert all(r["url"] == f"{BASE}/v1/{r['resource']}/{r['id']}" for r in problem["referrers"])
    assert editor.client.get("/v1/actors/russia").status_code == 200


def test_a_record_no_longer_referred_to_can_be_deleted(editor):
    editor.write("POST", "/v1/actors", new_actor(editor))
    editor.write("PATCH", TALK, {"parties": ["russia", "ukraine", "jane-doe"]})
    problem_of(editor.write("DELETE", "/v1/actors/jane-doe"), 409)
    editor.write("PATCH", TALK, {"parties": ["russia", "ukraine"]})
    assert editor.write("DELETE", "/v1/actors/jane-doe").status_code == 204


# 412, 428


def test_a_stale_if_match_is_a_412_carrying_the_current_etag(editor):
    stale = editor.client.get(TALK).headers["ETag"]
    current = editor.write("PATCH", TALK, {"venue": "Geneva"}, etag=stale).headers["ETag"]
    response = editor.write("PATCH", TALK, {"venue": "Paris"}, etag=stale)
    problem_of(response, 412)
    assert response.headers["ETag"] == current
    assert editor.client.get(TALK).get_json()["venue"] == "Geneva"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_write_without_if_match_is_a_428(editor, method):
    body = None if method == "DELETE" else editor.client.get(TALK).get_json()
    response = editor.client.open(TALK, method=method, json=body, headers=editor.auth)
    problem = problem_of(response, 428)
    assert "If-Match" in problem["detail"]


def test_if_match_star_is_a_428(editor):
    problem_of(editor.write("PATCH", TALK, {"venue": "x"}, etag="*"), 428)


def test_a_weak_etag_never_matches(editor):
    etag = editor.client.get(TALK).headers["ETag"]
    problem_of(editor.write("PATCH", TALK, {"venue": "x"}, etag=f"W/{etag}"), 412)


# 413, 415


def test_a_body_over_the_configured_size_is_a_413(editor, loaded_app, monkeypatch):
    monkeypatch.setitem(loaded_app.config, "MAX_CONTENT_LENGTH", 1000)
    body = new_actor(editor, description="x" * 2000)
    problem_of(editor.write("POST", "/v1/actors", body), 413)
    assert editor.client.get("/v1/actors/jane-doe").status_code == 404


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_a_415(editor, content_type):
    problem = problem_of(
        editor.write("POST", "/v1/actors", new_actor(editor), content_type=content_type), 415
    )
    assert "application/json" in problem["detail"]


def test_a_put_of_a_merge_patch_is_a_415(editor):
    body = editor.client.get(TALK).get_json()
    problem_of(editor.write("PUT", TALK, body, content_type="application/merge-patch+json"), 415)


def test_a_patch_of_another_type_is_a_415_with_accept_patch(editor):
    response = editor.write("PATCH", TALK, {"venue": "x"}, content_type="text/plain")
    problem_of(response, 415)
    assert "application/merge-patch+json" in response.headers["Accept-Patch"]


def test_a_charset_other_than_utf8_is_a_415(editor):
    body = json.dumps(new_actor(editor)).encode("utf-16")
    response = editor.write(
        "POST", "/v1/actors", body, content_type="application/json; charset=utf-16"
    )
    problem_of(response, 415)


# 400


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"name": ', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'{"name": "a", "name": "b"}', "twice"),
        (b'{"troops_min": NaN}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
)
def test_a_body_that_is_not_one_json_object_is_a_400(editor, raw, reason):
    problem = problem_of(editor.write("POST", "/v1/actors", raw), 400)
    assert reason in problem["detail"]


def test_writes_take_no_query_parameters(editor):
    problem = problem_of(editor.write("PATCH", f"{TALK}?dry_run=1", {"venue": "x"}), 400)
    assert problem["errors"][0]["parameter"] == "dry_run"


# 422


def test_every_bad_member_is_named_in_one_422(editor):
    body = new_actor(
        editor,
        kind="wizard",
        name=5,
        affiliation="atlantis",
        colour="blue",
    )
    problem = problem_of(editor.write("POST", "/v1/actors", body), 422)
    assert fields_of(problem) == {"kind", "name", "colour"}
    # References are checked once the shape is right.
    body = new_actor(editor, affiliation="atlantis")
    problem = problem_of(editor.write("POST", "/v1/actors", body), 422)
    assert problem["errors"] == [{"field": "affiliation", "detail": "unknown actor 'atlantis'"}]


def test_missing_required_members_are_422s(editor):
    body = new_actor(editor)
    del body["name"]
    body["citations"] = []
    problem = problem_of(editor.write("POST", "/v1/actors", body), 422)
    assert fields_of(problem) == {"name", "citations"}


def test_read_only_members_are_ignored_when_current_and_refused_otherwise(editor):
    body = editor.client.get(TALK).get_json()
    body["revision"] = 99
    body["url"] = f"{BASE}/v1/talks/elsewhere"
    body["links"] = {"self": "http://evil.example/"}
    problem = problem_of(editor.write("PUT", TALK, body), 422)
    assert fields_of(problem) == {"revision", "url", "links"}


def test_the_id_cannot_change(editor):
    body = editor.client.get(TALK).get_json()
    body["id"] = "paris-talks"
    problem = problem_of(editor.write("PUT", TALK, body), 422)
    assert fields_of(problem) == {"id"}


def test_a_link_whose_url_does_not_match_its_id_is_a_422(editor):
    body = editor.client.get(TALK).get_json()
    body["parties"][0]["url"] = f"{BASE}/v1/actors/somebody-else"
    problem = problem_of(editor.write("PUT", TALK, body), 422)
    assert fields_of(problem) == {"parties[0].url"}


def test_references_to_missing_or_deleted_records_are_422s(editor):
    editor.write("POST", "/v1/actors", new_actor(editor))
    editor.write("DELETE", "/v1/actors/jane-doe")
    problem = problem_of(
        editor.write("PATCH", TALK, {"parties": ["russia", "jane-doe", "atlantis"]}), 422
    )
    details = {e["field"]: e["detail"] for e in problem["errors"]}
    assert details == {
        "parties[1]": "actor 'jane-doe' was deleted",
        "parties[2]": "unknown actor 'atlantis'",
    }


def test_a_record_listed_twice_is_a_422(editor):
    problem = problem_of(editor.write("PATCH", TALK, {"parties": ["russia", "russia"]}), 422)
    assert fields_of(problem) == {"parties[1]"}


def test_a_delegation_another_talk_holds_is_a_422(editor):
    talk = editor.client.get(TALK).get_json()
    delegation = talk["delegations"][0]["id"]
    body = {
        "id": "paris-talks",
        "title": "Paris talks",
        "status": "scheduled",
        "delegations": [delegation],
        "citations": [
            {"source": c["source"]["id"], "quote": c["quote"], "start": c["start"]}
            for c in talk["citations"][:1]
        ],
    }
    problem = problem_of(editor.write("POST", "/v1/talks", body), 422)
    assert problem["errors"] == [
        {
            "field": "delegations[0]",
            "detail": f"delegation {delegation!r} already belongs to talk 'istanbul-talks'",
        }
    ]


def test_a_quote_that_is_not_in_its_source_is_a_422_naming_the_citation(editor):
    body = new_actor(editor)
    body["citations"].append(
        {"source": body["citations"][0]["source"], "quote": "Peace was signed on Monday."}
    )
    problem = problem_of(editor.write("POST", "/v1/actors", body), 422)
    assert fields_of(problem) == {"citations[1].quote"}
    assert "not found" in problem["errors"][0]["detail"]


def test_a_citation_whose_offsets_are_wrong_is_a_422(editor):
    body = new_actor(editor)
    citation = body["citations"][0]
    citation["start"] = 0
    problem = problem_of(editor.write("POST", "/v1/actors", body), 422)
    assert fields_of(problem) == {"citations[0].start"}


def test_nul_characters_and_counts_beyond_32_bits_are_422s(editor):
    problem = problem_of(editor.write("POST", "/v1/actors", new_actor(editor, name="a\x00b")), 422)
    assert fields_of(problem) == {"name"}
    proposal = (
        "/v1/force-proposals/"
        + editor.client.get("/v1/force-proposals").get_json()["items"][0]["id"]
    )
    problem = problem_of(editor.write("PATCH", proposal, {"troops_max": 2**40}), 422)
    assert fields_of(problem) == {"troops_max"}


def test_a_rejected_write_changes_nothing(editor):
    before = editor.client.get(TALK)
    body = copy.deepcopy(before.get_json())
    body["parties"] = ["atlantis"]
    problem_of(editor.write("PUT", TALK, body, etag=before.headers["ETag"]), 422)
    after = editor.client.get(TALK)
    assert after.get_json() == before.get_json()
    assert after.headers["ETag"] == before.headers["ETag"]


# 401


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_every_write_needs_a_token(editor, method):
    path = "/v1/actors" if method == "POST" else TALK
    response = editor.client.open(path, method=method, json={"venue": "x"})
    problem = problem_of(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Bearer" in problem["detail"]
