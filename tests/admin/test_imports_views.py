"""The import flow in the back-office: upload → preview → apply → result, and history."""

import io

from sqlalchemy import func, select

from portal.models import Account, ImportBatch

GOOD = (
    "Email;Documento;Tipo de documento;Limite de crédito;Tolerância\n"
    "a@example.com;52998224725;CPF;1.000,00;0,1\n"
    "b@example.com;11144477735;CPF;2.000,00;0\n"
)
BAD_LAST = GOOD + "c@example.com;39053344705;CPF;-1;0\n"


def _upload(client, text, kind="accounts", name="contas.csv"):
    data = {"kind": kind, "file": (io.BytesIO(text.encode("cp1252")), name)}
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def test_upload_preview_apply_result(client, login, session):
    login("owner")  # the file grants limits above the default credit: an owner's decision
    response = _upload(client, GOOD)
    assert response.status_code == 302
    preview = client.get(response.location)
    page = preview.get_data(as_text=True)
    assert 'data-count="create">2<' in page and "nothing has changed yet" in page
    assert session.scalar(select(func.count()).select_from(Account)) == 0
    batch = session.scalars(select(ImportBatch)).one()
    applied = client.post(f"/admin/imports/{batch.id}/apply", follow_redirects=True)
    assert "Applied: 2 created" in applied.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Account)) == 2
    history = client.get("/admin/imports").get_data(as_text=True)
    assert "contas.csv" in history and "Applied" in history


def test_rejected_rows_block_apply_unless_only_valid(client, login, session):
    login("owner")
    location = _upload(client, BAD_LAST).location
    page = client.get(location).get_data(as_text=True)
    assert "Rejected rows" in page
    assert (
        '<span class="fw-semibold">Credit limit</span>: Credit limit must not be negative.' in page
    )
    batch_id = session.scalars(select(ImportBatch.id)).one()
    refused = client.post(f"/admin/imports/{batch_id}/apply", follow_redirects=True)
    assert "1 row is rejected: fix it or apply only the valid rows." in refused.get_data(
        as_text=True
    )
    assert session.scalar(select(func.count()).select_from(Account)) == 0
    rejected = client.get(f"/admin/imports/{batch_id}/rejected.csv")
    assert rejected.mimetype == "text/csv"
    assert "Row 4: Credit limit" in rejected.get_data(as_text=True)
    client.post(f"/admin/imports/{batch_id}/apply", data={"only_valid": "y"})
    assert session.scalar(select(func.count()).select_from(Account)) == 2


def test_bad_file_is_shown_next_to_the_field(client, login):
    login("finance")
    response = _upload(client, "just some text without columns\n")
    assert response.status_code == 422
    assert "Missing required columns" in response.get_data(as_text=True)


def test_templates_download(client, login):
    login("support")
    body = client.get("/admin/imports/template/accounts.csv").get_data(as_text=True)
    assert body.startswith("Email,Document,Document Type,Credit limit,Tolerance rate")


def test_support_sees_but_cannot_import(client, login, session):
    login("support")
    assert client.get("/admin/imports").status_code == 200
    assert _upload(client, GOOD).status_code == 403
    assert client.post("/admin/imports/1/apply").status_code == 403
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_customers_and_anonymous_are_kept_out(client, login, make_account):
    assert client.get("/admin/imports").status_code == 302
    account = make_account(email="cust@example.com")
    from portal import people
    from portal.extensions import db

    user = people.create_user(
        db.session, account.email, "customer", actor="t", password="correct-horse-battery"
    )
    login(user=user)
    assert client.get("/admin/imports").status_code == 403


def test_unknown_batch_is_404(client, login):
    login("owner")
    assert client.get("/admin/imports/999").status_code == 404


def test_file_over_the_configured_size_is_refused_clearly(app, client, login):
    app.config["IMPORT_MAX_BYTES"] = 100
    login("finance")
    response = _upload(client, GOOD * 3)
    assert response.status_code == 422
    assert "larger than" in response.get_data(as_text=True)
