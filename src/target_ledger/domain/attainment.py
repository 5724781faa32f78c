"""How a target stands: attainment, gap, expected to date, pace, projection and status."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

Status = Literal["ahead", "on_track", "at_risk", "behind", "not_started"]
Number = Decimal | Fraction | int
HUNDRED = Decimal(100)
CENT = Decimal("0.01")  # percentages, money and plans are shown to the cent
RATE = Decimal("0.0001")  # a ratio metric's rate, to four places


def shown(exact: Number, quantum: Decimal = CENT, *, higher_is_better: bool = True) -> Decimal:
    """The one rounding rule for every figure shown: `exact` to a multiple of `quantum` (a power
    of ten), toward the side that does not flatter. Down where a higher figure is better news
    (attainment, pace, a higher-is-better metric's actual or projection); up where it is worse
    news (a gap, the plan to date, the share of its budget a lower-is-better metric used).
    So 999.99 of 1,000.00 shows 99.99 %, never 100.00 %, and a cost of 1,000.01 against a budget
    of 1,000.00 shows 100.01 %. Nothing is judged on a shown figure: judge on the exact one."""
    steps = Fraction(exact) / Fraction(quantum)
    whole = math.floor(steps) if higher_is_better else math.ceil(steps)
    # From text, so no context precision rounds it again.
    return Decimal(f"{whole}E{quantum.as_tuple().exponent}")


def percent(part: Number, whole: Number) -> Fraction | None:
    """part ÷ whole * 100, exactly; None when whole is 0."""
    return Fraction(part) * 100 / Fraction(whole) if whole else None


def attainment_pct(actual: Number | None, target: Number, *, lower_is_better: bool = False) -> Decimal | None:
    """actual ÷ target as a percentage, `shown`: for a lower-is-better metric it is the share of
    its budget used, so up is worse news. None without an actual or a target."""
    exact = percent(actual, target) if actual is not None else None
    return None if exact is None else shown(exact, higher_is_better=not lower_is_better)


def rate(numerator: Number, denominator: Number) -> Fraction:
    """A ratio metric's value: Σ numerator ÷ Σ denominator, exactly (0 before any denominator)."""
    return Fraction(numerator) / Fraction(denominator) if denominator else Fraction(0)


def shown_actual(exact: Decimal | Fraction, *, lower_is_better: bool = False) -> Decimal:
    """An actual as shown: a sum as it is (exact), a rate (Fraction) to RATE, not flattering."""
    return shown(exact, RATE, higher_is_better=not lower_is_better) if isinstance(exact, Fraction) else exact


def days_elapsed(first: date, last: date, day: date) -> int:
    """How many days of [first, last] have begun by `day` (it included)."""
    return min(max((day - first).days + 1, 0), (last - first).days + 1)


def planned_by(
    value: Decimal, first: date, last: date, parts: Sequence[tuple[date, date, Decimal]], day: date
) -> Fraction:
    """What a target of `value` over [first, last] plans by the end of `day`, exactly: pro rata
    by days, or, for a target split by time into `parts` (first day, last day, value), the sum
    of theirs."""
    if parts:
        return sum((planned_by(v, start, end, (), day) for start, end, v in parts), Fraction(0))
    return Fraction(value) * days_elapsed(first, last, day) / ((last - first).days + 1)


@dataclass(frozen=True)
class Thresholds:
    """Pace (actual / expected to date) at or above `on_track` is on track; at or above
    `at_risk` it is at risk; below, behind. A target already reached is ahead."""

    on_track: Decimal = Decimal(100)
    at_risk: Decimal = Decimal(80)


@dataclass(frozen=True)
class Standing:
    """The exact percentages to judge and rank on (`attainment`, `pace`), and every figure as shown."""

    attainment: Fraction | None
    pace: Fraction | None
    status: Status
    attainment_pct: Decimal | None
    gap: Decimal
    expected: Decimal
    pace_pct: Decimal | None
    projected: Decimal | None


def assess(
    *,
    target: Decimal | Fraction,
    actual: Decimal | Fraction,
    expected: Number,
    elapsed_days: int,
    total_days: int,
    lower_is_better: bool = False,
    thresholds: Thresholds = Thresholds(),
) -> Standing:
    """`actual` is a sum (Decimal) or a ratio metric's `rate` (Fraction). `expected` is what the
    target planned by now (`planned_by`); a rate is not accumulated, so what is expected of it
    at any time is the rate itself, and its projection is the rate so far. The status is judged
    on the exact figures; the figures are `shown`."""
    so_far, goal = Fraction(actual), Fraction(target)
    if isinstance(actual, Fraction):
        planned, total_days = (goal if elapsed_days else Fraction(0)), elapsed_days
    else:
        planned = Fraction(expected)
    projected = so_far * total_days / elapsed_days if elapsed_days else None
    if lower_is_better:  # a cost or a count of returns: staying under plan is good
        pace = percent(planned, so_far) if so_far else (Fraction(100) if elapsed_days else None)
        done = elapsed_days >= total_days and so_far <= goal
    else:
        pace = percent(so_far, planned)
        done = so_far >= goal > 0
    status: Status
    if done:
        status = "ahead"
    elif not elapsed_days or pace is None:
        status = "not_started"
    elif pace >= Fraction(thresholds.on_track):
        status = "on_track"
    elif pace >= Fraction(thresholds.at_risk):
        status = "at_risk"
    else:
        status = "behind"
    attainment, better = percent(so_far, goal), not lower_is_better
    quantum = RATE if isinstance(actual, Fraction) else CENT
    return Standing(
        attainment=attainment,
        pace=pace,
        status=status,
        attainment_pct=None if attainment is None else shown(attainment, higher_is_better=better),
        # A sum's gap against a set target is exact as it is; a rate's, or one against a derived
        # share (a Fraction), is rounded like any other figure.
        gap=target - actual
        if isinstance(target, Decimal) and isinstance(actual, Decimal)
        else shown(goal - so_far, quantum, higher_is_better=lower_is_better),
        expected=shown(planned, quantum, higher_is_better=lower_is_better),
        pace_pct=None if pace is None else shown(pace),  # pace is higher-is-better either way
        projected=None if projected is None else shown(projected, quantum, higher_is_better=better),
    )
