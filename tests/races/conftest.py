"""Races over HTTP: the portal served by a threaded server, hit by real threads at once.

`served` serves the test's `app` (each engine) on 127.0.0.1; `race(calls)` releases one
thread per call together and returns their (status, JSON) answers in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import requests
from werkzeug.serving import make_server

from portal import people


@pytest.fixture
def served(app) -> Iterator[str]:
    """The base URL of the test's app, served by a threaded server in this process."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="race-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def key_headers(session) -> dict[str, str]:
    """Headers of an API key holding every scope."""
    key, token = people.create_api_key(session, "race", list(people.SCOPES), actor="test")
    return {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}


def race(calls: list[Callable[[requests.Session], requests.Response]]) -> list[tuple[int, dict]]:
    """Run each call in its own thread, released together; (status, JSON or {}) per call."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(i: int) -> None:
        with requests.Session() as http:
            barrier.wait()
            try:
                response = calls[i](http)
            except Exception as error:  # reported in the answer, not lost in the thread
                answers[i] = (0, {"exception": repr(error)})
                return
            try:
                body = response.json()
            except ValueError:
                body = {"text": response.text[:500]}
            answers[i] = (response.status_code, body)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return answers
