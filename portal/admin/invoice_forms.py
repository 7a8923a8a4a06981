"""Forms of the invoices list: the inline row actions and the bulk action."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from .fields import AmountField, Required, WholeField


class PayForm(FlaskForm):
    """Mark an invoice paid: in full when no amount is typed, else in part."""

    amount = AmountField(_l("Amount paid"), validators=[Optional()])


class PostponeForm(FlaskForm):
    """Move an invoice's due date by a number of days (the store's policy decides)."""

    days = WholeField(
        _l("Days to postpone"),
        validators=[Required(_l("Type a number of days."))],
        negative=True,  # the store's policy decides which are allowed
    )


class AnnotateForm(FlaskForm):
    """The payment link and the observation of an invoice."""

    payment_link = StringField(_l("Payment link"), validators=[Length(max=1000)])
    observation = StringField(_l("Observation"), validators=[Length(max=1000)])


class EmptyForm(FlaskForm):
    """An action without fields (cancel, reopen): only the CSRF check."""


class BulkForm(FlaskForm):
    """A bulk action on the checked rows (`ids`) or on all rows matching `query` (`all`)."""

    action = SelectField(
        _l("Bulk action"),
        choices=[
            SelectChoice("pay", _l("Mark paid")),
            SelectChoice("cancel", _l("Cancel invoices")),
            SelectChoice("observation", _l("Set observation")),
        ],
    )
    observation = StringField(_l("Observation"), validators=[Length(max=1000)])
    all = BooleanField(_l("All matching the filter"))
    query = HiddenField()  # the list's query string, as the page shows it
    confirm = BooleanField()
    expected_count = HiddenField()
    expected_amount = HiddenField()
