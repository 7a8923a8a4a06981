"""Reminder e-mails: rules at their store time, one e-mail per holder and pass, re-checked
when sent, a one-click opt-out; missed rules after an outage; two workers at once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from portal import credit, jobs, outbox, reminders
from portal.extensions import db
from portal.models import Account, AuditEvent, Holder, Invoice, OutboxMessage, Reminder, clock_at

SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # UTC−3 all year (no daylight saving since 2019)
PUBLIC = "https://credit.store.example"
BOUGHT = datetime(2030, 1, 1, 10, 0, tzinfo=SAO_PAULO)


def at(day: int, hour: int = 12, minute: int = 0, month: int = 1) -> datetime:
    """A moment of January 2030 (or `month`) in the store's timezone."""
    return datetime(2030, month, day, hour, minute, tzinfo=SAO_PAULO)


def rule(when: str, days: int, time: str) -> dict:
    return {"when": when, "days": days, "time": time}


@pytest.fixture(autouse=True)
def store(app, settings):
    app.config["PUBLIC_URL"] = PUBLIC
    settings(timezone="America/Sao_Paulo", locale="en", currency="BRL")


@pytest.fixture
def buy(session, purchase):
    """buy(account, due_day, value="100.00") -> the Invoice due on January `due_day` 2030,
    bought on January 1st."""

    def make(account, due: date | int, value="100.00") -> Invoice:
        due = date(2030, 1, due) if isinstance(due, int) else due
        with clock_at(BOUGHT):
            hold = purchase(account, value, term=str((due - BOUGHT.date()).days))
        return session.scalars(select(Invoice).where(Invoice.transaction_id == hold.id)).one()

    return make


def run(session, now: datetime) -> dict:
    """One pass of the job at `now`, as the worker runs it."""
    with clock_at(now):
        return reminders.send_reminders(session, now)


def deliver(session, now: datetime) -> tuple[int, int]:
    with clock_at(now):
        return outbox.send_pending(session, now=now)


def made(session) -> list[tuple[str, str, date, str]]:
    """(invoice id, rule, store day it fired, status) of every reminder."""
    session.rollback()
    rows = session.execute(
        select(Reminder.invoice_id, Reminder.rule, Reminder.due_on, Reminder.status).order_by(
            Reminder.id
        )
    )
    return [tuple(row) for row in rows]


def emails(session) -> list[OutboxMessage]:
    session.rollback()
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "reminder").order_by(OutboxMessage.id)
    ).all()


def body(message) -> str:
    return message.get_content().replace("\r\n", "\n")


# --- when rules fire ----------------------------------------------------------------------


def test_rules_fire_at_their_store_time_around_midnight(session, settings, make_account, buy):
    settings(reminder_rules=[rule("before", 1, "00:30"), rule("after", 0, "23:30")])
    invoice = buy(make_account(), 10)  # due 2030-01-10 in São Paulo
    # 00:29 on the 9th in the store: already the 9th in UTC (03:29Z), not yet the rule's time
    assert run(session, datetime(2030, 1, 9, 3, 29, tzinfo=UTC))["reminders"] == 0
    assert run(session, datetime(2030, 1, 9, 3, 30, tzinfo=UTC))["reminders"] == 1
    assert made(session) == [(invoice.id, "before:1", date(2030, 1, 9), "queued")]
    assert run(session, at(10, 23, 29))["reminders"] == 0  # the due date, 02:29Z on the 11th
    assert run(session, datetime(2030, 1, 11, 2, 30, tzinfo=UTC)) == {
        "reminders": 1,
        "emails": 1,
        "busy": 0,
    }
    # the store's day (the 10th) names the rule's firing, not the UTC day (the 11th)
    assert made(session)[1] == (invoice.id, "after:0", date(2030, 1, 10), "queued")
    assert run(session, at(11, 9))["reminders"] == 0  # never twice
    keys = [m.dedupe_key.split(":", 2)[2] for m in emails(session)]
    assert keys == ["2030-01-09:00:30", "2030-01-10:23:30"]


def test_a_rule_that_fired_before_the_invoice_existed_is_not_news(
    session, settings, make_account, buy
):
    settings(reminder_rules=[rule("before", 5, "09:00"), rule("before", 1, "09:00")])
    invoice = buy(make_account(), 4)  # bought on the 1st: "5 days before" was Dec 30
    assert run(session, at(2, 12))["reminders"] == 0
    assert run(session, at(3, 9))["reminders"] == 1
    assert [(r[0], r[1]) for r in made(session)] == [(invoice.id, "before:1")]


def test_missed_rules_after_an_outage(session, settings, make_account, buy):
    settings(
        reminder_rules=[
            rule("before", 5, "09:00"),
            rule("after", 3, "09:00"),
            rule("after", 10, "09:00"),
        ]
    )
    due_20, due_25, due_5, due_2 = (buy(make_account(), day) for day in (20, 25, 5, 2))
    # the worker was down from the 2nd to the 21st at 08:00
    run(session, at(21, 8))
    fired = {(r[0], r[1]) for r in made(session)}
    assert fired == {
        (due_25.id, "before:5"),  # fired yesterday, still before its due date
        (due_5.id, "after:10"),  # the latest news; "after 3" is superseded
    }
    # due on the 20th: "5 days before" is never sent once the due date has passed;
    # due on the 2nd: "10 days after" fired on the 12th, over a week ago: not sent any more
    assert not {due_20.id, due_2.id} & {r[0] for r in made(session)}
    run(session, at(24, 10))  # "3 days after" fired yesterday at 09:00: sent a day late
    fired = {(r[0], r[1]) for r in made(session)}
    assert (due_20.id, "after:3") in fired and len(fired) == 3


def test_only_opened_invoices_are_reminded(session, settings, make_account, buy):
    settings(reminder_rules=[rule("before", 1, "09:00")])
    account = make_account()
    paid, cancelled, opened = (buy(account, 10) for _ in range(3))
    credit.pay_invoice(session, account.id, paid.id, actor="test")
    credit.cancel_invoice(session, account.id, cancelled.id, actor="test")
    credit.pay_invoice(session, account.id, opened.id, "30", actor="test")  # in part
    run(session, at(9, 9))
    assert [r[0] for r in made(session)] == [opened.id]


# --- one e-mail per holder and pass ---------------------------------------------------------


def test_30_installments_due_the_same_day_are_one_email_per_holder(
    session, settings, make_account, buy, mailbox
):
    settings(reminder_rules=[rule("before", 1, "09:00")])
    account = make_account(limit="5000", email="main@shop.example")
    credit.add_holder(session, account.id, "buyer@shop.example", actor="test")
    invoices = [buy(account, 11, "10.00") for _ in range(30)]
    assert run(session, at(10, 9, 5)) == {"reminders": 30, "emails": 2, "busy": 0}
    queued = emails(session)
    assert [m.recipient for m in queued] == ["main@shop.example", "buyer@shop.example"]
    assert all(len(m.payload["reminder_ids"]) == 30 for m in queued)
    assert {m.payload["account_id"] for m in queued} == {account.id}
    main_id = queued[0].id
    assert session.scalar(select(func.count()).where(Reminder.outbox_id == main_id)) == 30
    assert deliver(session, at(10, 9, 6)) == (2, 0)
    assert sorted(m["To"] for m in mailbox.messages) == ["buyer@shop.example", "main@shop.example"]
    for message in mailbox.messages:
        assert message["Subject"] == "Payment reminder: 30 invoices"
        text = body(message)
        assert all(invoice.friendly_id in text for invoice in invoices)
    assert {r[3] for r in made(session)} == {"sent"}
    assert run(session, at(10, 23))["reminders"] == 0 and deliver(session, at(11)) == (0, 0)


def test_a_dependent_who_opted_out_gets_none(session, settings, make_account, buy, mailbox):
    settings(reminder_rules=[rule("before", 1, "09:00"), rule("before", 0, "09:00")])
    account = make_account(email="main@shop.example")
    credit.add_holder(session, account.id, "quiet@shop.example", actor="test")
    credit.add_holder(session, account.id, "late@shop.example", actor="test")
    buy(account, 10)
    assert reminders.set_reminders(session, "Quiet@Shop.example", False, actor="test") == 1
    run(session, at(9, 9))
    assert [m.recipient for m in emails(session)] == ["main@shop.example", "late@shop.example"]
    # one who opts out after the e-mail was queued, before it is sent, gets none either
    reminders.set_reminders(session, "late@shop.example", False, actor="test")
    assert deliver(session, at(9, 9, 1)) == (1, 1)
    assert [m["To"] for m in mailbox.messages] == ["main@shop.example"]
    late = emails(session)[1]
    assert late.status == "failed" and late.last_error.startswith("obsolete")
    assert made(session)[0][3] == "sent"  # the main holder's e-mail carried it
    # back on: the next rule reaches the dependent again
    assert reminders.set_reminders(session, "late@shop.example", True, actor="test") == 1
    run(session, at(10, 9))
    assert [m.recipient for m in emails(session)[2:]] == ["main@shop.example", "late@shop.example"]


def test_no_holder_wants_reminders_so_they_are_skipped(session, settings, make_account, buy):
    settings(reminder_rules=[rule("before", 1, "09:00")])
    account = make_account(email="main@shop.example")
    reminders.set_reminders(session, "main@shop.example", False, actor="test")
    buy(account, 10)
    assert run(session, at(9, 9)) == {"reminders": 1, "emails": 0, "busy": 0}
    assert made(session)[0][3] == "skipped" and emails(session) == []


# --- rendered when sent ---------------------------------------------------------------------


def test_a_reminder_is_never_sent_for_an_invoice_paid_before_sending(
    session, settings, make_account, buy, mailbox
):
    settings(reminder_rules=[rule("before", 1, "09:00")])
    account = make_account(email="main@shop.example")
    paid, still_open = buy(account, 10), buy(account, 10)
    alone = make_account(email="alone@shop.example")
    cancelled = buy(alone, 10)
    run(session, at(9, 9))
    assert len(emails(session)) == 2
    credit.pay_invoice(session, account.id, paid.id, actor="test")  # after the e-mail was queued
    credit.cancel_invoice(session, alone.id, cancelled.id, actor="test")
    assert deliver(session, at(9, 9, 1)) == (1, 1)
    [message] = mailbox.messages
    assert message["To"] == "main@shop.example"
    assert still_open.friendly_id in body(message) and paid.friendly_id not in body(message)
    subject = f"Payment reminder: invoice {still_open.friendly_id}, due January 10, 2030"
    assert message["Subject"] == subject
    status = {r[0]: r[3] for r in made(session)}
    assert status == {paid.id: "skipped", still_open.id: "sent", cancelled.id: "skipped"}
    obsolete = emails(session)[1]
    assert obsolete.recipient == "alone@shop.example" and obsolete.status == "failed"
    assert obsolete.last_error == "obsolete: nothing to send any more"


def test_the_email_says_what_is_due_today_how_to_pay_and_how_to_stop(
    app, session, settings, make_account, buy, mailbox
):
    settings(
        reminder_rules=[rule("after", 3, "09:00")],
        late_fee_rate="0.02",
        daily_interest_rate="0.001",
        payment_instructions="PIX key: store@example.com",
    )
    account = make_account(email="main@shop.example", name="Café Serra Azul")
    invoice = buy(account, 10)
    credit.annotate_invoice(
        session, account.id, invoice.id, actor="test", payment_link="https://pay.example/i/1"
    )
    run(session, at(13, 9))
    assert deliver(session, at(13, 9, 1)) == (1, 0)
    [message] = mailbox.messages
    [row] = emails(session)
    assert message["To"] == "main@shop.example" and message["From"] == app.config["MAIL_SENDER"]
    assert message["Message-ID"] == outbox.message_id(row)
    assert (
        message["Subject"]
        == f"Payment reminder: invoice {invoice.friendly_id}, due January 10, 2030"
    )
    text = body(message)
    assert "credit account Café Serra Azul" in text
    assert f"Invoice {invoice.friendly_id} (installment 1 of 1)" in text
    assert "Due date: January 10, 2030, 3 days overdue" in text
    # 100.00 + a 2 % late fee + 3 days of 0.1 % interest
    assert "Due today: R$102.30 (R$100.00 + late fee R$2.00 + interest R$0.30)" in text
    assert "Pay: https://pay.example/i/1" in text
    assert "How to pay:\nPIX key: store@example.com" in text
    link = f"{PUBLIC}/reminders/off/"
    assert f"Stop these reminder e-mails: {link}" in text
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{link}") and unsubscribe.endswith(">")
    assert unsubscribe[1:-1] in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_store_locale_formats_amounts_and_dates(session, settings, make_account, buy, mailbox):
    settings(reminder_rules=[rule("before", 0, "08:00")], locale="pt_BR")
    buy(make_account(limit="5000"), 10, "1234.50")
    run(session, at(10, 8))
    deliver(session, at(10, 8, 1))
    [message] = mailbox.messages
    assert "R$\xa01.234,50" in body(message) and "10 de janeiro de 2030" in message["Subject"]


# --- opting out -------------------------------------------------------------------------------


def _opt_out_path(mailbox) -> str:
    return mailbox.messages[-1]["List-Unsubscribe"][1:-1].removeprefix(PUBLIC)


def _wants(session, email: str) -> list[bool]:
    session.rollback()
    return session.scalars(
        select(Holder.reminders).where(Holder.email == email).order_by(Holder.account_id)
    ).all()


def test_the_opt_out_link_works_without_a_session(
    app, client, session, settings, make_account, buy, mailbox
):
    settings(reminder_rules=[rule("before", 1, "09:00")])
    account = make_account(email="main@shop.example")
    other = make_account()
    credit.add_holder(session, other.id, "main@shop.example", actor="test")  # a 2nd account
    buy(account, 10)
    run(session, at(9, 9))
    deliver(session, at(9, 9, 1))
    path = _opt_out_path(mailbox)
    asked = client.get(path)  # a mail scanner opening the link changes nothing
    assert asked.status_code == 200 and "Stop reminder e-mails" in asked.get_data(as_text=True)
    assert _wants(session, "main@shop.example") == [True, True]
    done = client.post(path)
    assert done.status_code == 200 and "gets no more reminder e-mails" in done.get_data(
        as_text=True
    )
    assert _wants(session, "main@shop.example") == [False, False]  # every account of the e-mail
    audits = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "holder.reminders")
    ).all()
    assert {(a.actor, a.account_id) for a in audits} == {
        ("main@shop.example", account.id),
        ("main@shop.example", other.id),
    }
    assert client.post(path).status_code == 200  # again: still done, nothing more changes
    assert (
        len(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "holder.reminders")).all()
        )
        == 2
    )


def test_the_one_click_post_of_a_mail_client_needs_no_csrf_token(
    app, client, session, make_account
):
    app.config["WTF_CSRF_ENABLED"] = True
    make_account(email="main@shop.example")
    with app.test_request_context():
        path = reminders.opt_out_link("main@shop.example").removeprefix(PUBLIC)
    response = client.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert _wants(session, "main@shop.example") == [False]


def test_a_tampered_opt_out_token_is_refused(app, client, session, make_account):
    make_account(email="main@shop.example")
    make_account(email="victim@shop.example")
    path = reminders.opt_out_link("main@shop.example").removeprefix(PUBLIC)
    token = path.rsplit("/", 1)[1]
    forged = reminders.opt_out_token("victim@shop.example")
    assert forged != token
    payload, signature = token.split(".")
    other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="portal-password-reset")
    tampered = [
        f"{forged.split('.')[0]}.{signature}",  # another e-mail under this signature
        f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        other_salt.dumps({"email": "victim@shop.example"}),  # signed for another purpose
        "x",
    ]
    for bad in tampered:
        assert client.get(f"/reminders/off/{bad}").status_code == 404, bad
        refused = client.post(f"/reminders/off/{bad}")
        assert refused.status_code == 404 and "not valid" in refused.get_data(as_text=True)
    assert _wants(session, "victim@shop.example") == [True]
    assert _wants(session, "main@shop.example") == [True]
    assert reminders.email_for_token(token) == "main@shop.example"
    app.config["SECRET_KEY"] = "another-secret"  # a token is only as good as the secret
    assert reminders.email_for_token(token) is None


# --- workers --------------------------------------------------------------------------------


def test_two_workers_at_once_make_each_reminder_and_each_email_once(
    app, session, settings, make_account, buy, mailbox
):
    settings(reminder_rules=[rule("before", 1, "09:00")])
    for n in range(6):
        account = make_account(limit="5000", email=f"main{n}@shop.example")
        credit.add_holder(session, account.id, f"dep{n}@shop.example", actor="test")
        for _ in range(5):
            buy(account, 11, "10.00")
    now = at(10, 9, 30)
    barrier = threading.Barrier(4)
    results, failures = [None] * 4, []

    def work(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                with clock_at(now):
                    results[i] = reminders.send_reminders(db.session, now)
            except Exception as error:  # reported below, not lost in the thread
                failures.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures and not any(thread.is_alive() for thread in threads)
    assert sum(r["reminders"] for r in results) == 30
    assert sum(r["emails"] for r in results) == 12
    rows = made(session)
    assert len(rows) == len({(r[0], r[1]) for r in rows}) == 30
    assert len(emails(session)) == 12
    assert session.scalar(select(func.count()).where(Reminder.outbox_id.is_(None))) == 0
    # and two senders at once deliver each e-mail once
    senders = [threading.Thread(target=_send_in_context, args=(app, now)) for _ in range(2)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(timeout=120)
    assert len(mailbox.messages) == 12
    assert len({m["Message-ID"] for m in mailbox.messages}) == 12
    assert {m.status for m in emails(session)} == {"sent"}


def test_an_account_locked_elsewhere_waits_for_the_next_pass(
    app, session, settings, make_account, buy
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing to skip")
    settings(reminder_rules=[rule("before", 1, "09:00")])
    busy, free = make_account(), make_account()
    waiting, reminded = buy(busy, 10), buy(free, 10)
    now = at(9, 9)
    with db.engine.connect() as other:
        held = other.begin()  # a purchase on `busy`, say, holding its account row
        other.execute(select(Account.id).where(Account.id == busy.id).with_for_update())
        answers = []
        worker = threading.Thread(target=lambda: answers.append(_run_in_context(app, now)))
        worker.start()
        worker.join(timeout=20)  # SKIP LOCKED: the pass never waits for the lock
        assert not worker.is_alive() and answers == [{"reminders": 1, "emails": 1, "busy": 1}]
        held.rollback()
    assert [r[0] for r in made(session)] == [reminded.id]
    assert run(session, now) == {"reminders": 1, "emails": 1, "busy": 0}
    assert [r[0] for r in made(session)] == [reminded.id, waiting.id]


def _run_in_context(app, now: datetime) -> dict:
    with app.app_context():
        try:
            return run(db.session, now)
        finally:
            db.session.remove()


def _send_in_context(app, now: datetime) -> None:
    with app.app_context():
        try:
            deliver(db.session, now)
        finally:
            db.session.remove()


def test_the_worker_pass_sends_the_reminders_it_makes(
    session, settings, make_account, buy, mailbox
):
    settings(reminder_rules=[rule("before", 2, "10:00")])
    buy(make_account(email="main@shop.example"), 10)
    names = [job.name for job in jobs.JOBS]
    assert names.index("reminders") < names.index("outbox")
    chosen = [job for job in jobs.JOBS if job.name in ("reminders", "outbox")]
    result = jobs.run_pass(session, at(8, 10), jobs=chosen)
    assert result.errors == {}
    assert result.counts["reminders"] == {"reminders": 1, "emails": 1, "busy": 0}
    assert result.counts["outbox"] == {"sent": 1, "failed": 0}
    assert [m["To"] for m in mailbox.messages] == ["main@shop.example"]
    assert made(session)[0][3] == "sent"
