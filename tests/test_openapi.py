"""The OpenAPI document: valid, committed as generated, and true to the live app."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from openapi_spec_validator import validate

from api.openapi import build_spec, to_yaml
from api.v1.catalog import COLLECTIONS, NESTED

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.yaml"


def test_the_committed_document_is_what_the_code_generates():
    assert COMMITTED.read_text(encoding="utf-8") == to_yaml(build_spec()), (
        "openapi.yaml is stale: run `make openapi` and commit the result"
    )


def test_the_document_is_valid_openapi_3_1():
    document = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_and_method_of_the_app_is_documented(loaded_app):
    from api import parley

    documented = {
        (path, method.upper())
        for path, operations in build_spec()["paths"].items()
        for method in operations
    }
    routes: set[tuple[str, str]] = set()
    for rule in loaded_app.url_map.iter_rules():
        if rule.endpoint in {"static", "docs.asset", "docs.init_script"}:
            continue  # the docs page's own files
        if rule.rule.endswith(".<extension>"):
            continue  # suffix aliases of `?format=`, described by the format parameter
        methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
        if rule.endpoint.startswith("exporter_document_"):
            # The documents of installed plugins are served, not committed to the document.
            built_in = {
                f"/v1/{path}"
                for registered in parley(loaded_app).exporters.exporters.values()
                if registered.distribution is None
                for path, _, _ in getattr(registered.exporter, "documents", list)()
            }
            if rule.rule not in built_in:
                continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).replace("{record_id}", "{id}")
        routes.update((path, method) for method in methods)
    assert routes == documented


def test_every_collection_and_nested_collection_has_operations():
    paths = build_spec()["paths"]
    for name in COLLECTIONS:
        assert "get" in paths[f"/v1/{name}"]
        assert "get" in paths[f"/v1/{name}/{{id}}"]
        for child in NESTED[name]:
            assert "get" in paths[f"/v1/{name}/{{id}}/{child}"]


def test_every_response_has_a_concrete_schema_or_no_body():
    for path, operations in build_spec()["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                content = response.get("content")
                if status in ("204", "304"):
                    assert content is None, (path, method)
                    continue
                assert content, (path, method, status)
                for media in content.values():
                    assert media["schema"], (path, method, status)
                    assert media["schema"] != {}, (path, method, status)


def test_the_served_document_adds_the_base_url(client):
    body = client.get("/v1/openapi.json").get_json()
    assert body["servers"][0]["url"].startswith("http")


def test_the_committed_document_lists_only_built_in_formats(loaded_app):
    from api import parley
    from api.openapi import builtin_registry

    document = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    [parameter] = [
        p for p in document["paths"]["/v1/talks"]["get"]["parameters"] if p["name"] == "format"
    ]
    assert parameter["schema"]["enum"] == ["json", *builtin_registry().names()]
    served = loaded_app.test_client().get("/v1/openapi.json").get_json()
    [served_parameter] = [
        p for p in served["paths"]["/v1/talks"]["get"]["parameters"] if p["name"] == "format"
    ]
    assert served_parameter["schema"]["enum"] == ["json", *parley(loaded_app).exporters.names()]


def test_every_link_names_an_operation_and_exactly_its_path_parameters():
    operations = {
        operation["operationId"]: (path, operation)
        for path, methods in build_spec()["paths"].items()
        for operation in methods.values()
    }
    links = [
        (name, link)
        for _path, operation in operations.values()
        for response in operation["responses"].values()
        for name, link in response.get("links", {}).items()
    ]
    assert links
    for name, link in links:
        path, target = operations[link["operationId"]]
        in_path = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) == in_path, (name, link)
        assert set(re.findall(r"\{(\w+)\}", path)) == in_path


def test_a_created_record_links_on_to_every_operation_on_it():
    responses = build_spec()["paths"]["/v1/talks"]["post"]["responses"]
    targets = {link["operationId"] for link in responses["201"]["links"].values()}
    assert targets == {"getTalk", "patchTalk", "replaceTalk", "deleteTalk", "listTalkRevisions"}
