"""Settling and cancelling one hold at the same moment: exactly one of them wins."""

from decimal import Decimal

from sqlalchemy import func, select

from portal import credit
from portal.models import Invoice

from .conftest import race

PAIRS = 30


def test_settle_racing_cancel_lets_exactly_one_win(app, session, make_account, served, key_headers):
    account = make_account(limit="100000")
    holds = [
        credit.authorize(session, account.id, "100", actor="test", transaction_id=f"P{i}")
        for i in range(PAIRS)
    ]
    ids, account_id = [hold.id for hold in holds], account.id
    outcomes = []
    for tid in ids:
        settle_body = {"requestId": f"R-{tid}", "paymentId": tid, "value": 100}

        def settle(http, tid=tid, body=settle_body):
            return http.post(
                f"{served}/ppp/payments/{tid}/settlements", json=body, headers=key_headers
            )

        def cancel(http, tid=tid):
            url = f"{served}/api/creditcontrol/accounts/{account_id}/transactions/{tid}"
            return http.delete(url, headers=key_headers)

        (settled, _), (cancelled, _) = race([settle, cancel])
        outcomes.append((settled, cancelled))
    session.rollback()
    assert all(sorted(pair) == [200, 409] for pair in outcomes), outcomes
    assert credit.find_breaches(session) == []
    fresh = credit.get_account(session, account_id)
    assert fresh.pre_authorized == Decimal("0.00")
    billed = sum(1 for settled, _ in outcomes if settled == 200)
    assert session.scalar(select(func.count()).select_from(Invoice)) == billed
    assert fresh.balance == Decimal("100000.00") - 100 * billed
