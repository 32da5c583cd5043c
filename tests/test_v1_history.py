"""History over HTTP: a record's revisions, its state at a time, restores, the change feed."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text

from api import parley
from tests.v1helpers import path_of, walk

TALK = "/v1/talks/istanbul-talks"
DELEGATION = "/v1/delegations/istanbul-talks-russia"
JANE = "/v1/actors/jane-doe"
MERGE_PATCH = "application/merge-patch+json"


@pytest.fixture
def base(loaded_app: Any) -> str:
    """The base URL the app writes into its links."""
    url: str = parley(loaded_app).settings.base_url
    return url


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    return body


def parameters_of(problem: dict[str, Any]) -> set[str]:
    return {error["parameter"] for error in problem["errors"]}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def patch(editor: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = ok(editor.write("PATCH", path, body, content_type=MERGE_PATCH))
    return result


def create_jane(editor: Any) -> dict[str, Any]:
    """A new actor citing the talk's first (verbatim) quote; its 201 body."""
    citation = editor.client.get(TALK).get_json()["citations"][0]
    body = {
        "id": "jane-doe",
        "name": "Jane Doe",
        "kind": "person",
        "citations": [{"source": citation["source"]["id"], "quote": citation["quote"]}],
    }
    created: dict[str, Any] = ok(editor.write("POST", "/v1/actors", body), 201)
    return created


def revisions(client: Any, path: str) -> list[dict[str, Any]]:
    items, _pages = walk(client, f"{path}/revisions")
    return items


def revision_data(client: Any, path: str, number: int) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.get(f"{path}/revisions/{number}"))["data"]
    return data


def changed_at(summary: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(summary["changed_at"])


def rfc3339(when: datetime) -> str:
    return when.isoformat(timespec="microseconds")


def without(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in names}


def forged(payload: Any) -> str:
    """A cursor made by hand: base64url JSON, as the API's own are."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def feed_end(client: Any) -> str:
    """The `since` of the change feed's current end."""
    since: str | None = None
    for _ in range(1000):
        query = f"?since={since}&limit=1000" if since else "?limit=1000"
        body = ok(client.get(f"/v1/changes{query}"))
        since = body["since"]
        if not body["more"]:
            assert since is not None
            return since
    raise AssertionError("the change feed never ended")


def changes_since(client: Any, since: str, limit: int = 1000) -> dict[str, Any]:
    body: dict[str, Any] = ok(client.get(f"/v1/changes?since={since}&limit={limit}"))
    return body


# GET /v1/<collection>/<id>/revisions


def test_revisions_list_every_change_oldest_first_with_its_author_and_url(editor, base):
    patch(editor, TALK, {"venue": "Geneva"})
    patch(editor, TALK, {"venue": "Paris"})
    body = ok(editor.client.get(f"{TALK}/revisions"))
    items = body["items"]
    assert [item["revision"] for item in items] == [1, 2, 3]
    assert [item["author"] for item in items] == ["fixtures", "token:editor", "token:editor"]
    assert [item["url"] for item in items] == [f"{base}{TALK}/revisions/{n}" for n in (1, 2, 3)]
    assert all(item["record"] == f"{base}{TALK}" for item in items)
    assert all(item["deleted"] is False for item in items)
    assert [changed_at(item) for item in items] == sorted(changed_at(item) for item in items)
    assert body["links"]["next"] is None


def test_revisions_pages_of_one_walk_every_revision_exactly_once(editor, base):
    patch(editor, TALK, {"venue": "Geneva"})
    patch(editor, TALK, {"venue": "Paris"})
    seen: list[int] = []
    url: str | None = f"{TALK}/revisions?limit=1"
    pages = 0
    while url is not None and pages < 10:
        response = editor.client.get(url)
        body = ok(response)
        assert len(body["items"]) <= 1
        seen.extend(item["revision"] for item in body["items"])
        next_url = body["links"]["next"]
        if next_url is not None:
            assert next_url.startswith(f"{base}{TALK}/revisions?cursor=")
            assert response.headers["Link"] == f'<{next_url}>; rel="next"'
        url = path_of(next_url) if next_url else None
        pages += 1
    assert seen == [1, 2, 3]
    assert url is None


@pytest.mark.parametrize(
    "cursor",
    [
        "truncated",
        "not*base64",
        forged({"v": 1, "c": "talks/istanbul-talks/revisions", "q": "", "k": ["1"]}),
        forged({"v": 1, "c": "talks/istanbul-talks/revisions", "q": "", "k": [-1]}),
        forged({"v": 2, "c": "talks/istanbul-talks/revisions", "q": "", "k": [1]}),
        forged([1, 2]),
    ],
)
def test_a_forged_or_truncated_revisions_cursor_is_a_400_naming_cursor(editor, cursor):
    patch(editor, TALK, {"venue": "Geneva"})
    if cursor == "truncated":
        next_url = ok(editor.client.get(f"{TALK}/revisions?limit=1"))["links"]["next"]
        real = next_url.split("cursor=")[1].split("&")[0]
        cursor = real[: len(real) // 2]
    problem = problem_of(editor.client.get(f"{TALK}/revisions?cursor={cursor}"), 400)
    assert parameters_of(problem) == {"cursor"}


def test_a_revisions_cursor_of_another_record_is_a_400_naming_cursor(editor):
    patch(editor, DELEGATION, {"level": "ministers"})
    next_url = ok(editor.client.get(f"{DELEGATION}/revisions?limit=1"))["links"]["next"]
    cursor = next_url.split("cursor=")[1].split("&")[0]
    problem = problem_of(editor.client.get(f"{TALK}/revisions?cursor={cursor}"), 400)
    assert parameters_of(problem) == {"cursor"}


def test_revisions_of_an_unknown_record_are_a_404(client):
    problem = problem_of(client.get("/v1/talks/no-such-talks/revisions"), 404)
    assert "no-such-talks" in problem["detail"]


def test_revisions_take_no_unknown_query_parameter(client):
    problem = problem_of(client.get(f"{TALK}/revisions?sort=revision"), 400)
    assert parameters_of(problem) == {"sort"}


def test_a_deleted_record_keeps_its_revisions_the_last_one_its_deletion(editor):
    create_jane(editor)
    patch(editor, JANE, {"name": "Jane Q. Doe"})
    assert editor.write("DELETE", JANE).status_code == 204
    items = revisions(editor.client, JANE)
    assert [(item["revision"], item["deleted"]) for item in items] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert items[-1]["author"] == "token:editor"


# GET /v1/<collection>/<id>/revisions/<n>


def test_a_revision_holds_the_record_as_that_change_left_it(editor, base):
    first = ok(editor.client.get(TALK))
    second = patch(editor, TALK, {"venue": "Geneva"})
    third = patch(editor, TALK, {"venue": "Paris", "aims": ["a ceasefire"]})
    for number, expected in enumerate([first, second, third], start=1):
        body = ok(editor.client.get(f"{TALK}/revisions/{number}"))
        assert body["revision"] == number
        assert body["url"] == f"{base}{TALK}/revisions/{number}"
        assert body["data"] == expected


def test_a_created_records_first_revision_is_its_201_representation(editor):
    created = create_jane(editor)
    [summary] = revisions(editor.client, JANE)
    body = ok(editor.client.get(f"{JANE}/revisions/1"))
    assert body["data"] == created
    assert body["author"] == "token:editor"
    assert body["changed_at"] == summary["changed_at"]


def test_a_revision_gives_links_owned_by_other_records_as_null(editor):
    before = ok(editor.client.get(DELEGATION))
    after = patch(editor, DELEGATION, {"level": "ministers"})
    assert before["talk"] is not None
    assert after["talk"] == before["talk"]
    assert revision_data(editor.client, DELEGATION, 1) == before | {"talk": None}
    assert revision_data(editor.client, DELEGATION, 2) == after | {"talk": None}


@pytest.mark.parametrize("beyond", [0, 1])
def test_revision_zero_or_beyond_the_last_is_a_404(editor, beyond):
    patch(editor, TALK, {"venue": "Geneva"})
    last = revisions(editor.client, TALK)[-1]["revision"]
    number = 0 if beyond == 0 else last + beyond
    problem_of(editor.client.get(f"{TALK}/revisions/{number}"), 404)


def test_a_revision_answers_304_to_its_etag(client):
    response = client.get(f"{TALK}/revisions/1")
    etag = response.headers["ETag"]
    again = client.get(f"{TALK}/revisions/1", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert again.get_data() == b""


# ?as_of=


def test_as_of_a_revisions_time_is_that_revision_and_a_moment_before_is_the_one_before(
    editor, base
):
    created = create_jane(editor)
    changed = patch(editor, JANE, {"name": "Jane Q. Doe"})
    first, second = revisions(editor.client, JANE)
    assert changed_at(first) < changed_at(second)

    at_second = editor.client.get(f"{JANE}?as_of={second['changed_at']}")
    assert ok(at_second) == changed
    assert at_second.headers["Content-Location"] == f"{base}{JANE}/revisions/2"

    just_before = rfc3339(changed_at(second) - timedelta(microseconds=1))
    at_first = editor.client.get(JANE, query_string={"as_of": just_before})
    assert ok(at_first) == created
    assert at_first.headers["Content-Location"] == f"{base}{JANE}/revisions/1"


def test_as_of_takes_any_offset(editor):
    create_jane(editor)
    changed = patch(editor, JANE, {"name": "Jane Q. Doe"})
    second = revisions(editor.client, JANE)[1]
    elsewhere = changed_at(second).astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert ok(editor.client.get(JANE, query_string={"as_of": rfc3339(elsewhere)})) == changed


def test_as_of_before_the_first_revision_is_a_404(editor):
    create_jane(editor)
    [first] = revisions(editor.client, JANE)
    before = rfc3339(changed_at(first) - timedelta(microseconds=1))
    problem = problem_of(editor.client.get(JANE, query_string={"as_of": before}), 404)
    assert "jane-doe" in problem["detail"]


def test_as_of_after_the_deletion_is_a_410_naming_the_deletion(editor, base):
    create_jane(editor)
    editor.write("DELETE", JANE)
    deletion = revisions(editor.client, JANE)[-1]
    assert deletion["deleted"] is True
    later = rfc3339(changed_at(deletion) + timedelta(seconds=1))
    for when in (deletion["changed_at"], later):
        problem = problem_of(editor.client.get(JANE, query_string={"as_of": when}), 410)
        assert problem["revision"] == f"{base}{JANE}/revisions/{deletion['revision']}"


def test_as_of_an_unknown_record_is_a_404(client):
    problem_of(client.get("/v1/actors/nobody?as_of=2026-01-01T00:00:00Z"), 404)


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", ""],
)
def test_a_malformed_as_of_is_a_400_naming_it(client, value):
    problem = problem_of(client.get(TALK, query_string={"as_of": value}), 400)
    assert parameters_of(problem) == {"as_of"}


def test_as_of_given_twice_is_a_400_naming_it(client):
    query = "as_of=2026-01-01T00:00:00Z&as_of=2026-01-02T00:00:00Z"
    problem = problem_of(client.get(f"{TALK}?{query}"), 400)
    assert parameters_of(problem) == {"as_of"}


def test_as_of_with_an_export_format_is_a_400_naming_it(client):
    problem = problem_of(client.get(f"{TALK}?format=csv&as_of=2026-01-01T00:00:00Z"), 400)
    assert parameters_of(problem) == {"as_of"}


# POST /v1/<collection>/<id>/revisions/<n>/restore


def test_restoring_a_revision_makes_a_new_revision_with_its_data(editor):
    original = revision_data(editor.client, TALK, 1)
    patch(editor, TALK, {"venue": "Geneva", "aims": ["a ceasefire"]})
    response = editor.write("POST", f"{TALK}/revisions/1/restore")
    restored = ok(response)
    assert restored["revision"] == 3
    assert without(restored, "revision", "updated_at") == without(
        original, "revision", "updated_at"
    )
    assert ok(editor.client.get(TALK)) == restored
    assert editor.client.get(TALK).headers["ETag"] == response.headers["ETag"]
    newest = revisions(editor.client, TALK)[-1]
    assert (newest["revision"], newest["author"]) == (3, "token:editor")
    assert revision_data(editor.client, TALK, 3) == restored


def test_restoring_a_deleted_record_with_its_410_etag_brings_it_back(editor):
    created = create_jane(editor)
    editor.write("DELETE", JANE)
    gone = editor.client.get(JANE)
    problem_of(gone, 410)
    response = editor.write("POST", f"{JANE}/revisions/1/restore", etag=gone.headers["ETag"])
    restored = ok(response)
    assert without(restored, "revision", "updated_at") == without(created, "revision", "updated_at")
    assert ok(editor.client.get(JANE)) == restored
    items = revisions(editor.client, JANE)
    assert [(item["revision"], item["deleted"]) for item in items] == [
        (1, False),
        (2, True),
        (3, False),
    ]


def test_a_restore_with_a_stale_if_match_is_a_412(editor):
    stale = editor.client.get(TALK).headers["ETag"]
    current = editor.write("PATCH", TALK, {"venue": "Geneva"}, etag=stale).headers["ETag"]
    response = editor.write("POST", f"{TALK}/revisions/1/restore", etag=stale)
    problem_of(response, 412)
    assert response.headers["ETag"] == current
    assert len(revisions(editor.client, TALK)) == 2


def test_a_restore_without_if_match_is_a_428(editor):
    patch(editor, TALK, {"venue": "Geneva"})
    response = editor.client.post(f"{TALK}/revisions/1/restore", headers=editor.auth)
    problem_of(response, 428)


def test_a_restore_without_a_token_is_a_401(editor):
    etag = editor.client.get(TALK).headers["ETag"]
    response = editor.client.post(f"{TALK}/revisions/1/restore", headers={"If-Match": etag})
    problem_of(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_restoring_the_deletion_revision_itself_is_a_409(editor):
    create_jane(editor)
    editor.write("DELETE", JANE)
    deletion = revisions(editor.client, JANE)[-1]
    etag = editor.client.get(JANE).headers["ETag"]
    path = f"{JANE}/revisions/{deletion['revision']}/restore"
    problem_of(editor.write("POST", path, etag=etag), 409)
    problem_of(editor.client.get(JANE), 410)


def test_restoring_an_unknown_revision_is_a_404(editor):
    last = revisions(editor.client, TALK)[-1]["revision"]
    problem_of(editor.write("POST", f"{TALK}/revisions/{last + 1}/restore"), 404)


def test_restoring_a_revision_that_refers_to_a_record_deleted_since_is_a_409_naming_it(editor):
    create_jane(editor)
    parties = [party["id"] for party in ok(editor.client.get(TALK))["parties"]]
    with_jane = patch(editor, TALK, {"parties": [*parties, "jane-doe"]})
    patch(editor, TALK, {"parties": parties})
    assert editor.write("DELETE", JANE).status_code == 204
    path = f"{TALK}/revisions/{with_jane['revision']}/restore"
    problem = problem_of(editor.write("POST", path), 409)
    assert problem["errors"] == [
        {"field": f"parties[{len(parties)}]", "detail": "actor 'jane-doe' was deleted"}
    ]
    assert ok(editor.client.get(TALK))["revision"] == with_jane["revision"] + 1


def test_a_restore_with_a_body_is_a_415(editor):
    patch(editor, TALK, {"venue": "Geneva"})
    problem_of(editor.write("POST", f"{TALK}/revisions/1/restore", {"venue": None}), 415)
    assert ok(editor.client.get(TALK))["venue"] == "Geneva"


# GET /v1/changes


def test_the_change_feed_without_since_starts_at_the_first_position(editor):
    first_page = ok(editor.client.get("/v1/changes?limit=5"))
    everything: list[dict[str, Any]] = []
    since: str | None = None
    while True:
        query = f"?since={since}&limit=1000" if since else "?limit=1000"
        body = ok(editor.client.get(f"/v1/changes{query}"))
        everything.extend(body["items"])
        since = body["since"]
        if not body["more"]:
            break
    stored = sorted(editor.connection.execute(text("SELECT id FROM revisions")).scalars())
    positions = [item["position"] for item in everything]
    assert positions == stored
    assert first_page["items"] == everything[:5]
    assert first_page["more"] is True


def test_changes_come_in_increasing_positions(client):
    items = ok(client.get("/v1/changes?limit=1000"))["items"]
    positions = [item["position"] for item in items]
    assert positions == sorted(set(positions))


def test_the_feed_since_a_cursor_has_exactly_the_changes_made_after_it(editor, base):
    create_jane(editor)
    since = feed_end(editor.client)
    patch(editor, JANE, {"name": "Jane Q. Doe"})
    assert editor.write("DELETE", JANE).status_code == 204
    body = changes_since(editor.client, since)
    summaries = [
        (item["resource"], item["id"], item["revision"], item["deleted"], item["author"])
        for item in body["items"]
    ]
    assert summaries == [
        ("actors", "jane-doe", 2, False, "token:editor"),
        ("actors", "jane-doe", 3, True, "token:editor"),
    ]
    assert body["items"][0]["position"] < body["items"][1]["position"]
    assert [item["url"] for item in body["items"]] == [
        f"{base}{JANE}/revisions/2",
        f"{base}{JANE}/revisions/3",
    ]
    assert body["more"] is False


def test_the_feeds_since_resumes_after_its_last_item(editor):
    since = feed_end(editor.client)
    patch(editor, TALK, {"venue": "Geneva"})
    body = changes_since(editor.client, since)
    assert len(body["items"]) == 1
    again = changes_since(editor.client, body["since"])
    assert again["items"] == []
    assert again["more"] is False
    assert again["since"] == body["since"]


def test_the_feeds_limit_bounds_a_page_and_more_says_it_was_full(editor):
    since = feed_end(editor.client)
    patch(editor, TALK, {"venue": "Geneva"})
    patch(editor, TALK, {"venue": "Paris"})
    seen: list[int] = []
    mores: list[bool] = []
    for _ in range(5):
        body = changes_since(editor.client, since, limit=1)
        assert len(body["items"]) <= 1
        seen.extend(item["revision"] for item in body["items"])
        mores.append(body["more"])
        since = body["since"]
        if not body["more"]:
            break
    assert seen == [2, 3]
    assert mores == [True, True, False]


@pytest.mark.parametrize(
    "since",
    [
        "not*base64",
        "eyJ2IjoxLCJj",
        forged({"v": 1, "c": "changes", "q": "", "k": [True]}),
        forged({"v": 1, "c": "changes", "q": "", "k": [1, 2]}),
        forged({"v": 1, "c": "changes", "q": "x", "k": [1]}),
    ],
)
def test_a_forged_since_is_a_400_naming_since(client, since):
    problem = problem_of(client.get(f"/v1/changes?since={since}"), 400)
    assert parameters_of(problem) == {"since"}


def test_a_cursor_of_another_list_is_refused_as_since(editor):
    patch(editor, TALK, {"venue": "Geneva"})
    next_url = ok(editor.client.get(f"{TALK}/revisions?limit=1"))["links"]["next"]
    cursor = next_url.split("cursor=")[1].split("&")[0]
    problem = problem_of(editor.client.get(f"/v1/changes?since={cursor}"), 400)
    assert parameters_of(problem) == {"since"}


def test_the_feed_answers_304_to_its_etag_until_a_write(editor):
    since = feed_end(editor.client)
    path = f"/v1/changes?since={since}"
    etag = editor.client.get(path).headers["ETag"]
    cached = editor.client.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    patch(editor, TALK, {"venue": "Geneva"})
    fresh = editor.client.get(path, headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != etag
    assert len(fresh.get_json()["items"]) == 1


def test_history_pages_link_themselves_at_the_configured_base_url(editor, base):
    patch(editor, TALK, {"venue": "Geneva"})
    revisions_page = ok(editor.client.get(f"{TALK}/revisions?limit=1"))
    assert revisions_page["links"]["self"].startswith(f"{base}{TALK}/revisions?")
    feed = ok(editor.client.get("/v1/changes?limit=1"))
    assert feed["links"]["self"].startswith(f"{base}/v1/changes?")


# OpenAPI


def test_the_served_openapi_documents_as_of_and_the_change_feed(client):
    document = ok(client.get("/v1/openapi.json"))
    paths = document["paths"]
    items = [path for path in paths if path.count("/") == 3 and path.endswith("/{id}")]
    assert "/v1/talks/{id}" in items
    for path in items:
        names = {parameter["name"] for parameter in paths[path]["get"]["parameters"]}
        assert "as_of" in names, path
    changes = paths["/v1/changes"]["get"]
    assert {parameter["name"] for parameter in changes["parameters"]} >= {"since", "limit"}
    assert "200" in changes["responses"]
