"""CSV exports open in a spreadsheet as data, never as formulas."""

from decimal import Decimal

from target_ledger.api.spreadsheet import cell, to_csv


def test_text_that_would_start_a_formula_is_kept_as_text() -> None:
    for text in ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1"]:
        assert cell(text) == "'" + text


def test_numbers_and_plain_text_are_left_alone() -> None:
    assert [cell(v) for v in ["-12.50", "+3", "1e5", "east", Decimal("-4"), None]] == [
        "-12.50",
        "+3",
        "1e5",
        "east",
        Decimal("-4"),
        "",
    ]


def test_to_csv_writes_the_header_and_safe_cells() -> None:
    assert to_csv(["node", "value"], [["=cmd", Decimal("1.50")]]) == "node,value\r\n'=cmd,1.50\r\n"
