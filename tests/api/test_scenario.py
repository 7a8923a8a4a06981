"""End to end over HTTP: open, pre-authorize in 3 installments, settle, list, pay, reconcile."""

from decimal import Decimal

from portal import credit


def _number(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_purchase_on_credit_from_account_to_payment(api, session):
    opened = api.post(
        "/accounts",
        json={
            "document": "11.222.333/0001-81",
            "documentType": "CNPJ",
            "email": "erp@store.example",
            "creditLimit": "5000",
            "description": "",
            "tolerance": "0",
        },
        headers={"Idempotency-Key": "open-1"},
    )
    assert opened.status_code == 200, opened.data
    account_id = opened.get_json()["id"]
    assert account_id == "11222333000181_CNPJ"

    hold = api.post(
        f"/accounts/{account_id}/transactions",
        json={"value": 1000.00, "settle": True, "installments": 3, "orderId": "ORD-77"},
        headers={"Idempotency-Key": "buy-1"},
    ).get_json()
    account = api.get(f"/accounts/{account_id}").get_json()
    assert (account["preAuthorizedCredit"], account["availableBalance"]) == (1000, 4000)

    settled = api.put(
        f"/accounts/{account_id}/transactions/{hold['id']}/settlement", json={"value": 1000.00}
    )
    assert settled.get_json() == {"value": 1000, "id": hold["id"], "status": "Settled"}

    listed = api.get(f"/invoices?creditAccountId={account_id}&sort=dueDate").get_json()
    invoices = listed["data"]
    assert [i["value"] for i in invoices] == [333.34, 333.33, 333.33]
    assert [i["installment"] for i in invoices] == [1, 2, 3]
    assert {i["orderId"] for i in invoices} == {"ORD-77"}
    assert listed["summary"]["total"] == 1000

    paid = api.post(
        f"/accounts/{account_id}/invoices/{invoices[0]['id']}/payments",
        headers={"Idempotency-Key": "pay-1"},
    )
    assert paid.get_json()["status"] == "Paid"

    account = api.get(f"/accounts/{account_id}").get_json()
    assert (account["balance"], account["preAuthorizedCredit"]) == (-666.66, 0)
    assert account["availableCredit"] == 4333.34
    statements = api.get(f"/accounts/{account_id}/statements").get_json()
    total = sum(_number(s["value"]) for s in statements["statements"])
    assert total == _number(statements["currentBalance"]) == _number(account["balance"])
    assert [s["origin"] for s in statements["statements"]] == [
        "Invoice",
        "Invoice",
        "Invoice",
        "Payment",
    ]
    summary = api.get(f"/accounts/{account_id}/invoices").get_json()["summary"]
    assert summary == {
        "count": 3,
        "total": 666.66,
        "totalPaid": 333.34,
        "totalCancelled": 0,
        "totalOverdue": 0,
        "countOverdue": 0,
    }
    session.rollback()
    assert credit.find_breaches(session) == []
