"""A corpus of hostile input, on both backends: what scripts that send anything send.

Every request here gets a clear 4xx (a problem document naming the parameter or
member) or an answer whose output is safely escaped; a refused write leaves the
data revision (and the record) exactly as they were. Regressions of the bugs this
corpus found are in test_fuzz_findings.py.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import socket
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask.testing import FlaskClient
from markdown_it import MarkdownIt
from pyld import jsonld

from api.v1.catalog import COLLECTIONS, NESTED
from exporters.tabular import FORMULA_TRIGGERS, TEXT_SEPARATOR, restore, split_list
from tests.conftest import Editor
from tests.servers import REQUEST_TIMEOUT, STARTUP_TIMEOUT, parley_serve

TALK = "/v1/talks/istanbul-talks"
# Names of columns and tables a caller must never sort, select or read by.
SENSITIVE = ("deleted_at", "changed_by", "token_hash", "api_tokens", "revisions")


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def names_parameter(response: Any, parameter: str) -> dict[str, Any]:
    body = problem(response, 400)
    assert parameter in {e.get("parameter") for e in body["errors"]}, body
    return body


def names_member(response: Any, status: int, member: str) -> dict[str, Any]:
    body = problem(response, status)
    assert member in {e.get("field") for e in body.get("errors", [])}, body
    return body


def data_revision(client: FlaskClient) -> int:
    revision: int = client.get("/").get_json()["dataset"]["data_revision"]
    return revision


def query(**parameters: str) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in parameters.items())


# --- limits ---------------------------------------------------------------------------------

PAGED = [
    *(f"/v1/{name}" for name in COLLECTIONS),
    f"{TALK}/delegations",
    f"{TALK}/revisions",
    "/v1/changes",
]
# Out of range for every list (collections take 1-500, histories 1-1000), or no integer.
LIMITS = ["0", "-1", "-9223372036854775809", "1001", "9" * 30, "9" * 5000, "1.5", "1e3"]
LIMITS += ["0x10", "+5", "", "NaN", "Infinity", "null", "[1]", "1,2"]


@pytest.mark.parametrize("limit", LIMITS, ids=lambda v: v[:12] or "empty")
def test_a_limit_out_of_range_or_not_an_integer_is_a_400_naming_it(client, limit):
    for path in PAGED:
        names_parameter(client.get(f"{path}?{query(limit=limit)}"), "limit")


# --- filters and search ---------------------------------------------------------------------

PAYLOADS = {
    "sql-or": "' OR '1'='1",
    "sql-comment": "x' --",
    "sql-stacked": "1; DROP TABLE talks; --",
    "sql-union": "' UNION SELECT token_hash FROM api_tokens --",
    "like-wildcards": "%_%",
    "backslash": "\\",
    "double-quote": '"',
    "nul": "a\x00b",
    "rtl-override": "\u202eabc",
    "rtl-mark": "abc\u200f",
    "bom": "\ufeffabc",
    "emoji": "\U0001f600",
    "combining": "e\u0301",
    "very-long": "a" * 10_000,
}


def searchable_parameters(collection: str) -> list[tuple[str, str]]:
    """Every filter of the collection and its text search, with the kind of value each takes."""
    found = [(f.name, "choice" if f.choices else f.kind) for f in COLLECTIONS[collection].filters]
    return [*found, ("q", "text")]


def refused_by_rule(kind: str, value: str) -> bool:
    """Whether the API's documented rules refuse ``value`` for a parameter of ``kind``:
    ids, choices and record references are slugs; texts are printable, at most 200."""
    if kind != "text":
        return True  # no payload here is a slug
    return not value.isprintable() or len(value) > 200


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_every_filter_of_every_collection_refuses_or_matches_nothing(client, payload):
    # Nothing in the data holds these texts: a 200 that is not empty would be an injection.
    for collection in COLLECTIONS:
        for parameter, kind in searchable_parameters(collection):
            response = client.get(f"/v1/{collection}?limit=1&{query(**{parameter: payload})}")
            if refused_by_rule(kind, payload):
                names_parameter(response, parameter)
            else:
                assert response.status_code == 200, (collection, parameter)
                assert response.get_json()["items"] == [], (collection, parameter)


@pytest.mark.parametrize("raw", ["%FF", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "\xff", "\xc3("])
def test_invalid_utf8_in_any_parameter_is_a_400_naming_it(client, raw):
    for collection in COLLECTIONS:
        for parameter, _kind in searchable_parameters(collection):
            response = client.get(
                f"/v1/{collection}", environ_overrides={"QUERY_STRING": f"{parameter}={raw}"}
            )
            assert names_parameter(response, parameter)["errors"] == [
                {"parameter": parameter, "detail": "is not UTF-8"}
            ]


# --- sorting and sparse fields --------------------------------------------------------------

SORTS = [*SENSITIVE, "created_at", "citations", "notes", "title;DROP TABLE talks", "title desc"]
SORTS += ["-", "", ",", "title,", "--title", "title)", "TITLE", "1"]


@pytest.mark.parametrize("sort", SORTS, ids=lambda v: v or "empty")
def test_sorting_by_an_unknown_or_sensitive_column_is_a_400(client, sort):
    for collection in COLLECTIONS:
        names_parameter(client.get(f"/v1/{collection}?{query(sort=sort)}"), "sort")


@pytest.mark.parametrize("name", SENSITIVE)
def test_sensitive_columns_can_be_neither_selected_nor_read(client, name):
    for collection in COLLECTIONS:
        names_parameter(client.get(f"/v1/{collection}?{query(fields=f'id,{name}')}"), "fields")
        items = client.get(f"/v1/{collection}").get_json()["items"]
        assert items
        assert all(name not in item for item in items)


# --- cursors --------------------------------------------------------------------------------


def cursor_of(client: FlaskClient, path: str, parameter: str = "cursor") -> str:
    next_url = client.get(path).get_json()["links"]["next"]
    assert next_url, path
    return parse_qs(urlsplit(next_url).query)[parameter][0]


def forge(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decoded(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return payload


def test_truncated_and_altered_cursors_are_400s(client):
    token = cursor_of(client, "/v1/actors?limit=1")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in [
        token[:-1],
        token[:-3],
        token[: len(token) // 2],
        token + "=",
        token + "A",
        flipped,
    ]:
        names_parameter(client.get(f"/v1/actors?limit=1&cursor={quote(bad)}"), "cursor")


def test_a_cursor_from_another_collection_list_or_feed_is_a_400(client):
    actors = cursor_of(client, "/v1/actors?limit=1")
    statements = cursor_of(client, "/v1/actors/volodymyr-zelenskiy/statements?limit=1")
    feed = client.get("/v1/changes?limit=1").get_json()["since"]
    revisions = cursor_of(client, f"{TALK}/revisions?limit=1")
    for path, token in [
        ("/v1/talks?limit=1", actors),  # another collection
        ("/v1/actors?limit=1&sort=name", actors),  # another query of the same one
        ("/v1/statements?limit=1", statements),  # a nested list's
        ("/v1/actors?limit=1", feed),  # the change feed's
        ("/v1/actors?limit=1", revisions),  # a record's history
        ("/v1/actors/russia/revisions?limit=1", revisions),  # another record's history
    ]:
        names_parameter(client.get(f"{path}&cursor={token}"), "cursor")
    names_parameter(client.get(f"/v1/changes?since={actors}"), "since")
    names_parameter(client.get(f"/v1/changes?since={revisions}"), "since")


def test_forged_cursors_of_every_shape_are_400s(client):
    path = "/v1/actors?sort=name&limit=1"
    real = decoded(cursor_of(client, path))
    shapes: list[Any] = [
        [],
        "cursor",
        None,
        {**real, "v": 2},
        {**real, "v": True},
        {k: v for k, v in real.items() if k != "q"},
        {**real, "extra": 1},
        {**real, "k": real["k"][:1]},
        {**real, "k": [*real["k"], "x"]},
        {**real, "k": [real["k"][0], None]},
        {**real, "k": [real["k"][0], ""]},
        {**real, "k": [real["k"][0], 7]},
        {**real, "k": [{"$gt": ""}, real["k"][1]]},
        {**real, "k": [[real["k"][0]], real["k"][1]]},
        {**real, "k": [True, real["k"][1]]},
        {**real, "k": {"0": real["k"][0]}},
        {**real, "q": "0" * 16},
        {**real, "c": "talks"},
    ]
    for shape in shapes:
        names_parameter(client.get(f"{path}&cursor={forge(shape)}"), "cursor")
    for raw in [
        "not base64 at all!",
        "%00",
        "A" * 2049,
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]:
        names_parameter(client.get(f"{path}&{query(cursor=raw)}"), "cursor")
    nested = forge({**real, "k": [[[[["deep"]]]], real["k"][1]]})
    names_parameter(client.get(f"{path}&cursor={nested}"), "cursor")


def test_a_forged_cursor_of_the_right_shape_pages_this_collection_only(client):
    # The API needs no secret: a forged position is a position, never another table.
    path = "/v1/actors?sort=name&limit=500"
    everything = [item["id"] for item in client.get(path).get_json()["items"]]
    real = decoded(cursor_of(client, "/v1/actors?sort=name&limit=1"))
    token = forge({**real, "k": ["", "-"]})  # before every name
    page = client.get(f"{path}&cursor={token}").get_json()["items"]
    assert [item["id"] for item in page] == everything


# --- duplicate parameters -------------------------------------------------------------------


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_a_parameter_given_twice_is_a_400_naming_it(client, collection):
    for parameter, _kind in [*searchable_parameters(collection), ("limit", ""), ("sort", "")]:
        value = {"limit": "1", "sort": "id", "q": "a"}.get(parameter, "x")
        response = client.get(f"/v1/{collection}?{parameter}={value}&{parameter}={value}")
        body = names_parameter(response, parameter)
        assert {"parameter": parameter, "detail": "given more than once"} in body["errors"]
    names_parameter(client.get(f"/v1/{collection}?format=csv&format=csv"), "format")


def test_item_history_and_feed_parameters_given_twice_are_400s(client):
    names_parameter(
        client.get(f"{TALK}?as_of=2030-01-01T00:00:00Z&as_of=2030-01-01T00:00:00Z"), "as_of"
    )
    names_parameter(client.get(f"{TALK}/revisions?limit=1&limit=2"), "limit")
    since = client.get("/v1/changes?limit=1").get_json()["since"]
    names_parameter(client.get(f"/v1/changes?since={since}&since={since}"), "since")


# --- paths, file names and Content-Disposition ----------------------------------------------

TRAVERSALS = [
    "/v1/talks.csv/../../etc/passwd",
    "/v1/talks/../../etc/passwd",
    "/v1/talks/%2e%2e/%2e%2e/etc/passwd",
    "/v1/talks/..%2f..%2fetc%2fpasswd",
    "/v1/talks/..%2F..%2Fetc%2Fpasswd.csv",
    "/v1/talks.%2e%2e%2fetc%2fpasswd",
    "/v1/talks.csv%2f..%2f..%2fetc%2fpasswd",
    "/v1/talks/istanbul-talks.csv%00.txt",
    "/v1/talks/istanbul-talks/..%5c..%5cwindows%5cwin.ini",
    "/v1/%2e%2e/%2e%2e/etc/passwd",
    "/v1/context.jsonld/../../../etc/passwd",
    "/v1/talks.csv;/etc/passwd",
]
INJECTIONS = [
    "/v1/talks.csv%0d%0aSet-Cookie:%20evil=1",
    "/v1/talks/istanbul-talks%0d%0aSet-Cookie:%20evil=1.csv",
    "/v1/talks/istanbul-talks.csv%0d%0aSet-Cookie:%20evil=1",
    "/v1/talks.csv%22%3B%20filename%3D%22evil.exe",
    "/v1/talks/istanbul-talks.csv%22",
    "/v1/talks?format=csv%0d%0aSet-Cookie:%20evil=1",
    "/v1/talks/istanbul-talks/delegations.csv%0aX-Evil:%201",
]
SAFE_DISPOSITION = re.compile(r'inline; filename="[a-z0-9-]+\.[a-z0-9]+"')


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_in_export_names_and_suffixes_finds_nothing(client, path):
    response = client.get(path)
    assert response.status_code in (404, 406), response.status_code
    problem(response, response.status_code)
    assert "Content-Disposition" not in response.headers
    assert b"root:" not in response.get_data()


@pytest.mark.parametrize("path", INJECTIONS)
def test_cr_lf_and_quotes_never_reach_content_disposition(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404, 406), response.status_code
    problem(response, response.status_code)
    assert "Set-Cookie" not in response.headers
    assert "X-Evil" not in response.headers
    assert "Content-Disposition" not in response.headers


def test_every_export_names_its_file_from_the_path_alone(client):
    exporters = [e["extension"] for e in client.get("/v1/exporters").get_json()["exporters"]]
    paths = [f"/v1/{name}" for name in COLLECTIONS]
    paths += [f"{TALK}", *(f"{TALK}/{child}" for child in NESTED["talks"])]
    for path in paths:
        for extension in exporters:
            # Closed, as a WSGI server closes it: that returns the stream's connection.
            with client.get(f"{path}.{extension}") as response:
                assert response.status_code == 200, (path, extension)
                assert response.get_data()
                disposition = response.headers["Content-Disposition"]
                assert SAFE_DISPOSITION.fullmatch(disposition), disposition


# --- write bodies ---------------------------------------------------------------------------

MERGE_PATCH = "application/merge-patch+json"


def refused_write(
    editor: Editor, response: Any, status: int, path: str, before: tuple[int, Any]
) -> dict[str, Any]:
    """``response`` is a problem of ``status``, and nothing changed."""
    body = problem(response, status)
    assert (data_revision(editor.client), editor.client.get(path).get_json()) == before
    return body


def state(editor: Editor, path: str) -> tuple[int, Any]:
    return data_revision(editor.client), editor.client.get(path).get_json()


BODIES: dict[str, tuple[str | bytes, int, str | None]] = {
    # name: (body, status, the member the problem names or None)
    "deep-arrays": ("[" * 100_000 + "]" * 100_000, 400, None),
    "deep-objects": ('{"a":' * 20_000 + "1" + "}" * 20_000, 400, None),
    "deep-in-a-member": ('{"aims": ' + "[" * 40 + '"x"' + "]" * 40 + "}", 400, None),
    "not-utf8": (b'{"title": "\xff\xfe"}', 400, None),
    "overlong-utf8": (b'{"title": "\xc0\xaf"}', 400, None),
    "utf8-bom": ('\ufeff{"title": "x"}'.encode(), 400, None),
    "lone-surrogate": ('{"title": "\\udbff"}', 400, "title"),
    "duplicate-member": ('{"title": "a", "title": "b"}', 400, None),
    "nan": ('{"title": NaN}', 400, None),
    "infinity": ('{"title": -Infinity}', 400, None),
    "huge-number": ('{"title": 1' + "0" * 5000 + "}", 400, None),
    "array-body": ('[{"title": "x"}]', 400, None),
    "string-body": ('"title"', 400, None),
    "truncated": ('{"title": "x"', 400, None),
    "nul": ('{"title": "a\\u0000b"}', 422, "title"),
    "nul-in-a-list": ('{"aims": ["ok", "\\u0000"]}', 422, "aims[1]"),
    "jsonld-context-member": ('{"@context": {"@vocab": "http://evil.example/"}}', 422, "@context"),
    "jsonld-context-value": ('{"title": {"@context": "http://evil.example/"}}', 422, "title"),
    "jsonld-id-value": ('{"venue": {"@id": "http://evil.example/x"}}', 422, "venue"),
    "object-for-a-list": ('{"aims": {"0": "x"}}', 422, "aims"),
    "sql-in-a-reference": ('{"parties": ["russia\' OR 1=1 --"]}', 422, "parties[0]"),
    "traversal-in-a-reference": ('{"parties": ["../../etc/passwd"]}', 422, "parties[0]"),
    "foreign-id": ('{"id": "another-talk"}', 422, "id"),
    "read-only-revision": ('{"revision": 999}', 422, "revision"),
}


@pytest.mark.parametrize("name", BODIES)
def test_a_hostile_patch_body_is_refused_and_writes_nothing(editor: Editor, name):
    body, status, member = BODIES[name]
    before = state(editor, TALK)
    response = editor.write("PATCH", TALK, body, content_type=MERGE_PATCH)
    refused = refused_write(editor, response, status, TALK, before)
    if member is not None:
        assert member in {e["field"] for e in refused["errors"]}, refused


def test_a_body_over_the_size_limit_is_a_413_and_writes_nothing(editor: Editor, loaded_app):
    limit = loaded_app.config["MAX_CONTENT_LENGTH"]
    before = state(editor, TALK)
    body = '{"title": "' + "x" * limit + '"}'
    response = editor.write("PATCH", TALK, body, content_type=MERGE_PATCH)
    refused_write(editor, response, 413, TALK, before)


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain", 415),
        ("application/json; charset=latin-1", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/merge-patch+json; charset=utf-16", 415),
    ],
)
def test_a_body_of_another_media_type_is_a_415_and_writes_nothing(editor, content_type, status):
    before = state(editor, TALK)
    response = editor.write("PATCH", TALK, b'{"title": "x"}', content_type=content_type)
    refused_write(editor, response, status, TALK, before)


def test_a_create_with_hostile_members_writes_nothing(editor: Editor):
    before = state(editor, "/v1/actors")
    for body, member in [
        ({"id": "../../etc/passwd", "name": "x", "kind": "person"}, "id"),
        ({"id": "a" * 300, "name": "x", "kind": "person"}, "id"),
        ({"id": "x\r\ny", "name": "x", "kind": "person"}, "id"),
        ({"id": "ok-id", "name": "x", "kind": "'; DROP TABLE actors; --"}, "kind"),
        ({"id": "ok-id", "name": "x", "kind": "person", "affiliation": "../russia"}, "affiliation"),
    ]:
        response = editor.write("POST", "/v1/actors", {**body, "citations": []})
        names_member(response, 422, member)
    assert state(editor, "/v1/actors") == before


# --- what written records become in exports -------------------------------------------------


def patched(editor: Editor, path: str, members: dict[str, Any]) -> None:
    response = editor.write("PATCH", path, members, content_type=MERGE_PATCH)
    assert response.status_code == 200, response.get_json()


FORMULAS = ['=HYPERLINK("http://evil.example/","x")', "+1+1", "-1+1", "@SUM(A1:A9)"]
FORMULAS += ["\t=1", "\r=1", "'=1", "=cmd|' /C calc'!A0"]


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))


@pytest.mark.parametrize("payload", FORMULAS)
def test_a_formula_written_through_the_api_is_neutralised_in_csv(editor: Editor, payload):
    assert payload[0] in FORMULA_TRIGGERS
    patched(editor, TALK, {"title": payload, "venue": payload, "aims": [payload, "plain"]})
    for path in ("/v1/talks.csv", f"{TALK}.csv"):
        (row,) = [r for r in csv_rows(editor.client.get(path)) if r["id"] == "istanbul-talks"]
        for column in ("title", "venue", "aims"):
            assert row[column].startswith("'"), (column, row[column])
        assert restore(row["title"]) == payload
        assert split_list(restore(row["aims"]), TEXT_SEPARATOR) == [payload, "plain"]


def refuse_loading(url: str, options: Any = None) -> Any:
    raise AssertionError(f"the JSON-LD processor tried to load {url}")


def graph_shape(document: dict[str, Any]) -> tuple[set[str], set[str], list[Any]]:
    """Node ids, predicates and literal values of ``document``, expanded offline."""
    expanded = jsonld.expand(document, {"documentLoader": refuse_loading})
    nodes: set[str] = set()
    predicates: set[str] = set()
    literals: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            if "@value" in value:
                literals.append(value["@value"])
                return
            if "@id" in value:
                nodes.add(value["@id"])
            for key, item in value.items():
                if not key.startswith("@"):
                    predicates.add(key)
                walk(item)

    walk(expanded)
    return nodes, predicates, literals


JSONLD_PAYLOADS = ["@id", "@context", "@graph", '{"@context": {"@vocab": "http://evil.example/"}}']
JSONLD_PAYLOADS += ['{"@id": "http://evil.example/node"}', "http://evil.example/#id"]


@pytest.mark.parametrize("payload", JSONLD_PAYLOADS)
def test_jsonld_keywords_in_written_text_stay_literals(editor: Editor, payload):
    paths = ("/v1/talks.jsonld", f"{TALK}.jsonld")
    before = {path: json.loads(editor.client.get(path).get_data()) for path in paths}
    patched(editor, TALK, {"title": payload, "notes": payload, "aims": [payload]})
    for path in paths:
        after = json.loads(editor.client.get(path).get_data())
        assert after["@context"] == before[path]["@context"]
        nodes, predicates, literals = graph_shape(after)
        old_nodes, old_predicates, _ = graph_shape(before[path])
        assert (nodes, predicates) == (old_nodes, old_predicates)
        assert literals.count(payload) >= 3  # title, notes and the aim, each a literal
        assert "http://evil.example/node" not in nodes


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# CommonMark passes raw HTML through: anything the export let slip would become markup.
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
MARKUP = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![pixel](http://evil.example/p.png)",
    "<http://evil.example/>",
    "<a href='http://evil.example/'>x</a>",
    "a | b | c",
    "**bold** _em_ `code` ~~gone~~",
    "line\nbreak\r\n<b>bold</b>",
    "&lt;script&gt;",
]


@pytest.mark.parametrize("payload", MARKUP)
def test_markup_written_through_the_api_renders_as_text_in_markdown(editor: Editor, payload):
    patched(editor, TALK, {"title": payload, "notes": payload})
    for path in ("/v1/talks.md", f"{TALK}.md"):
        response = editor.client.get(path)
        assert response.status_code == 200
        page = Tags(MARKDOWN.render(response.get_data(as_text=True)))
        tags = {tag for tag, _ in page.tags}
        assert tags <= {"h1", "table", "thead", "tbody", "tr", "th", "td"}, tags
        shown = " ".join(re.split(r"\r\n|\r|\n", payload))
        assert "".join(page.text).count(shown) >= 2  # the title and the notes, as text


# --- the same, through a real HTTP server ---------------------------------------------------

RAW_TARGETS = [
    b"/v1/talks?q=\xff\xfe",  # raw bytes that are not UTF-8
    b"/v1/talks?venue=\xc3\x28&party=russia",
    b"/v1/talks?%ff=1",
    b"/v1/talks.csv/../../etc/passwd",
    b"/v1/talks/%2e%2e/%2e%2e/etc/passwd",
    b"/v1/../../../../etc/passwd",
    b"/v1/talks.csv%0d%0aSet-Cookie:%20evil=1",
    b"/v1/talks/\xff\xfe",
    b"/v1/talks?limit=" + b"9" * 3000,
]


def raw_request(base: str, target: bytes) -> bytes:
    """The status line and headers of a GET of ``target`` sent byte for byte (http.client
    would refuse to send most of these)."""
    host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port
    with socket.create_connection((host, port), timeout=REQUEST_TIMEOUT) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n\r\n")[0]


@pytest.mark.slow
def test_raw_hostile_requests_get_4xx_through_gunicorn(tmp_path):
    # The test client hands paths and query strings to the app as given; a real server
    # parses the request line first. Both must end in a 4xx, never a 5xx.
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with parley_serve(tmp_path / "instance") as server:
        base = server.wait_until_listening(deadline)
        for target in RAW_TARGETS:
            head = raw_request(base, target)
            status = int(head.split(b" ")[1])
            assert 400 <= status < 500, (target, head)
            assert b"set-cookie" not in head.lower(), (target, head)
