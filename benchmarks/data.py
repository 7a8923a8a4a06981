"""A large store for benchmarks: N accounts and M invoices, written with executemany.

The rows are consistent with the ledger (each invoice has its Invoice entry, each
account its Credit entry, cached balances equal Σ entries), so `credit verify` holds.
With `heavy_invoices`, one more account (HEAVY_ACCOUNT, main holder HEAVY_EMAIL) gets that
many invoices of its own on top of the M: the customer My Credits is timed for.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from portal.credit.bulk import _insert_many
from portal.models import Account, Holder, Invoice, PreAuthorization, StatementEntry
from portal.search import words

HEAVY_ACCOUNT = "99999999999_Other"
HEAVY_EMAIL = "heavy@bench.example"


def build_store(
    session: Session, accounts: int, invoices: int, seed: int = 1, *, heavy_invoices: int = 0
) -> None:
    """Fill an empty database with `accounts` accounts and `invoices` invoices (plus, with
    `heavy_invoices`, the account HEAVY_ACCOUNT holding that many more)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = date.today()
    account_rows, holder_rows, entry_rows = [], [], []
    per_account = max(1, invoices // accounts)
    balances = {}
    buyers = [(n, f"buyer{n}@bench.example", f"Company {n}") for n in range(accounts)]
    if heavy_invoices:
        buyers.append((int(HEAVY_ACCOUNT[:11]), HEAVY_EMAIL, "Company Heavy"))
    for n, email, name in buyers:
        account_id = f"{n:011d}_Other"
        limit = Decimal(rng.choice([1000, 5000, 20000, 100000]))
        if account_id == HEAVY_ACCOUNT:
            limit = Decimal(10_000_000)
        balances[account_id] = limit
        account_rows.append(
            {
                "id": account_id,
                "document": f"{n:011d}",
                "document_type": "Other",
                "email": email,
                "name": name,
                "description": "",
                "search_text": words(account_id, f"{n:011d}", email, name),
                "status": "Open" if n % 20 or account_id == HEAVY_ACCOUNT else "Closed",
                "credit_limit": limit,
                "tolerance": Decimal("0.1"),
                "balance": limit,
                "pre_authorized": Decimal("0.00"),
                "created_at": now - timedelta(days=n % 700),
                "updated_at": now,
            }
        )
        holder_rows.append(
            {
                "id": f"h{n:031d}",
                "account_id": account_id,
                "email": email,
                "level": 1,
                "created_at": now,
            }
        )
        entry_rows.append(
            {
                "account_id": account_id,
                "origin": "Credit",
                "value": limit,
                "invoice_id": None,
                "transaction_id": None,
                "installment": None,
                "description": "",
                "done_by": "bench",
                "created_at": now,
            }
        )
    hold_rows, invoice_rows = [], []
    statuses = ["Opened", "Opened", "Paid", "Cancelled"]
    for i in range(invoices + heavy_invoices):
        account_id = f"{(i // per_account) % accounts:011d}_Other"
        if i >= invoices:
            account_id = HEAVY_ACCOUNT
        tid = f"B{i:015d}"
        value = Decimal(rng.randint(100, 50000)) / 100
        status = statuses[i % 4]
        due = today + timedelta(days=rng.randint(-150, 90))
        hold_rows.append(
            {
                "id": tid,
                "account_id": account_id,
                "status": "Settled",
                "value": value,
                "original_value": value,
                "installments": 1,
                "payment_term": "30",
                "settle": True,
                "available_at_approval": value,
                "settled_value": value,
                "refunded_value": Decimal("0.00"),
                "done_by": "bench",
                "created_at": now,
                "updated_at": now,
            }
        )
        invoice_rows.append(
            {
                "id": f"{tid}-01",
                "friendly_id": f"{i:08d}",
                "account_id": account_id,
                "transaction_id": tid,
                "order_id": f"ORD{i}",
                "installment": 1,
                "number_of_installments": 1,
                "status": status,
                "value": value,
                "paid_amount": value if status == "Paid" else Decimal("0.00"),
                "due_date": due,
                "original_due_date": due,
                "postponements": 0,
                "payment_link": "",
                "observation": "",
                "search_text": words(f"{i:08d}", f"{tid}-01", f"ORD{i}"),
                "created_at": now - timedelta(days=rng.randint(0, 400)),
                "updated_at": now,
            }
        )
        entry_rows.append(
            {
                "account_id": account_id,
                "origin": "Invoice",
                "value": -value,
                "invoice_id": f"{tid}-01",
                "transaction_id": tid,
                "installment": 1,
                "description": "",
                "done_by": "bench",
                "created_at": now,
            }
        )
        if status == "Paid":
            entry_rows.append(
                {
                    "account_id": account_id,
                    "origin": "Payment",
                    "value": value,
                    "invoice_id": f"{tid}-01",
                    "transaction_id": tid,
                    "installment": 1,
                    "description": "",
                    "done_by": "bench",
                    "created_at": now,
                }
            )
        elif status == "Cancelled":
            entry_rows.append(
                {
                    "account_id": account_id,
                    "origin": "Cancellation",
                    "value": value,
                    "invoice_id": f"{tid}-01",
                    "transaction_id": tid,
                    "installment": 1,
                    "description": "",
                    "done_by": "bench",
                    "created_at": now,
                }
            )
        else:
            balances[account_id] -= value
    for row in account_rows:
        row["balance"] = balances[row["id"]]
    for model, rows in (
        (Account, account_rows),
        (Holder, holder_rows),
        (PreAuthorization, hold_rows),
        (Invoice, invoice_rows),
        (StatementEntry, entry_rows),
    ):
        for start in range(0, len(rows), 200_000):
            _insert_many(session, model.__table__, rows[start : start + 200_000])
    session.commit()
