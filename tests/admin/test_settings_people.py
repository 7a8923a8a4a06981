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
    "rule_days_0": "1",
    "rule_when_0": "before",
    "rule_time_0": "09:30",
    "rule_days_1": "3",
    "rule_when_1": "after",
    "rule_time_1": "18:00",
    "rule_days_2": "5",
    "rule_when_2": "before",
    "rule_time_2": "08:00",
    "rule_days_3": "",  # the empty row the page adds
    "rule_when_3": "before",
    "rule_time_3": "",
}


def test_settings_saved_and_refused(client, login, session):
    login("owner")
    assert client.post("/admin/settings", data=SETTINGS_FORM).status_code == 302
    settings = credit.get_settings(session)
    assert str(settings.daily_interest_rate.normalize()) == "0.001"
    assert str(settings.late_fee_rate.normalize()) == "0.02"
    assert settings.tolerance_enabled and not settings.automatic_account_creation
    assert settings.reminder_rules == [
        {"when": "before", "days": 5, "time": "08:00"},
        {"when": "before", "days": 1, "time": "09:30"},
        {"when": "after", "days": 3, "time": "18:00"},
    ]
    refused = client.post("/admin/settings", data={**SETTINGS_FORM, "timezone": "Mars/Base"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Mars/Base is not a valid timezone" in page
    assert 'value="Mars/Base"' in page  # the typed value stays
    session.expire_all()
    assert credit.get_settings(session).timezone == "America/Sao_Paulo"


def _rules(session):
    session.rollback()
    session.expire_all()
    return credit.get_settings(session).reminder_rules


def test_reminder_rules_table_adds_removes_and_refuses(client, login, session):
    login("owner")
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'id="reminder-rules-table"' in page
    assert page.count('name="rule_days_') == 5  # the 4 default rules and an empty row
    assert "<script" not in page.split('id="reminder-rules"')[1].split("</fieldset>")[0]
    client.post("/admin/settings", data=SETTINGS_FORM)
    # "Add a reminder rule" shows one more empty row and saves nothing
    more = client.post("/admin/settings", data={**SETTINGS_FORM, "rule_add": "1"})
    assert more.status_code == 200 and 'name="rule_days_4"' in more.get_data(as_text=True)
    # remove one rule, add one in the empty row
    changed = {**SETTINGS_FORM, "rule_remove_1": "y", "rule_days_3": "0", "rule_time_3": "07:00"}
    assert client.post("/admin/settings", data=changed).status_code == 302
    assert _rules(session) == [
        {"when": "before", "days": 5, "time": "08:00"},
        {"when": "before", "days": 1, "time": "09:30"},
        {"when": "before", "days": 0, "time": "07:00"},
    ]
    for bad, message in [
        ({"rule_days_0": "1.5"}, "whole number"),
        ({"rule_days_0": "٣"}, "whole number"),  # strict: ASCII digits only
        ({"rule_days_0": "400"}, "0–365"),
        ({"rule_time_0": "25:00"}, "25:00 is not a time of day"),
        ({"rule_when_0": "around"}, "before or after the due date"),
        ({"rule_days_3": "1", "rule_time_3": "10:00"}, "Two reminder rules for day 1 before"),
    ]:
        refused = client.post("/admin/settings", data={**SETTINGS_FORM, **bad})
        text = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in text, (bad, text[-3000:])
        typed = {v for k, v in bad.items() if not k.startswith("rule_when")}
        assert all(f'value="{value}"' in text for value in typed), bad
    assert len(_rules(session)) == 3  # nothing refused was saved
    eleven = {
        f"rule_{k}_{n}": v
        for n in range(11)
        for k, v in (("days", str(n)), ("when", "after"), ("time", "12:00"))
    }
    base = {k: v for k, v in SETTINGS_FORM.items() if not k.startswith("rule_")}
    refused = client.post("/admin/settings", data={**base, **eleven})
    assert refused.status_code == 422 and "At most 10 reminder rules" in refused.get_data(
        as_text=True
    )


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
