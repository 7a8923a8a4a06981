"""Terms of up to 24 installments fit wherever a term is stored (payment terms, holds)."""

from decimal import Decimal

from sqlalchemy import select

from portal import credit
from portal.models import Invoice

LONGEST = "/".join(str(day) for day in range(100, 124))  # 24 due days, 95 characters


def test_the_longest_term_is_saved_and_authorized(session, make_account):
    assert len(LONGEST) == 95
    term = credit.save_term(session, LONGEST, "test")
    assert term.days == LONGEST
    account = make_account(limit="10000")
    hold = credit.authorize(session, account.id, "240", actor="test", payment_term=LONGEST)
    assert (hold.payment_term, hold.installments) == (LONGEST, 24)
    by_default = credit.authorize(session, account.id, "24", actor="test", installments=24)
    assert by_default.installments == 24
    credit.settle(session, account.id, hold.id, "240", actor="test")
    invoices = session.scalars(select(Invoice).where(Invoice.transaction_id == hold.id)).all()
    assert len(invoices) == 24
    assert sum((i.value for i in invoices), Decimal(0)) == Decimal("240.00")
