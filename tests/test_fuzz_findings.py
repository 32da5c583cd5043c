"""What fuzzing found, one regression test per finding, on both backends.

Each test replays, in a readable form, a request sequence that schemathesis (or the
hostile input corpus) once answered wrongly, and checks the answer against the
committed openapi.yaml where the finding was a response outside the document.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from tests.conftest import Editor

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return document


def violations(component: str, body: Any) -> list[str]:
    """How ``body`` breaks the committed document's schema ``component``."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": _document()["components"]}
    return [error.message for error in Draft202012Validator(schema).iter_errors(body)]


def new_statement(editor: Editor, record_id: str) -> dict[str, Any]:
    citation = editor.client.get("/v1/talks/istanbul-talks").get_json()["citations"][0]
    return {
        "id": record_id,
        "kind": "assessment",
        "text": "A statement made for this test.",
        "citations": [{"source": citation["source"]["id"], "quote": citation["quote"]}],
    }


def test_the_410_of_a_deleted_record_is_a_problem_the_document_describes(editor: Editor):
    # Found by the state machine: DELETE, then GET, answered a problem with a
    # `revisions` member that the Problem schema (no additional members) left out.
    assert editor.write("POST", "/v1/statements", new_statement(editor, "gone")).status_code == 201
    assert editor.write("DELETE", "/v1/statements/gone").status_code == 204
    response = editor.client.get("/v1/statements/gone")
    assert response.status_code == 410
    body = response.get_json()
    assert body["revisions"].endswith("/v1/statements/gone/revisions")
    assert violations("Problem", body) == []


def test_the_410_of_a_record_deleted_by_as_of_is_a_problem_the_document_describes(
    editor: Editor,
):
    assert editor.write("POST", "/v1/statements", new_statement(editor, "gone")).status_code == 201
    assert editor.write("DELETE", "/v1/statements/gone").status_code == 204
    deleted = editor.client.get("/v1/statements/gone/revisions").get_json()["items"][-1]
    response = editor.client.get(f"/v1/statements/gone?as_of={deleted['changed_at']}")
    assert response.status_code == 410
    body = response.get_json()
    assert body["revision"] == deleted["url"]
    assert violations("Problem", body) == []


def data_revision(editor: Editor) -> int:
    revision: int = editor.client.get("/").get_json()["dataset"]["data_revision"]
    return revision


def test_a_lone_surrogate_in_a_body_is_a_400_naming_the_member(editor: Editor):
    # Found by the hostile corpus: "\ud800" reached the database driver (a 500 on both
    # backends), and as a member name it broke the problem document itself.
    before = data_revision(editor)
    for body, member in [('{"name": "\\ud800"}', "name"), ('{"\\udc00x": 1}', "\\udc00x")]:
        response = editor.write(
            "PATCH", "/v1/actors/russia", body, content_type="application/merge-patch+json"
        )
        assert response.status_code == 400, response.get_data(as_text=True)
        assert [e["field"] for e in response.get_json()["errors"]] == [member]
    assert data_revision(editor) == before


def test_a_number_too_long_to_convert_is_a_400_without_internals(editor: Editor):
    response = editor.write(
        "PATCH",
        "/v1/force-proposals/european-peacekeeping-force",
        '{"troops_min": ' + "9" * 5000 + "}",
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 400
    assert "5000 digits" in response.get_json()["detail"]
    assert "sys." not in response.get_json()["detail"]


def forged(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def issued_cursor(client: Any, path: str) -> dict[str, Any]:
    token = parse_qs(urlsplit(client.get(path).get_json()["links"]["next"]).query)["cursor"][0]
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return payload


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**63, 10**30])
def test_a_cursor_forged_with_an_integer_no_column_holds_is_a_400(client, value):
    # Found by the hostile corpus: an int sort value beyond 32 bits reached the database
    # (SQLite: OverflowError; PostgreSQL: integer out of range), a 500.
    path = "/v1/sources?sort=line_start&limit=1"
    payload = issued_cursor(client, path)
    payload["k"] = [value, payload["k"][1]]
    response = client.get(f"{path}&cursor={forged(payload)}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize("text", ["\ud800", "a\x00b"])
@pytest.mark.parametrize("position", [0, 1])
def test_a_cursor_forged_with_text_no_database_takes_is_a_400(client, text, position):
    # Found by the hostile corpus: a lone surrogate (both backends) or NUL (PostgreSQL)
    # in a cursor's sort value or id was a 500.
    path = "/v1/actors?sort=name&limit=1"
    payload = issued_cursor(client, path)
    payload["k"][position] = text
    response = client.get(f"{path}&cursor={forged(payload)}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "cursor"


def test_a_change_feed_position_beyond_32_bits_is_a_400(client):
    # Found by the hostile corpus: PostgreSQL refused the comparison (a 500).
    since = forged({"v": 1, "c": "changes", "q": "", "k": [2**40]})
    response = client.get(f"/v1/changes?since={since}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "since"


@pytest.mark.parametrize("limit", ["5_0", " 5", "5 ", "\u0661", "\uff15"])
@pytest.mark.parametrize("path", ["/v1/talks", "/v1/changes", "/v1/talks/istanbul-talks/revisions"])
def test_a_limit_that_is_not_ascii_digits_is_a_400(client, path, limit):
    # Found by the hostile corpus: int() took "5_0", " 5" and any Unicode digit, so that
    # one page answered under many URLs.
    response = client.get(path, query_string={"limit": limit})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "limit"


def test_a_revision_number_that_is_not_ascii_digits_is_no_route(client):
    assert client.get("/v1/talks/istanbul-talks/revisions/1").status_code == 200
    response = client.get("/v1/talks/istanbul-talks/revisions/\u0661")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("q=\xff\xfe", "q"),
        ("venue=\xc3\x28", "venue"),
        ("party=%ff", "party"),
        ("q=%ED%A0%80", "q"),
    ],
)
def test_a_query_string_that_is_not_utf8_is_a_400_naming_the_parameter(client, query, parameter):
    # Found by the hostile corpus: raw bytes that are not UTF-8 made werkzeug raise inside
    # request.args (a 500 behind any WSGI server that passes them on, such as `parley
    # serve --dev`; gunicorn refuses such request lines itself); percent-escaped ones
    # became U+FFFD and searched for that.
    response = client.get("/v1/talks", environ_overrides={"QUERY_STRING": query})
    assert response.status_code == 400
    assert response.get_json()["errors"] == [{"parameter": parameter, "detail": "is not UTF-8"}]
