"""A realistic demo store: accounts, dependents, holds and invoices in every state."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from validate_docbr import CNPJ, CPF

from . import credit, people
from .models import Account, Invoice

ACTOR = "demo-seed"
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


def has_data(session: Session) -> bool:
    """Whether any account exists."""
    return session.scalar(select(Account.id).limit(1)) is not None


def seed(session: Session, accounts: int = 50, rng_seed: int = 7) -> list[tuple[str, str, str]]:
    """Create the demo store; returns (role, e-mail, password) of each demo login."""
    rng = random.Random(rng_seed)
    credit.update_settings(
        session,
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
        },
        ACTOR,
    )
    for days in ("7", "28", "30/60", "30/60/90"):
        credit.save_term(session, days, ACTOR)

    opened = [_open_demo_account(session, rng, n) for n in range(accounts)]
    for n, account in enumerate(opened):
        _buy_and_bill(session, rng, account, n)
    _age_some_invoices(session, rng)

    logins = []
    for role in ("owner", "finance", "support"):
        password = secrets.token_urlsafe(9)
        people.create_user(
            session, f"{role}@demo.example", role, actor=ACTOR, password=password, name=role.title()
        )
        logins.append((role, f"{role}@demo.example", password))
    password = secrets.token_urlsafe(9)
    people.create_user(session, opened[0].email, "customer", actor=ACTOR, password=password)
    logins.append(("customer", opened[0].email, password))
    return logins


def _open_demo_account(session: Session, rng: random.Random, n: int) -> Account:
    company = COMPANIES[n % len(COMPANIES)]
    is_company = n % 3 != 2
    document = (CNPJ() if is_company else CPF()).generate()
    slug = company.lower().replace(" ", ".").encode("ascii", "ignore").decode()
    account = credit.open_account(
        session,
        document=document,
        document_type="CNPJ" if is_company else "CPF",
        email=f"buyer{n:03d}@{slug.replace('.', '')}.example",
        name=f"{company} {n + 1}",
        credit_limit=Decimal(rng.choice([1000, 2500, 5000, 10000, 25000])),
        tolerance=rng.choice(["0", "0.1", "0.2"]),
        actor=ACTOR,
    )
    if n % 4 == 0:
        credit.add_holder(
            session,
            account.id,
            f"dependent{n:03d}@{account.email.split('@')[1]}",
            actor=ACTOR,
            spending_cap=Decimal(500) if n % 8 == 0 else None,
        )
    return account


def _buy_and_bill(session: Session, rng: random.Random, account: Account, n: int) -> None:
    terms = ["7", "28", "30/60", "30/60/90"]
    for purchase in range(rng.randint(1, 4)):
        available = account.available_credit
        value = (Decimal(rng.randint(5000, 90000)) / 100).quantize(Decimal("0.01"))
        if value > available:
            continue
        hold = credit.authorize(
            session,
            account.id,
            value,
            actor=ACTOR,
            payment_term=rng.choice(terms),
            order_id=f"ORD-{n:03d}{purchase}-01",
        )
        if purchase == 0 and n % 5 == 4:
            continue  # leave a pre-authorization waiting to be billed
        credit.settle(session, account.id, hold.id, value, actor=ACTOR)
    if n % 10 == 9:
        credit.close_account(session, account.id, actor=ACTOR, reason="Demo: closed account")


def _age_some_invoices(session: Session, rng: random.Random) -> None:
    """Move some invoices into the past, then pay or cancel some: every state appears."""
    today = credit.store_today(credit.get_settings(session))
    invoices = list(session.scalars(select(Invoice).order_by(Invoice.id)))
    for invoice in invoices:
        roll = rng.random()
        if roll < 0.3:
            shift = rng.choice([5, 20, 45, 75, 120])
            invoice.due_date = invoice.original_due_date = today - timedelta(days=shift)
            invoice.created_at = invoice.created_at - timedelta(days=shift + 30)
    session.commit()
    for invoice in invoices:
        roll = rng.random()
        if roll < 0.25:
            credit.pay_invoice(session, invoice.account_id, invoice.id, actor=ACTOR)
        elif roll < 0.3:
            half = (invoice.value / 2).quantize(Decimal("0.01"))
            credit.pay_invoice(session, invoice.account_id, invoice.id, half, actor=ACTOR)
        elif roll < 0.37:
            credit.cancel_invoice(
                session, invoice.account_id, invoice.id, actor=ACTOR, reason="Demo: order returned"
            )
