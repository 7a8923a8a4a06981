"""CSV cells a spreadsheet could run as a formula get a leading quote; the rest stay as they are."""

from __future__ import annotations

import pytest

from portal.imports import csv_lines, neutralize

DEFUSED = [
    "=1+1",
    "+55 11 91234-5678",
    "-1+2",
    "-A1",
    "@SUM(A1)",
    "\tx",
    "\rx",
    " =1+1",
    "   +cmd",
    "\n=cmd",
    "\r\n@SUM(A1)",
    "\t-2+3",
    "\u00a0=1+1",  # no-break space
    "\u3000=1+1",  # ideographic space
    "\u200b=1+1",  # zero-width space
    "\ufeff@x",  # byte order mark
    "\uff1d1+1",  # ＝ full-width equals
    "\uff0bx",  # ＋
    "\uff0d1",  # －
    "\uff20SUM(A1)",  # ＠
    "  \uff0bx",
    '\u00a0\uff1dHYPERLINK("http://evil")',
    " -12.50",  # not a plain number once preceded by a space
]

UNCHANGED = [
    ("-12.50", "-12.50"),
    ("-7", "-7"),
    ("12.50", "12.50"),
    ("normal text", "normal text"),
    ("a=b", "a=b"),
    ("john@example.com", "john@example.com"),
    ("  spaced text", "  spaced text"),
    ("\nsecond line", "\nsecond line"),
    ("", ""),
    (None, ""),
    (0, "0"),
    ("'=already quoted", "'=already quoted"),
]


@pytest.mark.parametrize("text", DEFUSED)
def test_formula_cells_get_a_leading_quote(text):
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize(("value", "expected"), UNCHANGED)
def test_other_cells_stay_as_they_are(value, expected):
    assert neutralize(value) == expected


def test_csv_lines_write_defused_cells():
    text = "".join(csv_lines(["a", "b"], [[" =1+1", "-12.50"], ["\uff20x", None]]))
    assert text.splitlines() == ["a,b", "' =1+1,-12.50", "'\uff20x,"]
