"""Choosing the language: saved choice, `lang` cookie, Accept-Language, store locale; the
menus and POST /language; money with the currency's own symbol; e-mails in the reader's
language; the API and its CSV canonical whatever the Accept-Language.

The catalogs may still be empty: tests assert the locale (`<html lang>`, `get_locale()`,
number formats), not translated words.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import flask_babel
import pytest
from flask_babel import force_locale, get_locale, refresh
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import i18n, outbox, people
from portal.credit.ledger import write_transaction
from portal.i18n import email_language, format_money, money, select_locale

PAGE = "/account/password"  # a small page every logged-in user may open


def html_lang(response) -> str:
    """The `lang` attribute of the page's <html>."""
    return re.search(r'<html lang="([^"]*)"', response.get_data(as_text=True)).group(1)


def lang_cookie(response) -> str:
    """The response's Set-Cookie header of the `lang` cookie ("" without one)."""
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang=")]
    return cookies[0] if cookies else ""


def current_buttons(response) -> list[str]:
    """The values of the language buttons marked `aria-current`."""
    html = response.get_data(as_text=True)
    return re.findall(r'name="language" value="([^"]+)"[^>]*aria-current="true"', html)


@pytest.fixture
def customer(make_account, make_user):
    """A customer login (a holder of an account)."""
    account = make_account()
    return make_user("customer", account.email)


# --- choosing the locale ------------------------------------------------------------------


def test_the_saved_choice_wins_over_the_browser(client, login, session):
    user = login("support")
    people.set_language(session, user.id, "es")
    response = client.get(PAGE, headers={"Accept-Language": "pt-BR,en;q=0.8"})
    assert html_lang(response) == "es"
    assert current_buttons(response) == ["es"]


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("pt-PT", "pt-BR"),
        ("pt-BR,pt;q=0.9", "pt-BR"),
        ("es-AR,es;q=0.9", "es"),
        ("en-GB", "en"),
        ("fr-FR, de;q=0.9, es;q=0.5", "es"),  # the first of the three, by quality
    ],
)
def test_the_browser_language_by_prefix_when_nothing_is_saved(client, login, header, lang):
    login("finance")
    assert html_lang(client.get(PAGE, headers={"Accept-Language": header})) == lang


@pytest.mark.parametrize(("store", "lang"), [("es", "es"), ("es_AR", "es"), ("pt_PT", "pt-BR")])
def test_the_store_locale_when_the_browser_names_none_of_the_three(
    client, login, settings, customer, store, lang
):
    settings(locale=store)
    login(user=customer)
    assert html_lang(client.get(PAGE, headers={"Accept-Language": "fr-FR, de;q=0.5"})) == lang


def test_english_when_nothing_says_otherwise(client, settings):
    settings(locale="fr_FR")
    assert html_lang(client.get("/login", headers={"Accept-Language": "de"})) == "en"
    # A request without Accept-Language is no browser's (a script): English, not the store's.
    settings(locale="es")
    assert html_lang(client.get("/login")) == "en"


def test_the_login_page_follows_the_cookie_the_menu_sets(client):
    page = client.get("/login", headers={"Accept-Language": "pt-BR"})
    assert html_lang(page) == "pt-BR" and current_buttons(page) == ["pt_BR"]
    assert 'action="/language"' in page.get_data(as_text=True)

    answer = client.post("/language", data={"language": "es", "next": "/login?next=/admin"})
    assert answer.status_code == 302 and answer.location == "/login?next=/admin"
    cookie = lang_cookie(answer)
    assert cookie.startswith("lang=es;")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"max-age", "path", "samesite", "httponly"} <= attributes
    assert "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    assert "secure" not in attributes  # plain HTTP, SESSION_COOKIE_SECURE unset

    page = client.get("/login", headers={"Accept-Language": "pt-BR"})
    assert html_lang(page) == "es" and current_buttons(page) == ["es"]


def test_the_cookie_is_secure_over_https_or_when_the_config_says_so(app, client):
    answer = client.post("/language", data={"language": "en"}, base_url="https://localhost")
    assert "; Secure" in lang_cookie(answer)
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "; Secure" in lang_cookie(client.post("/language", data={"language": "en"}))


# --- the menu and POST /language ----------------------------------------------------------


def test_the_user_menu_lists_the_three_languages_named_in_themselves(client, login):
    login("owner")
    response = client.get(PAGE, headers={"Accept-Language": "pt-BR"})
    html = response.get_data(as_text=True)
    menu = html[html.index('id="user-nav"') : html.index("</nav>")]
    for code, name in [("en", "English"), ("pt_BR", "Português (Brasil)"), ("es", "Español")]:
        assert re.search(rf'value="{code}"[^>]*>{re.escape(name)}</button>', menu), code
    assert 'action="/language"' in menu and 'name="csrf_token"' in menu
    assert f'name="next" value="{PAGE}"' in menu
    assert current_buttons(response) == ["pt_BR"]


def test_choosing_saves_the_language_on_the_login(client, login, session, customer):
    from portal.models import User

    user = login(user=customer)
    answer = client.post("/language", data={"language": "pt_BR", "next": PAGE})
    assert answer.status_code == 302 and answer.location == PAGE
    session.expire_all()
    assert session.get(User, user.id).language == "pt_BR"
    client.delete_cookie("lang")  # the choice follows the login, not only this browser
    assert html_lang(client.get(PAGE, headers={"Accept-Language": "es"})) == "pt-BR"


@pytest.mark.parametrize("code", ["fr", "pt-BR", "pt", "EN", "", "es<script>"])
def test_an_unknown_language_is_refused(client, login, session, code):
    from portal.models import User

    user = login("support")
    answer = client.post("/language", data={"language": code, "next": PAGE})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "Unknown language" in html and "en, pt_BR, es" in html and "<script>" not in html
    assert lang_cookie(answer) == ""
    session.expire_all()
    assert session.get(User, user.id).language is None


def test_choosing_needs_the_csrf_token(app, client, login, session):
    from portal.models import User

    user = login("finance")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post("/language", data={"language": "es", "next": PAGE})
    assert refused.status_code == 400 and lang_cookie(refused) == ""
    session.expire_all()
    assert session.get(User, user.id).language is None
    page = client.get(PAGE).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"language": "es", "next": PAGE, "csrf_token": token}
    assert client.post("/language", data=data).location == PAGE


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/admin",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
    ],
)
def test_an_off_site_next_is_refused(client, target):
    answer = client.post("/language", data={"language": "es", "next": target})
    assert answer.status_code == 302 and answer.location == "/login"  # home, anonymous


def test_without_next_back_to_the_home_page(client, login):
    login("owner")
    assert client.post("/language", data={"language": "en"}).location == "/admin"


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "amount", "expected"),
    [
        ("en", "5000", "R$5,000.00"),
        ("pt_BR", "5000", "R$\xa05.000,00"),
        ("es", "5000", "R$\xa05.000,00"),  # babel's own es pattern says "5.000,00 BRL"
        ("en", "-0.5", "-R$0.50"),
        ("pt_BR", "-0.5", "-R$\xa00,50"),
        ("es", "-0.5", "-R$\xa00,50"),
    ],
)
def test_money_has_the_store_currency_s_own_symbol_in_every_language(
    app, language, amount, expected
):
    with app.test_request_context("/"), force_locale(language):
        assert money(Decimal(amount)) == expected


@pytest.mark.parametrize(
    ("currency", "locale", "expected"),
    [
        ("MXN", "es", "$\xa0392.000,00"),  # Mexico writes "$"
        ("MXN", "en_US", "$392,000.00"),
        ("USD", "pt_BR", "$\xa0392.000,00"),
        ("EUR", "es", "€\xa0392.000,00"),  # no home country in "EU": babel's symbol, first
        ("JPY", "en_US", "￥392,000"),  # the currency's own decimals
    ],
)
def test_other_currencies_use_their_home_country_s_symbol(currency, locale, expected):
    assert format_money(Decimal("392000"), currency, locale) == expected


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**12), max_value=10**12
    )
    | st.sampled_from(
        [Decimal("-0.004"), Decimal("-0"), Decimal("0.005"), Decimal("0.015"), Decimal("999.995")]
    ),
    currency=st.sampled_from(["BRL", "USD", "EUR", "MXN", "JPY", "CLP", "KWD"]),
    locale=st.sampled_from(["en_US", "pt_BR", "es"]),
)
def test_money_is_written_as_babel_writes_it(amount, currency, locale):
    """The amount formatter that skips babel per call writes what babel's pattern writes:
    rounding half to even, the sign of a negative that rounds to zero, 0–3 decimals."""
    pattern = i18n._money_pattern(i18n.currency_symbol(currency, locale), locale)
    assert format_money(amount, currency, locale) == pattern.apply(
        amount, i18n._locale(locale), currency=currency
    )


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
def test_dates_are_written_as_flask_babel_writes_them(app, language):
    """`day` keeps each date's text per locale: the same text Flask-Babel writes, for a
    date and for a timestamp (its date in the viewer's timezone)."""
    moments = [date(2026, 12, 1), date(2027, 2, 28), datetime(2026, 12, 2, 1, 30, tzinfo=UTC)]
    with app.test_request_context("/"), force_locale(language):
        for _ in range(2):  # the second time from what was kept
            assert [i18n.day(m) for m in moments] == [
                flask_babel.format_date(m, "medium") for m in moments
            ]


def test_a_page_shows_money_the_same_way(client, login, make_account, purchase):
    account = make_account(limit="5000", email="buyer-es@example.com")
    purchase(account, "300")
    login("owner")
    page = client.get(f"/admin/accounts/{account.id}", headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert html_lang(page) == "es"
    assert "R$\xa05.000,00" in html or "R$&nbsp;5.000,00" in html
    assert "BRL" not in re.sub(r"<[^>]+>", "", html)


# --- e-mails in the reader's language -----------------------------------------------------


@pytest.fixture
def probe_topic():
    """A test topic whose e-mail says the locale it was rendered in, and an amount."""

    def render(session, message, now):
        return f"locale={get_locale()}", f"amount={money(Decimal('5000'))}\n"

    outbox.register("test.language", render)
    try:
        yield "test.language"
    finally:
        outbox._RENDERERS.pop("test.language", None)


def _queue(session, topic: str, recipient: str, **payload) -> None:
    with write_transaction(session):
        outbox.enqueue(session, topic=topic, recipient=recipient, payload=payload)


def test_an_email_is_rendered_in_its_recipient_s_language(
    app, session, make_user, settings, mailbox, probe_topic, customer
):
    settings(locale="pt_BR")
    spanish, plain = customer, make_user("finance")
    people.set_language(session, spanish.id, "es")
    _queue(session, probe_topic, spanish.email, locale="en")  # the login's choice wins
    _queue(session, probe_topic, plain.email)  # nothing saved: the store's
    _queue(session, probe_topic, plain.email, locale="en")  # asked from an English page
    _queue(session, probe_topic, "holder-only@example.com")  # no login: the store's
    assert outbox.send_pending(session) == (4, 0)
    got = {(m["To"], m["Subject"], m.get_content().strip()) for m in mailbox.messages}
    assert got == {
        (spanish.email, "locale=es", "amount=R$\xa05.000,00"),
        (plain.email, "locale=pt_BR", "amount=R$\xa05.000,00"),
        (plain.email, "locale=en", "amount=R$5,000.00"),
        ("holder-only@example.com", "locale=pt_BR", "amount=R$\xa05.000,00"),
    }


def test_templates_follow_force_locale_and_refresh_within_one_request(app):
    """`_()` in templates keeps its translations per request and locale (portal.i18n): a
    `force_locale` block, the end of it and a `refresh` each switch them."""
    template = app.jinja_env.from_string("{{ _('Export CSV') }} {{ amount|money }}")

    def say() -> str:
        return template.render(amount=Decimal("1234.50"))

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert say() == "Export CSV R$1,234.50"
        with force_locale("pt_BR"):
            assert say() == "Exportar CSV R$\xa01.234,50"
        assert say() == "Export CSV R$1,234.50"
        with force_locale("es"):
            assert say() == "Exportar CSV R$\xa01.234,50"
        refresh()
        assert say() == "Export CSV R$1,234.50"


def test_template_gettext_is_jinja_s_new_style(app):
    """The lean `_()` and `ngettext()` of portal.i18n format like Jinja's new-style gettext:
    values are escaped, `%%` is a percent sign even without values, `num` is given."""
    template = app.jinja_env.from_string(
        "{{ _('Order %(id)s', id=order) }}|{{ _('100%%') }}|"
        "{{ ngettext('postponed once', 'postponed %(num)d times', times) }}"
    )
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert template.render(order="<b>", times=3) == "Order &lt;b&gt;|100%|postponed 3 times"
        with force_locale("pt_BR"):
            assert template.render(order="7", times=1).startswith("Pedido 7|100%|")


def test_a_reset_email_follows_the_saved_language(app, client, session, make_user, mailbox):
    """A real renderer: the reset text is made under the login's language."""
    seen = []
    user = make_user("support")
    people.set_language(session, user.id, "es")
    real = outbox._RENDERERS["reset"]
    outbox.register("reset", lambda *args: (seen.append(str(get_locale())), real(*args))[1])
    try:
        client.post(
            "/reset",
            data={"email": user.email},
            headers={"Accept-Language": "en"},
            buffered=True,  # the answer is delivered: the e-mail goes out after it
        )
    finally:
        outbox.register("reset", real)
    assert seen == ["es"] and len(mailbox.messages) == 1


def test_email_language_outside_a_request(app, session, settings, customer):
    settings(locale="es_MX")
    user = customer
    assert email_language(session, user.email) == "es"
    assert email_language(session, user.email, "pt-BR") == "pt_BR"
    people.set_language(session, user.id, "en")
    assert email_language(session, user.email, "pt_BR") == "en"
    assert email_language(session, "nobody@example.com") == "es"
    settings(locale="fr_FR")
    assert email_language(session, "nobody@example.com") == "en"
    assert select_locale() == "en"  # no request: the default


# --- the API stays canonical --------------------------------------------------------------


def test_the_api_answers_the_same_bytes_in_every_language(client, session, make_account):
    key, token = people.create_api_key(session, "lang", list(people.SCOPES), actor="test")
    auth = {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}
    account = make_account(limit="1234.56", email="api-lang@example.com")
    paths = [
        f"/api/creditcontrol/accounts/{account.id}",
        "/api/creditcontrol/accounts/no-such-account",
        "/api/portal/exports/accounts.csv",
        "/api/portal/exports/accounts.csv?format=excel",
    ]
    for path in paths:
        answers = [
            client.get(path, headers={**auth, "Accept-Language": language}, buffered=True)
            for language in ("en", "es", "pt-BR,pt;q=0.9", "de")
        ]
        bodies = {answer.get_data() for answer in answers}
        assert len(bodies) == 1, path
        assert {answer.status_code for answer in answers} == {answers[0].status_code}
    csv = client.get(paths[2], headers={**auth, "Accept-Language": "es"}, buffered=True)
    csv = csv.get_data(as_text=True)
    assert "Credit limit" in csv and "1234.56" in csv
    json = client.get(paths[0], headers={**auth, "Accept-Language": "es"}).get_data(as_text=True)
    assert "1234.56" in json and "1.234,56" not in json
    with client.application.test_request_context(
        "/api/creditcontrol/accounts", headers={"Accept-Language": "es"}
    ):
        assert select_locale() == "en"
