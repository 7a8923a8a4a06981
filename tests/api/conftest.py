"""Fixtures for the JSON API: keys with scopes, and a client that sends them."""

from __future__ import annotations

import pytest

from portal import people

BASE = "/api/creditcontrol"


def key_headers(key, token: str) -> dict[str, str]:
    """The authentication headers of an API key."""
    return {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}


@pytest.fixture
def api_key(session):
    """An API key with every scope: (ApiKey, token)."""
    return people.create_api_key(session, "test", list(people.SCOPES), actor="test")


@pytest.fixture
def headers(api_key) -> dict[str, str]:
    """Headers authenticating with the all-scopes key."""
    return key_headers(*api_key)


@pytest.fixture
def scoped_headers(session):
    """Headers of a new key with only the given scopes: scoped_headers("invoices:read")."""

    def make(*scopes: str) -> dict[str, str]:
        return key_headers(*people.create_api_key(session, "scoped", list(scopes), actor="test"))

    return make


class Api:
    """The test client with authentication headers and the /api/creditcontrol prefix."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def call(self, method: str, path: str, *, headers=None, **kwargs):
        url = path if path.startswith("/api/") else BASE + path
        return self.client.open(
            url, method=method, headers={**self.headers, **(headers or {})}, **kwargs
        )

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.call("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(client, headers) -> Api:
    """Call the API as the all-scopes key: api.get("/accounts/…")."""
    return Api(client, headers)


@pytest.fixture
def fresh(session):
    """Forget what the test's session has cached, to read what the requests wrote."""

    def reload(obj=None):
        session.rollback()
        session.expire_all()
        return obj

    return reload


def error_code(response) -> str:
    """The `code` of a JSON error response."""
    assert response.is_json, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]["code"]
