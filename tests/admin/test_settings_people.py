"""Settings, payment terms, users, API keys and the audit log in the back-office."""

import pytest
from sqlalchemy import select

from portal import credit, people
from portal.credit.errors import CreditError
from portal.models import ApiKey, PaymentTerm, User

SETTINGS_FORM = {
    "currency": "BRL",
    "locale": "pt_BR",
    "timezone": "America/Sao_Paulo",
    "holiday_country": "BR",
    "tolerance_enabled": "y",
    "settle_after_business_days": "5",
    "postponement_enabled": "y",
    "postponement_limit": "2",
    "max_postponement_days": "10",
    "daily_interest_rate": "0.1",
    "late_fee_rate": "2",
    "max_pre_authorization_growth_rate": "10",
    "default_credit_value": "1,500.00",
    "my_credits_enabled": "y",
    "overdue_hold_days": "30",
    "payment_instructions": "PIX key: store@example.com",
    "reminder_days_before": "5, 1, 0",
    "reminder_days_after": "3",
    "reminder_time": "09:30",
}


def test_settings_saved_and_refused(client, login, session):
    login("owner")
    assert client.post("/admin/settings", data=SETTINGS_FORM).status_code == 302
    settings = credit.get_settings(session)
    assert str(settings.daily_interest_rate.normalize()) == "0.001"
    assert str(settings.late_fee_rate.normalize()) == "0.02"
    assert settings.tolerance_enabled and not settings.automatic_account_creation
    assert settings.reminder_days_before == [0, 1, 5] and settings.reminder_time == "09:30"
    refused = client.post("/admin/settings", data={**SETTINGS_FORM, "timezone": "Mars/Base"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Mars/Base is not a valid timezone" in page
    assert 'value="Mars/Base"' in page  # the typed value stays
    session.expire_all()
    assert credit.get_settings(session).timezone == "America/Sao_Paulo"


def test_payment_terms_editor(client, login, session):
    login("owner")
    client.post("/admin/settings/terms", data={"days": "30/60/90", "interest": "1.5"})
    client.post("/admin/settings/terms", data={"days": "30 / 60 / 90", "interest": "1.5"})
    assert len(credit.active_terms(session)) == 1  # the same term again changes it, no copy
    bad = client.post("/admin/settings/terms", data={"days": "90/30"}, follow_redirects=True)
    assert "must increase" in bad.get_data(as_text=True)
    term = session.scalars(select(PaymentTerm)).one()
    assert term.installments == 3 and str(term.interest_rate.normalize()) == "0.015"
    client.post(f"/admin/settings/terms/{term.id}/delete")
    assert credit.active_terms(session) == []


def test_users_roles_and_last_owner(client, login, session, make_user):
    owner = login("owner")
    client.post(
        "/admin/users",
        data={
            "email": "New.Finance@Store.example",
            "role": "finance",
            "password": "long-password-9",
        },
    )
    user = session.scalar(select(User).where(User.email == "new.finance@store.example"))
    assert user.role == "finance"
    client.post(f"/admin/users/{user.id}", data={"role": "support"})
    session.expire_all()
    assert session.get(User, user.id).role == "support"
    refused = client.post(f"/admin/users/{owner.id}", data={"active": "off"}, follow_redirects=True)
    assert "You cannot deactivate your own login" in refused.get_data(as_text=True)
    assert session.get(User, owner.id).active
    with pytest.raises(CreditError, match="at least one active owner"):  # the CLI's operator
        people.change_user(session, owner.id, actor="cli", acting_user_id=None, active=False)
    assert session.get(User, owner.id).active


def test_api_key_token_shown_once(client, login, session):
    login("owner")
    created = client.post(
        "/admin/api-keys", data={"label": "ERP", "scopes": ["invoices:read", "accounts:read"]}
    )
    page = created.get_data(as_text=True)
    token = page.split("X-VTEX-API-AppToken: ")[1].split("<")[0].strip()
    key = session.scalars(select(ApiKey)).one()
    assert key.scopes == "invoices:read,accounts:read" and token not in key.token_hash
    assert people.find_api_key(session, key.key, token) is not None
    assert token not in client.get("/admin/api-keys").get_data(as_text=True)
    client.post(f"/admin/api-keys/{key.id}/revoke")
    assert people.find_api_key(session, key.key, token) is None
    no_scope = client.post("/admin/api-keys", data={"label": "x"})
    assert no_scope.status_code == 422


def test_audit_log_filters_fragment_and_sort(client, login, session, make_account):
    account = make_account()
    credit.change_limit(session, account.id, "10", actor="boss@store.example", reason="risk")
    login("support")
    page = client.get("/admin/audit?actor=boss@store.example").get_data(as_text=True)
    assert "<html" in page and "boss@store.example changed the credit limit" in page
    assert "opened the account" not in page
    fragment = client.get("/admin/audit?sort=action", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


ROUTES = [
    ("GET", "/admin/settings"),
    ("POST", "/admin/settings"),
    ("POST", "/admin/settings/terms"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/admin/api-keys"),
    ("POST", "/admin/api-keys"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", ["finance", "support", "anonymous"])
def test_owner_only_routes(client, login, role, method, path):
    if role != "anonymous":
        login(role)
    response = client.open(path, method=method, data={})
    assert response.status_code == (302 if role == "anonymous" else 403)


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_audit_is_for_all_staff(client, login, role):
    login(role)
    assert client.get("/admin/audit").status_code == 200
