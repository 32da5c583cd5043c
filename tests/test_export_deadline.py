"""The chunk deadline (PARLEY_EXPORT_CHUNK_TIMEOUT): an exporter that takes too long
to make a chunk costs its own response only, in process and on a clock the test
controls (a real server and a plugin that hangs are in test_plugin_http.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask

from api import parley
from api.config import DEFAULT_EXPORT_CHUNK_TIMEOUT, Settings, SettingsError
from api.v1 import negotiation
from exporters import Collection
from exporters.manager import Registered, Registry

DEADLINE = 5.0


class Clock:
    """time.monotonic for the module under test: it moves only when an exporter works."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


CLOCK = Clock()


class Punctual:
    name = extension = "punctual"
    media_type = "text/x-punctual"

    def export(self, collection: Collection) -> Iterator[str]:
        for record in collection.records:
            CLOCK.now += DEADLINE * 0.9  # just in time, every time
            yield record["id"] + "\n"


class LateAtFirst(Punctual):
    name = extension = "late-at-first"
    media_type = "text/x-late-at-first"

    def export(self, collection: Collection) -> Iterator[str]:
        CLOCK.now += DEADLINE * 2
        yield "too late\n"


class LateLater(Punctual):
    name = extension = "late-later"
    media_type = "text/x-late-later"

    def export(self, collection: Collection) -> Iterator[str]:
        yield "on time\n"
        CLOCK.now += DEADLINE + 0.1
        yield "too late\n"
        yield "never sent\n"


@pytest.fixture
def deadline_client(loaded_app: Flask, monkeypatch: pytest.MonkeyPatch):
    state = parley(loaded_app)
    registry = Registry(
        {
            e.name: Registered(e, f"tests.{e.name}", None)
            for e in (Punctual(), LateAtFirst(), LateLater())
        }
    )
    settings = dataclasses.replace(state.settings, export_chunk_timeout=DEADLINE)
    loaded_app.extensions["parley"] = dataclasses.replace(
        state, exporters=registry, settings=settings
    )
    monkeypatch.setattr(negotiation, "time", CLOCK)
    try:
        yield loaded_app.test_client()
    finally:
        loaded_app.extensions["parley"] = state


def test_an_exporter_within_the_deadline_streams_everything(deadline_client, fixture_set):
    response = deadline_client.get("/v1/talks.punctual")
    assert response.status_code == 200
    assert response.get_data(as_text=True).split() == sorted(fixture_set.records["talks"])


def test_an_exporter_late_with_its_first_chunk_costs_a_500_naming_the_deadline(
    deadline_client,
):
    response = deadline_client.get("/v1/talks.late-at-first")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    detail = response.get_json()["detail"]
    assert "'late-at-first' exporter" in detail
    assert "deadline 5 s" in detail


def test_an_exporter_late_with_a_later_chunk_has_its_stream_cut(deadline_client, caplog):
    response = deadline_client.get("/v1/talks.late-later")
    assert response.status_code == 200
    chunks = response.iter_encoded()
    assert next(chunks) == b"on time\n"
    with pytest.raises(negotiation.ExporterTimeout):
        next(chunks)
    response.close()
    assert any("the response is cut" in r.getMessage() for r in caplog.records)


def test_other_formats_are_unaffected_by_a_late_one(deadline_client):
    deadline_client.get("/v1/talks.late-at-first")
    assert deadline_client.get("/v1/talks.punctual").status_code == 200
    assert deadline_client.get("/v1/talks").status_code == 200


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, DEFAULT_EXPORT_CHUNK_TIMEOUT), ("", DEFAULT_EXPORT_CHUNK_TIMEOUT), ("2.5", 2.5)],
)
def test_the_chunk_deadline_is_read_from_the_environment(value, seconds):
    environ = {} if value is None else {"PARLEY_EXPORT_CHUNK_TIMEOUT": value}
    assert Settings.from_env(environ).export_chunk_timeout == seconds


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf", "1e999"])
def test_a_chunk_deadline_that_is_not_a_positive_number_is_refused(value):
    with pytest.raises(SettingsError, match="PARLEY_EXPORT_CHUNK_TIMEOUT"):
        Settings.from_env({"PARLEY_EXPORT_CHUNK_TIMEOUT": value})
