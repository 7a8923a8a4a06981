"""Audit events told as sentences, in the reader's language (a shared read layer).

The audit trail stores codes (`invoice.pay`, `{"amount": "97.04"}`); this module turns a
page of stored events into sentences such as "Ana Souza (finance) marked invoice 64554909
of Café Serra Azul paid — R$97.04", at display time, so they follow the reader's language
and locale. The dashboard and the audit log both go through `describe()`.

Everything shown is escaped: each sentence is a translated template (`_()`) made safe with
`markupsafe.escape` and filled with `Markup % values`, which escapes every value that is
not itself Markup (the links, built with `Markup.format`, escape theirs).

The names a page mentions (actors, accounts, invoices, purchases, holders) are loaded in
at most six queries for the whole page, never one per event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import format_percent
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup, escape
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .credit.settings import SETTING_FIELDS
from .i18n import day, money, number_locale
from .models import Account, AuditEvent, Holder, Invoice, PreAuthorization, User

TEXT_SHOWN = 80  # characters of a free text (observation, setting) quoted in a sentence


# --- where names link to (one place each) ---------------------------------------------------


def account_href(account_id: str) -> str:
    """The back-office page of an account."""
    return url_for("admin.accounts_show", account_id=account_id)


def invoice_href(invoice_id: str, friendly_id: str) -> str:
    """Where an invoice number links to: the invoice's own page."""
    return url_for("admin.invoices_show", invoice_id=invoice_id)


# --- what templates get ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One event as the reader sees it."""

    id: int
    when: datetime
    action: str
    who: Markup  # the actor: "Ana Souza (finance)", "API key «checkout»", an e-mail…
    sentence: Markup  # the whole sentence, `who` included, with links
    reason: str
    account_id: str | None


@dataclass(frozen=True)
class _Person:
    """A login, as far as a sentence names it."""

    id: int
    email: str
    name: str
    role: str


@dataclass
class _Names:
    """What a page of events mentions, loaded once for the page."""

    users_by_email: dict[str, _Person] = field(default_factory=dict)
    users_by_id: dict[str, _Person] = field(default_factory=dict)
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → (name, e-mail)
    invoices: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # id → (friendly, value)
    holds: dict[str, Decimal] = field(default_factory=dict)  # id → value
    holders: dict[str, str] = field(default_factory=dict)  # id → e-mail


def describe(session: Session, events: Iterable[AuditEvent]) -> list[Entry]:
    """The events as sentences, in the order given (at most six queries for them all)."""
    events = list(events)
    names = _load_names(session, events)
    return [_entry(event, names) for event in events]


def _load_names(session: Session, events: list[AuditEvent]) -> _Names:
    names = _Names()

    def targets(kind: str) -> set[str]:
        return {e.target_id for e in events if e.target_type == kind and e.target_id}

    emails = {e.actor for e in events if e.actor and "@" in e.actor}
    user_ids = {int(i) for i in targets("User") if i.isascii() and i.isdigit() and len(i) < 10}
    if emails or user_ids:
        rows = session.execute(
            select(User.id, User.email, User.name, User.role).where(
                or_(User.email.in_(emails), User.id.in_(user_ids))
            )
        )
        for row in rows:
            user = _Person(*row)
            names.users_by_email[user.email] = user
            names.users_by_id[str(user.id)] = user
    account_ids = {e.account_id for e in events if e.account_id} | targets("Account")
    if account_ids:
        rows = session.execute(
            select(Account.id, Account.name, Account.email).where(Account.id.in_(account_ids))
        )
        names.accounts = {i: (name, email) for i, name, email in rows}
    if invoice_ids := targets("Invoice"):
        rows = session.execute(
            select(Invoice.id, Invoice.friendly_id, Invoice.value).where(
                Invoice.id.in_(invoice_ids)
            )
        )
        names.invoices = {i: (friendly, value) for i, friendly, value in rows}
    if hold_ids := targets("PreAuthorization"):
        rows = session.execute(
            select(PreAuthorization.id, PreAuthorization.value).where(
                PreAuthorization.id.in_(hold_ids)
            )
        )
        names.holds = {i: value for i, value in rows}
    if holder_ids := targets("Holder"):
        rows = session.execute(select(Holder.id, Holder.email).where(Holder.id.in_(holder_ids)))
        names.holders = {i: email for i, email in rows}
        if removed := holder_ids - set(names.holders):  # named by the event that added them
            rows = session.execute(
                select(AuditEvent.target_id, AuditEvent.details).where(
                    AuditEvent.target_type == "Holder",
                    AuditEvent.target_id.in_(removed),
                    AuditEvent.action == "holder.add",
                )
            )
            for holder_id, details in rows:
                if isinstance(details, dict) and details.get("email"):
                    names.holders[holder_id] = str(details["email"])
    return names


def _entry(event: AuditEvent, names: _Names) -> Entry:
    facts = _Facts(event, names)
    action = ACTIONS.get(event.action)
    sentence = None
    if action is not None:
        try:
            sentence = action.render(facts)
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation):
            sentence = None  # an event of an older shape: told the generic way
    return Entry(
        id=event.id,
        when=event.created_at,
        action=event.action,
        who=facts.who,
        sentence=sentence if sentence is not None else _generic(facts),
        reason=event.reason or "",
        account_id=event.account_id,
    )


# --- pieces of sentences --------------------------------------------------------------------


def say(template: str, **values) -> Markup:
    """A translated template (already through `_()`) with its values escaped into it."""
    return escape(str(template)) % values


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(href, text)


def _quote(text: str) -> str:
    text = str(text)
    return text if len(text) <= TEXT_SHOWN else text[: TEXT_SHOWN - 1] + "…"


def _amount(raw) -> str:
    return money(Decimal(str(raw)))


def _rate(raw) -> str:
    """A rate (0.015) as a percentage with the digits it needs (1.5%)."""
    return format_percent(Decimal(str(raw)), format="#,##0.###%", locale=number_locale())


ROLE_NAMES = {
    "owner": _l("owner"),
    "finance": _l("finance"),
    "support": _l("support"),
    "customer": _l("customer"),
}
# Actors that are no person: the scheduled tasks, the command line, the demo data.
MACHINE_ACTORS = {
    "system": _l("The portal (scheduled task)"),
    "cli": _l("The command line"),
    "demo-seed": _l("The demo data"),
    "anonymous": _l("A visitor who was not signed in"),
}
API_KEY_PREFIXES = ("apikey:", "api:")


class _Facts:
    """One event and the names of what it mentions, as pieces of a sentence."""

    def __init__(self, event: AuditEvent, names: _Names):
        self.event, self.names = event, names
        self.details = event.details if isinstance(event.details, dict) else {}
        self.who = self._who()

    def _who(self) -> Markup:
        actor = self.event.actor or ""
        for prefix in API_KEY_PREFIXES:
            if actor.startswith(prefix):
                label = actor[len(prefix) :]
                if self.event.action.startswith("transaction."):
                    return say(_("The checkout (API key «%(label)s»)"), label=label)
                return say(_("API key «%(label)s»"), label=label)
        if actor in MACHINE_ACTORS:
            return escape(str(MACHINE_ACTORS[actor]))
        user = self.names.users_by_email.get(actor)
        if user is None:
            return escape(actor or _("Someone"))
        role = ROLE_NAMES.get(user.role, user.role)
        return say(_("%(name)s (%(role)s)"), name=user.name or user.email, role=role)

    def detail(self, name: str):
        return self.details[name]

    @property
    def account(self) -> Markup:
        """The event's account, named and linked (its id when it no longer exists)."""
        account_id = self.event.account_id or (
            self.event.target_id if self.event.target_type == "Account" else None
        )
        if not account_id:
            return escape(_("an unknown account"))
        found = self.names.accounts.get(account_id)
        if found is None:
            return escape(account_id)
        name, email = found
        return _link(account_href(account_id), name or email or account_id)

    @property
    def invoice(self) -> Markup:
        """The event's invoice: its friendly number, linked."""
        found = self.names.invoices.get(self.event.target_id)
        if found is None:
            return escape(self.event.target_id)
        return _link(invoice_href(self.event.target_id, found[0]), found[0])

    @property
    def invoice_value(self) -> Decimal | None:
        found = self.names.invoices.get(self.event.target_id)
        return found[1] if found else None

    @property
    def hold_value(self) -> Decimal | None:
        return self.names.holds.get(self.event.target_id)

    @property
    def user_email(self) -> str:
        """The login an event on a User is about (from its details, else the login itself)."""
        if self.details.get("email"):
            return str(self.details["email"])
        user = self.names.users_by_id.get(self.event.target_id)
        return user.email if user else _("login #%(id)s", id=self.event.target_id)

    @property
    def holder_email(self) -> str:
        if self.details.get("email"):
            return str(self.details["email"])
        return self.names.holders.get(self.event.target_id) or _("a holder")


def _generic(facts: _Facts) -> Markup:
    """An action this module does not know: who, the code, and what it was done to."""
    event = facts.event
    code = Markup("<code>{}</code>").format(event.action)
    if event.target_type == "Account":
        target = facts.account
    elif event.target_type == "Invoice":
        target = facts.invoice
    else:
        target = escape(f"{event.target_type} {event.target_id}".strip() or "?")
    if event.account_id and event.target_type != "Account":
        return say(
            _("%(who)s did %(action)s on %(target)s of %(account)s"),
            who=facts.who,
            action=code,
            target=target,
            account=facts.account,
        )
    return say(_("%(who)s did %(action)s on %(target)s"), who=facts.who, action=code, target=target)


def _join(parts: list) -> Markup:
    return Markup(", ").join(parts)


def _on_account(template: str) -> Callable[[_Facts], Markup]:
    """An action told by who and the account alone."""
    return lambda f: say(template, who=f.who, account=f.account)


def _on_invoice(template: str) -> Callable[[_Facts], Markup]:
    """An action told by who, the invoice and its account."""
    return lambda f: say(template, who=f.who, invoice=f.invoice, account=f.account)


# --- accounts -------------------------------------------------------------------------------


def _account_open(f: _Facts) -> Markup:
    limit = _amount(f.detail("credit_limit"))
    if Decimal(str(f.details.get("tolerance") or "0")):
        return say(
            _(
                "%(who)s opened the account %(account)s with a credit limit of %(limit)s and "
                "a tolerance of %(tolerance)s"
            ),
            who=f.who,
            account=f.account,
            limit=limit,
            tolerance=_rate(f.detail("tolerance")),
        )
    return say(
        _("%(who)s opened the account %(account)s with a credit limit of %(limit)s"),
        who=f.who,
        account=f.account,
        limit=limit,
    )


def _account_update(f: _Facts) -> Markup:
    parts = []
    if "email" in f.details:
        parts.append(say(_("e-mail %(value)s"), value=f.detail("email")))
    if "name" in f.details:
        parts.append(say(_("name «%(value)s»"), value=_quote(f.detail("name"))))
    if "description" in f.details:
        parts.append(escape(_("new description")))
    if not parts:
        return say(
            _("%(who)s saved the account %(account)s unchanged"), who=f.who, account=f.account
        )
    return say(
        _("%(who)s updated the account %(account)s: %(changes)s"),
        who=f.who,
        account=f.account,
        changes=_join(parts),
    )


def _change_limit(f: _Facts) -> Markup:
    return say(
        _("%(who)s changed the credit limit of %(account)s from %(old)s to %(new)s"),
        who=f.who,
        account=f.account,
        old=_amount(f.detail("old")),
        new=_amount(f.detail("new")),
    )


def _change_tolerance(f: _Facts) -> Markup:
    return say(
        _("%(who)s changed the tolerance of %(account)s from %(old)s to %(new)s"),
        who=f.who,
        account=f.account,
        old=_rate(f.detail("old")),
        new=_rate(f.detail("new")),
    )


def _scheduled_limit(f: _Facts) -> dict:
    """The pieces every sentence about a scheduled limit change names."""
    return {
        "who": f.who,
        "account": f.account,
        "limit": _amount(f.detail("credit_limit")),
        "day": day(date.fromisoformat(f.detail("effective_on"))),
    }


def _schedule_limit(f: _Facts) -> Markup:
    if f.details.get("tolerance") is not None:
        return say(
            _(
                "%(who)s scheduled the credit limit of %(account)s to become %(limit)s, "
                "with a tolerance of %(tolerance)s, on %(day)s"
            ),
            tolerance=_rate(f.detail("tolerance")),
            **_scheduled_limit(f),
        )
    return say(
        _("%(who)s scheduled the credit limit of %(account)s to become %(limit)s on %(day)s"),
        **_scheduled_limit(f),
    )


def _cancel_scheduled_limit(f: _Facts) -> Markup:
    return say(
        _(
            "%(who)s cancelled the change of the credit limit of %(account)s to %(limit)s "
            "scheduled for %(day)s"
        ),
        **_scheduled_limit(f),
    )


def _scheduled_limit_failed(f: _Facts) -> Markup:
    return say(
        _(
            "%(who)s could not apply the change of the credit limit of %(account)s to "
            "%(limit)s scheduled for %(day)s: %(error)s"
        ),
        error=_quote(f.details.get("message") or f.detail("error")),
        **_scheduled_limit(f),
    )


def _adjust_balance(f: _Facts) -> Markup:
    value = Decimal(str(f.detail("value")))
    template = (
        _("%(who)s credited %(amount)s to the balance of %(account)s")
        if value > 0
        else _("%(who)s debited %(amount)s from the balance of %(account)s")
    )
    return say(template, who=f.who, amount=money(abs(value)), account=f.account)


def _import_update(f: _Facts) -> Markup:
    parts = []
    for name, pair in f.details.items():
        old, new = pair
        if name == "credit_limit":
            part = say(_("credit limit %(old)s → %(new)s"), old=_amount(old), new=_amount(new))
        elif name == "tolerance":
            part = say(_("tolerance %(old)s → %(new)s"), old=_rate(old), new=_rate(new))
        elif name == "name":
            part = say(_("name «%(old)s» → «%(new)s»"), old=_quote(old), new=_quote(new))
        elif name == "email":
            part = say(_("e-mail %(old)s → %(new)s"), old=old, new=new)
        elif name == "dependents":
            added = _listed(new)
            part = say(
                _("%(added)s: %(emails)s"),
                added=ngettext("%(num)d dependent added", "%(num)d dependents added", len(added)),
                emails=", ".join(added),
            )
        else:
            part = say("%(name)s %(old)s → %(new)s", name=name, old=_quote(old), new=_quote(new))
        parts.append(part)
    return say(
        _("%(who)s updated %(account)s from a CSV import: %(changes)s"),
        who=f.who,
        account=f.account,
        changes=_join(parts),
    )


def _listed(raw) -> list[str]:
    """The e-mails of a stored list: a JSON list, or the text of a Python tuple."""
    if isinstance(raw, list | tuple):
        return [str(item) for item in raw]
    text = str(raw).strip("()[] ")
    return [part.strip(" '\"") for part in text.split(",") if part.strip(" '\"")]


def _holder_add(f: _Facts) -> Markup:
    cap = f.details.get("spending_cap")
    if cap not in (None, ""):
        return say(
            _("%(who)s added %(email)s as a holder of %(account)s, with a spending cap of %(cap)s"),
            who=f.who,
            email=f.holder_email,
            account=f.account,
            cap=_amount(cap),
        )
    return say(
        _("%(who)s added %(email)s as a holder of %(account)s"),
        who=f.who,
        email=f.holder_email,
        account=f.account,
    )


def _holder_cap(f: _Facts) -> Markup:
    cap = f.details.get("spending_cap")
    if cap in (None, ""):
        return say(
            _("%(who)s removed the spending cap of %(email)s on %(account)s"),
            who=f.who,
            email=f.holder_email,
            account=f.account,
        )
    return say(
        _("%(who)s set the spending cap of %(email)s on %(account)s to %(cap)s"),
        who=f.who,
        email=f.holder_email,
        account=f.account,
        cap=_amount(cap),
    )


def _holder_view_as(f: _Facts) -> Markup:
    return say(
        _("%(who)s viewed My Credits as %(email)s, a holder of %(account)s"),
        who=f.who,
        email=f.holder_email,
        account=f.account,
    )


def _holder_reminders(f: _Facts) -> Markup:
    if f.details.get("reminders"):
        template = _("%(who)s turned reminder e-mails on for %(email)s on %(account)s")
    else:
        template = _("%(who)s turned reminder e-mails off for %(email)s on %(account)s")
    return say(template, who=f.who, email=f.holder_email, account=f.account)


def _holder_remove(f: _Facts) -> Markup:
    return say(
        _("%(who)s removed the holder %(email)s from %(account)s"),
        who=f.who,
        email=f.holder_email,
        account=f.account,
    )


# --- orders (purchases on credit) -----------------------------------------------------------


def _authorize(f: _Facts) -> Markup:
    count = int(f.details.get("installments") or 1)
    return say(
        _("%(who)s authorized %(amount)s on %(account)s in %(installments)s"),
        who=f.who,
        amount=_amount(f.detail("value")),
        account=f.account,
        installments=ngettext("%(num)d installment", "%(num)d installments", count),
    )


def _hold_update(f: _Facts) -> Markup:
    return say(
        _("%(who)s changed an authorization on %(account)s from %(old)s to %(new)s"),
        who=f.who,
        account=f.account,
        old=_amount(f.detail("old")),
        new=_amount(f.detail("new")),
    )


def _hold_released(known: str, unknown: str) -> Callable[[_Facts], Markup]:
    """A hold cancelled or expired: its amount when the purchase is still on record."""

    def render(f: _Facts) -> Markup:
        if f.hold_value is None:
            return say(unknown, who=f.who, account=f.account)
        return say(known, who=f.who, amount=money(f.hold_value), account=f.account)

    return render


def _settle(f: _Facts) -> Markup:
    return say(
        _("%(who)s settled a purchase of %(amount)s on %(account)s"),
        who=f.who,
        amount=_amount(f.detail("value")),
        account=f.account,
    )


def _change_settled(f: _Facts) -> Markup:
    return say(
        _("%(who)s changed the settled value of a purchase on %(account)s from %(old)s to %(new)s"),
        who=f.who,
        account=f.account,
        old=_amount(f.detail("old")),
        new=_amount(f.detail("new")),
    )


def _refund(f: _Facts) -> Markup:
    return say(
        _("%(who)s refunded %(amount)s of a purchase on %(account)s"),
        who=f.who,
        amount=_amount(f.detail("value")),
        account=f.account,
    )


# --- invoices -------------------------------------------------------------------------------


def _invoice_pay(f: _Facts) -> Markup:
    amount = Decimal(str(f.detail("amount")))
    if f.invoice_value is not None and amount == f.invoice_value:  # paid in full at once
        template = _("%(who)s marked invoice %(invoice)s of %(account)s paid — %(amount)s")
    else:
        template = _(
            "%(who)s recorded a payment of %(amount)s on invoice %(invoice)s of %(account)s"
        )
    return say(template, who=f.who, invoice=f.invoice, account=f.account, amount=money(amount))


def _invoice_postpone(f: _Facts) -> Markup:
    days = int(f.detail("days"))
    due = day(date.fromisoformat(str(f.detail("due_date"))))
    if days > 0:
        return say(
            _("%(who)s postponed invoice %(invoice)s of %(account)s by %(days)s, to %(due)s"),
            who=f.who,
            invoice=f.invoice,
            account=f.account,
            days=ngettext("%(num)d day", "%(num)d days", days),
            due=due,
        )
    return say(
        _("%(who)s moved the due date of invoice %(invoice)s of %(account)s to %(due)s"),
        who=f.who,
        invoice=f.invoice,
        account=f.account,
        due=due,
    )


def _invoice_annotate(f: _Facts) -> Markup:
    pieces = {"who": f.who, "invoice": f.invoice, "account": f.account}
    link, note = f.details.get("payment_link"), f.details.get("observation")
    if link is not None and note is not None:
        return say(
            _(
                "%(who)s changed the payment link and the observation of invoice %(invoice)s "
                "of %(account)s"
            ),
            **pieces,
        )
    if link is not None:
        if not link:
            return say(
                _("%(who)s removed the payment link of invoice %(invoice)s of %(account)s"),
                **pieces,
            )
        return say(
            _("%(who)s set the payment link of invoice %(invoice)s of %(account)s"), **pieces
        )
    if not note:
        return say(
            _("%(who)s removed the observation of invoice %(invoice)s of %(account)s"), **pieces
        )
    return say(
        _("%(who)s noted on invoice %(invoice)s of %(account)s: «%(text)s»"),
        text=_quote(note),
        **pieces,
    )


# --- people ---------------------------------------------------------------------------------


def _role(f: _Facts) -> str:
    role = str(f.details.get("role") or "")
    return str(ROLE_NAMES.get(role, role))


def _user_create(f: _Facts) -> Markup:
    return say(
        _("%(who)s created the login %(email)s (%(role)s)"),
        who=f.who,
        email=f.user_email,
        role=_role(f),
    )


def _user_invite(f: _Facts) -> Markup:
    return say(_("%(who)s invited %(email)s to choose a password"), who=f.who, email=f.user_email)


def _user_password(f: _Facts) -> Markup:
    if f.user_email == f.event.actor:
        return say(_("%(who)s changed their password"), who=f.who)
    return say(_("%(who)s changed the password of %(email)s"), who=f.who, email=f.user_email)


def _user_change(f: _Facts) -> Markup:
    if f.details.get("active") in (False, "False", "false", 0):
        template = _("%(who)s deactivated the login %(email)s (%(role)s)")
    else:
        template = _("%(who)s set the login %(email)s to %(role)s, active")
    return say(template, who=f.who, email=f.user_email, role=_role(f))


def _api_key_create(f: _Facts) -> Markup:
    scopes = ", ".join(s for s in str(f.details.get("scopes") or "").split(",") if s)
    return say(
        _("%(who)s created the API key «%(label)s» (%(scopes)s)"),
        who=f.who,
        label=f.detail("label"),
        scopes=scopes or _("no scope"),
    )


def _api_key_revoke(f: _Facts) -> Markup:
    return say(_("%(who)s revoked the API key «%(label)s»"), who=f.who, label=f.detail("label"))


def _outbox_send_again(f: _Facts) -> Markup:
    email = f.detail("recipient")
    if f.details.get("fresh_link") in (True, "True", "true"):
        template = _("%(who)s sent the e-mail to %(email)s again, with a new link")
    else:
        template = _("%(who)s sent the e-mail to %(email)s again")
    return say(template, who=f.who, email=email)


# --- settings -------------------------------------------------------------------------------

SETTING_NAMES = {
    "currency": _l("currency"),
    "locale": _l("locale"),
    "timezone": _l("timezone"),
    "holiday_country": _l("holiday calendar"),
    "tolerance_enabled": _l("tolerance allowed"),
    "settle_after_business_days": _l("business days before billing"),
    "postponement_enabled": _l("postponements allowed"),
    "postponement_limit": _l("postponements per invoice"),
    "max_postponement_days": _l("days per postponement"),
    "daily_interest_rate": _l("daily interest"),
    "late_fee_rate": _l("late fee"),
    "max_pre_authorization_growth_rate": _l("growth of pre-authorized orders"),
    "automatic_account_creation": _l("automatic accounts"),
    "default_credit_value": _l("credit of automatic accounts"),
    "my_credits_enabled": _l("My Credits shown"),
    "overdue_hold_days": _l("days overdue before a hold"),
    "payment_instructions": _l("payment instructions"),
    "payment_link_template": _l("payment link template"),
    "bank_details": _l("bank details"),
    "pix_key": _l("Pix key"),
    "trade_name": _l("trade name"),
    "legal_name": _l("legal name"),
    "tax_id": _l("CNPJ"),
    "address": _l("address"),
    "support_email": _l("support e-mail"),
    "support_phone": _l("support phone"),
    "logo": _l("logo"),
    "reminder_rules": _l("reminder e-mails"),
    # settings of earlier versions, still named in the audit trail
    "reminder_days_before": _l("reminders before the due date"),
    "reminder_days_after": _l("reminders after the due date"),
    "reminder_time": _l("reminder time"),
}
_DAY_LISTS = ("reminder_days_before", "reminder_days_after")


def _reminder_rules(rules) -> str:
    """[{"when": "before", "days": 5, "time": "09:30"}, …] as "5 days before at 09:30, …"."""
    if not isinstance(rules, list):
        return _quote(rules)
    told = []
    for rule in rules:
        days, time = rule.get("days"), rule.get("time")
        if rule.get("when") == "before":
            text = ngettext(
                "%(num)d day before at %(time)s", "%(num)d days before at %(time)s", days, time=time
            )
        else:
            text = ngettext(
                "%(num)d day after at %(time)s", "%(num)d days after at %(time)s", days, time=time
            )
        told.append(text)
    return ", ".join(told) or _("none")


def _setting_value(name: str, raw) -> str:
    kind = SETTING_FIELDS.get(name)
    if kind == "rate":
        return _rate(raw)
    if kind == "money":
        return _amount(raw)
    if kind is bool:
        return _("yes") if str(raw).lower() in ("true", "1") else _("no")
    if kind == "rules":
        return _reminder_rules(raw)
    if name in _DAY_LISTS:
        return str(raw).strip("[]")
    if name == "logo" and not raw:
        return _("removed")
    return _quote(raw)


def _settings_update(f: _Facts) -> Markup:
    parts = [
        say(
            _("%(setting)s: %(value)s"),
            setting=str(SETTING_NAMES.get(name, name)),
            value=_setting_value(name, raw),
        )
        for name, raw in f.details.items()
    ]
    return say(
        _("%(who)s changed the store settings: %(changes)s"), who=f.who, changes=_join(parts)
    )


def _term_save(f: _Facts) -> Markup:
    rate = Decimal(str(f.details.get("interest_rate") or "0"))
    if not rate:
        return say(
            _("%(who)s saved the payment term %(days)s, without interest"),
            who=f.who,
            days=f.detail("days"),
        )
    return say(
        _("%(who)s saved the payment term %(days)s, with %(rate)s interest"),
        who=f.who,
        days=f.detail("days"),
        rate=_rate(rate),
    )


def _term_remove(f: _Facts) -> Markup:
    return say(
        _("%(who)s stopped offering the payment term %(days)s"), who=f.who, days=f.detail("days")
    )


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """How one stored action is named (the audit log's filter) and told."""

    group: str
    label: object  # a lazy string
    render: Callable[[_Facts], Markup]


GROUPS = {
    "accounts": _l("Accounts"),
    "invoices": _l("Invoices"),
    "orders": _l("Orders"),
    "people": _l("People"),
    "settings": _l("Settings"),
    "imports": _l("Imports"),
}

ACTIONS: dict[str, Action] = {
    # accounts
    "account.open": Action("accounts", _l("Account opened"), _account_open),
    "account.update": Action("accounts", _l("Account details changed"), _account_update),
    "account.close": Action(
        "accounts", _l("Account closed"), _on_account(_l("%(who)s closed the account %(account)s"))
    ),
    "account.reopen": Action(
        "accounts",
        _l("Account reopened"),
        _on_account(_l("%(who)s reopened the account %(account)s")),
    ),
    "account.change_limit": Action("accounts", _l("Credit limit changed"), _change_limit),
    "account.change_tolerance": Action("accounts", _l("Tolerance changed"), _change_tolerance),
    "account.schedule_limit": Action(
        "accounts", _l("Credit limit change scheduled"), _schedule_limit
    ),
    "account.cancel_scheduled_limit": Action(
        "accounts", _l("Scheduled credit limit change cancelled"), _cancel_scheduled_limit
    ),
    "account.scheduled_limit_failed": Action(
        "accounts", _l("Scheduled credit limit change failed"), _scheduled_limit_failed
    ),
    "account.adjust_balance": Action("accounts", _l("Balance adjusted"), _adjust_balance),
    "account.lift_hold": Action(
        "accounts", _l("Hold lifted"), _on_account(_l("%(who)s lifted the hold on %(account)s"))
    ),
    "holder.add": Action("accounts", _l("Holder added"), _holder_add),
    "holder.cap": Action("accounts", _l("Holder's spending cap changed"), _holder_cap),
    "holder.remove": Action("accounts", _l("Holder removed"), _holder_remove),
    "holder.view_as": Action("accounts", _l("My Credits viewed as a holder"), _holder_view_as),
    "holder.reminders": Action(
        "accounts", _l("Reminder e-mails turned on or off"), _holder_reminders
    ),
    # invoices
    "invoice.pay": Action("invoices", _l("Invoice paid"), _invoice_pay),
    "invoice.cancel": Action(
        "invoices",
        _l("Invoice cancelled"),
        _on_invoice(_l("%(who)s cancelled invoice %(invoice)s of %(account)s")),
    ),
    "invoice.reopen": Action(
        "invoices",
        _l("Invoice reopened"),
        _on_invoice(_l("%(who)s reopened invoice %(invoice)s of %(account)s")),
    ),
    "invoice.postpone": Action("invoices", _l("Invoice postponed"), _invoice_postpone),
    "invoice.annotate": Action(
        "invoices", _l("Payment link or observation changed"), _invoice_annotate
    ),
    # orders
    "transaction.authorize": Action("orders", _l("Purchase authorized"), _authorize),
    "transaction.update": Action("orders", _l("Authorization changed"), _hold_update),
    "transaction.cancel": Action(
        "orders",
        _l("Authorization cancelled"),
        _hold_released(
            _l("%(who)s cancelled the authorization of %(amount)s on %(account)s"),
            _l("%(who)s cancelled an authorization on %(account)s"),
        ),
    ),
    "transaction.expire": Action(
        "orders",
        _l("Authorization expired"),
        _hold_released(
            _l("%(who)s released the expired authorization of %(amount)s on %(account)s"),
            _l("%(who)s released an expired authorization on %(account)s"),
        ),
    ),
    "transaction.settle": Action("orders", _l("Purchase settled (billed)"), _settle),
    "transaction.change_settled_value": Action(
        "orders", _l("Settled value changed"), _change_settled
    ),
    "transaction.refund": Action("orders", _l("Purchase refunded"), _refund),
    # people
    "user.create": Action("people", _l("Login created"), _user_create),
    "user.invite": Action("people", _l("Login invited"), _user_invite),
    "user.password": Action("people", _l("Password changed"), _user_password),
    "user.change": Action("people", _l("Login's role or access changed"), _user_change),
    "api_key.create": Action("people", _l("API key created"), _api_key_create),
    "api_key.revoke": Action("people", _l("API key revoked"), _api_key_revoke),
    "outbox.send_again": Action("people", _l("E-mail sent again"), _outbox_send_again),
    # settings
    "settings.update": Action("settings", _l("Store settings changed"), _settings_update),
    "payment_term.save": Action("settings", _l("Payment term saved"), _term_save),
    "payment_term.remove": Action("settings", _l("Payment term removed"), _term_remove),
    # imports (accounts opened by an import are `account.open`, with the reason "CSV import")
    "account.import_update": Action("imports", _l("Account updated by an import"), _import_update),
}


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The named actions for the audit log's filter: (group label, [(code, label)]), in the
    order of GROUPS, translated for the reader."""
    return [
        (str(label), [(code, str(a.label)) for code, a in ACTIONS.items() if a.group == group])
        for group, label in GROUPS.items()
    ]
