"""Back-office CSV exports and import templates: the header row in the reader's language,
the values as they always are; a translated export imports back unchanged. The JSON API's
CSV stays canonical (English) whatever the Accept-Language.
"""

from __future__ import annotations

import csv
import io

import pytest
from flask_babel import force_locale

from portal import exports, imports, people, uploads
from portal.credit import bulk

EXPORTS = {"invoices": "/admin/invoices/export.csv", "accounts": "/admin/accounts/export.csv"}
HEADERS = {
    ("invoices", "pt_BR"): ["ID da fatura", "ID amigável", "Status", "Link de pagamento"],
    ("invoices", "es"): ["ID de la factura", "ID amigable", "Estado", "Enlace de pago"],
    ("accounts", "pt_BR"): ["E-mail", "Documento", "Tipo de documento", "Limite de crédito"],
    ("accounts", "es"): [
        "Correo electrónico",
        "Documento",
        "Tipo de documento",
        "Límite de crédito",
    ],
}
FLAVOURS = {"comma": ("", ","), "excel": ("&format=excel", ";")}


@pytest.fixture
def store(make_account, purchase):
    """Two accounts with invoices: decimals, a ratio tolerance, a name with an accent."""
    first = make_account(limit="1234.56", tolerance="0.125", email="round@trip.example")
    purchase(first, "100.50", term="30/60")
    second = make_account(limit="800.00", email="ana@trip.example", name="Ana Conceição")
    purchase(second, "99.99", term="30")
    return first, second


def _table(response, delimiter: str) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _export(client, kind: str, flavour: str) -> tuple[str, list[list[str]]]:
    query, delimiter = FLAVOURS[flavour]
    response = client.get(f"{EXPORTS[kind]}?sort=created_at{query}")
    return response.get_data(as_text=True), _table(response, delimiter)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("language", ["pt_BR", "es"])
@pytest.mark.parametrize("kind", EXPORTS)
def test_the_header_is_in_the_user_s_language_and_the_rows_are_the_same(
    client, login, session, store, kind, language, flavour
):
    user = login("finance")
    _text, english = _export(client, kind, flavour)
    people.set_language(session, user.id, language)
    _text, translated = _export(client, kind, flavour)
    assert translated[0][:4] == HEADERS[kind, language]
    assert len(translated[0]) == len(english[0]) and translated[0] != english[0]
    assert translated[1:] == english[1:] and len(english) > 2
    with force_locale(language):
        names = [name for name, _column in exports.COLUMNS[kind]]
        assert translated[0] == imports.titles(names)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("language", ["pt_BR", "es"])
@pytest.mark.parametrize("kind", EXPORTS)
def test_a_translated_export_imports_back_unchanged(
    client, login, session, store, kind, language, flavour
):
    user = login("finance")
    people.set_language(session, user.id, language)
    text, table = _export(client, kind, flavour)
    assert table[0][0] != ("Invoice id" if kind == "invoices" else "Email")
    read = imports.read_table(text.encode("utf-8-sig"), kind)
    plan = (bulk.plan_invoices if kind == "invoices" else bulk.plan_accounts)(session, read.rows)
    assert plan.counts["rejected"] == 0, plan.rejected
    assert plan.counts["unchanged"] == len(read.rows) == len(table) - 1, plan.rows
    # the upload the back office makes of it: previewed with nothing to change
    _batch, previewed = uploads.preview_upload(
        session, kind, f"{kind}.csv", text.encode("utf-8"), user.email
    )
    assert previewed.counts == {
        "create": 0,
        "update": 0,
        "unchanged": len(table) - 1,
        "rejected": 0,
    }


def test_the_api_export_stays_canonical(client, session, store):
    key, token = people.create_api_key(session, "csv", list(people.SCOPES), actor="test")
    auth = {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}
    for kind in EXPORTS:
        for query, delimiter in FLAVOURS.values():
            url = f"/api/portal/exports/{kind}.csv?sort=created_at{query}"
            canonical = _table(client.get(url, headers=auth), delimiter)
            for language in ("pt-BR,pt;q=0.9", "es"):
                headers = {**auth, "Accept-Language": language}
                assert _table(client.get(url, headers=headers), delimiter) == canonical
            names = [name for name, _column in exports.COLUMNS[kind]]
            assert canonical[0] == names
            assert canonical[0][0] in ("Invoice id", "Email")


@pytest.mark.parametrize("language", ["pt_BR", "es"])
@pytest.mark.parametrize("kind", EXPORTS)
def test_the_import_template_is_in_the_user_s_language_and_reads_back(
    client, login, session, kind, language
):
    user = login("support")
    people.set_language(session, user.id, language)
    response = client.get(f"/admin/imports/template/{kind}.csv")
    header, _example = _table(response, ",")
    assert header[:4] == HEADERS[kind, language]
    read = imports.read_table(response.get_data(), kind)
    template = imports.ACCOUNT_TEMPLATE if kind == "accounts" else imports.INVOICE_TEMPLATE
    assert len(read.columns) == len(template) and len(read.rows) == 1


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
def test_the_reader_knows_the_import_columns_by_their_title_in_each_language(app, language):
    """Each import column of an export is read by its translated title; the export's other
    columns are ignored (none of their titles is taken for an import column)."""
    for kind, known, template in (
        ("accounts", imports.ACCOUNT_COLUMNS, imports.ACCOUNT_TEMPLATE),
        ("invoices", imports.INVOICE_COLUMNS, imports.INVOICE_TEMPLATE),
    ):
        with force_locale(language):
            titles = imports.titles(template)
            extra = [name for name, _column in exports.COLUMNS[kind] if name not in template]
            extra_titles = imports.titles(extra)
        assert list(imports._map_columns(titles, known).values()) == list(known), titles
        assert imports._map_columns(extra_titles, known) == {}, extra_titles
