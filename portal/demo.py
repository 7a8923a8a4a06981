"""A realistic demo store that tells one story: the last six months of a B2B store on credit.

The store launched its credit program about six months ago. Customers open accounts over
the first two months (a few join recently) and buy every few weeks. Each purchase is held
at checkout and billed (settled) a day or few later into invoices, issued that day and due
after the term's days, most with a payment link; customers pay around the due date, a few
late, a few in two parts or after a postponement. Some orders are cancelled before
billing, a few returned after it (their invoices cancelled).

Some customers tell their own story: a few stop paying, their invoices run past the store's
`overdue_hold_days` and put them on hold (later purchases are refused; one gets its limit
cut); the owner lifted one such hold on a payment plan; some accounts are near their limit
(one uses its tolerance), two close, two have dependents (one capped), one limit is raised
and one account gets a goodwill adjustment.

Every step goes through the credit engine at its own moment: `_Story` runs its events in
time order, each under `clock_at(moment)`, so timestamps, the store's today (due dates,
holds) and ledger ids all agree. What would happen after now has not happened yet.
"""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from validate_docbr import CNPJ, CPF

from . import credit, people
from .credit.ledger import write_transaction
from .credit.logo import save_logo
from .images import make_png
from .models import Account, Invoice, clock_at, utcnow

ACTOR = "demo-seed"  # the store's integration: purchases, billing and payments
OWNER = "owner@demo.example"
FINANCE = "finance@demo.example"
STAFF = ("owner", "finance", "support")
DAYS = 183  # how far back the story starts
TERMS = ("7", "28", "30/60", "30/60/90")
CENT = Decimal("0.01")
PAY_LINK = "https://pay.example.com/boleto/{}"  # the own link of most invoices
# The rest get the store's template (portal/paylinks.py).
PAY_LINK_TEMPLATE = "https://pay.example.com/{friendlyId}?amount={amountDue}"
BANK_DETAILS = "Banco do Brasil (001)\nAgência 1234-5 · Conta corrente 67890-1\nDemo Store Ltda"
# Who the demo store is (the settings page's Store identity; a logo made in demo_logo).
IDENTITY = {
    "trade_name": "Demo Store",
    "legal_name": "Demo Store Comércio de Materiais de Escritório Ltda",
    "tax_id": "11.222.333/0001-81",
    "address": "Av. Paulista, 1000, 10º andar\nBela Vista, São Paulo – SP\n01310-100",
    "support_email": "ajuda@demo.example",
    "support_phone": "+55 11 4000-1234",
}
COMPANIES = [
    "Papelaria Central",
    "Distribuidora Sol",
    "Mercado Bom Preço",
    "Ferragens Aliança",
    "Café Serra Azul",
    "Construtora Horizonte",
    "Farmácia Vida",
    "Padaria Trigo Dourado",
    "Auto Peças Rota",
    "Escritório Ágil",
    "Gráfica Pixel",
    "Hotel Mirante",
    "Restaurante Sabor",
    "Clínica Bem Estar",
    "Loja Bella Moda",
    "Tech Soluções",
]

# Who plays which part, by account number; every other account is an ordinary customer.
DEPENDENTS = {0: [("compras", None), ("estagio", Decimal(500))], 8: [("filial", None)]}
ON_HOLD = (1, 5, 9, 13)  # stop paying: on hold today
LIFTED = 3  # stopped paying, then the owner lifted the hold on a payment plan
NEAR_LIMIT = (2, 6, 10)  # a recent large order; 2 goes into its tolerance
TOLERANCE = {2: "0.1", 6: "0.2", 12: "0.1", 17: "0.15"}
CLOSED = {7: "The customer closed the business.", 11: "Closed at the customer's request."}
ADJUSTED = 4  # a goodwill credit (and its first order is returned)
RAISED = 8  # a good payer whose limit and tolerance are raised


def demo_logo() -> bytes:
    """The demo store's logo: a small PNG made here (a blue tile with a white "D")."""

    def color(x: int, y: int) -> tuple[int, int, int]:
        dx, dy = x - 20, y - 24
        in_d = (x in range(20, 24) and y in range(12, 36)) or (
            dx >= 0 and 100 <= dx * dx + dy * dy <= 196
        )
        return (255, 255, 255) if in_d else (13, 110, 253)

    return make_png(48, 48, color)


def has_data(session: Session) -> bool:
    """Whether any account exists."""
    return session.scalar(select(Account.id).limit(1)) is not None


def seed(session: Session, accounts: int = 50, rng_seed: int = 7) -> list[tuple[str, str, str]]:
    """Create the demo store; returns (role, e-mail, password) of each demo login."""
    story = _Story(session, random.Random(rng_seed), utcnow().replace(microsecond=0))
    story.begin(accounts)
    story.run()
    return story.logins


@dataclass
class _Customer:
    n: int
    id: str = ""
    email: str = ""
    dependents: dict[str, Decimal | None] = field(default_factory=dict)
    late_share: float = 0.0
    last_purchase: date = date.max
    unpaid_from: date = date.max  # invoices due on or after it are left unpaid…
    unpaid_until: date = date.max  # …when due before this one
    chased: bool = False  # a reminder is noted on its first unpaid invoice
    returned: bool = False  # has had an order returned

    def leaves_unpaid(self, due: date) -> bool:
        return self.unpaid_from <= due < self.unpaid_until


class _Story:
    """A queue of events run in time order, each at its moment; a future one is dropped."""

    def __init__(self, session: Session, rng: random.Random, now: datetime) -> None:
        self.session, self.rng, self.now = session, rng, now
        self.tz = ZoneInfo(credit.get_settings(session).timezone)
        self.today = now.astimezone(self.tz).date()
        self.start = self.today - timedelta(days=DAYS)
        self.moment = datetime.min.replace(tzinfo=UTC)
        self.queue: list[tuple[datetime, int, Callable, tuple]] = []
        self.order = itertools.count()  # breaks ties between events at one moment
        self.order_numbers = itertools.count(10001)
        self.logins: list[tuple[str, str, str]] = []

    # --- time ------------------------------------------------------------------------------

    def at(self, moment: datetime, action: Callable, *args) -> None:
        moment = max(moment, self.moment)
        if moment <= self.now:
            heapq.heappush(self.queue, (moment, next(self.order), action, args))

    def on(self, day: date, action: Callable, *args) -> None:
        """Schedule `action` at a business hour of the store's date `day`."""
        hour = time(self.rng.randint(9, 17), self.rng.randint(0, 59), self.rng.randint(0, 59))
        self.at(datetime.combine(day, hour, self.tz).astimezone(UTC), action, *args)

    def run(self) -> None:
        """Play the events, all in one transaction (nested engine calls join it): the store
        appears whole or not at all, and fast. Each event's rows are flushed at its moment."""
        with write_transaction(self.session):
            while self.queue:
                self.moment, _, action, args = heapq.heappop(self.queue)
                with clock_at(self.moment):
                    action(*args)
                    self.session.flush()

    @property
    def date(self) -> date:
        """The store's date at the current moment."""
        return self.moment.astimezone(self.tz).date()

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    # --- the plot --------------------------------------------------------------------------

    def begin(self, accounts: int) -> None:
        """Schedule the launch of the store and each customer's story."""
        self.on(self.start, self._launch)
        for n in range(accounts):
            self._cast(_Customer(n))

    def _launch(self) -> None:
        credit.update_settings(
            self.session,
            {
                "tolerance_enabled": True,
                "postponement_enabled": True,
                "postponement_limit": 2,
                "max_postponement_days": 15,
                "daily_interest_rate": "0.001",
                "late_fee_rate": "0.02",
                "automatic_account_creation": True,
                "default_credit_value": "500",
                "payment_instructions": "Pay by bank slip or PIX using the link on each invoice.",
                "payment_link_template": PAY_LINK_TEMPLATE,
                "bank_details": BANK_DETAILS,
                "pix_key": "pix@demo.example",
                **IDENTITY,
            },
            ACTOR,
        )
        save_logo(self.session, demo_logo(), ACTOR)
        for days in TERMS:
            credit.save_term(self.session, days, ACTOR)
        for role in STAFF:
            password = secrets.token_urlsafe(9)
            email = f"{role}@demo.example"
            people.create_user(
                self.session, email, role, actor=ACTOR, password=password, name=role.title()
            )
            self.logins.append((role, email, password))

    def _cast(self, c: _Customer) -> None:
        rng = self.rng
        c.late_share = rng.choice([0.0, 0.05, 0.1, 0.2])
        stops_paying = c.n in ON_HOLD or c.n == LIFTED
        if c.n >= 14 and c.n % 9 == 0:  # a newcomer
            opened = self.days_ago(15, 40)
        else:  # early enough for a history (and, for those who stop paying, their last order)
            opened = self.start + timedelta(days=rng.randint(1, 30 if stops_paying else 60))
        self.on(opened, self._open, c)
        if c.n in CLOSED:
            closes = self.days_ago(10, 40)
            c.last_purchase = closes - timedelta(days=rng.randint(20, 45))
            self.on(closes, self._close, c, CLOSED[c.n])
        if stops_paying:
            # The order that goes unpaid: its 28-day invoice falls due after `unpaid_from`.
            c.unpaid_from = self.days_ago(70, 120) if c.n in ON_HOLD else self.days_ago(85, 100)
            self.on(c.unpaid_from - timedelta(days=10), self._purchase, c, "28", True)
        if c.n == LIFTED:
            lift = self.days_ago(10, 14)
            c.unpaid_until = lift
            self.on(lift, self._lift_hold, c)
            self.on(lift + timedelta(days=2), self._payment_plan, c)
        if c.n == ON_HOLD[0]:
            self.on(self.days_ago(5, 9), self._cut_limit, c)
        if c.n in NEAR_LIMIT:
            self.on(self.days_ago(3, 9), self._large_order, c)
        if c.n == ADJUSTED:
            self.on(self.days_ago(30, 60), self._goodwill, c)
        if c.n == RAISED:
            self.on(self.days_ago(40, 60), self._raise_limit, c)
        day = opened + timedelta(days=rng.randint(1, 8))
        while day <= min(self.today, c.last_purchase):
            self.on(day, self._purchase, c)
            day += timedelta(days=rng.randint(21, 50))

    # --- accounts --------------------------------------------------------------------------

    def _open(self, c: _Customer) -> None:
        company = COMPANIES[c.n % len(COMPANIES)]
        is_company = c.n % 3 != 2
        slug = company.lower().replace(" ", "").encode("ascii", "ignore").decode()
        account = credit.open_account(
            self.session,
            document=(CNPJ() if is_company else CPF()).generate(),
            document_type="CNPJ" if is_company else "CPF",
            email=f"buyer{c.n:03d}@{slug}.example",
            name=f"{company} {c.n + 1}",
            credit_limit=Decimal(self.rng.choice([1000, 2500, 5000, 10000, 25000])),
            tolerance=TOLERANCE.get(c.n, "0"),
            actor=FINANCE,
        )
        c.id, c.email = account.id, account.email
        domain = c.email.split("@")[1]
        c.dependents = {f"{who}{c.n:03d}@{domain}": cap for who, cap in DEPENDENTS.get(c.n, [])}
        for email, cap in c.dependents.items():
            credit.add_holder(self.session, c.id, email, actor=FINANCE, spending_cap=cap)
        if c.n == 0:  # the demo customer login
            password = secrets.token_urlsafe(9)
            people.create_user(self.session, c.email, "customer", actor=ACTOR, password=password)
            self.logins.append(("customer", c.email, password))

    def _close(self, c: _Customer, reason: str) -> None:
        credit.close_account(self.session, c.id, actor=OWNER, reason=reason)

    def _lift_hold(self, c: _Customer) -> None:
        credit.lift_hold(
            self.session,
            c.id,
            actor=OWNER,
            reason="Payment plan agreed: half of the overdue invoices now, the rest in 30 days.",
        )

    def _payment_plan(self, c: _Customer) -> None:
        """After the hold is lifted: half of each forgiven invoice, the later unpaid ones
        in full (so none of them crosses the threshold again)."""
        forgiven = self.session.get(Account, c.id).hold_forgiven_before
        for invoice in self._open_invoices(account_id=c.id):
            if invoice.due_date >= c.unpaid_until:
                continue  # paid as planned when it was issued
            if invoice.due_date < forgiven:
                half = (invoice.remaining / 2).quantize(CENT)
                credit.pay_invoice(self.session, c.id, invoice.id, half, actor=ACTOR)
                self._note(invoice, "Payment plan: half paid when the hold was lifted.")
            else:
                credit.pay_invoice(self.session, c.id, invoice.id, actor=ACTOR)

    def _cut_limit(self, c: _Customer) -> None:
        account = self.session.get(Account, c.id)
        if not credit.is_on_hold(self.session, account):
            return
        in_use = account.used + account.pre_authorized
        floor = (in_use / 100).to_integral_value(ROUND_UP) * 100
        new_limit = max(floor, (account.credit_limit / 2).quantize(CENT))
        if new_limit < account.credit_limit:
            credit.change_limit(
                self.session,
                c.id,
                new_limit,
                actor=OWNER,
                reason="Invoices more than 30 days overdue: limit reduced.",
            )

    def _raise_limit(self, c: _Customer) -> None:
        account = self.session.get(Account, c.id)
        reason = "Months of on-time payments: limit raised and tolerance granted."
        credit.change_limit(
            self.session, c.id, account.credit_limit * 2, actor=OWNER, reason=reason
        )
        credit.change_tolerance(self.session, c.id, "0.1", actor=OWNER, reason=reason)

    def _goodwill(self, c: _Customer) -> None:
        credit.adjust_balance(
            self.session,
            c.id,
            Decimal("75.00"),
            actor=FINANCE,
            reason="Goodwill credit: an order arrived three days late.",
        )

    # --- purchases -------------------------------------------------------------------------

    def _purchase(self, c: _Customer, term: str | None = None, kept: bool = False) -> None:
        """An order at checkout: held now, then billed or (rarely) cancelled."""
        rng = self.rng
        buyer = rng.choice([None, *c.dependents]) if c.dependents else None
        cents = rng.randint(2000, 30000) if c.dependents.get(buyer) else rng.randint(5000, 90000)
        account = self.session.get(Account, c.id)
        value = min(Decimal(cents) / 100, account.available_credit * Decimal("0.6"))
        self._hold(c, value.quantize(CENT), term or rng.choice(TERMS), buyer, kept)

    def _large_order(self, c: _Customer) -> None:
        """An order that takes the account near its limit (into its tolerance for one)."""
        account = self.session.get(Account, c.id)
        share = Decimal(self.rng.randint(88, 96)) / 100
        value = account.available_credit * share
        if c.n == NEAR_LIMIT[0]:
            value = account.available_credit + account.tolerance_margin(True) / 2
        self._hold(c, value.quantize(CENT), "30/60/90", None, True)

    def _hold(self, c: _Customer, value: Decimal, term: str, buyer, kept: bool) -> None:
        if value < 20:
            return
        try:
            hold = credit.authorize(
                self.session,
                c.id,
                value,
                actor=ACTOR,
                payment_term=term,
                holder_email=buyer,
                order_id=f"ORD-{next(self.order_numbers)}",
            )
        except credit.Conflict:
            return  # refused at checkout: on hold, closed, over the limit or the cap
        later = self.date + timedelta(days=self.rng.randint(1, 3))
        if not kept and self.rng.random() < 0.05:
            self.on(later, self._cancel_order, c, hold.id)
        else:
            returned = not kept and (
                (c.n == ADJUSTED and not c.returned) or self.rng.random() < 0.05
            )
            c.returned = c.returned or returned
            self.on(later, self._bill, c, hold.id, returned)

    def _cancel_order(self, c: _Customer, hold_id: str) -> None:
        credit.cancel_authorization(self.session, c.id, hold_id, actor=ACTOR)

    def _bill(self, c: _Customer, hold_id: str, returned: bool) -> None:
        """Settle the order: its invoices are issued now; plan how each gets paid."""
        credit.settle(self.session, c.id, hold_id, actor=ACTOR)
        invoices = list(
            self.session.scalars(
                select(Invoice).where(Invoice.transaction_id == hold_id).order_by(Invoice.id)
            )
        )
        for invoice in invoices:
            if self.rng.random() < 0.7:
                link = PAY_LINK.format(invoice.friendly_id)
                credit.annotate_invoice(
                    self.session, c.id, invoice.id, actor=ACTOR, payment_link=link
                )
        if returned:
            self.on(self.date + timedelta(days=self.rng.randint(3, 6)), self._return, c, hold_id)
            return
        for invoice in invoices:
            self._plan_payment(c, invoice.id, invoice.due_date)

    def _return(self, c: _Customer, hold_id: str) -> None:
        for invoice in self._open_invoices(transaction_id=hold_id):
            credit.cancel_invoice(
                self.session, c.id, invoice.id, actor=FINANCE, reason="Order returned."
            )

    # --- payments --------------------------------------------------------------------------

    def _plan_payment(self, c: _Customer, invoice_id: str, due: date) -> None:
        rng = self.rng
        issued = self.date
        if c.leaves_unpaid(due):
            if not c.chased:
                c.chased = True
                self.on(due + timedelta(days=rng.randint(33, 40)), self._chase, c, invoice_id)
            return
        roll = rng.random()
        if roll < 0.04 and (due - issued).days >= 20:
            self.on(due - timedelta(days=3), self._postpone, c, invoice_id)
        elif roll < 0.08:
            first = max(due - timedelta(days=2), issued + timedelta(days=1))
            self.on(first, self._pay_half, c, invoice_id)
            self.on(due + timedelta(days=rng.randint(5, 15)), self._pay, c, invoice_id)
        else:
            late = rng.random() < c.late_share
            delay = rng.randint(1, 20) if late else -rng.randint(0, 7)
            day = max(due + timedelta(days=delay), issued + timedelta(days=1))
            self.on(day, self._pay, c, invoice_id)

    def _pay(self, c: _Customer, invoice_id: str) -> None:
        if self.session.get(Invoice, invoice_id).status == "Opened":
            credit.pay_invoice(self.session, c.id, invoice_id, actor=ACTOR)

    def _pay_half(self, c: _Customer, invoice_id: str) -> None:
        invoice = self.session.get(Invoice, invoice_id)
        half = (invoice.remaining / 2).quantize(CENT)
        credit.pay_invoice(self.session, c.id, invoice_id, half, actor=ACTOR)
        self._note(invoice, "The customer paid half; the rest is promised within two weeks.")

    def _postpone(self, c: _Customer, invoice_id: str) -> None:
        invoice = credit.postpone_invoice(self.session, c.id, invoice_id, 10, actor=FINANCE)
        self._note(invoice, "Postponed 10 days at the customer's request.")
        day = invoice.due_date - timedelta(days=self.rng.randint(0, 3))
        self.on(day, self._pay, c, invoice_id)

    def _chase(self, c: _Customer, invoice_id: str) -> None:
        invoice = self.session.get(Invoice, invoice_id)
        if invoice.status == "Opened":
            self._note(invoice, "Collections: reminders sent by e-mail and phone, no answer.")

    # --- helpers ---------------------------------------------------------------------------

    def _note(self, invoice: Invoice, text: str) -> None:
        credit.annotate_invoice(
            self.session, invoice.account_id, invoice.id, actor=FINANCE, observation=text
        )

    def _open_invoices(self, **where) -> list[Invoice]:
        query = select(Invoice).filter_by(status="Opened", **where).order_by(Invoice.id)
        return list(self.session.scalars(query))
