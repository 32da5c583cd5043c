"""Query parameters of collections, validated strictly (unknown ones are a 400)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlencode

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.datastructures import MultiDict

from api.errors import bad_parameters
from api.v1.collections import MAX_QUERY_LENGTH, SLUG_PATTERN, Collection
from api.v1.data import SortKey
from api.v1.schemas import field_names

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
RECORD_PATTERN = r"^[a-z]+(-[a-z]+)*/[a-z0-9]+(-[a-z0-9]+)*$"
# Control characters have no place in a search, and PostgreSQL refuses NUL outright.
printable = validate.Predicate("isprintable", error="must not contain control characters")
DIGITS = re.compile(r"-?[0-9]+")


class QueryInteger(fields.Integer):
    """An integer in ASCII digits: int() alone also takes " 5", "5_0" and "٥" (an
    Arabic-Indic five), which would give one page many URLs."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not DIGITS.fullmatch(value):
            raise self.make_error("invalid")
        number: int = super()._deserialize(value, attr, data, **kwargs)
        return number


@dataclass(frozen=True)
class CollectionParams:
    limit: int
    cursor: str | None
    sort: tuple[SortKey, ...]
    id_descending: bool
    fields: tuple[str, ...] | None
    q: str | None
    filters: tuple[tuple[str, str], ...]
    # Filters given by the path of a nested collection; links leave them out.
    fixed: tuple[str, ...] = ()

    def digest(self, scope: str) -> str:
        """Identifies the ordered result set a cursor walks through."""
        canonical = json.dumps(
            [scope, self.sort_text(), self.q, list(self.filters)], separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def sort_text(self) -> str:
        keys = [("-" if k.descending else "") + k.field for k in self.sort]
        keys.append("-id" if self.id_descending else "id")
        return ",".join(keys)

    def query_string(self, *, cursor: str | None) -> str:
        """The canonical query of this page (or of the page at ``cursor``)."""
        items = [(name, value) for name, value in self.filters if name not in self.fixed]
        if self.q is not None:
            items.append(("q", self.q))
        if self.fields is not None:
            items.append(("fields", ",".join(self.fields)))
        if self.sort or self.id_descending:
            items.append(("sort", self.sort_text()))
        items.append(("limit", str(self.limit)))
        if cursor is not None:
            items.append(("cursor", cursor))
        return urlencode(sorted(items))


@cache
def _schema(collection: Collection) -> Schema:
    declared: dict[str, fields.Field[Any]] = {
        "limit": QueryInteger(
            validate=validate.Range(1, MAX_LIMIT, error=f"must be between 1 and {MAX_LIMIT}")
        ),
        "cursor": fields.String(validate=validate.Length(min=1)),
        "sort": fields.String(validate=validate.Length(min=1, max=200)),
        "fields": fields.String(validate=validate.Length(min=1, max=1000)),
        "q": fields.String(validate=[validate.Length(min=1, max=MAX_QUERY_LENGTH), printable]),
    }
    for f in collection.filters:
        checks: list[validate.Validator] = [validate.Length(min=1, max=200), printable]
        if f.choices:
            checks.append(validate.OneOf(f.choices))
        elif f.kind == "id":
            checks.append(validate.Regexp(SLUG_PATTERN, error="must be a record id"))
        elif f.kind == "record":
            checks.append(validate.Regexp(RECORD_PATTERN, error="must be '<collection>/<id>'"))
        declared[f.name] = fields.String(validate=checks)
    return Schema.from_dict(declared, name=f"{collection.name}-query")(unknown=RAISE)


def parse(
    collection: Collection, args: MultiDict[str, str], fixed: dict[str, str]
) -> CollectionParams:
    """Validate ``args``; ``fixed`` filters come from the path (a nested collection).

    The same few queries come again and again (the first page, a client's usual
    filters): a valid one is remembered, so it is validated once (a query that is
    refused is checked every time, since its problem document is the answer).
    """
    given = tuple(args.items(multi=True))
    if sum(len(name) + len(value) for name, value in given) > REMEMBERED_QUERY_CHARACTERS:
        return _parse(collection, args, fixed)
    return _remembered(collection, given, tuple(sorted(fixed.items())))


# Longer queries are parsed afresh each time: the memory of queries stays small.
REMEMBERED_QUERY_CHARACTERS = 256


@lru_cache(maxsize=2048)
def _remembered(
    collection: Collection, given: tuple[tuple[str, str], ...], fixed: tuple[tuple[str, str], ...]
) -> CollectionParams:
    return _parse(collection, MultiDict(given), dict(fixed))


def _parse(
    collection: Collection, args: MultiDict[str, str], fixed: dict[str, str]
) -> CollectionParams:
    errors: list[dict[str, str]] = []
    flat: dict[str, str] = {}
    for name, values in args.lists():
        if len(values) > 1:
            errors.append({"parameter": name, "detail": "given more than once"})
        flat[name] = values[0]
    try:
        loaded: dict[str, Any] = _schema(collection).load(flat)
    except ValidationError as exc:
        allowed = ", ".join(sorted(_schema(collection).fields))
        messages: Any = exc.messages
        for name, problems in sorted(messages.items()):
            for detail in problems:
                if detail == "Unknown field.":
                    detail = f"unknown parameter; this collection takes: {allowed}"
                errors.append({"parameter": name, "detail": detail})
        loaded = {}
    for name in fixed:
        if name in flat:
            errors.append({"parameter": name, "detail": "already given by the path"})
    sort, id_descending = _sort(collection, loaded.get("sort"), errors)
    selected = _fields(collection, loaded.get("fields"), errors)
    if errors:
        raise bad_parameters(errors)
    filters = {
        name: value for name, value in loaded.items() if collection.filter(name) is not None
    } | fixed
    return CollectionParams(
        limit=loaded.get("limit", DEFAULT_LIMIT),
        cursor=loaded.get("cursor"),
        sort=sort,
        id_descending=id_descending,
        fields=selected,
        q=loaded.get("q"),
        filters=tuple(sorted(filters.items())),
        fixed=tuple(sorted(fixed)),
    )


def _sort(
    collection: Collection, text: str | None, errors: list[dict[str, str]]
) -> tuple[tuple[SortKey, ...], bool]:
    """Sort keys and the direction of the id tie-break.

    A key given again adds nothing and is skipped; keys after ``id`` cannot
    change an order that ids already decide, so they end the list.
    """
    if text is None:
        return (), False
    keys: list[SortKey] = []
    seen: set[str] = set()
    for part in text.split(","):
        name = part.removeprefix("-")
        if name not in collection.sortable:
            sortable = ", ".join(collection.sortable)
            errors.append(
                {"parameter": "sort", "detail": f"cannot sort by {name!r}; sortable: {sortable}"}
            )
            return (), False
        if name == "id":
            return tuple(keys), part.startswith("-")
        if name not in seen:
            seen.add(name)
            keys.append(SortKey(name, part.startswith("-")))
    return tuple(keys), False


def _fields(
    collection: Collection, text: str | None, errors: list[dict[str, str]]
) -> tuple[str, ...] | None:
    if text is None:
        return None
    known = field_names(collection.resource)
    wanted = [name for name in text.split(",")]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        errors.append(
            {
                "parameter": "fields",
                "detail": f"unknown field(s) {', '.join(map(repr, unknown))}; "
                f"fields: {', '.join(known)}",
            }
        )
        return None
    # The id and URL always come along, so that every item can be followed.
    return tuple(dict.fromkeys(["id", "url", *wanted]))


def wants_count(prefer: str | None) -> bool:
    if not prefer:
        return False
    return any(part.strip().lower() == "count=exact" for part in prefer.split(","))
