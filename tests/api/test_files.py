"""CSV imports and exports over the API (contract extensions)."""

import csv
import io

from sqlalchemy import func, select

from portal import credit
from portal.models import Account, Invoice

ACCOUNTS = (
    "Email;Documento;Tipo de documento;Limite de crédito;Tolerância\n"
    "a@example.com;52998224725;CPF;1.000,00;0,1\n"
    "b@example.com;11144477735;CPF;-1;0\n"
)


def test_import_preview_apply_over_the_api(api, session):
    response = api.post(
        "/api/portal/imports/accounts",
        data=ACCOUNTS.encode("cp1252"),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    batch = response.get_json()
    assert batch["counts"] == {"create": 1, "update": 0, "unchanged": 0, "rejected": 1}
    assert batch["rejected"] == [
        {"row": 3, "column": "Credit limit", "reason": "Credit limit must not be negative."}
    ]
    refused = api.post(f"/api/portal/imports/{batch['id']}/apply", json={})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "rows_rejected"
    applied = api.post(f"/api/portal/imports/{batch['id']}/apply", json={"onlyValid": True})
    assert applied.status_code == 200 and applied.get_json()["status"] == "applied"
    assert session.scalar(select(func.count()).select_from(Account)) == 1
    again = api.post(f"/api/portal/imports/{batch['id']}/apply", json={"onlyValid": True})
    assert again.status_code == 409


def test_import_multipart_and_refusals(api):
    data = {"file": (io.BytesIO(b"\x00\x01binary"), "x.csv")}
    response = api.post(
        "/api/portal/imports/accounts", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "not_csv"
    assert api.get("/api/portal/imports/999").status_code == 404


def test_import_needs_scopes(client, scoped_headers):
    read_only = scoped_headers("accounts:read")
    response = client.post(
        "/api/portal/imports/accounts", data=ACCOUNTS.encode(), headers=read_only
    )
    assert response.status_code == 403
    assert client.post("/api/portal/imports/accounts", data=b"x").status_code == 401


def test_export_invoices_with_filters(api, make_account, purchase, session):
    account = make_account(limit="1000")
    purchase(account, "90", term="30/60/90")
    first = session.scalars(select(Invoice).order_by(Invoice.installment)).first()
    credit.annotate_invoice(session, account.id, first.id, actor="t", observation="=cmd|x")
    credit.pay_invoice(session, account.id, first.id, actor="t")
    response = api.get("/api/portal/exports/invoices.csv?status=Paid")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:6] == [
        "Invoice id",
        "Friendly id",
        "Status",
        "Payment link",
        "Observation",
        "Paid amount",
    ]
    assert [r[0] for r in rows[1:]] == [first.id]
    assert rows[1][4] == "'=cmd|x"
    excel = api.get("/api/portal/exports/invoices.csv?format=excel").get_data(as_text=True)
    assert excel.startswith("\ufeffInvoice id;Friendly id;")
    assert api.get("/api/portal/exports/accounts.csv?status=Nope").status_code == 400


def test_documented_as_extensions(client):
    doc = client.get("/api/openapi.json").get_json()
    operation = doc["paths"]["/api/portal/imports/accounts"]["post"]
    assert operation["x-portal-extension"] is True
    assert "ImportBatch" in doc["components"]["schemas"]
