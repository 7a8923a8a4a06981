"""The preview tells everything at once: every bad cell of a row with its column's label,
what each update changes (now → in the file), the new accounts, and an Apply button that
says what it will do. A file imported again after it was applied changes nothing.
"""

from __future__ import annotations

import html
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, imports, people, uploads
from portal.admin.imports import apply_label
from portal.credit import bulk
from portal.models import Account, ImportBatch, Invoice

from ..conftest import _cpf

ACCOUNT_HEADER = "Email,Document,Document Type,Credit limit,Tolerance rate,Name,Dependents\n"
CPF_A, CPF_B, CPF_C = _cpf(300000001), _cpf(300000002), _cpf(300000003)
# An internal field name (credit_limit, document_type, paid_amount…) in a message.
INTERNAL_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def _clean(text: str, kind: str = "accounts") -> dict[int, bulk.RowResult]:
    table = imports.read_table(text.encode(), kind)
    return {result.row: result for result in bulk.clean(kind, table.rows)}


def _preview(session, text: str, kind: str = "accounts", **kwargs):
    return uploads.preview_upload(session, kind, f"{kind}.csv", text.encode(), "t", **kwargs)


def _upload(client, text: str, kind: str = "accounts"):
    data = {"kind": kind, "file": (io.BytesIO(text.encode()), f"{kind}.csv")}
    response = client.post("/admin/imports", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


# --- every error of a row, with the column's label -----------------------------------------


def test_every_bad_cell_of_a_row_is_reported_with_its_label():
    results = _clean(ACCOUNT_HEADER + "not-an-email,52998224724,CPF,2.500,0.1,ACME,\n")
    (result,) = results.values()
    assert result.action == "rejected"
    assert [column for column, _ in result.errors] == ["Document", "Email", "Credit limit"]
    reasons = dict(result.errors)
    assert reasons["Email"] == "not-an-email is not a valid e-mail."
    assert reasons["Document"] == "52998224724 is not a valid CPF."
    assert "Credit limit" in reasons["Credit limit"] and "decimals" in reasons["Credit limit"]


def test_empty_and_out_of_range_cells_say_what_to_write():
    text = ACCOUNT_HEADER + f",{CPF_A},RG,,11,{'x' * 201},kid@example.com;bad@;x@example.com\n"
    (result,) = _clean(text).values()
    assert result.errors == [
        ("Document Type", "Document type must be CPF, CNPJ or Other."),
        ("Email", "enter an e-mail address such as buyer@example.com."),
        ("Credit limit", "enter an amount such as 2,500.00."),
        ("Tolerance rate", "Tolerance rate must be between 0 and 10."),
        ("Name", "Name is longer than 200 characters (201)."),
        ("Dependents", "bad@ is not a valid e-mail."),
    ]


def test_a_duplicate_is_named_even_when_the_first_row_is_rejected_too():
    text = ACCOUNT_HEADER + f"a@example.com,{CPF_A},CPF,-1,0,,\nb@example.com,{CPF_A},CPF,1,0,,\n"
    results = _clean(text)
    assert results[2].errors == [("Credit limit", "Credit limit must not be negative.")]
    assert results[3].errors == [
        ("Document", "The same account appears twice in the file (row 2).")
    ]


def test_every_bad_cell_of_an_invoice_row(session, make_account, purchase):
    header = "Invoice id,Status,Payment link,Observation,Paid amount\n"
    (result,) = _clean(header + ",Late,ftp://x,,1O\n", "invoices").values()
    assert [column for column, _ in result.errors] == ["Invoice id", "Status", "Paid amount"]
    assert dict(result.errors)["Status"] == 'Unknown status "Late": use Open, Paid or Cancelled.'
    hold = purchase(make_account(limit="1000"), "100")
    text = header + f"{hold.id}-01,,ftp://x,{'o' * 1001},100.01\n"
    _, plan = _preview(session, text, "invoices")
    assert plan.rows[0].errors == [
        ("Paid amount", "Paid amount cannot be more than the invoice's value (100.00)."),
        ("Payment link", "A payment link must start with https://."),
        ("Observation", "The observation is longer than 1000 characters."),
    ]


def _corpus(session, make_account, purchase) -> list[str]:
    """The reasons of a file of every mistake we know, of both kinds, through the database."""
    taken = make_account(email="taken@example.com")
    make_account(email="owner@example.com", document=CPF_C)
    account = make_account(limit="1000")
    hold = purchase(account, "300", term="30/60/90")
    first, second, third = (f"{hold.id}-0{n}" for n in (1, 2, 3))
    credit.pay_invoice(session, account.id, second, actor="t")
    credit.cancel_invoice(session, account.id, third, actor="t")
    accounts = ACCOUNT_HEADER + "".join(
        [
            "not-an-email,52998224724,CPF,abc,-0.1,,\n",
            f",{CPF_A},XX,,10%,{'n' * 201},bad@@x\n",
            f"same@example.com,{CPF_B},CPF,5O00,0,,same@example.com\n",
            f"taken@example.com,{CPF_A},CPF,100,0,,\n",
            f"owner@example.com,{taken.document},CPF,100,0,,\n",
            f"a@example.com,{CPF_B},CPF,1.234.5,0,,\n",
            f"b@example.com,{CPF_B},Other,1,2,,\n",
            "c@example.com,1/2,Other,1 500,1e5,,\n",
            f"a@example.com,{CPF_B},CPF,,,,\n",
        ]
    )
    invoices = "Invoice id,Friendly id,Status,Payment link,Observation,Paid amount\n" + "".join(
        [
            ",,Late,javascript:x,,abc\n",
            "NOPE-01,,Paid,,,\n",
            f"{first},,,,,500\n",
            f"{first},,Paid,,,10\n",
            f"{second},,,,,10\n",
            f"{second},,Cancelled,,,100\n",
            f"{third},,Opened,,,50\n",
            f"{third},,,,,-1\n",
            f"{first},,,ftp://x,{'o' * 1001},\n",
        ]
    )
    messages = []
    for kind, text in (("accounts", accounts), ("invoices", invoices)):
        for grant in (credit.permissions.EVERYTHING, credit.permissions.Grant.for_role("support")):
            _, plan = _preview(session, text, kind, grant=grant)
            assert plan.rejected
            messages += [
                f"{column}: {reason}" for r in plan.rejected for column, reason in r.errors
            ]
    return messages


def test_no_message_names_an_internal_field(session, make_account, purchase):
    messages = _corpus(session, make_account, purchase)
    assert len(messages) > 30
    named = [m for m in messages if INTERNAL_NAME.search(m)]
    assert named == []
    columns = set(imports.ACCOUNT_TEMPLATE) | set(imports.INVOICE_TEMPLATE)
    assert {m.split(":")[0] for m in messages} <= columns


# --- the preview page ------------------------------------------------------------------------


def _text(page: str) -> str:
    """The page's text as a person sees it: no tags, no text for screen readers only."""
    seen = re.sub(r'<span class="visually-hidden">[^<]*</span>', "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", seen)).split())


def _row(page: str, table: str, row: int) -> str:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    match = re.search(rf'<tr data-row="{row}">(.*?)</tr>', body, re.S)
    assert match, (table, row)
    return _text(match.group(1))


def test_the_preview_shows_old_and_new_values_creates_and_every_error(
    client, login, session, make_account
):
    account = make_account(limit="1000", tolerance="0.05", email="old@example.com", name="ACME")
    same = make_account(limit="10", email="same@example.com", name="Same")
    text = ACCOUNT_HEADER + "".join(
        [
            f"new@example.com,{account.document},CPF,2500,0.125,ACME Ltda,kid@example.com\n",
            f"fresh@example.com,{CPF_A},CPF,300,0,Fresh,\n",
            "not-an-email,52998224724,CPF,-5,0,Bad,\n",
            f"same@example.com,{same.document},CPF,10,0,Same,\n",
        ]
    )
    login("owner")
    page = client.get(_upload(client, text)).get_data(as_text=True)
    update = _row(page, "update-rows", 2)
    assert "Credit limit : R$1,000.00 → R$2,500.00" in update
    assert "Tolerance rate : 5% → 12.5%" in update
    assert "Name : ACME → ACME Ltda" in update
    assert "Email : old@example.com → new@example.com" in update
    assert "Dependents : adds kid@example.com" in update
    assert account.document in update
    created = _row(page, "create-rows", 3)
    assert created.startswith(f"3 {CPF_A} CPF fresh@example.com Fresh ")
    assert created.endswith("R$300.00 0%")  # the credit limit and tolerance columns
    rejected = _row(page, "rejected-rows", 4)
    assert "Document : 52998224724 is not a valid CPF." in rejected
    assert "Email : not-an-email is not a valid e-mail." in rejected
    assert "Credit limit : Credit limit must not be negative." in rejected
    assert 'data-count="rejected">1<' in page
    assert "1 row changes nothing and is not listed." in page and 'data-row="5"' not in page


def test_an_invoice_update_shows_its_changes(client, login, session, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "100")
    invoice_id = f"{hold.id}-01"
    text = f"Invoice id,Paid amount,Observation\n{invoice_id},40,by Pix\n"
    login("finance")
    page = client.get(_upload(client, text, "invoices")).get_data(as_text=True)
    update = _row(page, "update-rows", 2)
    assert invoice_id in update
    assert "Paid amount : R$0.00 → R$40.00" in update and "Observation : empty → by Pix" in update


def test_large_files_show_the_first_rows_of_each_kind(
    client, login, session, monkeypatch, make_account
):
    monkeypatch.setattr("portal.admin.imports.PREVIEW_ROWS", 2)
    text = ACCOUNT_HEADER + "".join(
        f"u{n}@example.com,{_cpf(310000000 + n)},CPF,{'-1' if n % 2 else '0'},0,,\n"
        for n in range(6)
    )
    login("finance")
    location = _upload(client, text)
    page = client.get(location).get_data(as_text=True)
    assert page.count("<tr data-row=") == 4
    assert page.count("Showing the first 2 of 3 rows.") == 2
    batch_id = int(location.rsplit("/", 1)[1])
    rejected = client.get(f"/admin/imports/{batch_id}/rejected.csv")
    assert rejected.is_streamed and len(rejected.get_data(as_text=True).splitlines()) == 4


# --- the Apply button -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "only_valid", "label", "enabled"),
    [
        ((2, 1, 0), False, "Apply 3 changes", True),
        ((1, 0, 0), True, "Apply 1 change", True),
        ((1, 1, 1), True, "Apply 2 valid rows, skip 1 rejected", True),
        ((1, 0, 2), True, "Apply 1 valid row, skip 2 rejected", True),
        ((1, 1, 1), False, "Fix 1 rejected row to apply all-or-nothing", False),
        ((0, 0, 3), False, "Fix 3 rejected rows to apply all-or-nothing", False),
    ],
)
def test_the_apply_label(app, counts, only_valid, label, enabled):
    create, update, rejected = counts
    counts = {"create": create, "update": update, "unchanged": 4, "rejected": rejected}
    with app.test_request_context():
        assert apply_label(counts, only_valid) == (label, enabled)


def _apply_button(page: str) -> tuple[str, bool]:
    match = re.search(
        r'<button class="btn btn-primary" type="submit" id="apply-button" ?(\w*)>(.*?)</button>',
        page,
    )
    assert match, page
    return html.unescape(match.group(2)), match.group(1) != "disabled"


def test_the_apply_button_in_its_three_states_without_javascript(client, login, session):
    login("finance")
    good = ACCOUNT_HEADER + "".join(
        f"u{n}@example.com,{_cpf(320000000 + n)},CPF,0,0,,\n" for n in range(3)
    )
    page = client.get(_upload(client, good)).get_data(as_text=True)
    assert _apply_button(page) == ("Apply 3 changes", True)
    assert 'name="only_valid"' not in page
    bad = good.replace("u2@example.com,", "u2@,")
    location = _upload(client, bad)
    page = client.get(location).get_data(as_text=True)
    assert _apply_button(page) == ("Fix 1 rejected row to apply all-or-nothing", False)
    assert re.search(
        r'<input class="form-check-input" type="checkbox" id="only_valid" name="only_valid" '
        r'value="1" >',
        page,
    )
    ticked = client.get(f"{location}?only_valid=1").get_data(as_text=True)
    assert _apply_button(ticked) == ("Apply 2 valid rows, skip 1 rejected", True)
    assert (
        'value="1" checked>' in ticked
        and '<input type="hidden" name="only_valid" value="y">' in ticked
    )
    batch_id = int(location.rsplit("/", 1)[1])
    applied = client.post(
        f"/admin/imports/{batch_id}/apply", data={"only_valid": "y"}, follow_redirects=True
    )
    assert "Applied: 2 created" in applied.get_data(as_text=True)
    assert len(session.scalars(select(Account)).all()) == 2  # the first file was not applied


def test_a_refused_apply_comes_back_to_the_same_choice(client, login, session, make_account):
    account = make_account(limit="0", email="x@example.com")
    login("finance")
    text = ACCOUNT_HEADER + f"x@example.com,{account.document},CPF,0,0,,\nbad,{CPF_A},CPF,0,0,,\n"
    location = _upload(client, text)
    batch_id = int(location.rsplit("/", 1)[1])
    refused = client.post(f"/admin/imports/{batch_id}/apply")
    assert refused.location.endswith(f"/admin/imports/{batch_id}")
    page = client.get(refused.location).get_data(as_text=True)
    assert "1 row is rejected: fix it or apply only the valid rows." in page
    assert session.get(ImportBatch, batch_id).status == "previewed"


# --- imported again after apply: nothing changes, nothing is rejected -----------------------


def _apply_then_preview_again(session, text, kind):
    batch, plan = _preview(session, text, kind)
    assert not plan.rejected, [r.errors for r in plan.rejected]
    uploads.apply_batch(session, batch.id, "t")
    session.expire_all()
    _batch, again = _preview(session, text, kind)
    return plan, again


def test_an_accounts_file_imported_again_changes_nothing(session, make_account):
    account = make_account(limit="1000", email="old@example.com", name="ACME")
    text = ACCOUNT_HEADER + (
        f'new@example.com,{account.document},CPF,"2,500.00",12.5%,ACME Ltda,kid@example.com\n'
        f"fresh@example.com,{CPF_A},CPF,300,0,Fresh,a@example.com;b@example.com\n"
    )
    plan, again = _apply_then_preview_again(session, text, "accounts")
    assert plan.counts == {"create": 1, "update": 1, "unchanged": 0, "rejected": 0}
    assert again.counts == {"create": 0, "update": 0, "unchanged": 2, "rejected": 0}, again.rows


@pytest.fixture
def invoices(session, make_account, purchase):
    """Four open invoices of 100.00 each; the first already 40.00 paid."""
    account = make_account(limit="1000")
    hold = purchase(account, "400", term="30/60/90/120")
    ids = [f"{hold.id}-0{n}" for n in (1, 2, 3, 4)]
    credit.pay_invoice(session, account.id, ids[0], "40", actor="t")
    return ids


@pytest.mark.parametrize(
    ("header", "cells", "status", "paid"),
    [
        ("Paid amount", "60", "Opened", "60.00"),  # partly paid
        ("Status,Paid amount", "Opened,60", "Opened", "60.00"),
        ("Paid amount", "100", "Paid", "100.00"),  # paid up to the value: Paid
        ("Status,Paid amount", "Opened,100.00", "Paid", "100.00"),
        ("Status", "Paid", "Paid", "100.00"),
        ("Status,Paid amount", "Paid,100", "Paid", "100.00"),
        ("Status,Paid amount", "Paid,40.00", "Paid", "100.00"),  # an export, status edited
        ("Status", "Cancelled", "Cancelled", "40.00"),
        ("Status,Paid amount", "Cancelled,40.00", "Cancelled", "40.00"),
    ],
)
def test_an_invoices_file_imported_again_changes_nothing(
    session, invoices, header, cells, status, paid
):
    text = f"Invoice id,{header}\n{invoices[0]},{cells}\n"
    plan, again = _apply_then_preview_again(session, text, "invoices")
    assert plan.counts["update"] == 1
    invoice = session.get(Invoice, invoices[0])
    assert (invoice.status, invoice.paid_amount) == (status, Decimal(paid))
    assert again.counts == {"create": 0, "update": 0, "unchanged": 1, "rejected": 0}, again.rows
    assert credit.find_breaches(session) == []


def test_a_paid_invoice_reopened_by_a_file_stays_open_when_imported_again(session, invoices):
    account_id = session.get(Invoice, invoices[1]).account_id
    credit.pay_invoice(session, account_id, invoices[1], actor="t")
    for cells in ("Opened,", "Opened,0.00"):
        text = f"Invoice id,Status,Paid amount\n{invoices[1]},{cells}\n"
        if session.get(Invoice, invoices[1]).status == "Opened":
            credit.pay_invoice(session, account_id, invoices[1], actor="t")
        plan, again = _apply_then_preview_again(session, text, "invoices")
        assert plan.rows[0].changes == {"status": ("Paid", "Opened")}
        invoice = session.get(Invoice, invoices[1])
        assert (invoice.status, invoice.paid_amount) == ("Opened", Decimal("0.00"))
        assert again.counts["unchanged"] == 1, again.rows


@pytest.mark.parametrize(
    ("setup", "cells", "reason"),
    [
        (None, ",30", "Paid amount cannot be below what is already paid (40.00)."),
        (None, ",100.01", "Paid amount cannot be more than the invoice's value (100.00)."),
        (None, "Paid,70", "Status Paid means the whole value (100.00) is paid"),
        (None, "Paid,30", "Paid amount cannot be below what is already paid (40.00)."),
        (None, "Cancelled,50", "A cancelled invoice keeps its paid amount (40.00)."),
        ("cancel", ",50", "The invoice is cancelled: its paid amount (40.00) cannot change."),
        ("cancel", "Opened,50", "The invoice is cancelled: its paid amount (40.00) cannot change."),
        ("cancel", "Paid,50", "The invoice is cancelled: its paid amount (40.00) cannot change."),
        ("pay", ",40", "The invoice is paid: its paid amount (100.00) cannot change."),
        ("pay", "Opened,40", "The invoice is paid: its paid amount (100.00) cannot change."),
        ("pay", "Cancelled,100", "Cancelling a paid invoice voids its payments"),
        ("pay", "Paid,100.01", "Paid amount cannot be more than the invoice's value (100.00)."),
    ],
)
def test_the_payment_rules_still_hold(session, invoices, setup, cells, reason):
    invoice = session.get(Invoice, invoices[0])
    if setup == "cancel":
        credit.cancel_invoice(session, invoice.account_id, invoice.id, actor="t")
    elif setup == "pay":
        credit.pay_invoice(session, invoice.account_id, invoice.id, actor="t")
    _, plan = _preview(
        session, f"Invoice id,Status,Paid amount\n{invoice.id},{cells}\n", "invoices"
    )
    (row,) = plan.rows
    assert row.action == "rejected" and row.errors[0][0] == "Paid amount"
    assert row.errors[0][1].startswith(reason), row.errors


# --- the API -------------------------------------------------------------------------------


def test_the_api_lists_every_error_of_a_row(client, session):
    key, token = people.create_api_key(session, "erp", ["accounts:write"], actor="t")
    headers = {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}
    text = ACCOUNT_HEADER + "not-an-email,52998224724,CPF,-5,0,,\n"
    response = client.post("/api/portal/imports/accounts", data=text.encode(), headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["rejected"] == [
        {"row": 2, "column": "Document", "reason": "52998224724 is not a valid CPF."},
        {"row": 2, "column": "Email", "reason": "not-an-email is not a valid e-mail."},
        {"row": 2, "column": "Credit limit", "reason": "Credit limit must not be negative."},
    ]


def test_imported_accounts_are_found_by_search(session, make_account):
    from portal import listing

    account = make_account(limit="1000", email="old@example.com", name="ACME")
    text = ACCOUNT_HEADER + (
        f"old@example.com,{account.document},CPF,1000,0,Açaí do Norte,\n"
        f"fresh@example.com,{CPF_A},CPF,300,0,Padaria São João,\n"
    )
    _apply_then_preview_again(session, text, "accounts")
    for q, email in (("acai do norte", "old@example.com"), ("sao joao", "fresh@example.com")):
        query = listing.parse(listing.ACCOUNTS, {"q": q})
        found = listing.run(session, listing.ACCOUNTS, query).items
        assert [a.email for a in found] == [email], q
