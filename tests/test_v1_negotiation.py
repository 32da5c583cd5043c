"""Content negotiation over the registered exporters, and what a failing exporter costs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask

from api import parley
from exporters import Collection
from exporters.manager import Registered, Registry


class Lines:
    """A tiny test format: one id per line."""

    name = "lines"
    media_type = "text/x-lines"
    extension = "lines"
    version = "3"

    def export(self, collection: Collection) -> Iterator[str]:
        for record in collection.records:
            yield record["id"] + "\n"


class FailsAtOnce(Lines):
    name = extension = "failing"
    media_type = "text/x-failing"

    def export(self, collection: Collection) -> Iterator[str]:
        raise RuntimeError("secret internal detail")


class FailsMidStream(Lines):
    name = "midway"
    media_type = "text/x-midway"
    extension = "midway"

    def export(self, collection: Collection) -> Iterator[str]:
        yield "first\n"
        raise RuntimeError("broke after the first chunk")


class YieldsNumbers(Lines):
    name = "numbers"
    media_type = "text/x-numbers"
    extension = "numbers"

    def export(self, collection: Collection) -> Iterator[str]:
        yield 42  # type: ignore[misc]


@pytest.fixture
def app_with_formats(loaded_app: Flask):
    state = parley(loaded_app)
    registry = Registry(
        {
            e.name: Registered(e, f"tests.{e.name}", None)
            for e in (Lines(), FailsAtOnce(), FailsMidStream(), YieldsNumbers())
        }
    )
    loaded_app.extensions["parley"] = dataclasses.replace(state, exporters=registry)
    try:
        yield loaded_app
    finally:
        loaded_app.extensions["parley"] = state


@pytest.fixture
def fclient(app_with_formats):
    return app_with_formats.test_client()


def expected_lines(fixture_set, collection: str) -> str:
    return "".join(f"{i}\n" for i in sorted(fixture_set.records[collection]))


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/actors.lines", {}),
        ("/v1/actors?format=lines", {}),
        ("/v1/actors", {"Accept": "text/x-lines"}),
        ("/v1/actors", {"Accept": "application/json;q=0.5, text/x-lines"}),
    ],
)
def test_a_format_is_chosen_by_suffix_parameter_or_accept(fclient, fixture_set, path, headers):
    response = fclient.get(path, headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/x-lines; charset=utf-8"
    assert "Accept" in response.headers["Vary"]
    assert response.get_data(as_text=True) == expected_lines(fixture_set, "actors")


def test_json_stays_the_default(fclient):
    response = fclient.get("/v1/actors", headers={"Accept": "*/*"})
    assert response.mimetype == "application/json"
    assert fclient.get("/v1/actors").mimetype == "application/json"


def test_an_export_streams_every_matching_record_in_order(fclient, fixture_set):
    body = fclient.get("/v1/actors.lines?kind=person&sort=-id").get_data(as_text=True)
    persons = sorted(
        (i for i, r in fixture_set.records["actors"].items() if r["kind"] == "person"),
        reverse=True,
    )
    assert body == "".join(f"{i}\n" for i in persons)


def test_an_item_and_a_nested_list_negotiate_too(fclient, fixture_set):
    assert (
        fclient.get("/v1/talks/istanbul-talks.lines").get_data(as_text=True) == "istanbul-talks\n"
    )
    nested = fclient.get("/v1/talks/istanbul-talks/delegations.lines").get_data(as_text=True)
    assert nested == "".join(
        f"{i}\n" for i in sorted(fixture_set.records["talks"]["istanbul-talks"]["delegations"])
    )


def test_the_file_name_comes_from_the_path_not_from_records(fclient):
    response = fclient.get("/v1/talks/istanbul-talks.lines")
    assert (
        response.headers["Content-Disposition"] == 'inline; filename="talks-istanbul-talks.lines"'
    )


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/actors.xml", {}),
        ("/v1/actors?format=xml", {}),
        ("/v1/actors", {"Accept": "image/png"}),
    ],
)
def test_an_unknown_format_is_a_406_listing_the_available_ones(fclient, path, headers):
    response = fclient.get(path, headers=headers)
    assert response.status_code == 406
    body = response.get_json()
    assert body["available_formats"][:2] == ["json", "lines"]
    assert "text/x-lines" in body["available_media_types"]


@pytest.mark.parametrize("parameter", ["limit=5", "cursor=abc", "fields=name"])
def test_page_parameters_are_refused_for_exports(fclient, parameter):
    response = fclient.get(f"/v1/actors.lines?{parameter}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == parameter.split("=")[0]


def test_the_etag_depends_on_the_format_and_the_exporter_version(fclient, app_with_formats):
    json_tag = fclient.get("/v1/actors").headers["ETag"]
    lines_tag = fclient.get("/v1/actors.lines").headers["ETag"]
    assert json_tag != lines_tag
    assert fclient.get("/v1/actors.lines", headers={"If-None-Match": lines_tag}).status_code == 304
    Lines.version = "4"
    try:
        assert fclient.get("/v1/actors.lines").headers["ETag"] != lines_tag
    finally:
        Lines.version = "3"


def test_an_exporter_failing_at_once_costs_a_problem_document_only(fclient):
    response = fclient.get("/v1/actors.failing")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert fclient.get("/v1/actors.lines").status_code == 200


@pytest.mark.parametrize("suffix", ["midway", "numbers"])
def test_an_exporter_failing_mid_stream_cuts_its_response_only(fclient, suffix):
    response = fclient.get(f"/v1/actors.{suffix}")
    if suffix == "numbers":
        # Nothing valid was produced: the failure is reported before the body starts.
        assert response.status_code == 500
    else:
        assert response.status_code == 200
        with pytest.raises(RuntimeError):
            response.get_data()
    assert fclient.get("/v1/actors.lines").status_code == 200


def test_exporters_are_listed_with_their_plugins(fclient):
    body = fclient.get("/v1/exporters").get_json()
    lines = next(e for e in body["exporters"] if e["name"] == "lines")
    assert lines == {
        "name": "lines",
        "media_type": "text/x-lines",
        "extension": "lines",
        "version": "3",
        "plugin": "tests.lines",
        "distribution": None,
    }
