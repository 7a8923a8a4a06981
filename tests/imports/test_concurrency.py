"""An import and checkouts on the same account at the same time keep the ledger right."""

import threading
from decimal import Decimal

from portal import credit, uploads
from portal.extensions import db


def test_import_and_checkout_race_on_one_account(app, session, make_account):
    account = make_account(limit="1000", email="race@example.com")
    account_id, document = account.id, account.document
    text = (
        "Email,Document,Document Type,Credit limit,Tolerance rate\n"
        f"race@example.com,{document},CPF,500,0\n"
    )
    batch, _ = uploads.preview_upload(session, "accounts", "race.csv", text.encode(), "t")
    batch_id = batch.id
    barrier = threading.Barrier(9)
    outcomes = []

    def run(work):
        with app.app_context():
            barrier.wait()
            try:
                work()
                outcomes.append("ok")
            except credit.CreditError as error:
                outcomes.append(error.code)
            finally:
                db.session.remove()

    def buy(i):
        return lambda: credit.authorize(db.session, account_id, "100", actor=f"buyer{i}")

    workers = [threading.Thread(target=run, args=(buy(i),)) for i in range(8)]
    workers.append(
        threading.Thread(
            target=run, args=(lambda: uploads.apply_batch(db.session, batch_id, "importer"),)
        )
    )
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    session.rollback()
    assert credit.find_breaches(session) == []
    fresh = credit.get_account(session, account_id)
    assert fresh.credit_limit == Decimal("500.00")
    approved = outcomes.count("ok") - 1  # the import succeeded too
    assert fresh.pre_authorized == Decimal(100 * approved)
    assert set(outcomes) <= {"ok", "insufficient_credit"}
