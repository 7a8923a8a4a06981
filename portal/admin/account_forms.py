"""Forms of the accounts pages (amounts and percentages are read in the page's locale)."""

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from ..credit.errors import InvalidInput
from ..credit.scheduled import parse_effective_on
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


class DayField(DateField):
    """A calendar day as a date input sends it (YYYY-MM-DD), read by the domain's parser;
    anything else is an error naming the field, and the input keeps the text."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = parse_effective_on(valuelist[0], self.name)
        except InvalidInput:
            self.data = None
            raise ValueError(
                _("%(field)s must be a date, written YYYY-MM-DD.", field=self.label.text)
            ) from None


class ScheduleLimitForm(FlaskForm):
    """A credit limit, and optionally a tolerance, for a later day (the jobs worker applies
    it at the start of that day), with the reason kept in the audit trail."""

    credit_limit = AmountField(
        _l("New credit limit"), validators=[Required()], id="schedule-credit-limit"
    )
    tolerance = PercentField(
        _l("New tolerance (%)"),
        validators=[Optional()],
        id="schedule-tolerance",
        description=_l("Optional: leave it empty to keep the tolerance."),
    )
    effective_on = DayField(
        _l("Effective date"),
        validators=[Required()],
        id="schedule-effective-on",
        description=_l("Applied at the start of that day, in the store's timezone."),
    )
    reason = StringField(
        _l("Reason"), validators=[DataRequired(), Length(max=500)], id="schedule-reason"
    )
