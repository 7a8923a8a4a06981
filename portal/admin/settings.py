"""Back-office views: store settings and payment terms (owner only)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from .. import credit
from ..access import actor, roles_required
from ..credit.errors import CreditError, InvalidInput
from ..credit.settings import MAX_REMINDER_RULES, clean_reminder_rules, setting_errors
from ..credit.store_identity import format_cnpj
from ..extensions import db
from ..i18n import number_locale
from ..numbers import format_number, parse_number
from . import bp

# (setting, label, kind): kind says how the form shows and reads it.
FIELDS = [
    ("currency", _l("Currency (ISO 4217, e.g. BRL)"), "text"),
    ("locale", _l("Locale (e.g. pt_BR)"), "text"),
    ("timezone", _l("Timezone (e.g. America/Sao_Paulo)"), "text"),
    ("holiday_country", _l("Holiday calendar (country code, e.g. BR)"), "text"),
    ("tolerance_enabled", _l("Tolerance above the limit is allowed"), "bool"),
    ("settle_after_business_days", _l("Business days before automatic billing"), "int"),
    ("postponement_enabled", _l("Invoices may be postponed"), "bool"),
    ("postponement_limit", _l("Postponements per invoice (max)"), "int"),
    ("max_postponement_days", _l("Days per postponement (max)"), "int"),
    ("daily_interest_rate", _l("Daily interest on overdue invoices (% per day)"), "percent"),
    ("late_fee_rate", _l("Late fee on overdue invoices (%)"), "percent"),
    (
        "max_pre_authorization_growth_rate",
        _l("How much a pre-authorized order may grow (%)"),
        "percent",
    ),
    ("automatic_account_creation", _l("New buyers get an account automatically"), "bool"),
    ("default_credit_value", _l("Credit of automatically created accounts"), "money"),
    ("my_credits_enabled", _l("Customers see My Credits"), "bool"),
    ("overdue_hold_days", _l("Days overdue before an account is put on hold"), "int"),
    ("payment_instructions", _l("Payment instructions shown to customers"), "textarea"),
    ("payment_link_template", _l("Payment link template"), "text"),
    ("bank_details", _l("Bank details"), "textarea"),
    ("pix_key", _l("Pix key"), "text"),
]
RULES = "reminder_rules"  # edited as a table of rows: rule_when_N, rule_days_N, rule_time_N
# The store's identity: a section of its own in the same form (the logo has its own form).
IDENTITY_FIELDS = [
    ("trade_name", _l("Trade name"), "text"),
    ("legal_name", _l("Legal name"), "text"),
    ("tax_id", _l("CNPJ"), "cnpj"),
    ("address", _l("Address"), "textarea"),
    ("support_email", _l("Support e-mail"), "email"),
    ("support_phone", _l("Support phone"), "tel"),
]
IDENTITY_HELP = {
    "trade_name": _l(
        "The name customers know the store by: on My Credits, checkout, the login page and "
        "e-mails. Empty: Customer Credit."
    ),
    "tax_id": _l("14 digits, with or without punctuation (11.222.333/0001-81)."),
    "support_email": _l("Customers see it under Need help? and at the end of e-mails."),
}
EVERY_FIELD = [*FIELDS, *IDENTITY_FIELDS]


INTEREST = _l("Monthly interest of the term (%)")
# Shown under a field (its aria-describedby).
HELP = {
    "payment_link_template": _l(
        "The Pay link of every open invoice without a link of its own, e.g. "
        "https://pay.example.com/{friendlyId}?amount={amountDue}. https:// only; leave it "
        "empty for none. Placeholders (each value is URL-encoded):"
    ),
    "bank_details": _l("Shown to customers under How to pay (at most 1000 characters)."),
    "pix_key": _l(
        "A CPF or CNPJ, an e-mail, a phone number as +55 11 91234-5678, or a random key; "
        "customers can copy it from My Credits."
    ),
}
# What each placeholder of the payment link template stands for (the page lists them; the
# engine's list is credit.payment_details.PLACEHOLDERS, and a test keeps the two equal).
PLACEHOLDER_HELP = {
    "friendlyId": _l("the invoice number"),
    "invoiceId": _l("the invoice id (order transaction and installment)"),
    "accountId": _l("the credit account id"),
    "orderId": _l("the order id"),
    "installment": _l("the installment number: 1, 2, …"),
    "amountDue": _l("what is due today, late fee and interest included: 1234.56"),
    "value": _l("the invoice value: 1234.56"),
    "dueDate": _l("the due date: YYYY-MM-DD"),
    "currency": _l("the store's currency: BRL"),
}
_DAY = re.compile(r"[0-9]{1,3}", re.ASCII)  # a reminder day: 0 to 999 (the engine: 0–365)
_RULE_INPUT = re.compile(r"rule_(?:when|days|time|remove)_([0-9]{1,2})", re.ASCII)


class CsrfForm(FlaskForm):
    """Only the CSRF token: the settings fields are read from FIELDS."""


def _shown(kind: str, value) -> str:
    """A setting as its input shows it, in the page's number locale (what `_read` reads)."""
    if value is None:
        return ""
    if kind == "percent":
        return format_number(Decimal(value).scaleb(2), locale=number_locale(), fixed=False)
    if kind == "money":
        return format_number(value, locale=number_locale())
    if kind == "cnpj":
        return format_cnpj(value)
    return str(value)


def _read(kind: str, raw: str | None, name: str, label):
    """A typed setting as the engine takes it; InvalidInput when a number cannot be read.

    Percentages are typed as percents (2.5 %) and stored as ratios (0.025); an empty
    number goes to the engine as "", which refuses it with its own message.
    """
    if kind == "bool":
        return raw is not None
    if kind in ("percent", "money", "int"):
        value = parse_number(
            raw,
            locale=number_locale(),
            field=name,
            label=str(label),
            places=0 if kind == "int" else 2,
            percent=kind == "percent",
        )
        if value is None:
            return ""
        if kind == "percent":
            return value.scaleb(-2)
        return int(value) if kind == "int" else value
    return (raw or "").strip()


def _read_all(form) -> tuple[dict, dict]:
    """Every typed setting read, and the message of each one that could not be read."""
    changes, errors = {}, {}
    for name, label, kind in EVERY_FIELD:
        try:
            changes[name] = _read(kind, form.get(name), name, label)
        except InvalidInput as error:
            errors[name] = error.message
    changes[RULES], rule_errors = _read_rules(form)
    errors.update(rule_errors)
    return changes, errors


# --- reminder rules: a table of rows, without JavaScript ---------------------------------


def _rule_rows(rules: list[dict]) -> list[dict]:
    """The rows the page shows for the saved rules, and one empty row to add a rule."""
    rows = [{"when": r["when"], "days": str(r["days"]), "time": r["time"]} for r in rules]
    return [*rows, _empty_row()] if len(rows) < MAX_REMINDER_RULES else rows


def _empty_row() -> dict:
    return {"when": "before", "days": "", "time": "", "empty": True}


def _typed_rows(form) -> list[dict]:
    """The rows as typed (in the page's order), kept for showing the form again."""
    numbers = sorted({int(m.group(1)) for key in form if (m := _RULE_INPUT.fullmatch(key))})
    return [
        {
            "when": form.get(f"rule_when_{n}", "before"),
            "days": form.get(f"rule_days_{n}", "").strip(),
            "time": form.get(f"rule_time_{n}", "").strip(),
            "remove": form.get(f"rule_remove_{n}") is not None,
        }
        for n in numbers
    ]


def _read_rules(form) -> tuple[list[dict], dict]:
    """The rules the rows keep (empty and removed rows left out), and each row's error
    under `rule_days_N` / `rule_time_N` / `rule_when_N` (N: the row's place on the page).

    Days are whole numbers in ASCII digits (as every number the page reads); each row is
    checked by the engine's own rule, the list as a whole (duplicates, how many) when saved.
    """
    rules, errors = [], {}
    for n, row in enumerate(_typed_rows(form)):
        if row["remove"] or not (row["days"] or row["time"]):
            continue
        if not _DAY.fullmatch(row["days"]):
            errors[f"rule_days_{n}"] = _("Type the days as a whole number, e.g. 5.")
            continue
        rule = {"when": row["when"], "days": int(row["days"]), "time": row["time"]}
        try:
            clean_reminder_rules([rule], RULES)
        except InvalidInput as error:
            errors[f"rule_{(error.field or '').rpartition('.')[2] or 'days'}_{n}"] = error.message
            continue
        rules.append(rule)
    return rules, errors


@bp.route("/admin/settings", methods=["GET", "POST"])
@roles_required("owner")
def settings_index():
    """Every store setting, validated by the engine; refused values stay in the form.

    "Add a rule" shows the form again with one more empty reminder row, saving nothing.
    """
    form, errors = CsrfForm(), {}
    values, rows = saved_values(credit.get_settings(db.session))
    if request.method == "POST" and form.validate_on_submit():
        adding = "rule_add" in request.form
        if not adding:
            changes, errors = _read_all(request.form)
            errors = {**setting_errors(changes), **errors}  # every refused field at once
        if not adding and not errors:
            try:
                credit.update_settings(db.session, changes, actor())
            except CreditError as error:
                errors[(error.field or "form").partition(".")[0]] = error.message
        if not adding and not errors:
            flash(_("Settings saved."), "success")
            return redirect(url_for("admin.settings_index"))
        values.update({n: request.form.get(n, "") for n, _l2, k in EVERY_FIELD if k != "bool"})
        values.update({n: request.form.get(n) for n, _l2, k in EVERY_FIELD if k == "bool"})
        rows = [*_typed_rows(request.form), *([_empty_row()] if adding else [])]
    return settings_page(form, values, rows, errors)


def saved_values(settings) -> tuple[dict, list[dict]]:
    """What the form shows for the saved settings: each field's value, the reminder rows."""
    values = {name: _shown(kind, getattr(settings, name)) for name, _label, kind in EVERY_FIELD}
    return values, _rule_rows(settings.reminder_rules or [])


def settings_page(form, values: dict, rows: list[dict], errors: dict, *, logo_error=None):
    """The settings page: the form with `values`, reminder `rows` and `errors`, the payment
    terms and the logo (with `logo_error`); 422 when something was refused."""
    return render_template(
        "admin/settings/index.html",
        form=form,
        fields=FIELDS,
        field_help=HELP,
        placeholders=PLACEHOLDER_HELP,
        identity_fields=IDENTITY_FIELDS,
        identity_help=IDENTITY_HELP,
        values=values,
        rule_rows=rows,
        errors=errors,
        logo_error=logo_error,
        terms=credit.active_terms(db.session),
    ), (422 if errors or logo_error else 200)


@bp.post("/admin/settings/terms")
@roles_required("owner")
def settings_add_term():
    """Offer a new payment term at checkout (e.g. 30/60/90)."""
    if CsrfForm().validate_on_submit():
        try:
            credit.save_term(
                db.session,
                request.form.get("days", ""),
                actor(),
                interest_rate=_read(
                    "percent", request.form.get("interest") or "0", "interest_rate", INTEREST
                ),
            )
        except CreditError as error:
            flash(error.message, "error")
        else:
            flash(_("Payment term saved."), "success")
    return redirect(url_for("admin.settings_index") + "#terms")


@bp.post("/admin/settings/terms/<int:term_id>/delete")
@roles_required("owner")
def settings_remove_term(term_id: int):
    """Stop offering a payment term."""
    if CsrfForm().validate_on_submit():
        try:
            credit.remove_term(db.session, term_id, actor())
        except CreditError as error:
            flash(error.message, "error")
    return redirect(url_for("admin.settings_index") + "#terms")
