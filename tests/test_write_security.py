"""Writes refused for want of a working token: nothing is written and nothing leaks.

Each case is a write that would be accepted with the editor's token (a current
ETag, a valid body), sent with a credential that must not work instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from api import parley, tokens
from api.models import ApiToken
from api.v1 import data
from tests.conftest import Editor

TALK = "/v1/talks/istanbul-talks"
WORDS_OF_A_TRACEBACK = ("Traceback", 'File "', "sqlalchemy", "Error:", ".py")


def _token(app: Flask, name: str, *, expired: bool = False, revoked: bool = False) -> str:
    now = datetime.now(UTC)
    with parley(app).sessions() as session:
        created = now - timedelta(days=2) if expired else now
        token = tokens.create(session, name, created, timedelta(days=1) if expired else None)
        if revoked:
            tokens.revoke(session, name, now)
        session.commit()
    return token


def _credentials(app: Flask, editor: Editor, case: str) -> tuple[dict[str, str], str, str]:
    """The headers, the query string and the token (if any) a refused write sends."""
    if case == "no token":
        return {}, "", ""
    if case == "wrong token":
        wrong = tokens.PREFIX + "x" * 43
        return {"Authorization": f"Bearer {wrong}"}, "", wrong
    if case == "another scheme":
        return {"Authorization": f"Basic {editor.token}"}, "", editor.token
    if case == "revoked token":
        revoked = _token(app, "revoked-editor", revoked=True)
        return {"Authorization": f"Bearer {revoked}"}, "", revoked
    if case == "expired token":
        expired = _token(app, "expired-editor", expired=True)
        return {"Authorization": f"Bearer {expired}"}, "", expired
    if case == "token in the query string":
        return {}, f"?access_token={editor.token}", editor.token
    raise AssertionError(case)


CASES = [
    "no token",
    "wrong token",
    "another scheme",
    "revoked token",
    "expired token",
    "token in the query string",
]
WRITES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/actors", None),
    ("PUT", TALK, None),
    ("PATCH", TALK, {"venue": "Geneva"}),
    ("DELETE", "/v1/statements/{statement}", None),
    ("POST", TALK + "/revisions/1/restore", None),
]


def _valid_body(editor: Editor, method: str, path: str, patch: Any) -> Any:
    """A body the editor's own token would get accepted."""
    if method == "PATCH":
        return patch
    if method == "PUT":
        body = editor.client.get(TALK).get_json()
        body["venue"] = "Geneva"
        return body
    if path == "/v1/actors":
        citation = editor.client.get(TALK).get_json()["citations"][0]
        return {
            "id": "jane-doe",
            "name": "Jane Doe",
            "kind": "person",
            "citations": [{"source": citation["source"]["id"], "quote": citation["quote"]}],
        }
    return None


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("method", "path", "patch"), WRITES)
def test_a_write_without_a_working_token_writes_nothing_and_reveals_nothing(
    editor: Editor, loaded_app: Flask, case: str, method: str, path: str, patch: Any
):
    statement = editor.client.get("/v1/statements?limit=1").get_json()["items"][0]["id"]
    path = path.format(statement=statement)
    body = _valid_body(editor, method, path, patch)
    target = path.split("/revisions")[0] if method != "POST" or "/restore" in path else None
    headers, query, presented = _credentials(loaded_app, editor, case)
    if target is not None:
        headers["If-Match"] = editor.etag(target)
    state = parley(loaded_app)
    with state.sessions() as session:
        revision_before = data.data_revision(session)
    before = editor.client.get(target).get_data() if target else None

    response = editor.client.open(path + query, method=method, json=body, headers=headers)

    expected = 400 if case == "token in the query string" else 401
    assert response.status_code == expected, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="parley"')
    problem = response.get_json()
    assert problem["status"] == expected
    with state.sessions() as session:
        assert data.data_revision(session) == revision_before
        hashes = list(session.scalars(select(ApiToken.token_hash)))
    if target is not None:
        assert editor.client.get(target).get_data() == before
    else:
        assert editor.client.get("/v1/actors/jane-doe").status_code == 404
    text = response.get_data(as_text=True)
    for word in WORDS_OF_A_TRACEBACK:
        assert word not in text
    for digest in hashes:
        assert digest not in text
    if presented:
        assert presented not in text
    for name in ("editor", "revoked-editor", "expired-editor"):
        assert f'"{name}"' not in text
        assert f"'{name}'" not in text


def test_the_editors_own_token_gets_the_same_write_accepted(editor: Editor):
    # The control for the cases above: the only difference they make is the credential.
    response = editor.write("PATCH", TALK, {"venue": "Geneva"})
    assert response.status_code == 200
    assert response.get_json()["venue"] == "Geneva"


def test_unknown_revoked_and_expired_tokens_get_the_same_answer(editor: Editor, loaded_app: Flask):
    answers = []
    for case in ("wrong token", "revoked token", "expired token"):
        headers, _query, _presented = _credentials(loaded_app, editor, case)
        headers["If-Match"] = editor.etag(TALK)
        response = editor.client.patch(TALK, json={"venue": "Geneva"}, headers=headers)
        answers.append(
            (response.status_code, response.get_json(), response.headers["WWW-Authenticate"])
        )
    assert answers[0] == answers[1] == answers[2]
