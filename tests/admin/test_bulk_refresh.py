"""A bulk action applied: the rows it changed come back out of band with their new status
(a list filtered on "Opened" keeps them in place instead of dropping them), the totals
reload, a toast says what was done, and the selection is cleared. The confirmation has a
real Cancel button."""

import json
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from portal import credit
from portal.models import Invoice

OPENED = urlencode({"status": "Opened", "sort": "due_date"})


@pytest.fixture
def invoices(session, make_account, purchase):
    """Three open invoices of 100 on ACME (due in 30, 60, 90 days) and one of 50 on Zeta,
    due in 100 days (last in due-date order)."""
    acme = make_account(limit="1000", email="acme@bulk.example", name="ACME Ltda")
    zeta = make_account(limit="1000", email="zeta@bulk.example", name="Zeta SA")
    purchase(acme, "300", term="30/60/90")
    purchase(zeta, "50", term="30")
    late = session.scalars(select(Invoice).where(Invoice.account_id == zeta.id)).one()
    late.due_date = credit.store_today(credit.get_settings(session)) + timedelta(days=100)
    session.commit()
    return session.scalars(select(Invoice).order_by(Invoice.due_date)).all()


class _Rows(HTMLParser):
    """The invoice rows (<tr id="invoice-…">) of an answer: attributes, and text as `text`."""

    def __init__(self, body: str):
        super().__init__()
        self.rows: dict[str, dict] = {}
        self._row: dict | None = None
        self.feed(body)

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and (dict(attrs).get("id") or "").startswith("invoice-"):
            self._row = {**dict(attrs), "text": ""}
            self.rows[self._row["id"]] = self._row

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self._row["text"] += data


def _bulk(client, **data):
    return client.post("/admin/invoices/bulk", data=data)


def _events(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def _status(session, invoice_id) -> str:
    session.expire_all()
    return session.get(Invoice, invoice_id).status


def test_checked_rows_come_back_out_of_band_as_paid(client, login, invoices, session):
    login("finance")
    first, second, third, _zeta = invoices
    data = {"action": "pay", "ids": [first.id, second.id], "query": OPENED}
    confirm = _bulk(client, **data).get_data(as_text=True)
    assert "Mark 2 invoices paid, R$200.00 still open?" in confirm

    done = _bulk(client, **data, confirm="1", expected_count="2", expected_amount="200.00")
    body = done.get_data(as_text=True)
    assert done.status_code == 200
    # The totals reload (invoice-changed), not the table (invoices-changed would drop the
    # rows a list filtered on "Opened" no longer matches), and a toast says what was done.
    assert _events(done) == {"invoice-changed": None, "toast": "2 invoices marked paid — R$200.00"}
    rows = _Rows(body).rows
    assert set(rows) == {f"invoice-{first.friendly_id}", f"invoice-{second.friendly_id}"}
    for row in rows.values():
        assert row["hx-swap-oob"] == "true" and row["data-status"] == "Paid"
        assert "Paid" in row["text"] and "Reopen" in row["text"]
    # What was done stays in the strip, which clears the checked boxes and "all matching".
    assert 'id="bulk-done"' in body and "Mark paid: done for 2 invoices" in body
    assert 'data-uncheck="input[type=checkbox][form=bulk-form]"' in body
    assert [_status(session, r.id) for r in invoices] == ["Paid", "Paid", "Opened", "Opened"]
    # The list filtered on Opened, reloaded later, no longer has them.
    listed = client.get(f"/admin/invoices?{OPENED}", headers={"HX-Request": "true"})
    assert set(_Rows(listed.get_data(as_text=True)).rows) == {
        f"invoice-{third.friendly_id}",
        f"invoice-{invoices[3].friendly_id}",
    }


def test_all_matching_changes_every_match_and_refreshes_the_rows_of_the_page(
    client, login, invoices, session
):
    login("owner")
    paid = invoices[2]
    credit.pay_invoice(session, paid.account_id, paid.id, None, actor="t")
    # Page 1 of 2 of the list filtered on Opened (two rows a page): the third match is on
    # page 2, and the paid invoice matches nothing.
    query = urlencode({"status": "Opened", "sort": "due_date", "perPage": "2", "page": "1"})
    data = {"action": "cancel", "all": "1", "query": query, "ids": [invoices[0].id]}
    confirm = _bulk(client, **data).get_data(as_text=True)
    assert "Cancel 3 invoices, R$250.00 still open?" in confirm
    assert '"expected_amount": "250.00", "expected_count": "3"' in confirm

    done = _bulk(client, **data, confirm="1", expected_count="3", expected_amount="250.00")
    assert done.status_code == 200
    assert _events(done)["toast"] == "3 invoices cancelled — R$250.00"
    rows = _Rows(done.get_data(as_text=True)).rows
    on_page = [f"invoice-{r.friendly_id}" for r in invoices[:2]]
    assert list(rows) == on_page  # in the page's order; page 2's row is not on screen
    assert [row["data-status"] for row in rows.values()] == ["Cancelled", "Cancelled"]
    assert all(row["hx-swap-oob"] == "true" for row in rows.values())
    statuses = [_status(session, r.id) for r in invoices]
    assert statuses == ["Cancelled", "Cancelled", "Paid", "Cancelled"]
    assert credit.find_breaches(session) == []


def test_set_observation_says_so_and_shows_it_in_the_rows(client, login, invoices, session):
    login("finance")
    ids = [invoices[0].id, invoices[3].id]
    data = {"action": "observation", "observation": "Call Monday", "ids": ids}
    assert "Set the observation of 2 invoices" in _bulk(client, **data).get_data(True)
    done = _bulk(client, **data, confirm="1")
    assert _events(done)["toast"] == "Observation set on 2 invoices"
    rows = _Rows(done.get_data(as_text=True)).rows
    assert len(rows) == 2 and all("Call Monday" in row["text"] for row in rows.values())


def test_a_refused_apply_changes_no_row_and_reloads_nothing(client, login, invoices, session):
    login("finance")
    paid = invoices[1]
    credit.pay_invoice(session, paid.account_id, paid.id, None, actor="t")
    data = {"action": "cancel", "ids": [r.id for r in invoices[:3]], "query": OPENED}
    refused = _bulk(client, **data, confirm="1")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Nothing was changed" in body
    assert "HX-Trigger" not in refused.headers
    assert "hx-swap-oob" not in body and "data-uncheck" not in body
    assert [_status(session, r.id) for r in invoices[:3]] == ["Opened", "Paid", "Opened"]


def test_the_confirmation_has_a_cancel_button_that_sends_nothing(client, login, invoices):
    login("finance")
    body = _bulk(client, action="cancel", ids=[invoices[0].id]).get_data(as_text=True)
    assert "Cancel 1 invoice, R$100.00 still open?" in body
    start = body.index('id="bulk-cancel"')
    button = body[body.rindex("<button", 0, start) : body.index("</button>", start)]
    assert 'type="button"' in button and button.endswith(">Cancel")
    assert "hx-post" not in button and "hx-confirm" not in button and "data-confirm" not in button
    assert 'data-bs-dismiss="alert"' in button and "autofocus" in button
    # The action's own button is a red Confirm (it cancels invoices).
    assert "btn-danger" in body[: body.index(">Confirm</button>")].rsplit("<button", 1)[1]
    # The bulk action is called "Cancel invoices" in the form, so two "Cancel"s do not meet.
    page = client.get("/admin/invoices").get_data(as_text=True)
    assert '<option value="cancel">Cancel invoices</option>' in page
