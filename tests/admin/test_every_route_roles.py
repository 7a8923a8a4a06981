"""Every back-office route, whatever its arguments: customers and anonymous visitors are
kept out, support staff can read but every write is refused."""

import re

import pytest

from portal import people

from ..conftest import POSTGRES_ONLY


def _admin_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)  # first choice of any(…)
        path = re.sub(r"<int[^>]*>", "1", path)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, path


def test_routes_are_found(app):
    routes = list(_admin_routes(app))
    assert len(routes) >= 30, routes


@POSTGRES_ONLY
@pytest.mark.parametrize("role", ["anonymous", "customer", "support"])
def test_every_admin_route_checks_the_role(app, client, login, make_account, session, role):
    if role == "customer":
        account = make_account(email="cust@routes.example")
        login(
            user=people.create_user(
                session, account.email, "customer", actor="t", password="correct-horse-battery"
            )
        )
    elif role == "support":
        login("support")
    for method, path in _admin_routes(app):
        response = client.open(path, method=method, data={})
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.location, (method, path)
        elif role == "customer" or method != "GET":
            assert response.status_code == 403, (role, method, path, response.status_code)
        else:
            assert response.status_code in (200, 403, 404), (method, path)
