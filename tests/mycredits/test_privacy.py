"""Reasons typed by staff and import file names stay in the back-office: a customer's My
Credits history and statement CSV show neutral descriptions."""

from portal import credit, people, uploads

from ..conftest import ROLE_PASSWORD

SECRETS = (
    "late payer, do not raise",
    "risk review 2026",
    "goodwill after complaint",
    "hold lifted by the CFO",
    "limits-q4-internal.csv",
)


def test_customer_never_sees_staff_reasons(client, session, make_account, settings, login):
    settings(overdue_hold_days=0)
    account = make_account(limit="1000", email="buyer@shop.example")
    credit.change_limit(session, account.id, "800", actor="owner", reason=SECRETS[0])
    credit.change_tolerance(session, account.id, "0.1", actor="owner", reason=SECRETS[1])
    credit.adjust_balance(session, account.id, "25", actor="owner", reason=SECRETS[2])
    text = (
        "Email,Document,Document Type,Credit limit,Tolerance rate\n"
        f"buyer@shop.example,{account.document},CPF,900,0.1\n"
    )
    batch, _ = uploads.preview_upload(session, "accounts", SECRETS[4], text.encode(), "owner")
    uploads.apply_batch(session, batch.id, "owner")
    user = people.create_user(session, account.email, "customer", actor="t", password=ROLE_PASSWORD)
    login(user=user)
    page = client.get("/my-credits").get_data(as_text=True)
    statement = client.get(f"/my-credits/statement.csv?account={account.id}").get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in page and secret not in statement, secret
    assert "Credit limit changed" in page and "Balance adjusted by the store" in page
    assert statement.count("Credit limit changed") == 3  # opening, change, import


def test_staff_still_see_the_reasons(client, session, make_account, login):
    account = make_account(limit="1000")
    credit.change_limit(session, account.id, "800", actor="owner", reason=SECRETS[0])
    login("support")
    assert SECRETS[0] in client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
