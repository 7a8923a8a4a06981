"""The one strict parser of numbers typed by people (portal/numbers.py), per number locale.

Each case is (text, expected) or (text, expected, options): expected is the Decimal read,
None for "nothing typed", or a fragment of the refusal's message. Nothing is guessed:
what cannot be read in exactly one way is refused with the field's name and the reason.
"""

from decimal import Decimal as D

import pytest
from babel.numbers import format_currency, format_decimal, format_percent

from portal.credit.errors import InvalidInput
from portal.credit.money import MAX_AMOUNT
from portal.i18n import number_locale_for
from portal.numbers import format_number, parse_number

NEG = {"negative": True}
PCT = {"percent": True}
RATE = {"places": 4}
WHOLE = {"places": 0}

LETTERS = "contains letters"
DIGITS = "digits 0 to 9"
NOT_NEGATIVE = "must not be negative"
NO_PERCENT = "does not take a percentage"
NOT_A_NUMBER = "must be a number such as"
THREES = "group thousands in threes"
TWO_DECIMALS = "at most 2 decimals"

# The same in every locale: letters, foreign digits, signs, symbols, blanks, lengths.
COMMON = [
    ("", None),
    ("   ", None),
    ("\t \u00a0", None),
    ("0", D("0")),
    ("7", D("7")),
    ("007", D("7")),
    ("1234567", D("1234567")),
    (" 42 ", D("42")),
    ("2000 (was 1500)", LETTERS),
    ("10k", LETTERS),
    ("5O00", LETTERS),
    ("1e5", LETTERS),
    ("NaN", LETTERS),
    ("Infinity", LETTERS),
    ("-Infinity", LETTERS, NEG),
    ("0x10", LETTERS),
    ("5 reais", LETTERS),
    ("XYZ 5", LETTERS),  # not an ISO 4217 code
    ("usd 5", LETTERS),  # codes are upper case
    ("²", DIGITS),  # str.isdigit() says it is a digit
    ("1²", DIGITS),
    ("١٢٣", DIGITS),  # Arabic-Indic digits
    ("１２", DIGITS),  # full-width digits
    ("1 500", "spaces between the digits"),
    ("1\u00a0500", "spaces between the digits"),
    ("--5", "more than one minus sign", NEG),
    ("-R$ -5", "more than one minus sign", NEG),
    ("-5", NOT_NEGATIVE),
    ("-0", NOT_NEGATIVE),
    ("-5", D("-5"), NEG),
    ("-0", D("0"), NEG),
    ("+5", NOT_A_NUMBER),
    ("5-", NOT_A_NUMBER),
    ("- 5", NOT_A_NUMBER, NEG),
    ("-", NOT_A_NUMBER, NEG),
    ("R$", NOT_A_NUMBER),
    ("R$ 5 BRL", NOT_A_NUMBER),
    ("(5)", NOT_A_NUMBER),
    ("10%", NO_PERCENT),
    ("10%", D("10"), PCT),
    ("10 %", D("10"), PCT),
    ("10\u00a0%", D("10"), PCT),
    ("%10", NOT_A_NUMBER, PCT),
    ("R$ 10%", NO_PERCENT, PCT),
    ("10%%", NOT_A_NUMBER, PCT),
    ("$5", D("5")),
    ("€ 5", D("5")),
    ("5 £", D("5")),
    ("5€", D("5")),
    ("US$ 5", D("5")),
    ("USD5", D("5")),
    ("5 BRL", D("5")),
    ("BRL 5", D("5")),
    ("1" * 41, "too long for a number (at most 40 characters)"),
    ("3", D("3"), WHOLE),
]

EN_US = [
    ("1,500", D("1500")),
    ("1,5", "use a point for decimals"),
    ("1.5", D("1.5")),
    ("1,234.56", D("1234.56")),
    ("1234.56", D("1234.56")),
    ("$1,234.56", D("1234.56")),
    ("R$1,234.56", D("1234.56")),
    ("1,234.56 USD", D("1234.56")),
    ("-$1,234.56", D("-1234.56"), NEG),
    ("$-1,234.56", D("-1234.56"), NEG),
    ("-R$ 10", D("-10"), NEG),
    ("R$ -10", D("-10"), NEG),
    ("-R$ 10", NOT_NEGATIVE),
    ("1.234,56", "use a point for decimals"),
    ("R$ 1.234,56", "use a point for decimals"),
    ("1.234,56 BRL", "use a point for decimals"),
    ("1.000.000,00", "use a point for decimals"),
    ("1.000.000", "use a point for decimals"),
    ("1,000,000.00", D("1000000.00")),
    ("1,000,000", D("1000000")),
    ("0", D("0")),
    ("0.00", D("0.00")),
    ("0,00", "use a point for decimals"),
    (".5", D("0.5")),  # a leading decimal point is read: .5 is 0.5
    (",5", "use a point for decimals"),
    ("5.", "ends with"),
    ("1.2.3", "use a point for decimals"),
    ("1,2345", "use a point for decimals"),
    ("0,500", "use a point for decimals"),
    ("12,34,567", THREES),
    ("1,23,456.00", THREES),
    ("1234,567", THREES),
    ("01,234", THREES),
    ("1,234.567", TWO_DECIMALS),
    ("1.234", TWO_DECIMALS),
    ("0.1234", D("0.1234"), RATE),
    ("0.12345", "at most 4 decimals", RATE),
    ("12.5%", D("12.5"), PCT),
    ("12.5 %", D("12.5"), PCT),
    ("3.0", "must be a whole number", WHOLE),
    ("1,000", D("1000"), WHOLE),
    ("999,999,999,999.99", MAX_AMOUNT),
    ("1,000,000,000,000", "too large (at most 999,999,999,999.99)"),
    ("-1,000,000,000,000", "too large", NEG),
]

PT_BR = [
    ("1,500", "at most 2 decimals; to write thousands"),  # never 1.5, never 1500
    ("1,5", D("1.5")),
    ("1.5", "use a comma for decimals"),
    ("1.50", "use a comma for decimals"),
    ("1.500", D("1500")),
    ("1.234,56", D("1234.56")),
    ("1234,56", D("1234.56")),
    ("R$ 1.234,56", D("1234.56")),
    ("R$1.234,56", D("1234.56")),
    ("R$\u00a01.234,56", D("1234.56")),  # what format_currency writes
    ("1.234,56 BRL", D("1234.56")),
    ("BRL 1.234,56", D("1234.56")),
    ("US$ 1.234,56", D("1234.56")),
    ("-R$ 10", D("-10"), NEG),
    ("R$ -10", D("-10"), NEG),
    ("-R$ 10", NOT_NEGATIVE),
    ("$1,234.56", "use a comma for decimals"),
    ("1,234.56", "use a comma for decimals"),
    ("1.000.000,00", D("1000000.00")),
    ("1.000.000", D("1000000")),
    ("1,000,000.00", "use a comma for decimals"),
    ("0,00", D("0.00")),
    ("0.00", "use a comma for decimals"),
    (",5", D("0.5")),  # a leading decimal comma is read: ,5 is 0,5
    (".5", "use a comma for decimals"),
    ("5,", "ends with"),
    ("5.", "use a comma for decimals"),
    ("0.125", "use a comma for decimals"),
    ("12.34.567", THREES),
    ("12,34,567", "use a comma for decimals"),
    ("1.23.456,00", THREES),
    ("1234.567", THREES),
    ("1,2,3", "use a comma for decimals"),
    ("1.234,567", TWO_DECIMALS),
    ("0,1234", D("0.1234"), RATE),
    ("0,12345", "at most 4 decimals", RATE),
    ("12,5%", D("12.5"), PCT),
    ("12,5 %", D("12.5"), PCT),
    ("0,1", D("0.1"), PCT),
    ("30,0", "must be a whole number", WHOLE),
    ("999.999.999.999,99", MAX_AMOUNT),
    ("1.000.000.000.000", "too large (at most 999.999.999.999,99)"),
]

ES = [
    ("1,500", "at most 2 decimals"),
    ("1,5", D("1.5")),
    ("1.5", "use a comma for decimals"),
    ("1.500", D("1500")),
    ("1.234,56", D("1234.56")),
    ("1234,56", D("1234.56")),  # Spanish does not group four digits: both are read
    ("1.234,56 €", D("1234.56")),
    ("1.234,56\u00a0€", D("1234.56")),
    ("1.234,56 US$", D("1234.56")),
    ("1.234,56 BRL", D("1234.56")),
    ("R$ 1.234,56", D("1234.56")),
    ("-1.234,56 €", D("-1234.56"), NEG),
    ("-R$ 10", D("-10"), NEG),
    ("R$ -10", D("-10"), NEG),
    ("-10 €", NOT_NEGATIVE),
    ("$1,234.56", "use a comma for decimals"),
    ("1,234.56", "use a comma for decimals"),
    ("1.000.000,00", D("1000000.00")),
    ("1,000,000.00", "use a comma for decimals"),
    ("0,00", D("0.00")),
    ("0.00", "use a comma for decimals"),
    (",5", D("0.5")),
    (".5", "use a comma for decimals"),
    ("5,", "ends with"),
    ("12.34.567", THREES),
    ("12,34,567", "use a comma for decimals"),
    ("1.234,567", TWO_DECIMALS),
    ("0,1234", D("0.1234"), RATE),
    ("10 %", D("10"), PCT),
    ("12,5 %", D("12.5"), PCT),
    ("7,5", "must be a whole number", WHOLE),
    ("999.999.999.999,99", MAX_AMOUNT),
    ("1.000.000.000.000", "too large"),
]

LOCALES = {"en_US": EN_US, "pt_BR": PT_BR, "es": ES}


def _cases():
    for locale, cases in LOCALES.items():
        for index, (text, expected, *options) in enumerate(COMMON + cases):
            yield pytest.param(
                locale, text, expected, options[0] if options else {}, id=f"{locale}-{index}"
            )


@pytest.mark.parametrize(("locale", "text", "expected", "options"), list(_cases()))
def test_parse_number(locale, text, expected, options):
    if isinstance(expected, str):
        with pytest.raises(InvalidInput) as refused:
            parse_number(text, locale=locale, field="credit_limit", label="Limit", **options)
        error = refused.value
        assert expected in error.message, error.message
        assert error.message.startswith("Limit") and error.field == "credit_limit"
        assert error.code == "invalid_number"
    else:
        value = parse_number(text, locale=locale, field="credit_limit", label="Limit", **options)
        assert value == expected and (value is None or isinstance(value, D))
        assert value is None or not (value == 0 and value.is_signed())  # no "-0"


def test_each_locale_has_at_least_40_cases_of_its_own():
    assert all(len(cases) >= 30 for cases in LOCALES.values())
    assert all(len(COMMON) + len(cases) >= 80 for cases in LOCALES.values())


@pytest.mark.parametrize("locale", ["en_US", "pt_BR", "es"])
@pytest.mark.parametrize(
    "value", [D("0"), D("0.5"), D("7"), D("1234.56"), D("1000000"), D("-1234.5"), MAX_AMOUNT]
)
def test_what_the_formatter_writes_the_parser_reads(locale, value):
    """Every way a page shows a number reads back as the same number."""
    shown = [
        format_currency(value, "BRL", locale=locale),
        format_currency(value, "USD", locale=locale),
        format_currency(value, "EUR", locale=locale),
        format_decimal(value, locale=locale),
        format_number(value, locale=locale),
        format_number(value, locale=locale, fixed=False),
    ]
    for text in shown:
        assert parse_number(text, locale=locale, field="f", negative=True) == value, text
    percent = format_percent(value / 100, format="#,##0.##%", locale=locale)
    assert parse_number(percent, locale=locale, field="f", negative=True, percent=True) == value


def test_message_names_the_field_and_defaults_to_its_name():
    with pytest.raises(InvalidInput) as refused:
        parse_number("10k", locale="en_US", field="spending_cap")
    assert refused.value.message.startswith("spending_cap must be a number")
    assert refused.value.field == "spending_cap"


def test_only_text_is_read_and_unsupported_locales_are_a_programming_error():
    assert parse_number(None, locale="en_US", field="f") is None
    with pytest.raises(TypeError):
        parse_number(D("5"), locale="en_US", field="f")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unsupported number locale"):
        parse_number("5", locale="pt_PT", field="f")  # groups with a space


@pytest.mark.parametrize(
    ("value", "locale", "options", "expected"),
    [
        (D("1234.5"), "en_US", {}, "1234.50"),
        (D("1234.5"), "pt_BR", {}, "1234,50"),
        (D("1234.5"), "es", {}, "1234,50"),
        (D("12.5"), "pt_BR", {"fixed": False}, "12,5"),
        (D("10.00"), "en_US", {"fixed": False}, "10"),
        (D("-3"), "en_US", {}, "-3.00"),
        (None, "en_US", {}, ""),
        (7, "es", {"places": 0}, "7"),
    ],
)
def test_format_number_for_inputs(value, locale, options, expected):
    assert format_number(value, locale=locale, **options) == expected


@pytest.mark.parametrize(
    ("language", "locale"),
    [
        ("en", "en_US"),
        ("en_US", "en_US"),
        ("en-GB", "en_US"),
        ("pt", "pt_BR"),
        ("pt_BR", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("PT_pt", "pt_BR"),
        ("es", "es"),
        ("es_AR", "es"),
        ("es-MX", "es"),
        ("fr", "en_US"),
        ("", "en_US"),
        (None, "en_US"),
    ],
)
def test_one_number_locale_per_language(language, locale):
    assert number_locale_for(language) == locale
