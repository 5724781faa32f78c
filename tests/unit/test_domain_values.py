"""Amounts: the numbers every target rests on (periods are tested in test_calendar)."""

from decimal import Decimal

import pytest

from target_ledger.domain.errors import InvalidValueError
from target_ledger.domain.values import check_amount


@pytest.mark.parametrize("value", ["0", "0.01", "999999999999999.999999", "120000"])
def test_amounts_within_bounds_pass(value: str) -> None:
    check_amount(Decimal(value), negative_allowed=False)


@pytest.mark.parametrize("value", ["-1", "NaN", "Infinity", "1e15", "1e999999999", "0.0000001"])
def test_amounts_out_of_bounds_are_refused(value: str) -> None:
    with pytest.raises(InvalidValueError):
        check_amount(Decimal(value), negative_allowed=False)


def test_a_negative_actual_is_allowed_as_a_credit() -> None:
    check_amount(Decimal("-12.50"), negative_allowed=True)
