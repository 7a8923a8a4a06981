"""A Hypothesis state machine drives random operations against a simple model.

After every step: the cached balance equals Σ entries (credit verify), the model's
balance, holds and invoices equal the database's, and a refused operation changed nothing.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import delete, select

from portal import credit
from portal.credit.money import split
from portal.extensions import db
from portal.models import Invoice

ACTOR = "property"
amounts = st.integers(min_value=1, max_value=60000).map(lambda c: Decimal(c) / 100)


def _empty_database() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


class LedgerMachine(RuleBasedStateMachine):
    """One account, tolerance on, and the operations of DESIGN.md."""

    def __init__(self):
        super().__init__()
        _empty_database()
        self.session = db.session
        credit.update_settings(self.session, {"tolerance_enabled": True}, ACTOR)
        self.account = credit.open_account(
            self.session,
            document="52998224725",
            document_type="CPF",
            email="model@example.com",
            credit_limit="1000",
            tolerance="0.1",
            actor=ACTOR,
        )
        self.limit = Decimal("1000.00")
        self.balance = Decimal("1000.00")
        self.holds: dict[str, Decimal] = {}
        self.resolved: set[str] = set()
        self.settled: dict[str, list] = {}  # tid -> [settled, refunded]
        self.invoices: dict[str, dict] = {}  # id -> value, paid, status, tid, n
        self.counter = 0

    # --- helpers -------------------------------------------------------------------------
    def available(self) -> Decimal:
        return (
            self.balance
            - sum(self.holds.values(), Decimal(0))
            + (self.limit * Decimal("0.1")).quantize(Decimal("0.01"))
        )

    def snapshot(self):
        self.session.expire_all()
        account = credit.get_account(self.session, self.account.id)
        rows = self.session.execute(
            select(Invoice.id, Invoice.value, Invoice.paid_amount, Invoice.status)
        ).all()
        return account.balance, account.pre_authorized, sorted(rows)

    def refused(self, operation, code=None):
        before = self.snapshot()
        with pytest.raises(credit.CreditError) as error:
            operation()
        assert self.snapshot() == before, "a refused operation changed something"
        if code:
            assert error.value.code == code

    # --- rules ---------------------------------------------------------------------------
    @rule(value=amounts, installments=st.integers(1, 3))
    def authorize(self, value, installments):
        self.counter += 1
        tid = f"T{self.counter}"
        if value < installments * Decimal("0.01"):  # not a cent for every installment
            self.refused(
                lambda: credit.authorize(
                    self.session,
                    self.account.id,
                    value,
                    actor=ACTOR,
                    transaction_id=tid,
                    installments=installments,
                ),
                "invalid_installments",
            )
            return
        if value > self.available():
            self.refused(
                lambda: credit.authorize(
                    self.session,
                    self.account.id,
                    value,
                    actor=ACTOR,
                    transaction_id=tid,
                    installments=installments,
                ),
                "insufficient_credit",
            )
            return
        credit.authorize(
            self.session,
            self.account.id,
            value,
            actor=ACTOR,
            transaction_id=tid,
            installments=installments,
        )
        self.holds[tid] = value

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def cancel_hold(self, data):
        tid = data.draw(st.sampled_from(sorted(self.holds)))
        credit.cancel_authorization(self.session, self.account.id, tid, actor=ACTOR)
        del self.holds[tid]
        self.resolved.add(tid)

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), cents_less=st.integers(0, 500))
    def settle(self, data, cents_less):
        tid = data.draw(st.sampled_from(sorted(self.holds)))
        hold = credit.get_transaction(self.session, self.account.id, tid)
        count = hold.installments
        value = max(self.holds[tid] - Decimal(cents_less) / 100, count * Decimal("0.01"))
        credit.settle(self.session, self.account.id, tid, value, actor=ACTOR)
        parts = split(value, count)
        assert sum(parts) == value
        for n, part in enumerate(parts, start=1):
            self.invoices[f"{tid}-{n:02d}"] = {
                "value": part,
                "paid": Decimal(0),
                "status": "Opened",
                "tid": tid,
                "n": n,
            }
        self.balance -= value
        del self.holds[tid]
        self.resolved.add(tid)
        self.settled[tid] = [value, Decimal(0)]

    @precondition(lambda self: self.resolved)
    @rule(data=st.data())
    def resolve_again_is_refused(self, data):
        tid = data.draw(st.sampled_from(sorted(self.resolved)))
        if tid in self.settled:
            self.refused(
                lambda: credit.cancel_authorization(
                    self.session, self.account.id, tid, actor=ACTOR
                ),
                "invalid_transition",
            )
        else:
            self.refused(
                lambda: credit.settle(self.session, self.account.id, tid, "1", actor=ACTOR),
                "invalid_transition",
            )

    @precondition(lambda self: self.invoices)
    @rule(data=st.data(), partial=st.booleans())
    def pay(self, data, partial):
        iid = data.draw(st.sampled_from(sorted(self.invoices)))
        inv = self.invoices[iid]
        remaining = inv["value"] - inv["paid"]
        if inv["status"] != "Opened" or remaining <= 0:
            self.refused(
                lambda: credit.pay_invoice(self.session, self.account.id, iid, actor=ACTOR)
            )
            return
        amount = (remaining / 2).quantize(Decimal("0.01")) if partial else remaining
        amount = max(amount, Decimal("0.01"))
        credit.pay_invoice(self.session, self.account.id, iid, amount, actor=ACTOR)
        inv["paid"] += amount
        if inv["paid"] == inv["value"]:
            inv["status"] = "Paid"
        self.balance += amount

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def cancel_invoice(self, data):
        iid = data.draw(st.sampled_from(sorted(self.invoices)))
        inv = self.invoices[iid]
        if inv["status"] != "Opened":
            self.refused(
                lambda: credit.cancel_invoice(self.session, self.account.id, iid, actor=ACTOR),
                "invalid_transition",
            )
            return
        credit.cancel_invoice(self.session, self.account.id, iid, actor=ACTOR)
        self.balance += inv["value"] - inv["paid"]
        inv["status"] = "Cancelled"

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def reopen_invoice(self, data):
        iid = data.draw(st.sampled_from(sorted(self.invoices)))
        inv = self.invoices[iid]
        if inv["status"] == "Opened":
            self.refused(
                lambda: credit.reopen_invoice(self.session, self.account.id, iid, actor=ACTOR),
                "invalid_transition",
            )
            return
        credit.reopen_invoice(self.session, self.account.id, iid, actor=ACTOR)
        if inv["status"] == "Paid":
            inv["paid"] = Decimal(0)
        self.balance -= inv["value"] - inv["paid"]
        inv["status"] = "Opened"

    @precondition(lambda self: self.settled)
    @rule(data=st.data(), cents=st.integers(1, 40000))
    def refund(self, data, cents):
        tid = data.draw(st.sampled_from(sorted(self.settled)))
        settled, refunded = self.settled[tid]
        amount = Decimal(cents) / 100
        if amount > settled - refunded:
            self.refused(
                lambda: credit.refund(self.session, self.account.id, tid, amount, actor=ACTOR),
                "refund_exceeds_settled",
            )
            return
        credit.refund(self.session, self.account.id, tid, amount, actor=ACTOR)
        self.settled[tid][1] += amount
        self.balance += amount
        left = amount
        mine = sorted(
            (i for i in self.invoices.values() if i["tid"] == tid and i["status"] == "Opened"),
            key=lambda i: -i["n"],
        )
        for inv in mine:
            cut = min(left, inv["value"] - inv["paid"])
            inv["value"] -= cut
            left -= cut
            if inv["value"] == inv["paid"]:
                inv["status"] = "Paid" if inv["paid"] > 0 else "Cancelled"
            if left == 0:
                break

    @rule(cents=st.integers(0, 300000))
    def change_limit(self, cents):
        new = Decimal(cents) / 100
        credit.change_limit(self.session, self.account.id, new, actor=ACTOR, reason="model")
        self.balance += new - self.limit
        self.limit = new

    @rule(value=st.sampled_from(["0", "-1", "abc", "0.001", None]))
    def bad_amount_is_refused(self, value):
        self.refused(
            lambda: credit.authorize(self.session, self.account.id, value, actor=ACTOR),
            "invalid_amount",
        )

    # --- invariants ----------------------------------------------------------------------
    @invariant()
    def ledger_matches_model(self):
        balance, held, rows = self.snapshot()
        assert balance == self.balance
        assert held == sum(self.holds.values(), Decimal(0))
        assert rows == sorted(
            (iid, i["value"], i["paid"], i["status"]) for iid, i in self.invoices.items()
        )
        assert credit.find_breaches(self.session) == []


def test_ledger_state_machine(app):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
