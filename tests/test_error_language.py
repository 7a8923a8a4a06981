"""Refusals in the reader's language: the engine words every message with Flask-Babel, in
the language of the request (saved choice, cookie, Accept-Language); the code never changes.
The JSON API is canonical: English whatever the Accept-Language (portal/i18n.py).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
from flask_babel import refresh

from portal import credit, people, uploads
from portal.credit.errors import CreditError

# (Accept-Language, the refusal of closing a closed account, of a scheduled change
# cancelled twice, of an unknown account) in each language; no Accept-Language is a
# script: English.
LANGUAGES = [
    pytest.param(
        None,
        "The account is already closed.",
        "The scheduled change is cancelled, not pending.",
        "Account nope does not exist.",
        id="en",
    ),
    pytest.param(
        "pt-BR,pt;q=0.9,en;q=0.8",
        "A conta já está encerrada.",
        "Esta alteração agendada não está mais pendente (situação: cancelada).",
        "A conta nope não existe.",
        id="pt_BR",
    ),
    pytest.param(
        "es-MX,es;q=0.9",
        "La cuenta ya está cerrada.",
        "Este cambio programado ya no está pendiente (estado: cancelado).",
        "La cuenta nope no existe.",
        id="es",
    ),
]
HTMX = {"HX-Request": "true"}


def _headers(language: str | None) -> dict[str, str]:
    return {"Accept-Language": language} if language else {}


def _refusal(operation) -> CreditError:
    with pytest.raises(CreditError) as refused:
        operation()
    return refused.value


@pytest.mark.parametrize(("language", "closed", "_pending", "not_found"), LANGUAGES)
def test_the_engine_words_a_refusal_in_the_request_s_language(
    app, session, make_account, language, closed, _pending, not_found
):
    account = make_account()
    credit.close_account(session, account.id, actor="test", reason="r")
    with app.test_request_context("/admin/accounts", headers=_headers(language)):
        refresh()
        error = _refusal(lambda: credit.close_account(session, account.id, actor="t", reason="r"))
        assert (error.code, error.message) == ("invalid_transition", closed)
        missing = _refusal(lambda: credit.get_account(session, "nope"))
        assert (missing.code, missing.message) == ("account_not_found", not_found)


def test_the_message_names_what_was_refused_in_each_language(app, session, make_account):
    account = make_account(limit="100.00")
    expected = {
        "en": "Insufficient credit: 500.00 requested, 100.00 available.",
        "pt-BR": "Crédito insuficiente: 500.00 solicitados, 100.00 disponíveis.",
        "es": "Crédito insuficiente: se solicitaron 500.00 y hay 100.00 disponibles.",
    }
    for language, message in expected.items():
        with app.test_request_context("/admin", headers={"Accept-Language": language}):
            refresh()
            error = _refusal(lambda: credit.authorize(session, account.id, "500", actor="t"))
            assert (error.code, error.message) == ("insufficient_credit", message)


def test_outside_a_request_english(app, session):
    """The CLI and the jobs have no reader: English (the default locale)."""
    error = _refusal(lambda: credit.get_account(session, "nope"))
    assert (error.code, error.message) == ("account_not_found", "Account nope does not exist.")


@pytest.mark.parametrize(("language", "closed", "_pending", "_missing"), LANGUAGES)
def test_a_back_office_form_refusal_is_flashed_in_the_reader_s_language(
    client, login, session, make_account, language, closed, _pending, _missing
):
    login("finance")
    account = make_account()
    credit.close_account(session, account.id, actor="test", reason="r")
    url = f"/admin/accounts/{account.id}/close"
    response = client.post(url, data={"reason": "again"}, headers=_headers(language))
    assert response.status_code == 302
    page = client.get(response.location, headers=_headers(language)).get_data(as_text=True)
    assert closed in page


@pytest.mark.parametrize(("language", "_closed", "pending", "_missing"), LANGUAGES)
def test_an_htmx_refusal_carries_the_translated_message(
    client, login, session, make_account, language, _closed, pending, _missing
):
    login("owner")
    account = make_account()
    today = credit.store_today(credit.get_settings(session))
    change = credit.schedule_limit(
        session, account.id, "3000", effective_on=today + timedelta(days=3), reason="r", actor="t"
    )
    credit.cancel_scheduled(session, account.id, change.id, actor="t")
    url = f"/admin/accounts/{account.id}/scheduled-limits/{change.id}/cancel"
    response = client.post(url, headers={**HTMX, **_headers(language)})
    assert response.status_code == 409
    assert unquote(response.headers["HX-Error-Message"]) == pending
    assert response.get_data(as_text=True) == pending


def test_the_saved_language_words_the_refusal_without_any_header(
    client, login, session, make_account
):
    user = login("finance")
    people.set_language(session, user.id, "es")
    account = make_account()
    credit.close_account(session, account.id, actor="test", reason="r")
    response = client.post(f"/admin/accounts/{account.id}/close", data={"reason": "again"})
    assert "La cuenta ya está cerrada." in client.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize("language", ["pt-BR,pt;q=0.9", "es", None])
def test_the_api_refuses_in_english_with_the_same_code(client, session, make_account, language):
    key, token = people.create_api_key(session, "lang", list(people.SCOPES), actor="test")
    auth = {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token, **_headers(language)}
    account = make_account()
    credit.close_account(session, account.id, actor="test", reason="r")
    closed = client.delete(f"/api/creditcontrol/accounts/{account.id}", headers=auth)
    assert closed.status_code == 409
    assert closed.get_json()["error"] == {
        "code": "invalid_transition",
        "message": "The account is already closed.",
        "field": None,
    }
    missing = client.get("/api/creditcontrol/accounts/nope", headers=auth)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "account_not_found"
    assert missing.get_json()["error"]["message"] == "Account nope does not exist."


def test_the_rejected_rows_file_speaks_the_reader_s_language(app, session):
    text = (
        "Email;Documento;Tipo de documento;Limite de crédito;Tolerância\na@x.example;1;CPF;-1;0\n"
    )
    with app.test_request_context("/admin/imports", headers={"Accept-Language": "pt-BR"}):
        refresh()
        batch, plan = uploads.preview_upload(
            session, "accounts", "contas.csv", text.encode(), "finance"
        )
        rejected = "".join(
            uploads.rejected_rows_csv(plan, uploads.load_batch(session, batch.id)[2], "accounts")
        )
    header, row = rejected.splitlines()[:2]
    assert header.startswith("E-mail,Documento,Tipo de documento,Limite de crédito,")
    assert header.endswith(",Erro")
    assert "Linha 2: Documento: " in row and "Limite de crédito: " in row
