"""Forms of the accounts pages (amounts and percentages are read in the page's locale)."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from .fields import AmountField, PercentField, Required


class NewAccountForm(FlaskForm):
    """Open an account (the engine checks the document's digits and duplicates)."""

    document_type = SelectField(
        _l("Document type"),
        choices=[
            SelectChoice("CNPJ", "CNPJ"),
            SelectChoice("CPF", "CPF"),
            SelectChoice("Other", _l("Other")),
        ],
    )
    document = StringField(_l("Document"), validators=[DataRequired(), Length(max=40)])
    email = EmailField(
        _l("E-mail of the main holder"), validators=[DataRequired(), Length(max=254)]
    )
    name = StringField(_l("Name"), validators=[Length(max=200)])
    credit_limit = AmountField(_l("Credit limit"), validators=[Required()])
    tolerance = PercentField(
        _l("Tolerance (%)"),
        validators=[Optional()],
        default=Decimal(0),
        description=_l(
            "How far above the limit a purchase may go, when the store enables tolerance."
        ),
    )


class LimitForm(FlaskForm):
    """Change the credit limit, with the reason kept in the audit trail; the first post
    shows old → new (and warnings), the second, confirmed, saves."""

    credit_limit = AmountField(_l("New credit limit"), validators=[Required()])
    reason = StringField(
        _l("Reason"), validators=[DataRequired(), Length(max=500)], id="limit-reason"
    )
    confirmed = HiddenField(default="")


class ToleranceForm(FlaskForm):
    """Change the tolerance, with the reason kept in the audit trail (confirmed like a limit)."""

    tolerance = PercentField(_l("New tolerance (%)"), validators=[Required()])
    reason = StringField(
        _l("Reason"), validators=[DataRequired(), Length(max=500)], id="tolerance-reason"
    )
    confirmed = HiddenField(default="")


class ReasonForm(FlaskForm):
    """An action that only needs a reason (close, reopen, lift a hold)."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class HolderForm(FlaskForm):
    """Add a dependent who shares the limit, optionally capped."""

    email = EmailField(
        _l("E-mail"), validators=[DataRequired(), Length(max=254)], id="holder-email"
    )
    spending_cap = AmountField(
        _l("Spending cap (optional)"), validators=[Optional()], id="holder-spending-cap"
    )


class ValueForm(FlaskForm):
    """A value for an order: settle it, or change its held value."""

    value = AmountField(_l("Value"), validators=[Required()])


class DetailsForm(FlaskForm):
    """The account's name, e-mail (its main holder) and description; a new e-mail is
    confirmed first (it invites the new address and may log the old one out)."""

    name = StringField(_l("Name"), validators=[Length(max=200)], id="details-name")
    email = EmailField(
        _l("E-mail of the main holder"),
        validators=[DataRequired(), Length(max=254)],
        id="details-email",
    )
    description = TextAreaField(
        _l("Description"), validators=[Length(max=500)], id="details-description"
    )
    confirmed = HiddenField(default="")


DIRECTIONS = ("increase", "decrease")
POSITIVE = NumberRange(min=Decimal("0.01"), message=_l("Type an amount greater than zero."))


class AdjustForm(FlaskForm):
    """A manual adjustment of the balance: an amount typed positive, the direction chosen
    with the button ("Increase balance" / "Decrease balance"), a reason; confirmed like a
    limit change (old → new available credit)."""

    amount = AmountField(_l("Amount"), validators=[Required(), POSITIVE], id="adjust-amount")
    reason = StringField(
        _l("Reason"), validators=[DataRequired(), Length(max=500)], id="adjust-reason"
    )
    direction = HiddenField(validators=[AnyOf(DIRECTIONS)])
    confirmed = HiddenField(default="")

    @property
    def signed_amount(self) -> Decimal:
        """The amount as the engine takes it: negative decreases the balance."""
        return self.amount.data if self.direction.data == "increase" else -self.amount.data


class RefundForm(FlaskForm):
    """Give back part or all of a billed order; the id makes a resent form harmless."""

    amount = AmountField(_l("Amount to refund"), validators=[Required(), POSITIVE])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    refund_id = HiddenField(validators=[DataRequired(), Length(max=80)])
