"""Splitting a value into parts that sum to it exactly (largest-remainder method)."""

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from target_ledger.domain.errors import DomainError


class AllocationError(DomainError):
    pass


def quantum_for(value: Decimal, unit: str) -> Decimal:
    """The smallest step of a part: cents for money, units for counts, finer if the
    parent itself is finer (so the parts can always add up to it)."""
    step = Decimal("0.01") if unit == "money" else Decimal(1)
    exponent = value.as_tuple().exponent
    finer = Decimal(1).scaleb(exponent) if isinstance(exponent, int) else step
    return min(step, finer)


def by_weights(total: Decimal, weights: Sequence[Decimal], quantum: Decimal) -> list[Decimal]:
    """Parts proportional to weights, each a multiple of quantum, summing exactly to total:
    floor every share, then hand the leftover quanta to the largest remainders (ties: first)."""
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise AllocationError("weights must be non-negative and not all zero", field="weights")
    units = total / quantum
    if units != units.to_integral_value():
        raise AllocationError(f"{total} is not a multiple of {quantum}", field="value")
    weight_sum = sum(weights)
    exact = [units * w / weight_sum for w in weights]
    floors = [e.to_integral_value(rounding=ROUND_FLOOR) for e in exact]
    leftover = int(units - sum(floors))
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:leftover]:
        floors[i] += 1
    return [(f * quantum).quantize(quantum) for f in floors]


def evenly(total: Decimal, count: int, quantum: Decimal) -> list[Decimal]:
    return by_weights(total, [Decimal(1)] * count, quantum)


def check_explicit(total: Decimal, values: Sequence[Decimal]) -> None:
    """Explicit allocations of an additive metric must add up to the parent exactly."""
    difference = total - sum(values, Decimal(0))
    if difference:
        raise AllocationError(
            f"the allocations sum to {sum(values)}, which is {abs(difference)} "
            f"{'short of' if difference > 0 else 'over'} the target of {total}",
            field="allocations",
        )


def check_ramp(ramp: Sequence[Decimal], method: str) -> None:
    """A ramp is a list of shares, each from 0 to 1, and weighs days present only."""
    if method != "prorated":
        raise AllocationError("a ramp weighs days present: it goes with method prorated", field="ramp")
    for n, share in enumerate(ramp):
        if not 0 <= share <= 1:
            raise AllocationError(f"a ramp share is a fraction from 0 to 1, not {share}", field=f"ramp.{n}")


def ramped(days: Sequence[date], joined: date, ramp: Sequence[Decimal]) -> Decimal:
    """Days present, each weighed by a new hire's ramp: a day in their n-th calendar month (the
    month they joined is the first) counts ramp[n-1] of a day; after the ramp, a whole day."""

    def share(day: date) -> Decimal:
        month = (day.year - joined.year) * 12 + day.month - joined.month
        return ramp[month] if 0 <= month < len(ramp) else Decimal(1)

    return sum((share(day) for day in days), Decimal(0))


METHODS = ("even", "weights", "explicit", "last_period_mix", "prorated")


def split(
    total: Decimal,
    *,
    unit: str,
    additive: bool,
    keys: Sequence[str],
    method: str,
    given: dict[str, Decimal] | None = None,
    coverage: dict[str, Decimal] | None = None,
) -> dict[str, Decimal]:
    """The value of each part. `given` holds the allocations (explicit) or the weights
    (weights, last_period_mix); `coverage` is the share of each part inside the parent
    (a week straddling the month's end counts for its days in the month; along the org, for
    `prorated`, the days each part was present in the period)."""
    if not keys:
        raise AllocationError("there is nothing to split into", field="parts")
    if method == "explicit":
        values = [_given(given, key, "allocations") for key in keys]
        if additive:
            check_explicit(total, values)
        return dict(zip(keys, values, strict=True))
    if not additive:  # a rate is not divided: every part inherits it
        return dict.fromkeys(keys, total)
    if method in ("even", "prorated"):  # prorated: `coverage` holds each person's days present
        weights = [(coverage or {}).get(key, Decimal(1)) for key in keys]
        if method == "prorated" and not any(weights):  # days present count: only a ramp weighs them to 0
            raise AllocationError("the ramp leaves every part no share of a day to split by", field="ramp")
    elif method in ("weights", "last_period_mix"):
        field = "weights" if method == "weights" else "method"
        weights = [_given(given, key, field) for key in keys]
        for key, weight in zip(keys, weights, strict=True):
            if weight < 0:  # named by its key, as a value too large or finer than counted is
                raise AllocationError(f"a weight is not negative, not {weight}", field=f"{field}.{key}")
        if method == "last_period_mix" and not any(weights):
            raise AllocationError("there were no actuals last period to take the mix from", field="method")
    else:
        raise AllocationError(f"unknown method {method!r}; use one of {', '.join(METHODS)}", field="method")
    return dict(zip(keys, by_weights(total, weights, quantum_for(total, unit)), strict=True))


def _given(given: dict[str, Decimal] | None, key: str, field: str) -> Decimal:
    if given is None or key not in given:
        raise AllocationError(f"no {field} given for {key!r}", field=f"{field}.{key}")
    return given[key]
