"""Amounts and days: decimals with bounded size and precision, days within a bounded calendar,
so every layer (Python's date arithmetic, PostgreSQL's numeric and date) can hold them."""

from datetime import date
from decimal import Decimal, InvalidOperation

from target_ledger.domain.errors import InvalidValueError

MAX_DIGITS = 15  # below a quadrillion: above any sales figure, well within numeric
MAX_PLACES = 6
# The calendar's years: every day a plan can name, with room for date arithmetic beyond them.
FIRST_YEAR, LAST_YEAR = 1900, 2999
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)


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


def check_day(day: date, field: str = "date") -> None:
    """A day (or an instant's day) in the calendar's years, 1900-01-01 to 2999-12-31."""
    if not FIRST_DAY <= (day if type(day) is date else date(day.year, day.month, day.day)) <= LAST_DAY:
        raise InvalidValueError(f"{field} must lie between {FIRST_DAY} and {LAST_DAY}", field=field)


class Percent(Decimal):
    """A value typed as a percent ("15%" read as 0.15): a rate, which Metric.check_target_value
    refuses for money and counts. Stored and shown as the plain Decimal it equals."""


def plain(value: Decimal) -> Decimal:
    """The value without the mark of how it was typed (Percent), for events and answers."""
    return Decimal(value) if type(value) is not Decimal else value


def share_form(raw: str | int | float, field: str) -> Decimal:
    """A share (a weight, a ramp's month), not a metric's value: a decimal, or "60%" as 0.6."""
    return plain(typed_value(raw, field))


def percent_form(raw: str, field: str = "value") -> Decimal:
    """A value as typed: a decimal ("0.15"), or a percent ("15%", read as the fraction 0.15),
    so a rate typed as a percent is never taken for 15 times the whole."""
    text = raw.strip()
    percent = text.endswith("%")
    try:
        value = Decimal(text.removesuffix("%").strip())
    except InvalidOperation:
        raise InvalidValueError(
            f"{field} must be a decimal (0.15) or a percent (15%), not {raw!r}", field=field
        ) from None
    check_amount(value, negative_allowed=True, field=field)
    value = value / 100 if percent else value
    value = value if value.as_tuple().exponent in range(-6, 1) and value else Decimal(format(value, "f")) + 0
    return Percent(value) if percent else value


def typed_value(raw: str | int | float, field: str = "value") -> Decimal:
    """A value as a request spells it: text in percent_form, or a JSON number."""
    if isinstance(raw, str):
        return percent_form(raw, field)
    # repr: the shortest decimal that is the float (1200000.1, not its binary expansion).
    return percent_form(repr(raw) if isinstance(raw, float) else str(raw), field)


def typed_values(raw: dict[str, str | int | float] | None, field: str) -> dict[str, Decimal] | None:
    """Values by key (allocations, a re-allocation), each read as typed_value."""
    return None if raw is None else {key: typed_value(v, f"{field}.{key}") for key, v in raw.items()}
