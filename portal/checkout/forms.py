"""Forms of the checkout blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Regexp


class OrderForm(FlaskForm):
    """Place an order: the chosen term, and the ids that make a double submit harmless.

    The cart travels beside it as `qty-<sku>` fields and is totalled again on the server;
    `total` is the cart total the buyer saw and `order_total` the total with the chosen
    term's interest, so an order whose price changed meanwhile is not charged blindly.
    """

    account = HiddenField()
    term = RadioField(_l("Payment term"), validators=[InputRequired(_l("Choose a payment term."))])
    total = HiddenField()
    order_total = HiddenField()
    transaction_id = HiddenField(validators=[Regexp(r"^[0-9a-f]{32}$")])
    order_id = HiddenField(validators=[Regexp(r"^ORD-\d{8}$")])

    def __init__(self, terms: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.term.choices = [SelectChoice(days, days) for days in terms]
