"""The worker timeout's backstop: which requests count as stuck, and when, and which
make the progress a sync worker reports to gunicorn on their behalf.

The whole path (a hanging exporter under gunicorn, the worker replaced; a long
export making progress, kept) is tested against a real server in
test_plugin_http.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.watchdog import RequestWatchdog

TIMEOUT = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Body:
    """A response body that makes its chunks as the clock says, and records its close."""

    def __init__(self, clock: Clock, chunk_seconds: list[float]) -> None:
        self.clock = clock
        self.chunk_seconds = chunk_seconds
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for seconds in self.chunk_seconds:
            self.clock.now += seconds
            yield b"chunk"

    def close(self) -> None:
        self.closed = True


def app_returning(body, view_seconds: float = 0.0, clock: Clock | None = None):
    def app(environ, start_response):
        if clock is not None:
            clock.now += view_seconds
        start_response("200 OK", [])
        return body

    return app


ENVIRON = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/talks.csv"}


def start_response(status, headers):
    return None


def test_a_request_making_its_chunks_in_time_is_never_overdue():
    clock = Clock()
    body = Body(clock, [TIMEOUT - 1] * 5)
    watchdog = RequestWatchdog(app_returning(body), TIMEOUT, clock)
    response = watchdog(ENVIRON, start_response)
    for _chunk in response:
        assert watchdog.overdue() == []
    response.close()
    assert body.closed


def test_time_spent_writing_to_a_slow_client_does_not_count():
    clock = Clock()
    body = Body(clock, [1.0, 1.0])
    watchdog = RequestWatchdog(app_returning(body), TIMEOUT, clock)
    response = watchdog(ENVIRON, start_response)
    next(response)
    clock.now += 10 * TIMEOUT  # the server is blocked sending the chunk
    assert watchdog.overdue() == []
    assert watchdog.in_flight() == 1


def test_a_request_stuck_inside_the_view_is_overdue_and_named():
    clock = Clock()
    watchdog = RequestWatchdog(app_returning([b"{}"]), TIMEOUT, clock)

    def stuck_app(environ, start_response):
        clock.now += TIMEOUT + 1
        assert watchdog.overdue() == [f"GET /v1/talks.csv busy for {TIMEOUT + 1:.1f} s"]
        return [b"{}"]

    watchdog.app = stuck_app
    watchdog(ENVIRON, start_response).close()
    assert watchdog.overdue() == []


def test_a_request_stuck_making_a_chunk_is_overdue():
    clock = Clock()
    watchdog = RequestWatchdog(app_returning([]), TIMEOUT, clock)

    def chunks():
        yield b"first"
        clock.now += TIMEOUT + 0.5
        assert len(watchdog.overdue()) == 1
        yield b"late"

    watchdog.app = app_returning(chunks())
    response = watchdog(ENVIRON, start_response)
    assert list(response) == [b"first", b"late"]


def test_a_body_closed_before_it_is_read_is_closed_and_forgotten():
    clock = Clock()
    body = Body(clock, [1.0])
    watchdog = RequestWatchdog(app_returning(body), TIMEOUT, clock)
    response = watchdog(ENVIRON, start_response)
    assert watchdog.in_flight() == 1
    response.close()
    assert body.closed
    assert watchdog.in_flight() == 0


def test_a_view_that_raises_is_forgotten():
    clock = Clock()

    def failing(environ, start_response):
        raise RuntimeError("boom")

    watchdog = RequestWatchdog(failing, TIMEOUT, clock)
    with pytest.raises(RuntimeError):
        watchdog(ENVIRON, start_response)
    assert watchdog.in_flight() == 0


def test_files_sent_as_they_are_pass_through_unwrapped():
    class FileWrapper:
        def __init__(self, data):
            self.data = data

    sent = FileWrapper(b"asset")
    watchdog = RequestWatchdog(app_returning(sent), TIMEOUT, Clock())
    response = watchdog({**ENVIRON, "wsgi.file_wrapper": FileWrapper}, start_response)
    assert response is sent
    assert watchdog.in_flight() == 0


# Progress: what a sync worker's watchdog reports to gunicorn's arbiter on the
# request's behalf (gunicorn kills a sync worker that reports nothing for the timeout).


def test_no_request_in_flight_is_no_progress_to_report():
    watchdog = RequestWatchdog(app_returning([b"{}"]), TIMEOUT, Clock())
    assert not watchdog.progressing()


def test_a_request_making_its_chunks_in_time_is_progressing_for_as_long_as_it_takes():
    clock = Clock()
    body = Body(clock, [TIMEOUT - 1] * 5)  # 45 s in all, far past the timeout
    watchdog = RequestWatchdog(app_returning(body), TIMEOUT, clock)
    response = watchdog(ENVIRON, start_response)
    for _chunk in response:
        clock.now += 1  # sent at once
        assert watchdog.progressing()
    response.close()
    assert not watchdog.progressing()


def test_a_view_busy_past_the_timeout_is_no_longer_progressing():
    clock = Clock()
    watchdog = RequestWatchdog(app_returning([b"{}"]), TIMEOUT, clock)
    seen = []

    def slow_view(environ, start_response):
        clock.now += TIMEOUT - 1
        seen.append(watchdog.progressing())
        clock.now += 2
        seen.append(watchdog.progressing())
        return [b"{}"]

    watchdog.app = slow_view
    watchdog(ENVIRON, start_response).close()
    assert seen == [True, False]


def test_a_client_that_stops_reading_stops_the_progress_without_being_overdue():
    clock = Clock()
    body = Body(clock, [1.0, 1.0])
    watchdog = RequestWatchdog(app_returning(body), TIMEOUT, clock)
    response = watchdog(ENVIRON, start_response)
    next(response)
    clock.now += TIMEOUT - 1  # the server is still sending the chunk
    assert watchdog.progressing()
    clock.now += 2
    assert not watchdog.progressing()
    assert watchdog.overdue() == []
    next(response)  # sent at last: progress again
    assert watchdog.progressing()
