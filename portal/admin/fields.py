"""Form fields for numbers typed by people, read strictly in the page's number locale.

`data` is a Decimal (or None when left empty); a text that cannot be read exactly is an
error on the field, in words a finance clerk understands, and the input keeps the text.
"""

from __future__ import annotations

from decimal import Decimal

from wtforms import StringField
from wtforms.validators import InputRequired, StopValidation

from ..credit.errors import InvalidInput
from ..i18n import number_locale
from ..numbers import format_number, parse_number


class AmountField(StringField):
    """An amount of money: at most 2 decimals, not negative (`1.234,56` in pt-BR)."""

    places = 2
    percent = False
    fixed = True  # the input shows every decimal: 1234.50

    def __init__(self, label=None, validators=None, *, negative: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.negative = negative

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        try:
            self.data = parse_number(
                valuelist[0],
                locale=number_locale(),
                field=self.name,
                label=str(self.label.text),
                places=self.places,
                negative=self.negative,
                percent=self.percent,
            )
        except InvalidInput as error:
            raise ValueError(error.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]  # what was typed, even when it was refused
        if self.data is None or self.data == "":
            return ""
        return format_number(
            Decimal(self.data), locale=number_locale(), places=self.places, fixed=self.fixed
        )


class PercentField(AmountField):
    """A percentage as typed (`12,5` or `12,5 %` → Decimal('12.5')), at most 2 decimals.

    The views divide by 100 where the engine stores a ratio.
    """

    percent = True
    fixed = False  # 12.5, not 12.50


class WholeField(AmountField):
    """A whole number such as a count of days (`30`; `1e1`, `３０` or `30.5` are refused)."""

    places = 0
    fixed = False

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal):
            self.data = int(self.data)


class Required(InputRequired):
    """The field must be typed: blank text (read as no number) counts as not typed."""

    def __call__(self, form, field):
        if field.raw_data and str(field.raw_data[0]).strip():
            return
        field.errors[:] = []
        raise StopValidation(self.message or field.gettext("This field is required."))


def typed(form) -> dict:
    """What each field of a refused form showed, to put back in its inputs."""
    return {field.name: field._value() for field in form if hasattr(field, "_value")}
