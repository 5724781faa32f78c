"""Amounts: decimals with bounded size and precision, so every layer can hold them."""

from decimal import Decimal

from target_ledger.domain.errors import InvalidValueError

MAX_DIGITS = 15  # below a quadrillion: above any sales figure, well within numeric
MAX_PLACES = 6


def check_amount(value: Decimal, *, negative_allowed: bool, field: str = "value") -> None:
    if not value.is_finite():
        raise InvalidValueError(f"{field} must be a finite decimal, not {value}", field=field)
    if not negative_allowed and value < 0:
        raise InvalidValueError(f"{field} must not be negative", field=field)
    # adjusted() reads the exponent without arithmetic, which could overflow on 1e999999999.
    if value and value.adjusted() >= MAX_DIGITS:
        raise InvalidValueError(f"{field} must be below 10^{MAX_DIGITS}", field=field)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise InvalidValueError(f"{field} has more than {MAX_PLACES} decimal places", field=field)
