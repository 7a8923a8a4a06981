"""Four applies of one import at the same moment (a double click, retries): one applies."""

from decimal import Decimal

from sqlalchemy import select

from portal import credit
from portal.models import ImportBatch, Invoice

from .conftest import race


def test_concurrent_applies_of_a_payments_file_pay_once(
    app, session, make_account, purchase, served, key_headers
):
    account = make_account(limit="10000")
    hold = purchase(account, "300", term="30/60/90")
    ids, account_id = [f"{hold.id}-0{n}" for n in (1, 2, 3)], account.id
    text = "Invoice id,Paid amount\n" + "".join(f"{i},40\n" for i in ids)
    uploaded = app.test_client().post(
        "/api/portal/imports/invoices", data=text.encode(), headers=key_headers
    )
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    batch_id = uploaded.get_json()["id"]

    def apply(http):
        return http.post(f"{served}/api/portal/imports/{batch_id}/apply", headers=key_headers)

    answers = race([apply] * 4)
    session.rollback()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 409, 409, 409], answers
    assert {b["error"]["code"] for status, b in answers if status == 409} == {"already_applied"}
    paid = session.scalars(select(Invoice.paid_amount).where(Invoice.id.in_(ids))).all()
    assert paid == [Decimal("40.00")] * 3
    assert credit.get_account(session, account_id).balance == Decimal("9820.00")
    assert session.get(ImportBatch, batch_id).status == "applied"
    assert credit.find_breaches(session) == []
