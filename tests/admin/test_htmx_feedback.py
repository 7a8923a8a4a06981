"""What the server tells htmx: refusals as a short message (HX-Error-Message), the lost
session as a 401 without HX-Redirect, and a toast after an invoice row action."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import unquote

import pytest
from flask import Response, abort
from sqlalchemy import select

from portal import credit
from portal.errors import HTMX_MESSAGES
from portal.htmx import ERROR_HEADER, error_response, trigger, with_toast
from portal.models import Invoice

HTMX = {"HX-Request": "true"}


def message(response) -> str:
    """The message an htmx error answer carries, decoded as portal.js decodes it."""
    return unquote(response.headers[ERROR_HEADER])


@pytest.fixture
def invoice(session, make_account, purchase) -> Invoice:
    """One open invoice of 300 on an account named ACME Ltda."""
    account = make_account(limit="1000", name="ACME Ltda")
    hold = purchase(account, "300", term="30")
    row = session.scalars(select(Invoice).where(Invoice.transaction_id == hold.id)).one()
    row.due_date = credit.store_today(credit.get_settings(session)) + timedelta(days=30)
    session.commit()
    return row


# --- refusals ------------------------------------------------------------------------------


def test_htmx_404_is_a_short_message_not_a_page(client, login):
    login("finance")
    response = client.post("/admin/invoices/no-such-invoice/pay", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert message(response) == str(HTMX_MESSAGES[404]) == body
    assert response.mimetype == "text/plain" and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_403_says_the_login_does_not_allow_it(client, login, invoice, session):
    login("support")
    response = client.post(f"/admin/invoices/{invoice.id}/cancel", headers=HTMX)
    assert response.status_code == 403
    assert message(response) == "Your login does not allow this action."
    session.expire_all()
    assert session.get(Invoice, invoice.id).status == "Opened"


def test_htmx_400_is_a_short_message(client, login):
    login("finance")
    response = client.get("/admin/invoices?q=%00", headers=HTMX)
    assert response.status_code == 400
    assert message(response) == str(HTMX_MESSAGES[400])


@pytest.mark.parametrize("status", [400, 403, 404])
def test_pages_still_get_html_error_pages(client, login, status):
    login("support")
    path = {400: "/admin/invoices?q=%00", 403: "/admin/settings", 404: "/admin/nowhere"}[status]
    response = client.get(path)
    assert response.status_code == status
    assert "<html" in response.get_data(as_text=True) and ERROR_HEADER not in response.headers


def test_a_history_restore_gets_the_page(client, login):
    login("support")
    response = client.get("/admin/nowhere", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


def test_the_api_keeps_its_json_errors_for_htmx_headers_too(client):
    response = client.get("/api/no-such-thing", headers=HTMX)
    assert response.status_code == 404
    assert response.is_json and ERROR_HEADER not in response.headers


def test_a_view_that_aborts_with_its_own_message_keeps_it(app, client):
    @app.post("/test-only/conflict")
    def conflict() -> Response:
        abort(409, description="Invoice 64554909 changed in the meantime.")

    @app.post("/test-only/plain-conflict")
    def plain_conflict() -> Response:
        abort(409)

    own = client.post("/test-only/conflict", headers=HTMX)
    assert own.status_code == 409
    assert message(own) == "Invoice 64554909 changed in the meantime."
    plain = client.post("/test-only/plain-conflict", headers=HTMX)
    assert message(plain) == str(HTMX_MESSAGES[409])
    assert client.post("/test-only/plain-conflict").status_code == 409  # no page for it


def test_a_422_form_with_errors_is_still_swapped_as_html(client, login, invoice):
    login("finance")
    refused = client.post(f"/admin/invoices/{invoice.id}/pay", data={"amount": "500"}, headers=HTMX)
    assert refused.status_code == 422 and ERROR_HEADER not in refused.headers
    assert refused.get_data(as_text=True).startswith("<tr")


def test_error_messages_in_any_language_fit_in_the_header(app):
    with app.test_request_context():
        response = error_response("Sua sessão terminou — entre de novo.", 401)
    header = response.headers[ERROR_HEADER]
    assert header.isascii() and " " not in header
    assert unquote(header) == "Sua sessão terminou — entre de novo."


# --- the lost session ------------------------------------------------------------------------


def test_htmx_without_session_gets_401_with_a_message_and_no_redirect(client):
    response = client.post("/admin/invoices/x/pay", headers=HTMX)
    assert response.status_code == 401
    assert "HX-Redirect" not in response.headers
    assert message(response) == "Your session ended — log in again."


def test_a_page_without_session_still_redirects_to_login_with_next(client):
    response = client.get("/admin/invoices?status=Overdue&sort=due_date")
    assert response.status_code == 302
    assert unquote(response.location) == "/login?next=/admin/invoices?status=Overdue&sort=due_date"


# --- toasts ----------------------------------------------------------------------------------


def test_a_row_action_triggers_the_refresh_and_a_toast(client, login, invoice):
    login("finance")
    paid = client.post(f"/admin/invoices/{invoice.id}/pay", data={"amount": ""}, headers=HTMX)
    assert paid.status_code == 200
    events = json.loads(paid.headers["HX-Trigger"])
    assert events == {
        "invoice-changed": None,
        "toast": f"Invoice {invoice.friendly_id} marked paid.",
    }
    reopened = client.post(f"/admin/invoices/{invoice.id}/reopen", headers=HTMX)
    assert json.loads(reopened.headers["HX-Trigger"])["toast"] == (
        f"Invoice {invoice.friendly_id} reopened."
    )


@pytest.mark.parametrize(
    ("action", "data", "toast"),
    [
        ("pay", {"amount": "100"}, "Payment recorded on invoice {id}."),
        ("cancel", {}, "Invoice {id} cancelled."),
        ("postpone", {"days": "1"}, "Invoice {id} postponed by 1 day."),
        ("annotate", {"observation": "call"}, "Invoice {id}: payment link and observation saved."),
    ],
)
def test_every_row_action_names_the_invoice(client, login, settings, invoice, action, data, toast):
    settings(postponement_enabled=True)
    login("finance")
    response = client.post(f"/admin/invoices/{invoice.id}/{action}", data=data, headers=HTMX)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert json.loads(response.headers["HX-Trigger"])["toast"] == toast.format(
        id=invoice.friendly_id
    )


def test_a_refused_row_action_has_no_toast(client, login, invoice):
    login("finance")
    refused = client.post(f"/admin/invoices/{invoice.id}/pay", data={"amount": "500"})
    assert refused.status_code == 422 and "HX-Trigger" not in refused.headers


def test_trigger_merges_events_into_one_json_header(app):
    response = Response()
    response.headers["HX-Trigger"] = "invoice-changed, totals-changed"
    trigger(response, "refresh", {"target": "#x"})
    with_toast(response, "Fatura 7 paga — obrigado")
    assert json.loads(response.headers["HX-Trigger"]) == {
        "invoice-changed": None,
        "totals-changed": None,
        "refresh": {"target": "#x"},
        "toast": "Fatura 7 paga — obrigado",
    }
    assert response.headers["HX-Trigger"].isascii()
    assert json.loads(with_toast(Response(), "ok").headers["HX-Trigger"]) == {"toast": "ok"}


def test_an_htmx_post_without_session_is_a_lost_session_not_a_bad_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True  # the session, and its CSRF token, are gone
    response = client.post("/admin/invoices/x/pay", headers=HTMX)
    assert response.status_code == 401 and "HX-Redirect" not in response.headers
    assert message(response) == "Your session ended — log in again."


def test_an_htmx_post_with_a_session_but_a_bad_token_is_a_400(app, client, login):
    login("finance")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/admin/invoices/x/pay", headers={**HTMX, "X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert message(response) == str(HTMX_MESSAGES[400])
