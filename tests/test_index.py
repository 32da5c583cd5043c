"""The service index (GET /), the health check (GET /healthz) and errors outside any API version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask

from api import create_app, db, parley
from api.config import Settings
from api.errors import PROBLEM_MEDIA_TYPE
from tests.conftest import REPO

CUSTOM_BASE_URL = "https://parley.example.org/data"
UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def dataset_yaml() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(
        (REPO / "fixtures/dataset.yaml").read_text(encoding="utf-8")
    )
    return loaded


@pytest.fixture
def custom_base_app(loaded_app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The loaded database served under a public base URL given through the environment."""
    app = create_app(
        Settings.from_env(
            {
                "DATABASE_URL": parley(loaded_app).database_url,
                "PARLEY_BASE_URL": CUSTOM_BASE_URL + "/",
                "PARLEY_INSTANCE_PATH": str(tmp_path),
            }
        )
    )
    yield app
    parley(app).engine.dispose()


@pytest.fixture
def empty_app(empty_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a database that was never migrated nor loaded."""
    app = create_app(Settings(database_url=empty_database_url, instance_path=tmp_path))
    yield app
    parley(app).engine.dispose()


# --- GET / -------------------------------------------------------------------------------


def test_index_names_the_service_and_the_loaded_dataset_version(client):
    body = client.get("/").get_json()

    assert body["name"] == "Parley"
    assert body["dataset"]["version"] == dataset_yaml()["version"]
    assert body["dataset"]["name"] == dataset_yaml()["name"]


def test_index_counts_the_records_of_each_resource(client, fixture_set):
    body = client.get("/").get_json()

    assert body["counts"] == {name: len(records) for name, records in fixture_set.records.items()}


def test_index_links_each_api_version_by_an_absolute_url_on_the_base_url(client, loaded_app):
    base = parley(loaded_app).settings.base_url

    body = client.get("/").get_json()

    assert body["api_versions"]
    for version in body["api_versions"]:
        assert version["url"] == f"{base}/{version['version']}"


def test_index_urls_use_the_configured_base_url(custom_base_app):
    body = custom_base_app.test_client().get("/").get_json()

    assert [v["url"] for v in body["api_versions"]] == [
        f"{CUSTOM_BASE_URL}/{v['version']}" for v in body["api_versions"]
    ]
    assert body["links"]["self"] == f"{CUSTOM_BASE_URL}/"


def test_index_urls_do_not_follow_the_host_header(custom_base_app):
    client = custom_base_app.test_client()
    plain = client.get("/").get_json()

    spoofed = client.get("/", headers={"Host": "attacker.example:8443"}).get_json()

    assert spoofed["api_versions"] == plain["api_versions"]
    assert spoofed["links"] == plain["links"]
    assert "attacker.example" not in str(spoofed)


# --- GET /healthz ------------------------------------------------------------------------


def test_healthz_is_ok_on_a_loaded_database_at_the_newest_schema(client, loaded_app):
    response = client.get("/healthz")

    assert response.status_code == 200
    database = response.get_json()["database"]
    assert database["status"] == "ok"
    assert database["schema_revision"] == db.head_revision(parley(loaded_app).engine)


def test_healthz_on_an_unmigrated_database_is_503_asking_for_a_migration(empty_app):
    response = empty_app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"]["schema_revision"] is None
    assert "parley db upgrade" in body["database"]["status"]


def test_healthz_on_a_migrated_but_empty_database_is_503_asking_for_a_load(empty_app):
    db.upgrade(parley(empty_app).engine)

    response = empty_app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "parley load" in response.get_json()["database"]["status"]


def test_healthz_on_an_unreachable_database_is_503_saying_so(tmp_path):
    app = create_app(Settings(database_url=UNREACHABLE_POSTGRES, instance_path=tmp_path))
    try:
        response = app.test_client().get("/healthz")
    finally:
        parley(app).engine.dispose()

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["database"]["status"] == "unreachable"


# --- errors ------------------------------------------------------------------------------


def test_an_unknown_url_is_a_404_problem(client):
    response = client.get("/no/such/thing")

    assert response.status_code == 404
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    problem = response.get_json()
    assert problem["status"] == 404
    assert problem["type"]
    assert problem["title"]
    assert problem["detail"]


def test_a_method_the_index_does_not_allow_is_a_405_problem_naming_the_allowed_ones(client):
    response = client.post("/")

    assert response.status_code == 405
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    assert response.get_json()["status"] == 405
    assert "GET" in {m.strip() for m in response.headers["Allow"].split(",")}
    assert "POST" not in response.headers["Allow"]
