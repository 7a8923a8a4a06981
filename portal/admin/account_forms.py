"""Forms of the accounts pages (amounts and percentages are read in the page's locale)."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

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
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    confirmed = HiddenField(default="")


class ToleranceForm(FlaskForm):
    """Change the tolerance, with the reason kept in the audit trail (confirmed like a limit)."""

    tolerance = PercentField(_l("New tolerance (%)"), validators=[Required()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    confirmed = HiddenField(default="")


class ReasonForm(FlaskForm):
    """An action that only needs a reason (close, reopen, lift a hold)."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class HolderForm(FlaskForm):
    """Add a dependent who shares the limit, optionally capped."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    spending_cap = AmountField(_l("Spending cap (optional)"), validators=[Optional()])


class ValueForm(FlaskForm):
    """A value for an order: settle it, or change its held value."""

    value = AmountField(_l("Value"), validators=[Required()])
