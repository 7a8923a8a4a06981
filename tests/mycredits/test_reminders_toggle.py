"""My Credits: a customer turns reminder e-mails off and on again for their own address
(every account it holds), audited; never another address; CSRF required; view-as shows the
state but offers no working button."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from portal import credit, people
from portal.models import AuditEvent, Holder
from portal.reminders import set_reminders

from ..conftest import ROLE_PASSWORD

HTMX = {"HX-Request": "true", "HX-Target": "reminders"}


@pytest.fixture
def family(session, make_account):
    """Two accounts of main@family.example (one shared with a dependent), and another
    customer's account."""
    first = make_account(limit="1000", email="main@family.example", name="Family Ltda")
    second = make_account(limit="500", email="other@shop.example", name="Shop Ltda")
    credit.add_holder(session, second.id, "main@family.example", actor="t")
    credit.add_holder(session, first.id, "kid@family.example", actor="t")
    return first, second


def _customer(login, session, email):
    user = people.create_user(session, email, "customer", actor="t", password=ROLE_PASSWORD)
    return login(user=user)


def _settings(session, email: str) -> list[bool]:
    session.expire_all()
    return list(
        session.scalars(
            select(Holder.reminders).where(Holder.email == email).order_by(Holder.account_id)
        )
    )


def _card(page: str) -> str:
    return page.split('id="reminders"')[1].split("</section>")[0]


def test_a_customer_turns_reminders_off_then_on_again(client, login, session, family):
    first, _second = family
    user = _customer(login, session, "main@family.example")
    card = _card(client.get("/my-credits").get_data(as_text=True))
    assert 'id="reminders-state">On<' in card
    assert 'name="reminders" value="off"' in card and "Turn reminders off" in card

    response = client.post(f"/my-credits/reminders?account={first.id}", data={"reminders": "off"})
    assert response.status_code == 302
    assert response.location == f"/my-credits?account={first.id}#reminders"
    assert _settings(session, "main@family.example") == [False, False]  # both accounts
    assert _settings(session, "kid@family.example") == [True]
    page = client.get(response.location).get_data(as_text=True)
    assert "Reminder e-mails are off." in page
    card = _card(page)
    assert 'id="reminders-state">Off<' in card and "main@family.example gets no reminders" in card
    assert 'name="reminders" value="on"' in card and "Turn reminders on" in card

    response = client.post("/my-credits/reminders", data={"reminders": "on"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith("<section") and 'id="reminders-state">On<' in html
    assert json.loads(response.headers["HX-Trigger"]) == {"toast": "Reminder e-mails are on."}
    assert _settings(session, "main@family.example") == [True, True]

    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "holder.reminders").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor, e.details["email"], e.details["reminders"]) for e in events] == [
        (user.email, "main@family.example", False),
        (user.email, "main@family.example", False),
        (user.email, "main@family.example", True),
        (user.email, "main@family.example", True),
    ]


def test_the_same_choice_twice_changes_nothing_more(client, login, session, family):
    _customer(login, session, "main@family.example")
    for _ in range(2):
        assert client.post("/my-credits/reminders", data={"reminders": "off"}).status_code == 302
    assert _settings(session, "main@family.example") == [False, False]
    count = session.scalars(select(AuditEvent).where(AuditEvent.action == "holder.reminders"))
    assert len(count.all()) == 2  # one per account, the second post found nothing to change


def test_an_address_off_on_one_account_only_says_so(client, login, session, family):
    first, _second = family
    holder = session.scalar(
        select(Holder).where(Holder.account_id == first.id, Holder.email == "main@family.example")
    )
    holder.reminders = False
    session.commit()
    _customer(login, session, "main@family.example")
    card = _card(client.get("/my-credits").get_data(as_text=True))
    assert "gets reminders for 1 of its 2 accounts only" in card
    assert 'name="reminders" value="on"' in card  # turns them on everywhere


def test_a_customer_changes_only_their_own_address(client, login, session, family):
    _first, second = family
    _customer(login, session, "kid@family.example")
    response = client.post(
        "/my-credits/reminders",
        data={"reminders": "off", "email": "main@family.example"},  # a field it ignores
    )
    assert response.status_code == 302
    assert _settings(session, "kid@family.example") == [False]
    assert _settings(session, "main@family.example") == [True, True]
    assert (
        client.post(
            f"/my-credits/reminders?account={second.id}", data={"reminders": "on"}
        ).status_code
        == 404
    )  # not an account of theirs
    assert _settings(session, "kid@family.example") == [False]


@pytest.mark.parametrize("choice", [None, "", "toggle", "ON"])
def test_an_unknown_choice_is_refused(client, login, session, family, choice):
    _customer(login, session, "main@family.example")
    data = {} if choice is None else {"reminders": choice}
    assert client.post("/my-credits/reminders", data=data).status_code == 400
    assert _settings(session, "main@family.example") == [True, True]


def test_a_customer_without_an_account_or_staff_cannot_post(client, login, session, family):
    first, _second = family
    _customer(login, session, "kid@family.example")
    kid = session.scalar(select(Holder).where(Holder.email == "kid@family.example"))
    credit.remove_holder(session, first.id, kid.id, actor="t")  # the login holds nothing now
    assert client.post("/my-credits/reminders", data={"reminders": "off"}).status_code == 404
    client.post("/logout")
    login("owner")
    assert client.post("/my-credits/reminders", data={"reminders": "off"}).status_code == 403
    assert _settings(session, "main@family.example") == [True, True]


def test_turning_reminders_off_needs_the_csrf_token(app, client, login, session, family):
    _customer(login, session, "main@family.example")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/my-credits/reminders", data={"reminders": "off"}).status_code == 400
    forged = {"reminders": "off", "csrf_token": "forged"}
    assert client.post("/my-credits/reminders", data=forged).status_code == 400
    assert _settings(session, "main@family.example") == [True, True]
    page = client.get("/my-credits").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', _card(page)).group(1)
    data = {"reminders": "off", "csrf_token": token}
    assert client.post("/my-credits/reminders", data=data).status_code == 302
    assert _settings(session, "main@family.example") == [False, False]


def test_view_as_shows_the_state_without_a_working_button(client, login, session, family):
    first, _second = family
    main = session.scalar(
        select(Holder).where(Holder.account_id == first.id, Holder.email == "main@family.example")
    )
    set_reminders(session, "main@family.example", False, actor="t")
    login("support")
    page = client.get(f"/admin/accounts/{first.id}/holders/{main.id}/view")
    card = _card(page.get_data(as_text=True))
    assert 'id="reminders-state">Off<' in card and "main@family.example gets no reminders" in card
    assert "<form" not in card and "<button" not in card
    assert 'aria-disabled="true"' in card and "Turn reminders on" in card
    assert client.post("/my-credits/reminders", data={"reminders": "on"}).status_code == 403
    assert _settings(session, "main@family.example") == [False, False]
