"""An import may do only what its user may do directly: each column × each role and scope.

A cell that changes a value needs the right of the direct operation making that change
(the same table the pages and the API use); a present column or an unchanged cell needs
nothing, so an exported file imports back unchanged for everyone who may import.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from portal import credit, people, uploads
from portal.credit.permissions import Grant
from portal.models import Account, Invoice

CPF_NEW = "39053344705"
ROLES = ("owner", "finance", "support")
SCOPE_SETS = {
    "accounts:write": ("accounts:write",),
    "invoices:pay": ("accounts:read", "invoices:pay"),
    "invoices:create": ("invoices:create",),
    "pay+create": ("invoices:pay", "invoices:create"),
}
# (column, what the cell does) -> who may: roles, and API scope sets
ACCOUNT_CASES = {
    ("Credit limit", "raise"): ({"owner"}, {"accounts:write"}),
    ("Tolerance rate", "set"): ({"owner"}, {"accounts:write"}),
    ("Email", "change"): ({"owner", "finance"}, {"accounts:write"}),
    ("Name", "change"): ({"owner", "finance"}, {"accounts:write"}),
    ("Dependents", "add"): ({"owner", "finance"}, {"accounts:write"}),
    ("Document", "open at the default credit"): ({"owner", "finance"}, {"accounts:write"}),
    ("Credit limit", "open above the default credit"): ({"owner"}, {"accounts:write"}),
    ("Tolerance rate", "open with a tolerance"): ({"owner"}, {"accounts:write"}),
}
INVOICE_CASES = {
    ("Status", "Paid"): ({"owner", "finance"}, {"invoices:pay", "invoices:create", "pay+create"}),
    ("Status", "Cancelled"): ({"owner", "finance"}, {"invoices:create", "pay+create"}),
    ("Status", "Opened"): ({"owner", "finance"}, {"invoices:create", "pay+create"}),
    ("Paid amount", "40"): (
        {"owner", "finance"},
        {"invoices:pay", "invoices:create", "pay+create"},
    ),
    ("Payment link", "https://pay.example/x"): (
        {"owner", "finance"},
        {"invoices:create", "pay+create"},
    ),
    ("Observation", "paid by Pix"): ({"owner", "finance"}, {"invoices:create", "pay+create"}),
}
GRANTS = {
    **{("role", role): Grant.for_role(role) for role in ROLES},
    **{("scope", name): Grant.for_scopes(scopes) for name, scopes in SCOPE_SETS.items()},
}


@pytest.fixture
def account(session, make_account, settings):
    settings(default_credit_value="500")
    return make_account(limit="500", email="main@example.com", name="ACME")


def _account_file(account, case) -> str:
    header = "Email,Document,Document Type,Credit limit,Tolerance rate,Name,Dependents\n"
    row = {
        "Email": account.email,
        "Document": account.document,
        "Limit": "500",
        "Tolerance": "0",
        "Name": "ACME",
        "Dependents": "",
    }
    column, action = case
    if action.startswith("open"):
        row.update(Email="new@example.com", Document=CPF_NEW, Name="New")
        if "above" in action:
            row["Limit"] = "501"
        elif "tolerance" in action:
            row["Tolerance"] = "0.05"
    elif column == "Credit limit":
        row["Limit"] = "2500"
    elif column == "Tolerance rate":
        row["Tolerance"] = "0.1"
    elif column == "Email":
        row["Email"] = "other@example.com"
    elif column == "Name":
        row["Name"] = "ACME Ltda"
    elif column == "Dependents":
        row["Dependents"] = "kid@example.com"
    values = [row[k] for k in ("Email", "Document")] + ["CPF"]
    values += [row[k] for k in ("Limit", "Tolerance", "Name", "Dependents")]
    return header + ",".join(values) + "\n"


@pytest.mark.parametrize("case", list(ACCOUNT_CASES), ids=lambda c: f"{c[0]}-{c[1]}")
def test_account_columns_need_the_right_of_the_direct_change(session, account, case):
    roles, scopes = ACCOUNT_CASES[case]
    for (kind, who), grant in GRANTS.items():
        allowed = who in (roles if kind == "role" else scopes)
        _, plan = uploads.preview_upload(
            session, "accounts", "a.csv", _account_file(account, case).encode(), "t", grant=grant
        )
        (row,) = plan.rows
        if allowed:
            assert row.action in ("create", "update"), (case, who, row.errors)
        else:
            assert row.action == "rejected", (case, who)
            assert row.errors[0][0] == case[0], (case, who, row.errors)
            assert "needs the" in row.errors[0][1]


@pytest.fixture
def invoice(session, account, purchase):
    hold = purchase(account, "300", term="30/60/90")
    return session.get(Invoice, f"{hold.id}-01")


def _invoice_file(invoice, case) -> tuple[str, str]:
    column, value = case
    if value == "Opened":  # reopening: the invoice is paid first
        credit.pay_invoice(
            invoice._sa_instance_state.session, invoice.account_id, invoice.id, actor="t"
        )
    return f"Invoice id,{column}\n{invoice.id},{value}\n", column


@pytest.mark.parametrize("case", list(INVOICE_CASES), ids=lambda c: f"{c[0]}-{c[1]}")
def test_invoice_columns_need_the_right_of_the_direct_change(session, invoice, case):
    roles, scopes = INVOICE_CASES[case]
    text, column = _invoice_file(invoice, case)
    for (kind, who), grant in GRANTS.items():
        allowed = who in (roles if kind == "role" else scopes)
        _, plan = uploads.preview_upload(
            session, "invoices", "i.csv", text.encode(), "t", grant=grant
        )
        (row,) = plan.rows
        if allowed:
            assert row.action == "update", (case, who, row.errors)
        else:
            assert row.action == "rejected", (case, who)
            assert row.errors[0][0] == column and "needs the" in row.errors[0][1]


def test_unchanged_cells_need_nothing_for_a_narrow_key(session, invoice):
    grant = Grant.for_scopes(SCOPE_SETS["invoices:pay"])
    text = (
        "Invoice id,Status,Payment link,Observation,Paid amount\n"
        f"{invoice.id},Opened,,,0.00\n"  # every column present, every cell as it is
    )
    _, plan = uploads.preview_upload(
        session, "invoices", "same.csv", text.encode(), "t", grant=grant
    )
    assert plan.counts == {"create": 0, "update": 0, "unchanged": 1, "rejected": 0}, plan.rows


def test_apply_checks_the_rights_again_against_the_locked_row(session, account):
    """A row unchanged at preview but changing at apply (an owner moved the limit meanwhile)
    is refused for finance rather than quietly moving the limit back."""
    text = _account_file(account, ("Document", "as it is"))
    batch, plan = uploads.preview_upload(
        session, "accounts", "a.csv", text.encode(), "f", grant=Grant.for_role("finance")
    )
    assert plan.counts["unchanged"] == 1
    credit.change_limit(session, account.id, "900", actor="owner", reason="raised")
    with pytest.raises(credit.CreditError) as refused:
        uploads.apply_batch(session, batch.id, "f", grant=Grant.for_role("finance"))
    assert refused.value.code == "rows_rejected"  # classified again when applied
    assert credit.get_account(session, account.id).credit_limit == Decimal("900.00")


# --- the same rule through the surfaces -----------------------------------------------------


def test_finance_cannot_raise_a_limit_through_the_back_office(client, login, session, account):
    login("finance")
    text = _account_file(account, ("Credit limit", "raise")).replace("2500", "1000000")
    text = text.replace(",0,ACME", ",10,ACME")  # and 1000 % tolerance
    data = {"kind": "accounts", "file": (io.BytesIO(text.encode()), "limits.csv")}
    response = client.post("/admin/imports", data=data, content_type="multipart/form-data")
    batch_id = int(response.location.rsplit("/", 1)[1])
    page = client.get(response.location).get_data(as_text=True)
    assert "needs the owner role" in page
    client.post(f"/admin/imports/{batch_id}/apply", data={"only_valid": "y"})
    account = session.get(Account, account.id, populate_existing=True)
    assert (account.credit_limit, account.tolerance) == (Decimal("500.00"), Decimal("0"))


def test_a_pay_only_key_cannot_cancel_or_relink_through_an_import(client, session, invoice):
    key, token = people.create_api_key(session, "erp", list(SCOPE_SETS["invoices:pay"]), actor="t")
    headers = {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}
    text = f"Invoice id,Status,Payment link\n{invoice.id},Cancelled,https://evil.example/pay\n"
    uploaded = client.post("/api/portal/imports/invoices", data=text.encode(), headers=headers)
    assert uploaded.status_code == 201
    body = uploaded.get_json()
    assert body["counts"]["rejected"] == 1 and "invoices:create" in body["rejected"][0]["reason"]
    applied = client.post(
        f"/api/portal/imports/{body['id']}/apply", json={"onlyValid": True}, headers=headers
    )
    assert applied.status_code == 200
    fresh = session.get(Invoice, invoice.id, populate_existing=True)
    assert (fresh.status, fresh.payment_link) == ("Opened", "")
