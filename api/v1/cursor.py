"""Opaque keyset cursors that need no secret.

A cursor is base64url JSON naming its collection, a digest of the query it
belongs to (filters and sort) and the sort values of the last row served. It
is validated strictly: anything that does not decode to exactly that, for this
collection and this query, is refused with a 400 (never a 500, never a page of
something else).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date
from typing import Any

from api.errors import bad_parameters
from api.resources import Resource, Scalar

VERSION = 1
# base64url without padding; the decoder would otherwise skip stray characters.
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
# What a value the API issued never holds and a database cannot take: NUL (PostgreSQL
# refuses it in text) and lone surrogates (no encoding can send them to a driver).
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")
# The integer columns cursors resume from are 32-bit on every backend; a value
# beyond them is an error in the database, not an empty page.
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def encode(collection: str, digest: str, after: tuple[Any, ...]) -> str:
    values = [v.isoformat() if isinstance(v, date) else v for v in after]
    payload = json.dumps(
        {"v": VERSION, "c": collection, "q": digest, "k": values},
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _invalid(reason: str) -> Exception:
    return bad_parameters([{"parameter": "cursor", "detail": reason}])


def _payload(token: str, collection: str, parameter: str) -> dict[str, Any]:
    """The cursor's payload, checked to be one this API issued for ``collection``."""

    def invalid(reason: str) -> Exception:
        return bad_parameters([{"parameter": parameter, "detail": reason}])

    if len(token) > 2048:
        raise invalid("is too long to be a cursor")
    if not _ALPHABET.fullmatch(token):
        raise invalid("is not a cursor this API issued")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise invalid("is not a cursor this API issued") from None
    if not isinstance(payload, dict) or set(payload) != {"v", "c", "q", "k"}:
        raise invalid("is not a cursor this API issued")
    values = payload["k"] if isinstance(payload["k"], list) else []
    if any(isinstance(t, str) and _UNSENDABLE.search(t) for t in [payload["c"], *values]):
        raise invalid("is not a cursor this API issued")
    if not _is_int(payload["v"]) or payload["v"] != VERSION:  # true == 1 in Python
        raise invalid("was issued by another version of this API")
    if payload["c"] != collection:
        raise invalid("belongs to another collection")
    return payload


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and _INT_MIN <= value <= _INT_MAX


def encode_position(scope: str, position: int) -> str:
    """A cursor resuming a list ordered by one increasing number (revisions, changes)."""
    return encode(scope, "", (position,))


def decode_position(token: str, scope: str, parameter: str = "cursor") -> int:
    payload = _payload(token, scope, parameter)
    values = payload["k"]
    if (
        payload["q"] != ""
        or not isinstance(values, list)
        or len(values) != 1
        or not _is_int(values[0])
        or values[0] < 0
    ):
        raise bad_parameters(
            [{"parameter": parameter, "detail": "is not a cursor this API issued"}]
        )
    position: int = values[0]
    return position


def decode(
    token: str, collection: str, digest: str, resource: Resource, sort_fields: list[str]
) -> tuple[Any, ...]:
    payload = _payload(token, collection, "cursor")
    if payload["q"] != digest:
        raise _invalid(
            "belongs to another query (filters or sort differ); start from the first page"
        )
    values = payload["k"]
    if not isinstance(values, list) or len(values) != len(sort_fields) + 1:
        raise _invalid("is not a cursor this API issued")
    return tuple(
        _value(resource, name, value)
        for name, value in zip([*sort_fields, "id"], values, strict=True)
    )


def _value(resource: Resource, name: str, value: Any) -> Any:
    if name == "id":
        if isinstance(value, str) and value:
            return value
        raise _invalid("is not a cursor this API issued")
    spec = next(s for s in resource.fields if s.name == name)
    assert isinstance(spec, Scalar)
    if value is None:
        return None
    if spec.type == "int" and _is_int(value):
        return value
    if spec.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _invalid("is not a cursor this API issued") from None
    if spec.type == "text" and isinstance(value, str):
        return value
    raise _invalid("is not a cursor this API issued")
