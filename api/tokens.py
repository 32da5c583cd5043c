"""Bearer tokens for writes: created and revoked with the CLI, stored hashed.

A token is 32 random bytes (URL-safe base64) behind a ``parley_`` prefix that
secret scanners can recognise. Being random and long, it needs no slow hash:
its SHA-256 is what the database keeps, and what a presented token is
compared against (in constant time).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import ApiToken

PREFIX = "parley_"
# Names end up in revisions ("token:<name>") and logs: short, and nothing to escape.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")


class TokenError(ValueError):
    """A token operation the caller got wrong (a taken or unknown name)."""


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token, never its hash."""

    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, name: str, now: datetime, expires_in: timedelta | None) -> str:
    """Store a new token named ``name`` and return it: the only time it is seen."""
    if not NAME.fullmatch(name):
        raise TokenError(
            f"{name!r} cannot name a token: use 1-100 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists already (revoke it or pick another name)")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
        )
    )
    session.flush()
    return token


def list_tokens(session: Session) -> list[TokenInfo]:
    return [
        TokenInfo(t.name, t.created_at, t.expires_at, t.revoked_at)
        for t in session.scalars(select(ApiToken).order_by(ApiToken.name))
    ]


def revoke(session: Session, name: str, now: datetime) -> None:
    token = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if token is None:
        raise TokenError(f"there is no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = now
    session.flush()


def authenticate(session: Session, presented: str, now: datetime) -> str | None:
    """The name of the active token ``presented`` is, or None."""
    if not presented.startswith(PREFIX) or len(presented) > 200:
        return None
    wanted = digest(presented)
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == wanted)).first()
    if token is None or not hmac.compare_digest(token.token_hash, wanted):
        return None
    info = TokenInfo(token.name, token.created_at, token.expires_at, token.revoked_at)
    return token.name if info.state(now) == "active" else None
