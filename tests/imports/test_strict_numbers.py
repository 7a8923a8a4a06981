"""Number cells of uploaded files are read strictly: nothing is guessed or rewritten.

A semicolon file writes decimals with a comma (1.234,56), any other file with a point
(1,234.56); a cell with both separators takes the last one as the decimal separator. A
cell that cannot be read exactly (5O00, 10k, 2000 (was 1500), 1,500 in a decimal-comma
file) rejects its row, naming the row, the column and the reason.
"""

from decimal import Decimal

import pytest

from portal import exports, imports, listing
from portal.credit import bulk

from ..conftest import _cpf

CPFS = [_cpf(200000000 + n) for n in range(10)]  # valid: a row is refused for its number
SEMICOLON_HEADER = "Email;Document;Document Type;Credit limit;Tolerance rate\n"
COMMA_HEADER = "Email,Document,Document Type,Credit limit,Tolerance rate\n"


def _semicolon(*cells: tuple[str, str]) -> bytes:
    """An accounts file with semicolons: one row per (credit limit, tolerance)."""
    lines = [
        f"u{n}@example.com;{CPFS[n]};CPF;{limit};{tolerance}\n"
        for n, (limit, tolerance) in enumerate(cells)
    ]
    return (SEMICOLON_HEADER + "".join(lines)).encode()


def _comma(*cells: tuple[str, str]) -> bytes:
    lines = [
        f'u{n}@example.com,{CPFS[n]},CPF,"{limit}","{tolerance}"\n'
        for n, (limit, tolerance) in enumerate(cells)
    ]
    return (COMMA_HEADER + "".join(lines)).encode()


def _results(content: bytes, kind: str = "accounts") -> dict[int, bulk.RowResult]:
    table = imports.read_table(content, kind)
    return {result.row: result for result in bulk.clean(kind, table.rows)}


def test_semicolon_file_rejects_what_it_cannot_read_and_reads_decimal_commas():
    results = _results(
        _semicolon(
            ("5O00", "0"),
            ("10k", "0"),
            ("2000 (was 1500)", "0"),
            ("1.234,56", "0"),
            ("R$ 1.234,56", "10%"),
            ("1,500", "0"),
            ("1.500", "0,1"),
            ("1234.56", "0"),
        )
    )
    rejected = {
        row: (result.errors[0][0], result.errors[0][1])
        for row, result in results.items()
        if result.action == "rejected"
    }
    assert set(rejected) == {2, 3, 4, 7, 9}
    assert rejected[2] == (
        "Credit limit",
        'Credit limit must be a number: "5O00" contains letters or symbols.',
    )
    assert rejected[3][0] == "Credit limit" and '"10k" contains letters' in rejected[3][1]
    assert '"2000 (was 1500)" contains letters' in rejected[4][1]
    assert rejected[7][0] == "Credit limit" and "at most 2 decimals" in rejected[7][1]
    assert rejected[9][0] == "Credit limit" and "use a comma for decimals" in rejected[9][1]
    read = {
        row: (r.data.get("credit_limit"), r.data.get("tolerance")) for row, r in results.items()
    }
    assert read[5] == (Decimal("1234.56"), Decimal("0"))
    assert read[6] == (Decimal("1234.56"), Decimal("0.1"))
    assert read[8] == (Decimal("1500"), Decimal("0.1"))


def test_comma_file_reads_decimal_points_and_refuses_decimal_commas():
    results = _results(
        _comma(
            ("1,234.56", "0.1"),
            ("$1,234.56", "0.100000"),  # a tolerance as the accounts export writes it
            ("1.234,56", "0"),  # both separators: the last one, a comma, is the decimal
            ("1,5", "0"),
            ("1,234", "0,1"),
            ("1234", "0.12345"),
        )
    )
    read = {
        row: (r.data.get("credit_limit"), r.data.get("tolerance")) for row, r in results.items()
    }
    assert read[2] == read[3] == (Decimal("1234.56"), Decimal("0.1"))
    assert read[4] == (Decimal("1234.56"), Decimal("0"))
    assert results[5].errors == [
        (
            "Credit limit",  # the label is beside the reason, not repeated in it
            "use a point for decimals and a comma (or nothing) for thousands, e.g. 1,234.56.",
        )
    ]
    assert results[6].errors[0][0] == "Tolerance rate"
    assert "use a point for decimals" in results[6].errors[0][1]
    assert results[7].errors == [
        ("Tolerance rate", "Tolerance rate must have at most 4 decimal places.")
    ]


@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [
        ("10%", Decimal("0.1")),
        ("10 %", Decimal("0.1")),
        ("12,5%", Decimal("0.125")),
        ("0,1", Decimal("0.1")),
        ("0,125", Decimal("0.125")),
        ("", Decimal("0")),
        ("12,345%", "at most 2 decimals"),
        ("10k", "contains letters"),
        ("0.1", "use a comma for decimals"),
        ("R$ 10%", "does not take a percentage"),
        ("²", "digits 0 to 9"),
        ("-0,1", "must be between 0 and 10"),
    ],
)
def test_tolerance_is_a_ratio_or_a_percentage(tolerance, expected):
    (result,) = _results(_semicolon(("100", tolerance))).values()
    if isinstance(expected, Decimal):
        assert result.action == "create" and result.data["tolerance"] == expected
    else:
        assert result.errors[0][0] == "Tolerance rate" and expected in result.errors[0][1]


@pytest.mark.parametrize(
    ("limit", "reason"),
    [
        ("-5", "Credit limit must not be negative."),
        ("--5", "more than one minus sign"),
        ("1e5", "contains letters"),
        ("NaN", "contains letters"),
        ("١٢٣", "digits 0 to 9"),
        ("1 500", "spaces between the digits"),
        ("12.34.567", "group thousands in threes"),
        ("1.000.000.000.000", "too large"),
        ("1" * 41, "too long for a number"),
        ("10%", "does not take a percentage"),
    ],
)
def test_a_credit_limit_is_never_guessed(limit, reason):
    (result,) = _results(_semicolon((limit, "0"))).values()
    assert result.action == "rejected" and result.errors[0][0] == "Credit limit"
    assert reason in result.errors[0][1]


def test_the_rejected_cell_keeps_what_was_typed():
    table = imports.read_table(_semicolon(("5O00", "0"), ("R$ 1.234,56", "0")), "accounts")
    (row, first), (_row, second) = table.rows
    assert first["credit_limit"] == "5O00" and isinstance(first["credit_limit"], bulk.Unreadable)
    assert "contains letters" in first["credit_limit"].error.message
    assert second["credit_limit"] == "1234.56" and type(second["credit_limit"]) is str
    assert row == 2


def test_invoice_paid_amounts_are_read_strictly():
    content = (
        b"Invoice id;Status;Paid amount\n"
        b"A-01;Opened;10,00\n"
        b"A-02;Opened;1O,00\n"
        b"A-03;Opened;R$ 1.000,50\n"
        b"A-04;Opened;10.00\n"
    )
    results = _results(content, "invoices")
    assert results[2].data["paid_amount"] == Decimal("10.00")
    assert results[3].errors[0][0] == "Paid amount"
    assert '"1O,00" contains letters' in results[3].errors[0][1]
    assert results[4].data["paid_amount"] == Decimal("1000.50")
    assert "use a comma for decimals" in results[5].errors[0][1]


def test_the_plan_of_a_semicolon_file(session):
    """Through the database too: read rows are planned, unreadable ones rejected."""
    table = imports.read_table(
        _semicolon(("5O00", "0"), ("1.234,56", "0"), ("2000 (was 1500)", "0")), "accounts"
    )
    plan = bulk.plan_accounts(session, table.rows)
    assert plan.counts == {"create": 1, "update": 0, "unchanged": 0, "rejected": 2}
    assert [(r.row, r.errors[0][0]) for r in plan.rejected] == [
        (2, "Credit limit"),
        (4, "Credit limit"),
    ]
    (created,) = [r for r in plan.rows if r.action == "create"]
    assert (created.row, created.data["credit_limit"]) == (3, Decimal("1234.56"))


@pytest.mark.parametrize("dialect", ["comma", "excel"])
def test_an_export_is_read_back_unchanged(session, make_account, purchase, dialect):
    """Excel files (';') are written with decimal commas, which is how they are read."""
    account = make_account(limit="1234.56", tolerance="0.125", email="round@trip.example")
    purchase(account, "100.50", term="30/60")
    for kind, spec in (("invoices", listing.INVOICES), ("accounts", listing.ACCOUNTS)):
        text = "".join(exports.export_csv(session, spec, listing.parse(spec, {}), dialect=dialect))
        if dialect == "excel":
            assert "1234,56" in text or "50,25" in text
        table = imports.read_table(text.encode("utf-8-sig"), kind)
        plan = (
            bulk.plan_invoices(session, table.rows)
            if kind == "invoices"
            else (bulk.plan_accounts(session, table.rows))
        )
        assert plan.counts["unchanged"] == len(table.rows) >= 1, plan.rows
