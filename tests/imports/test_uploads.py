"""Uploads are stored once, the history never loads them, and each person may keep only
a limited number waiting: more is refused with a clear message until some are applied or
discarded."""

import io

import pytest
from sqlalchemy import func, select

from portal import credit, uploads
from portal.models import ImportBatch, ImportFile

CSV = (
    "Email,Document,Document Type,Credit limit,Tolerance rate\na@example.com,52998224725,CPF,0,0\n"
)


def _upload(client, text=CSV, name="a.csv"):
    data = {"kind": "accounts", "file": (io.BytesIO(text.encode()), name)}
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def test_a_file_uploaded_again_is_stored_once(session):
    for n in range(3):
        uploads.preview_upload(session, "accounts", f"copy{n}.csv", CSV.encode(), "t")
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 3
    assert session.scalar(select(func.count()).select_from(ImportFile)) == 1


def test_the_history_page_never_reads_the_files(client, login, session, sql_statements):
    login("finance")
    for n in range(3):
        assert _upload(client, CSV.replace("a@", f"a{n}@"), f"f{n}.csv").status_code == 302
    with sql_statements() as statements:
        page = client.get("/admin/imports")
    assert page.status_code == 200 and "f2.csv" in page.get_data(as_text=True)
    assert not [s for s in statements if "import_files" in s], statements


def test_too_many_waiting_uploads_are_refused_until_one_is_discarded(app, client, login, session):
    app.config["IMPORT_MAX_PENDING"] = 2
    login("finance")
    first = _upload(client, CSV, "one.csv")
    assert _upload(client, CSV.replace("a@", "b@"), "two.csv").status_code == 302
    refused = _upload(client, CSV.replace("a@", "c@"), "three.csv")
    assert refused.status_code == 422
    assert "2 uploads waiting to be applied" in refused.get_data(as_text=True)
    batch_id = int(first.location.rsplit("/", 1)[1])
    discarded = client.post(f"/admin/imports/{batch_id}/discard", follow_redirects=True)
    assert "Upload one.csv discarded." in discarded.get_data(as_text=True)
    assert _upload(client, CSV.replace("a@", "c@"), "three.csv").status_code == 302
    assert client.get(f"/admin/imports/{batch_id}").status_code == 404
    with pytest.raises(credit.CreditError) as error:
        uploads.apply_batch(session, batch_id, "t")
    assert error.value.code == "discarded"  # a discarded upload is never applied


def test_the_byte_limit_counts_too(session):
    uploads.preview_upload(session, "accounts", "a.csv", CSV.encode(), "t", limits=(10, 150))
    with pytest.raises(credit.CreditError) as error:
        uploads.preview_upload(
            session, "accounts", "b.csv", CSV.replace("a@", "b@").encode(), "t", limits=(10, 150)
        )
    assert error.value.code == "too_many_uploads"
    other = uploads.preview_upload(
        session, "accounts", "b.csv", CSV.encode(), "someone else", limits=(10, 150)
    )
    assert other[0].id  # the limit is per person


def test_a_long_file_name_is_refused(session):
    with pytest.raises(credit.CreditError) as error:
        uploads.preview_upload(session, "accounts", "x" * 256 + ".csv", CSV.encode(), "t")
    assert error.value.code == "invalid_file_name"
