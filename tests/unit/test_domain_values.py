"""Amounts: the numbers every target rests on (periods are tested in test_calendar)."""

from decimal import Decimal

import pytest

from target_ledger.api.schemas import check_input
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


def test_check_input_of_text_maps_refuses_a_nul_naming_where() -> None:
    """A map of text only (a scope, a batch's raw item) is passed through whole when clean; a
    NUL in a key names the map, in a value names the key, as the item-by-item walk does."""
    scope = {"region": "EU", "channel": "web"}
    assert check_input(scope, "scope") == scope
    for bad, named in [({"re\x00gion": "EU"}, "`scope`"), ({"region": "E\x00U"}, "`scope.region`")]:
        with pytest.raises(ValueError, match=named):
            check_input(bad, "scope")
    with pytest.raises(ValueError, match=r"`items\[1\]\.value`"):
        check_input([{"value": "1"}, {"person": "p", "value": "1\x00"}], "items")
    assert check_input({"value": Decimal("1.5E+2")}, "x") == {"value": Decimal("150")}
