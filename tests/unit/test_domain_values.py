"""Periods and amounts: the keys and numbers every target rests on."""

from datetime import date
from decimal import Decimal

import pytest

from target_ledger.domain.calendar import period_bounds
from target_ledger.domain.errors import InvalidPeriodError, InvalidValueError
from target_ledger.domain.values import check_amount


@pytest.mark.parametrize(
    ("key", "first", "last"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
    ],
)
def test_period_keys_span_their_days(key: str, first: date, last: date) -> None:
    assert period_bounds(key) == (first, last)


@pytest.mark.parametrize("key", ["2026-Q0", "2026-13", "2025-W53", "26", "2026-W7", "2026-q3", ""])
def test_bad_period_keys_are_refused_naming_the_field(key: str) -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        period_bounds(key)
    assert raised.value.field == "period"


@pytest.mark.parametrize("value", ["0", "0.01", "999999999999999.999999", "120000"])
def test_amounts_within_bounds_pass(value: str) -> None:
    check_amount(Decimal(value), negative_allowed=False)


@pytest.mark.parametrize("value", ["-1", "NaN", "Infinity", "1e15", "1e999999999", "0.0000001"])
def test_amounts_out_of_bounds_are_refused(value: str) -> None:
    with pytest.raises(InvalidValueError):
        check_amount(Decimal(value), negative_allowed=False)


def test_a_negative_actual_is_allowed_as_a_credit() -> None:
    check_amount(Decimal("-12.50"), negative_allowed=True)
