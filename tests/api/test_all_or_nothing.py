"""A refused request writes nothing: every part of a composite change, or none of it."""

from decimal import Decimal

import pytest

from portal import credit


@pytest.mark.parametrize(
    "bad",
    [{"creditLimit": "abc"}, {"creditLimit": "-5"}, {"tolerance": "11"}, {"reason": "x" * 501}],
)
def test_a_refused_account_update_changes_nothing(api, session, make_account, bad):
    account = make_account(limit="1000", email="before@example.com", description="old")
    body = {"email": "after@example.com", "description": "new", "creditLimit": "2000", **bad}
    response = api.put(f"/accounts/{account.id}", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    session.expire_all()
    fresh = credit.get_account(session, account.id)
    assert (fresh.email, fresh.description) == ("before@example.com", "old")
    assert fresh.credit_limit == Decimal("1000.00") and fresh.holders[0].email == fresh.email


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        ("/accounts/{id}", "description", {"description": "d" * 501}),
        ("/accounts/{id}", "reason", {"creditLimit": "5", "reason": "r" * 501}),
        ("/accounts/{id}/creditlimit", "reason", {"value": "5", "reason": "r" * 501}),
        ("/accounts/{id}/transactions", "orderId", {"value": "5", "orderId": "o" * 65}),
        ("/accounts/{id}/statements/S1", "reason", {"value": "5", "reason": "r" * 501}),
    ],
)
def test_text_longer_than_its_column_is_refused_naming_the_field(
    api, make_account, path, field, body
):
    account = make_account(limit="1000")
    method = api.post if path.endswith("transactions") else api.put
    response = method(path.format(id=account.id), json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["field"] == field and "longer than" in error["message"]


def test_long_account_name_is_refused_not_cut(api):
    body = {
        "document": "52998224725",
        "documentType": "CPF",
        "email": "n@example.com",
        "creditLimit": "0",
        "name": "N" * 201,
    }
    response = api.post("/accounts", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "name"
    assert api.get("/accounts/52998224725_CPF").status_code == 404
