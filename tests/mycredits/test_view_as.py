"""Staff see exactly what a holder sees on My Credits, read-only, and the visit is audited."""

import pytest
from sqlalchemy import select

from portal import credit
from portal.models import AuditEvent, Holder


@pytest.fixture
def family(session, make_account, purchase):
    """An account with a capped dependent and an open invoice with a pay link."""
    account = make_account(limit="1000", email="main@family.example", name="Family Ltda")
    credit.add_holder(session, account.id, "kid@family.example", actor="t", spending_cap="150")
    hold = purchase(account, "90", holder_email="kid@family.example")
    credit.annotate_invoice(
        session, account.id, f"{hold.id}-01", actor="t", payment_link="https://pay.example/1"
    )
    kid = session.scalar(select(Holder).where(Holder.email == "kid@family.example"))
    return account, kid


def test_support_views_as_a_dependent_read_only_and_audited(client, login, session, family):
    account, kid = family
    staff = login("support")
    url = f"/admin/accounts/{account.id}/holders/{kid.id}/view"
    page = client.get(url).get_data(as_text=True)
    assert "Viewing as kid@family.example" in page and "Read-only" in page
    assert "R$150.00" in page  # the dependent's own cap: what they see, not the staff member
    assert "https://pay.example/1" not in page and "Shop on credit" not in page
    assert "statement.csv" not in page and "<form" not in page.split('id="viewing-as"')[1]
    tab = client.get(url + "?tab=paid", headers={"HX-Request": "true", "HX-Target": "invoices"})
    assert tab.status_code == 200 and "<html" not in tab.get_data(as_text=True)
    assert f"/holders/{kid.id}/view?account=" in page  # the page's own links stay in view-as
    assert 'href="/my-credits' not in page
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "holder.view_as"))
    assert [(e.actor, e.details["email"]) for e in events] == [(staff.email, kid.email)]


def test_view_as_keeps_customers_out_and_names_real_holders_only(
    client, login, session, family, make_account
):
    account, kid = family
    other = make_account(limit="10")
    login("finance")
    assert client.get(f"/admin/accounts/{other.id}/holders/{kid.id}/view").status_code == 404
    assert client.get(f"/admin/accounts/{account.id}/holders/nope/view").status_code == 404
    client.post("/logout")
    from portal import people

    from ..conftest import ROLE_PASSWORD

    user = people.create_user(session, kid.email, "customer", actor="t", password=ROLE_PASSWORD)
    login(user=user)
    assert client.get(f"/admin/accounts/{account.id}/holders/{kid.id}/view").status_code == 403
