"""The v1 write shape: request bodies read into canonical records, or every problem named.

The write shape is the read shape. References may be written as ids or as the
links a GET returns (``{"id", "url"}``); read-only members (``url``,
``revision``, timestamps, ``links``, links back to owners) are ignored when
they hold what the server would send, and refused when they do not. What is
left is validated by the marshmallow schema of the resource (the one the
fixture files are checked with), so an API write and a curated fixture obey
exactly the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import request
from marshmallow import ValidationError

from api.errors import ProblemError
from api.fixtures.errors import flatten_messages
from api.fixtures.reader import Record, canonical_record
from api.fixtures.schemas import record_schema
from api.resources import AnyRef, Positions, Ref, RefList, Resource, owner_links
from api.text import SURROGATE, strings
from api.v1.schemas import Urls, dump_one

Problem = tuple[str, str]
# Members of a representation that the server computes.
READ_ONLY = ("url", "revision", "created_at", "updated_at", "links")
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"
# Deeper than any record's shape: deeper bodies are refused before they are walked.
MAX_DEPTH = 16
# Python's own limit on the digits of an integer it converts; no member takes a tenth.
MAX_DIGITS = 4300


def invalid(problems: list[Problem], detail: str | None = None) -> ProblemError:
    """A 422 naming every bad member."""
    fields = ", ".join(dict.fromkeys(path or "(body)" for path, _ in problems))
    return ProblemError(
        422,
        detail or f"The record is not valid: {fields}.",
        errors=[{"field": path, "detail": message} for path, message in problems],
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"member {key!r} is given twice")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number has {len(text.lstrip('-'))} digits")
    return int(text)


def _lone_surrogate(body: Any) -> str | None:
    """The path of the first member name or string holding a lone surrogate, if any."""
    found = (where for where, value, _key in strings(body, "") if SURROGATE.search(value))
    return next(found, None)


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def read_body(media_types: tuple[str, ...]) -> dict[str, Any]:
    """The request's JSON object, or a 415/413/400 problem."""
    if request.mimetype not in media_types:
        headers = {"Accept-Patch": ", ".join(media_types)} if request.method == "PATCH" else {}
        given = request.mimetype or "none"
        raise ProblemError(
            415,
            f"Send the body as {' or '.join(media_types)} (Content-Type was {given}).",
            headers=headers,
        )
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ProblemError(415, f"Send the body in UTF-8 (charset was {charset}).")
    raw = request.get_data(cache=False)  # over the configured size: werkzeug's 413
    try:
        body = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constants,
            parse_int=_integer,
        )
    except UnicodeDecodeError as exc:
        raise ProblemError(400, f"The body is not UTF-8 (byte {exc.start}).") from None
    except RecursionError:
        raise ProblemError(400, "The body is nested too deeply.") from None
    except ValueError as exc:
        raise ProblemError(400, f"The body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise ProblemError(400, "The body must be a JSON object: one record.")
    if _depth(body) > MAX_DEPTH:
        raise ProblemError(400, "The body is nested too deeply.")
    where = _lone_surrogate(body)
    if where is not None:
        raise ProblemError(
            400,
            f"The body is not Unicode text: {where} holds a lone surrogate.",
            errors=[
                {"field": where, "detail": "holds a lone surrogate (a \\u escape of half a pair)"}
            ],
        )
    return body


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: members set to null are removed, objects merge, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


class _Reader:
    def __init__(self, resource: Resource, urls: Urls) -> None:
        self.resource = resource
        self.urls = urls
        self.problems: list[Problem] = []

    def ref(self, value: Any, target: str, path: str) -> Any:
        """An id from an id or from the link a GET returns; anything else is left for
        the schema to refuse."""
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            return value
        extra = set(value) - {"id", "url"}
        if extra:
            self.problems.extend((f"{path}.{name}", "Unknown field.") for name in sorted(extra))
        expected = self.urls.item(target, value["id"])
        if "url" in value and value["url"] != expected:
            self.problems.append((f"{path}.url", f"must be {expected} or left out"))
        return value["id"]

    def any_ref(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict) or not isinstance(value.get("resource"), str):
            return value
        resource = value["resource"]
        extra = set(value) - {"resource", "id", "url"}
        if extra:
            self.problems.extend((f"{path}.{name}", "Unknown field.") for name in sorted(extra))
        record_id = self.ref({k: v for k, v in value.items() if k != "resource"}, resource, path)
        return f"{resource}/{record_id}" if isinstance(record_id, str) else value

    def references(self, body: dict[str, Any]) -> None:
        for spec in self.resource.fields:
            if spec.name not in body:
                continue
            value = body[spec.name]
            if isinstance(spec, Ref):
                body[spec.name] = self.ref(value, spec.target, spec.name)
            elif isinstance(spec, RefList) and isinstance(value, list):
                body[spec.name] = [
                    self.ref(item, spec.target, f"{spec.name}[{i}]") for i, item in enumerate(value)
                ]
            elif isinstance(spec, Positions) and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and "holder" in item:
                        path = f"{spec.name}[{i}].holder"
                        item["holder"] = self.ref(item["holder"], spec.holder_target, path)
            elif isinstance(spec, AnyRef):
                body[spec.name] = self.any_ref(value, spec.name)
        citations = body.get("citations")
        if isinstance(citations, list):
            for i, item in enumerate(citations):
                if isinstance(item, dict) and "source" in item:
                    path = f"citations[{i}].source"
                    item["source"] = self.ref(item["source"], "sources", path)

    def read_only(self, body: dict[str, Any], expected: dict[str, Any]) -> None:
        names = [*READ_ONLY, *(name for name, _owner, _spec in owner_links(self.resource))]
        for name in names:
            if name not in body:
                continue
            value = body.pop(name)
            if value is not None and value != expected.get(name):
                shown = json.dumps(expected.get(name), ensure_ascii=False)
                self.problems.append(
                    (name, f"is read-only: leave it out or send the current value ({shown})")
                )


def read_record(
    resource: Resource,
    body: dict[str, Any],
    urls: Urls,
    *,
    record_id: str | None,
    current: dict[str, Any] | None,
) -> Record:
    """``body`` as a canonical record of ``resource``, or a 422 naming every problem.

    ``record_id`` is the id the URL names (None for a new record); ``current`` is the
    record's representation, which read-only members are compared with.
    """
    body = json.loads(json.dumps(body))  # a copy the reading may change
    reader = _Reader(resource, urls)
    for path, text in _strings(body, ""):
        if "\x00" in text:
            reader.problems.append((path, "must not contain NUL characters"))
    if record_id is not None:
        if "id" in body and body["id"] != record_id:
            reader.problems.append(("id", f"cannot change: this record is {record_id!r}"))
        body["id"] = record_id
    if current is None:
        expected: dict[str, Any] = {}
        new_id = body.get("id")
        if isinstance(new_id, str):
            links = dump_one(resource, _blank(resource, new_id), urls)
            expected = {"url": links["url"], "links": links["links"]}
    else:
        expected = current
    reader.read_only(body, expected)
    reader.references(body)
    try:
        loaded = record_schema(resource).load(body)
    except ValidationError as exc:
        reader.problems.extend(flatten_messages(exc.messages, ""))
        loaded = None
    if reader.problems or loaded is None:
        raise invalid(reader.problems)
    return canonical_record(resource, loaded)


def _blank(resource: Resource, record_id: str) -> dict[str, Any]:
    """Enough of a record for the schema to compute its URLs."""
    blank: dict[str, Any] = {
        "id": record_id,
        "revision": None,
        "created_at": None,
        "updated_at": None,
        "notes": None,
        "citations": [],
    }
    for spec in resource.fields:
        blank[spec.name] = [] if isinstance(spec, RefList | Positions) else None
    for name, _owner, _spec in owner_links(resource):
        blank[name] = None
    return blank
