"""Security headers, CORS for reads only, request ids and the access log, in process."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from api import parley, requestlog
from api.config import Settings, SettingsError
from api.docs import CONTENT_SECURITY_POLICY as DOCS_POLICY
from api.protection import API_CONTENT_SECURITY_POLICY

ORIGIN = "https://reader.example"
TALK = "/v1/talks/istanbul-talks"


@pytest.mark.parametrize(
    "path",
    ["/", "/healthz", "/v1/talks", f"{TALK}.csv", "/v1/no-such-thing", "/v1/talks?limit=0"],
)
def test_every_api_response_forbids_sniffing_framing_scripts_and_referrers(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == API_CONTENT_SECURITY_POLICY


def test_refused_writes_carry_the_headers_too(client):
    response = client.patch(TALK, json={"notes": "x"})
    assert response.status_code == 401
    assert response.headers["Content-Security-Policy"] == API_CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_docs_page_keeps_its_own_policy(client):
    response = client.get("/docs")
    assert response.headers["Content-Security-Policy"] == DOCS_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_without_configured_origins_no_response_allows_cross_origin_reads(client):
    response = client.get("/v1/talks", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(
        "/v1/talks", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_configured_origin_may_read_and_see_the_caching_headers(app_with):
    client = app_with(cors_origins=(ORIGIN,)).test_client()
    response = client.get("/v1/talks", headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Link", "RateLimit", "X-Request-Id"} <= exposed
    other = client.get("/v1/talks", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        TALK,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_never_get_cors_allowance_even_from_an_allowed_origin(app_with, method):
    client = app_with(cors_origins=("*",)).test_client()
    path = "/v1/talks" if method == "POST" else TALK
    preflight = client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert preflight.status_code == 204
    assert not [k for k, _ in preflight.headers.items() if k.lower().startswith("access-control-")]
    sent = client.open(path, method=method, headers={"Origin": ORIGIN}, json={})
    assert sent.status_code == 401
    assert "Access-Control-Allow-Origin" not in sent.headers


def test_any_origin_may_read_when_configured_with_a_star(app_with):
    client = app_with(cors_origins=("*",)).test_client()
    response = client.get(f"{TALK}.csv", headers={"Origin": "https://anyone.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("*,https://a.example", "either *"),
        ("javascript:alert(1)", "not an origin"),
        ("https://a.example/path", "not an origin"),
    ],
)
def test_a_bad_cors_setting_is_refused_by_name(value, message):
    with pytest.raises(SettingsError, match="PARLEY_CORS_ORIGINS") as raised:
        Settings.from_env({"PARLEY_CORS_ORIGINS": value})
    assert message in str(raised.value)


def test_a_well_formed_request_id_is_echoed(client):
    response = client.get("/v1", headers={"X-Request-Id": "client-id.42:a_b"})
    assert response.headers["X-Request-Id"] == "client-id.42:a_b"


@pytest.mark.parametrize(
    "injected",
    ["", "x" * 200, "a b", "id\r\nSet-Cookie: a=b", "<script>", "-leading-dash", "ünï"],
)
def test_a_malformed_request_id_is_replaced_never_echoed(client, injected):
    environ = {"HTTP_X_REQUEST_ID": injected}
    response = client.get("/v1", environ_base=environ)
    echoed = response.headers["X-Request-Id"]
    assert echoed != injected
    assert requestlog.WELL_FORMED.fullmatch(echoed)


def test_requests_without_an_id_get_distinct_ones(client):
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.fixture
def access_lines() -> Iterator[list[dict[str, object]]]:
    """The access log's lines, as the JSON they are, while the test runs."""
    lines: list[dict[str, object]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(record.getMessage()))

    handler = Collect()
    logger = requestlog.access_logger
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def test_the_access_log_has_one_json_object_per_request(client, access_lines):
    response = client.get(
        f"{TALK}.csv?format=csv", headers={"X-Request-Id": "req-1"}, buffered=True
    )
    assert response.status_code == 200
    body = response.get_data()
    client.get("/v1/talks?limit=0", buffered=True)
    assert len(access_lines) == 2
    first, second = access_lines
    assert first["request_id"] == "req-1"
    assert first["method"] == "GET"
    assert first["path"] == f"{TALK}.csv"
    assert first["query"] == "format=csv"
    assert first["status"] == 200
    assert first["bytes"] == len(body)
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] >= 0
    assert str(first["time"]).endswith("+00:00")
    assert second["status"] == 400
    assert second["request_id"] != "req-1"
    assert requestlog.WELL_FORMED.fullmatch(str(second["request_id"]))


def test_the_access_log_masks_tokens_in_the_path_and_the_query(client, access_lines):
    secret = "parley_" + "s3cr3t" * 5
    client.get(f"/v1/talks?token={secret[7:]}&q=x", buffered=True)
    client.get(f"/v1/talks?q={secret}", buffered=True)
    client.get(f"/v1/{secret}", buffered=True)
    logged = json.dumps(access_lines)
    assert secret not in logged
    assert secret[7:] not in logged
    assert len(access_lines) == 3
    assert access_lines[0]["query"] == "token=%5Bredacted%5D&q=x"


@pytest.fixture
def served_access_log() -> Iterator[None]:
    """Logging as ``parley serve`` sets it up, for the test's duration (the access log
    and the application's loggers, which it also configures)."""
    loggers = [logging.getLogger(name) for name in ("parley.access", "api", "exporters")]
    saved = [(lg.handlers[:], lg.filters[:], lg.level, lg.propagate) for lg in loggers]
    requestlog.configure_process_logging()
    try:
        yield
    finally:
        for logger, (handlers, filters, level, propagate) in zip(loggers, saved, strict=True):
            logger.handlers[:], logger.filters[:] = handlers, filters
            logger.setLevel(level)
            logger.propagate = propagate


def test_the_served_access_log_writes_a_line_directly_as_the_logger_would(
    served_access_log, capsys
):
    line = json.dumps({"path": "/v1/talks", "status": 200})
    requestlog.write_access_line(line)
    direct = capsys.readouterr().out
    requestlog.access_logger.info(line)
    assert direct == capsys.readouterr().out == line + "\n"


def test_an_access_log_line_goes_through_the_loggers_filters_when_it_has_some(
    served_access_log, capsys
):
    requestlog.access_logger.addFilter(lambda record: "secret" not in record.getMessage())
    requestlog.write_access_line('{"path": "/v1/secret"}')
    requestlog.write_access_line('{"path": "/v1/talks"}')
    assert capsys.readouterr().out == '{"path": "/v1/talks"}\n'


def test_a_served_request_writes_one_access_line_to_standard_output(
    served_access_log, client, capsys
):
    client.get(f"{TALK}", headers={"X-Request-Id": "req-direct"}, buffered=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert (entry["request_id"], entry["path"], entry["status"]) == ("req-direct", TALK, 200)


def test_a_database_that_is_away_answers_503_with_retry_after(client, monkeypatch):
    from api.v1 import data

    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    monkeypatch.setattr(data, "data_revision", unreachable)
    response = client.get("/v1/talks")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["status"] == 503


def test_the_document_gives_every_limited_operation_its_429_and_every_database_one_503():
    from api.openapi import build_spec

    paths = build_spec()["paths"]
    limited = database = 0
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for response in responses.values():
                assert "X-Request-Id" in response["headers"], (path, method)
            exports = any(p["name"] == "format" for p in operation.get("parameters", []))
            if method != "get" or exports:
                limited += 1
                assert set(responses["429"]["headers"]) >= {
                    "Retry-After",
                    "RateLimit",
                    "RateLimit-Policy",
                }, (path, method)
            else:
                assert "429" not in responses, (path, method)
            if path.startswith("/v1/talks") or path in ("/", "/v1/changes"):
                database += 1
                assert "Retry-After" in responses["503"]["headers"], (path, method)
    # /docs touches neither the database nor a limit (its only refusal is a query string
    # that is not UTF-8, which every operation documents).
    assert paths["/docs"]["get"]["responses"].keys() == {"200", "400"}
    assert limited > 0
    assert database > 0


def test_an_export_whose_database_fails_is_a_503_not_an_exporter_failure(client, monkeypatch):
    from api.v1 import negotiation

    def failing(_chunks):
        # As the real one: a generator, failing when its first chunk is asked for.
        yield from ()
        raise OperationalError("SELECT", {}, ConnectionResetError("reset"))

    monkeypatch.setattr(negotiation, "_encoded", failing)
    response = client.get("/v1/talks.csv")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


class LostConnection:
    """A driver connection whose cursors fail as the driver does when the server is gone."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def cursor(self) -> LostConnection:
        return self

    def execute(self, *_args: object) -> None:
        raise self.error

    def close(self) -> None:
        pass


def test_a_driver_error_on_a_fast_read_path_is_a_503(client, monkeypatch):
    from api import prepared

    dialect = parley(client.application).engine.dialect
    lost = LostConnection(dialect.loaded_dbapi.OperationalError("the connection is lost"))
    monkeypatch.setattr(prepared, "driver_connection", lambda _session: lost)
    response = client.get("/v1/talks/istanbul-talks")
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    # Served again at once: the failed connection did not go back to the pool poisoned.
    monkeypatch.undo()
    assert client.get("/v1/talks/istanbul-talks").status_code == 200


def test_a_session_whose_close_fails_on_a_lost_connection_is_logged_not_raised(caplog):
    from api import db

    class Closing:
        closed = 0

        def close(self) -> None:
            self.closed += 1
            raise OperationalError("ROLLBACK", {}, ConnectionResetError("reset"))

    session = Closing()
    with caplog.at_level(logging.WARNING, logger="api.db"):
        db.close_quietly(session)  # type: ignore[arg-type]
    assert session.closed == 1
    assert "closing a session failed: ConnectionResetError" in caplog.text
