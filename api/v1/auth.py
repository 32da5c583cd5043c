"""Who may write: the holder of an active bearer token (RFC 6750), sent in a header.

Reads are public. Every refusal looks the same whatever the reason (unknown,
revoked or expired token), so that a caller learns nothing about the tokens
that exist.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request

from api import db, tokens
from api.errors import ProblemError

REALM = 'Bearer realm="parley"'
# Names under which clients commonly put tokens in URLs (which end up in logs).
QUERY_TOKEN_NAMES = ("access_token", "token", "api_key", "apikey", "key")


def author_of(name: str) -> str:
    """How revisions name the token that made them."""
    return f"token:{name}"


def _refused(detail: str, error: str | None = None) -> ProblemError:
    challenge = f'{REALM}, error="{error}"' if error else REALM
    return ProblemError(401, detail, headers={"WWW-Authenticate": challenge})


def refuse_token_in_query() -> None:
    """A token in the URL is a leaked token: refuse the request without looking it up."""
    for name, value in request.args.items(multi=True):
        if name.lower() in QUERY_TOKEN_NAMES or value.startswith(tokens.PREFIX):
            raise ProblemError(
                400,
                "Tokens are not accepted in the query string, where logs and browser "
                "histories keep them; send them as 'Authorization: Bearer <token>' and "
                "revoke this one.",
                headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'},
            )


def require_editor() -> str:
    """The revision author of the request's token; a 401 problem if it has none that works.

    The lookup's transaction is ended here, so that the write that follows can
    begin its own (``db.writing``) as the first thing it does.
    """
    refuse_token_in_query()
    header = request.headers.get("Authorization")
    if header is None:
        raise _refused("Writes need a token: send 'Authorization: Bearer <token>'.")
    scheme, _, presented = header.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise _refused(
            "The Authorization header must be 'Bearer <token>'.", error="invalid_request"
        )
    session = db.get_session()
    try:
        name = tokens.authenticate(session, presented, datetime.now(UTC))
    finally:
        session.rollback()
    if name is None:
        raise _refused(
            "The token is not valid (unknown, revoked or expired).", error="invalid_token"
        )
    return author_of(name)
