"""Real threads against a real database file or server: no overspending, one hold per id."""

import threading
from decimal import Decimal

from sqlalchemy import func, select

from portal import credit
from portal.extensions import db
from portal.models import Invoice, PreAuthorization


def _race(app, count, work):
    """Run work(i) in `count` threads released together; return results and errors."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, [None] * count

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except credit.CreditError as error:
                errors[i] = error.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def test_32_threads_never_overspend(app, session, make_account, settings):
    settings(tolerance_enabled=True)
    account = make_account(limit="1000", tolerance="0.1")  # 1100 with tolerance
    account_id = account.id

    def buy(i):
        return credit.authorize(db.session, account_id, "100", actor=f"thread-{i}").id

    results, errors = _race(app, 32, buy)
    approved = [r for r in results if r]
    assert len(approved) == 11
    assert set(errors) == {None, "insufficient_credit"}
    session.rollback()  # end the read snapshot taken before the race
    held = session.scalar(select(func.sum(PreAuthorization.value)))
    assert Decimal(str(held)) == Decimal("1100.00")
    assert credit.get_account(session, account_id).pre_authorized == Decimal("1100.00")
    assert credit.find_breaches(session) == []


def test_50_concurrent_requests_same_transaction_create_one_hold(app, session, make_account):
    account = make_account(limit="1000")
    account_id = account.id

    def buy(i):
        return credit.authorize(
            db.session, account_id, "10", actor=f"thread-{i}", transaction_id="SAME-ORDER"
        ).id

    results, errors = _race(app, 50, buy)
    assert results == ["SAME-ORDER"] * 50 and errors == [None] * 50
    session.rollback()  # end the read snapshot taken before the race
    assert session.scalar(select(func.count()).select_from(PreAuthorization)) == 1
    assert credit.get_account(session, account_id).pre_authorized == Decimal("10.00")
    assert credit.find_breaches(session) == []


def test_concurrent_payments_and_purchases_keep_the_ledger(app, session, make_account, purchase):
    account = make_account(limit="1000")
    account_id = account.id
    purchase(account, "600", term="30/60/90")
    invoice_ids = list(session.scalars(select(Invoice.id)))

    def work(i):
        if i < len(invoice_ids):
            return credit.pay_invoice(db.session, account_id, invoice_ids[i], actor="pay").id
        return credit.authorize(db.session, account_id, "150", actor=f"buyer-{i}").id

    _race(app, 12, work)
    session.rollback()  # end the read snapshot taken before the race
    assert credit.find_breaches(session) == []
    fresh = credit.get_account(session, account_id)
    assert fresh.balance == Decimal("1000.00")
    assert fresh.pre_authorized <= Decimal("1000.00")
