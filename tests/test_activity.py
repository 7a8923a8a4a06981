"""Audit events read as sentences with links, in the reader's language (portal/activity.py).

The events are written by the real domain functions (the engine, people, invitations,
settings, the CSV import), then told by `activity.describe` inside a request of each
language: English, and Portuguese (whose translations may not exist yet, so what is
checked there is the structure: the names, the links and the amounts in the locale).
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import refresh
from sqlalchemy import select

from portal import activity, credit, invitations, outbox, people, reminders, uploads
from portal.i18n import day, money
from portal.models import AuditEvent, Invoice, OutboxMessage, PreAuthorization, utcnow

from .conftest import ROLE_PASSWORD

OWNER = "owner@store.example"
ANA = "ana@store.example"
PT = {"Accept-Language": "pt-BR"}
EN = {"Accept-Language": "en"}


def text(markup) -> str:
    """What a reader sees of a sentence: no tags, entities decoded, spaces made plain."""
    return html.unescape(re.sub(r"<[^>]+>", "", str(markup))).replace("\xa0", " ")


def links(markup) -> list[tuple[str, str]]:
    """(href, text) of every link of a sentence."""
    return [
        (html.unescape(href), html.unescape(label))
        for href, label in re.findall(r'<a href="([^"]*)">(.*?)</a>', str(markup))
    ]


def told(app, session, headers=EN, **filters) -> list[activity.Entry]:
    """Every event (oldest first) told in a request of that language."""
    events = session.scalars(select(AuditEvent).filter_by(**filters).order_by(AuditEvent.id))
    with app.test_request_context("/admin/audit", headers=headers):
        refresh()  # the test's app context (and its `g`) outlives requests: forget the locale
        return activity.describe(session, events)


def one(entries, action: str) -> activity.Entry:
    found = [e for e in entries if e.action == action]
    assert len(found) == 1, (action, [text(e.sentence) for e in found])
    return found[0]


@pytest.fixture
def story(session, make_account, settings):
    """A store where every action the portal audits happened once, or more."""
    people.create_user(session, OWNER, "owner", actor="cli", password=ROLE_PASSWORD)
    ana = people.create_user(
        session, ANA, "finance", actor=OWNER, password=ROLE_PASSWORD, name="Ana Souza"
    )
    settings(postponement_enabled=True, overdue_hold_days=5)  # settings.update
    acme = credit.open_account(
        session,
        document="11144477735",
        document_type="CPF",
        email="buy@acme.example",
        name="ACME Ltda",
        credit_limit="5000",
        actor=OWNER,
    )
    cafe = make_account(limit="1000", name="Café Serra Azul", tolerance="0.1")
    credit.change_limit(session, acme.id, "6000", actor=OWNER, reason="risk review")
    credit.change_tolerance(session, acme.id, "0.05", actor=OWNER, reason="good payer")
    credit.adjust_balance(session, acme.id, "-12.50", actor=ANA, reason="fee")
    credit.update_account(session, acme.id, actor=OWNER, name="ACME Ltda", description="x")
    holder = credit.add_holder(session, acme.id, "joao@acme.example", actor=OWNER)
    credit.set_holder_cap(session, acme.id, holder.id, "300", actor=OWNER)
    viewed_as = getattr(credit.accounts, "viewed_as", None)  # staff seeing My Credits as…
    if viewed_as is not None:
        viewed_as(session, acme.id, holder.id, actor=ANA)
    credit.remove_holder(session, acme.id, holder.id, actor=OWNER)
    # orders: the checkout authorizes, settles, refunds; staff change and cancel holds
    checkout = "apikey:checkout"
    bought = credit.authorize(
        session, acme.id, "900", actor=checkout, payment_term="30/60/90", order_id="o-1"
    )
    credit.settle(session, acme.id, bought.id, "900", actor=checkout)
    credit.settle(session, acme.id, bought.id, "870", actor=ANA)  # change_settled_value
    credit.refund(session, acme.id, bought.id, "30", actor=checkout, refund_id="r-1")
    held = credit.authorize(session, acme.id, "100", actor=checkout, settle=False)
    credit.update_authorization(session, acme.id, held.id, "90", actor=checkout)
    credit.cancel_authorization(session, acme.id, held.id, actor=OWNER)
    stale = credit.authorize(
        session,
        acme.id,
        "40",
        actor=checkout,
        settle=False,
        expiration_date=credit.store_today(credit.get_settings(session)) + timedelta(days=1),
    )
    session.get(PreAuthorization, stale.id).expiration_date = credit.store_today(
        credit.get_settings(session)
    ) - timedelta(days=1)
    session.commit()
    credit.expire_authorizations(session)  # actor "system"
    # invoices of the café: paid, partly paid, cancelled, reopened, postponed, annotated
    hold = credit.authorize(session, cafe.id, "291.12", actor=OWNER, payment_term="30/60/90")
    credit.settle(session, cafe.id, hold.id, actor=OWNER)
    first, second, third = session.scalars(
        select(Invoice).where(Invoice.account_id == cafe.id).order_by(Invoice.installment)
    ).all()
    credit.pay_invoice(session, cafe.id, first.id, actor=ANA)  # 97.04, in full
    credit.pay_invoice(session, cafe.id, second.id, "40", actor=ANA)
    credit.cancel_invoice(session, cafe.id, third.id, actor=OWNER, reason="order returned")
    credit.reopen_invoice(session, cafe.id, third.id, actor=OWNER, reason="mistake")
    credit.postpone_invoice(session, cafe.id, third.id, 10, actor=ANA)
    credit.annotate_invoice(session, cafe.id, third.id, actor=ANA, observation="Paid by PIX?")
    # a hold, lifted
    third = session.get(Invoice, third.id)
    third.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=9)
    session.commit()
    credit.lift_hold(session, cafe.id, actor=OWNER, reason="promised to pay")
    # scheduled limit changes: one cancelled, one failed (its account closed meanwhile)
    schedule = getattr(credit, "schedule_limit", None)
    if schedule is not None:
        tomorrow = credit.store_today(credit.get_settings(session)) + timedelta(days=1)
        later = schedule(
            session, acme.id, "7000", effective_on=tomorrow, reason="season", actor=OWNER
        )
        credit.cancel_scheduled(session, acme.id, later.id, actor=OWNER)
        schedule(session, cafe.id, "1500", effective_on=tomorrow, reason="season", actor=OWNER)
    credit.close_account(session, cafe.id, actor=OWNER, reason="shop closed")
    if schedule is not None:
        credit.apply_scheduled_limits(session, utcnow() + timedelta(days=2))  # system: failed
    credit.reopen_account(session, cafe.id, actor=OWNER, reason="shop reopened")
    # people and settings
    joao, _ = invitations.invite_login(session, "joao@store.example", actor=ANA, role="finance")
    # its e-mail bounced: finance sends it again (with a new link)
    invitation = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "joao@store.example")
    ).one()
    invitation.status, invitation.attempts, invitation.last_error = "failed", 5, "550 no such user"
    session.commit()
    outbox.send_again(session, invitation.id, actor=ANA)
    people.set_password(session, ana, ROLE_PASSWORD + "!", actor=ANA)
    people.set_password(session, joao, ROLE_PASSWORD, actor=OWNER)
    people.change_user(session, joao.id, actor=OWNER, acting_user_id=None, role="support")
    people.change_user(session, joao.id, actor=OWNER, acting_user_id=None, active=False)
    key, _token = people.create_api_key(
        session, "erp", ["invoices:read", "invoices:pay"], actor=OWNER
    )
    people.revoke_api_key(session, key.id, actor=OWNER)
    # a holder turns reminder e-mails off (the link in one), then on again
    reminders.set_reminders(session, "buy@acme.example", False, actor="buy@acme.example")
    reminders.set_reminders(session, "buy@acme.example", True, actor="buy@acme.example")
    term = credit.save_term(session, "30/60", OWNER, interest_rate="0.015")
    credit.remove_term(session, term.id, OWNER)
    # the CSV import: one account opened, one updated (limit, name, a dependent)
    content = (
        "Email,Document,Document Type,Credit limit,Tolerance rate,Name,Dependents\n"
        "new@csv.example,52998224725,CPF,700,0,Nova Loja,\n"
        f"buy@acme.example,{acme.document},CPF,6500,0.05,ACME S.A.,maria@acme.example\n"
    ).encode()
    batch, _plan = uploads.preview_upload(session, "accounts", "file.csv", content, OWNER)
    uploads.apply_batch(session, batch.id, OWNER)
    return {"acme": acme, "cafe": cafe, "invoices": (first, second, third), "ana": ana}


def audited_actions() -> set[str]:
    """Every action code the portal's source writes to the audit trail."""
    root = Path(__file__).resolve().parents[1] / "portal"
    found = set()
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'\baudit\(\s*session,\s*\w+,\s*"([a-z_]+\.[a-z_]+)"', source))
        found |= set(re.findall(r'\baction\s*=\s*"([a-z_]+\.[a-z_]+)"', source))
        found |= set(re.findall(r'"action":\s*"([a-z_]+\.[a-z_]+)"', source))
    return found


def test_every_action_the_portal_writes_is_named_and_told():
    written = audited_actions()
    assert len(written) >= 30, written
    assert written <= set(activity.ACTIONS), written - set(activity.ACTIONS)


def test_every_event_of_the_story_reads_as_a_sentence(app, session, story):
    entries = told(app, session)
    assert {e.action for e in entries} == audited_actions()
    for entry in entries:
        sentence = text(entry.sentence)
        assert "<code>" not in str(entry.sentence), sentence  # not the generic fallback
        assert entry.action not in sentence and "{" not in sentence, sentence
        assert sentence.startswith(text(entry.who)), sentence


def test_sentences_in_english(app, session, story):
    entries = told(app, session)
    acme, cafe = story["acme"], story["cafe"]
    first, second, third = story["invoices"]
    acme_link = (f"/admin/accounts/{acme.id}", "ACME S.A.")  # its name now (after the import)
    cafe_link = (f"/admin/accounts/{cafe.id}", "Café Serra Azul")

    paid = [e for e in entries if e.action == "invoice.pay"]
    assert text(paid[0].sentence) == (
        f"Ana Souza (finance) marked invoice {first.friendly_id} of Café Serra Azul paid — R$97.04"
    )
    assert links(paid[0].sentence) == [
        (f"/admin/invoices/{first.id}", first.friendly_id),
        cafe_link,
    ]
    assert text(paid[1].sentence) == (
        f"Ana Souza (finance) recorded a payment of R$40.00 on invoice {second.friendly_id} "
        "of Café Serra Azul"
    )
    limit = one(entries, "account.change_limit")
    assert text(limit.sentence) == (
        f"{OWNER} (owner) changed the credit limit of ACME S.A. from R$5,000.00 to R$6,000.00"
    )
    assert links(limit.sentence) == [acme_link] and limit.reason == "risk review"
    authorized = [e for e in entries if e.action == "transaction.authorize"]
    assert text(authorized[0].sentence) == (
        "The checkout (API key «checkout») authorized R$900.00 on ACME S.A. in 3 installments"
    )
    assert text(authorized[1].sentence).endswith("R$100.00 on ACME S.A. in 1 installment")
    created = [e for e in entries if e.action == "user.create"]
    assert text(created[0].sentence) == f"The command line created the login {OWNER} (owner)"
    assert text(created[1].sentence) == (f"{OWNER} (owner) created the login {ANA} (finance)")
    assert text(created[2].sentence) == (
        "Ana Souza (finance) created the login joao@store.example (finance)"
    )
    expected = {
        "account.open": "owner@store.example (owner) opened the account ACME S.A. with a credit "
        "limit of R$5,000.00",
        "account.change_tolerance": "owner@store.example (owner) changed the tolerance of "
        "ACME S.A. from 0% to 5%",
        "account.adjust_balance": "Ana Souza (finance) debited R$12.50 from the balance of "
        "ACME S.A.",
        "account.update": "owner@store.example (owner) updated the account ACME S.A.: "
        "name «ACME Ltda», new description",
        "account.close": "owner@store.example (owner) closed the account Café Serra Azul",
        "account.reopen": "owner@store.example (owner) reopened the account Café Serra Azul",
        "account.lift_hold": "owner@store.example (owner) lifted the hold on Café Serra Azul",
        "holder.add": "owner@store.example (owner) added joao@acme.example as a holder of "
        "ACME S.A.",
        "holder.cap": "owner@store.example (owner) set the spending cap of joao@acme.example on "
        "ACME S.A. to R$300.00",
        "holder.remove": "owner@store.example (owner) removed the holder joao@acme.example from "
        "ACME S.A.",
        "transaction.update": "The checkout (API key «checkout») changed an authorization on "
        "ACME S.A. from R$100.00 to R$90.00",
        "transaction.cancel": "owner@store.example (owner) cancelled the authorization of "
        "R$90.00 on ACME S.A.",
        "transaction.expire": "The portal (scheduled task) released the expired authorization "
        "of R$40.00 on ACME S.A.",
        "transaction.change_settled_value": "Ana Souza (finance) changed the settled value of a "
        "purchase on ACME S.A. from R$900.00 to R$870.00",
        "transaction.refund": "The checkout (API key «checkout») refunded R$30.00 of a purchase "
        "on ACME S.A.",
        "invoice.cancel": f"owner@store.example (owner) cancelled invoice {third.friendly_id} of "
        "Café Serra Azul",
        "invoice.reopen": f"owner@store.example (owner) reopened invoice {third.friendly_id} of "
        "Café Serra Azul",
        "invoice.annotate": f"Ana Souza (finance) noted on invoice {third.friendly_id} of Café "
        "Serra Azul: «Paid by PIX?»",
        "user.invite": "Ana Souza (finance) invited joao@store.example to choose a password",
        "outbox.send_again": (
            "Ana Souza (finance) sent the e-mail to joao@store.example again, with a new link"
        ),
        "user.password": "Ana Souza (finance) changed their password",
        "api_key.create": "owner@store.example (owner) created the API key «erp» "
        "(invoices:read, invoices:pay)",
        "api_key.revoke": "owner@store.example (owner) revoked the API key «erp»",
        "payment_term.save": "owner@store.example (owner) saved the payment term 30/60, with "
        "1.5% interest",
        "payment_term.remove": "owner@store.example (owner) stopped offering the payment term "
        "30/60",
        "account.import_update": "owner@store.example (owner) updated ACME S.A. from a CSV "
        "import: credit limit R$6,000.00 → R$6,500.00, name «ACME Ltda» → «ACME S.A.», "
        "1 dependent added: maria@acme.example",
    }
    by_action = {}
    for entry in entries:
        by_action.setdefault(entry.action, []).append(entry)
    for action, sentence in expected.items():
        assert sentence in [text(e.sentence) for e in by_action[action]], (
            action,
            [text(e.sentence) for e in by_action[action]],
        )
    if "holder.view_as" in by_action:
        assert [text(e.sentence) for e in by_action["holder.view_as"]] == [
            "Ana Souza (finance) viewed My Credits as joao@acme.example, a holder of ACME S.A."
        ]
    settle = [text(e.sentence) for e in by_action["transaction.settle"]]
    assert "The checkout (API key «checkout») settled a purchase of R$900.00 on ACME S.A." in settle
    passwords = [text(e.sentence) for e in by_action["user.password"]]
    assert f"{OWNER} (owner) changed the password of joao@store.example" in passwords
    changes = [text(e.sentence) for e in by_action["user.change"]]
    assert changes == [
        f"{OWNER} (owner) set the login joao@store.example to support, active",
        f"{OWNER} (owner) deactivated the login joao@store.example (support)",
    ]
    postponed = one(entries, "invoice.postpone")
    assert text(postponed.sentence).startswith(
        f"Ana Souza (finance) postponed invoice {third.friendly_id} of Café Serra Azul by "
        "10 days, to "
    )
    opened = [text(e.sentence) for e in by_action["account.open"]]
    assert (
        "test opened the account Café Serra Azul with a credit limit of R$1,000.00 and a "
        "tolerance of 10%" in opened
    )
    imported = [e for e in by_action["account.open"] if e.reason.startswith("CSV import")]
    assert [text(e.sentence) for e in imported] == [
        f"{OWNER} (owner) opened the account Nova Loja with a credit limit of R$700.00"
    ]
    settings_change = text(one(entries, "settings.update").sentence)
    assert settings_change.startswith("test changed the store settings: ")
    assert "postponements allowed: yes" in settings_change
    assert "days overdue before a hold: 5" in settings_change


def test_sentences_in_portuguese_keep_names_links_and_local_amounts(app, session, story):
    english = told(app, session, EN)
    portuguese = told(app, session, PT)
    assert len(english) == len(portuguese)
    first = story["invoices"][0]
    with app.test_request_context("/", headers=PT):
        refresh()
        amounts = [money(Decimal(v)) for v in ("97.04", "5000", "6000", "900")]
        postponed = session.scalars(select(AuditEvent).filter_by(action="invoice.postpone")).one()
        due = day(date.fromisoformat(postponed.details["due_date"]))
    assert amounts[0] == "R$\xa097,04" and amounts[2] == "R$\xa06.000,00"
    for en, pt in zip(english, portuguese, strict=True):
        assert links(en.sentence) == links(pt.sentence)
        assert en.reason == pt.reason
        # people keep their names (their role is translated); the portal's own actors ("The
        # command line", "The checkout (API key «checkout»)") are told in Portuguese
        name = text(en.who).split(" (")[0]
        assert text(pt.who).startswith(name) or name.startswith("The "), text(pt.who)
    paid = next(e for e in portuguese if e.action == "invoice.pay")
    assert amounts[0] in str(paid.sentence) and "R$97.04" not in str(paid.sentence)
    assert (f"/admin/invoices/{first.id}", first.friendly_id) in links(paid.sentence)
    limit = one(portuguese, "account.change_limit")
    assert amounts[1] in str(limit.sentence) and amounts[2] in str(limit.sentence)
    authorized = next(e for e in portuguese if e.action == "transaction.authorize")
    assert amounts[3] in str(authorized.sentence) and "«checkout»" in str(authorized.sentence)
    assert due in str(one(portuguese, "invoice.postpone").sentence)


def test_values_are_escaped(app, session, make_account, make_user):
    evil = "<script>alert(1)</script>"
    account = make_account(limit="10", name=evil)
    user = people.create_user(
        session, "x@store.example", "finance", actor="test", password=ROLE_PASSWORD, name=evil
    )
    credit.change_limit(session, account.id, "20", actor=user.email, reason=evil)
    credit.add_holder(session, account.id, "h@example.com", actor=f"apikey:{evil}")
    entries = told(app, session, account_id=account.id)
    for entry in entries:
        assert "<script>" not in str(entry.sentence) and "<script>" not in str(entry.who)
        assert "&lt;script&gt;" in str(entry.sentence)
    limit = one(entries, "account.change_limit")
    assert text(limit.sentence).startswith(f"{evil} (finance) changed the credit limit of {evil}")
    assert entries[0].reason == "" and limit.reason == evil  # plain text: the page escapes it


def test_unknown_actions_and_odd_details_fall_back_to_a_generic_sentence(
    app, session, make_account
):
    account = make_account(limit="10", name="ACME Ltda")
    session.add_all(
        [
            AuditEvent(
                actor="robot",
                action="robot.dance",
                target_type="Account",
                target_id=account.id,
                account_id=account.id,
                details={"steps": 3},
            ),
            AuditEvent(  # a known action whose details lack what its sentence needs
                actor="robot",
                action="invoice.pay",
                target_type="Invoice",
                target_id="gone-01",
                account_id=account.id,
                details={"amount": "not a number"},
            ),
            AuditEvent(
                actor="",
                action="thing.happen",
                target_type="Thing",
                target_id="7",
                details=None,
            ),
        ]
    )
    session.commit()
    dance, pay, thing = told(app, session, actor="robot") + told(app, session, actor="")
    assert text(dance.sentence) == "robot did robot.dance on ACME Ltda"
    assert "<code>robot.dance</code>" in str(dance.sentence)
    assert links(dance.sentence) == [(f"/admin/accounts/{account.id}", "ACME Ltda")]
    assert text(pay.sentence) == "robot did invoice.pay on gone-01 of ACME Ltda"
    assert text(thing.sentence) == "Someone did thing.happen on Thing 7"


def test_a_page_of_events_is_told_in_a_bounded_number_of_queries(
    app, session, story, sql_statements
):
    for n in range(8):  # more events, of the kinds that name invoices, purchases, holders
        credit.adjust_balance(session, story["acme"].id, n + 1, actor=ANA)
    events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(50)))
    assert len(events) == 50
    with app.test_request_context("/admin/audit", headers=EN):
        money(Decimal("1"))  # the store's currency, read once per request
        with sql_statements() as few:
            activity.describe(session, events[:10])
        with sql_statements() as many:
            entries = activity.describe(session, events)
    assert len(entries) == 50
    # users, accounts, invoices, purchases, holders (and the removed ones' first event)
    assert len(many) <= 6, many
    assert len(few) <= 6, few


def test_the_audit_page_tells_sentences_and_filters_by_named_action(
    app, client, login, session, story
):
    login("support")
    page = client.get("/admin/audit").get_data(as_text=True)
    first = story["invoices"][0]
    assert "Ana Souza (finance) marked invoice" in page
    assert f'href="/admin/invoices/{first.id}"' in page
    assert "credit_limit=" not in page and "<code>" not in page
    select_html = page.split('<select class="form-select" id="action" name="action">')[1]
    select_html = select_html.split("</select>")[0]
    groups = re.findall(r'<optgroup label="([^"]+)">', select_html)
    assert groups == ["Accounts", "Invoices", "Orders", "People", "Settings", "Imports"]
    assert '<option value="invoice.pay" >Invoice paid</option>' in select_html
    paid = client.get("/admin/audit?action=invoice.pay", headers={"HX-Request": "true"})
    fragment = paid.get_data(as_text=True)
    assert "<html" not in fragment and fragment.count("<tr") == 2 + 1  # header + 2 payments
    assert "recorded a payment of R$40.00" in fragment
    odd = client.get("/admin/audit?action=robot.dance").get_data(as_text=True)
    assert '<option value="robot.dance" selected>robot.dance</option>' in odd
    refresh()
    portuguese = client.get("/admin/audit", headers=PT).get_data(as_text=True)
    assert "R$\xa097,04" in portuguese


def test_the_dashboard_tells_the_latest_events(client, login, session, story):
    login("owner")
    page = client.get("/admin").get_data(as_text=True)
    recent = page.split('id="activity-title"')[1]
    assert recent.count('class="list-group-item') == 10
    assert "owner@store.example (owner) opened the account" in recent
    assert "account.open" not in recent and "Reason: CSV import file.csv" in recent
