"""Opening an account above the store's default credit, or with a tolerance, is a limit
decision on every surface: owner in the back-office, the limit-changing scope in the API."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import people
from portal.models import Account

FORM = {
    "document_type": "CPF",
    "document": "529.982.247-25",
    "email": "new@shop.example",
    "name": "Shop",
}


@pytest.fixture(autouse=True)
def default_credit(settings):
    settings(default_credit_value="1000")


@pytest.mark.parametrize(
    ("role", "limit", "tolerance", "opened"),
    [
        ("finance", "1000.00", "0", True),  # the store's default: ordinary account work
        ("finance", "1000.01", "0", False),
        ("finance", "500", "5", False),  # any tolerance
        ("owner", "250000", "10", True),
    ],
)
def test_new_account_form(client, login, session, role, limit, tolerance, opened):
    login(role)
    data = {**FORM, "credit_limit": limit, "tolerance": tolerance}
    response = client.post("/admin/accounts/new", data=data)
    count = session.scalar(select(func.count()).select_from(Account))
    if opened:
        assert response.status_code == 302 and count == 1
    else:
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and count == 0
        assert "needs the owner role" in page


def test_api_opening_follows_the_scope_of_limit_changes(client, session):
    def headers(*scopes):
        key, token = people.create_api_key(session, "k", list(scopes), actor="t")
        return {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}

    body = {
        "document": "52998224725",
        "documentType": "CPF",
        "email": "api@shop.example",
        "creditLimit": "3000",
        "tolerance": "0.05",
    }
    refused = client.post(
        "/api/creditcontrol/accounts", json=body, headers=headers("accounts:read")
    )
    assert refused.status_code == 403
    opened = client.post(
        "/api/creditcontrol/accounts", json=body, headers=headers("accounts:write")
    )
    assert opened.status_code == 200, opened.get_data(as_text=True)
    assert session.get(Account, "52998224725_CPF").credit_limit == Decimal("3000.00")
