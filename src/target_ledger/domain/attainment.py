"""How a target stands: attainment, gap, expected to date, pace, projection and status."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Status = Literal["ahead", "on_track", "at_risk", "behind", "not_started"]
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Thresholds:
    """Pace (actual / expected to date) at or above `on_track` is on track; at or above
    `at_risk` it is at risk; below, behind. A target already reached is ahead."""

    on_track: Decimal = Decimal(100)
    at_risk: Decimal = Decimal(80)


@dataclass(frozen=True)
class Standing:
    attainment_pct: Decimal | None
    gap: Decimal
    expected: Decimal
    pace_pct: Decimal | None
    projected: Decimal | None
    status: Status


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole * HUNDRED).quantize(CENT) if whole else None


def assess(
    *,
    target: Decimal,
    actual: Decimal,
    expected: Decimal,
    elapsed_days: int,
    total_days: int,
    lower_is_better: bool = False,
    thresholds: Thresholds = Thresholds(),
) -> Standing:
    """`expected` is what the target planned by now (pro rata, or by its seasonal split)."""
    projected = (actual * total_days / elapsed_days).quantize(CENT) if elapsed_days else None
    if lower_is_better:  # a cost or a count of returns: staying under plan is good
        pace = _pct(expected, actual) if actual else (HUNDRED if elapsed_days else None)
        done = elapsed_days >= total_days and actual <= target
    else:
        pace = _pct(actual, expected)
        done = actual >= target > 0
    if done:
        status: Status = "ahead"
    elif not elapsed_days or pace is None:
        status = "not_started"
    elif pace >= thresholds.on_track:
        status = "on_track"
    elif pace >= thresholds.at_risk:
        status = "at_risk"
    else:
        status = "behind"
    return Standing(_pct(actual, target), target - actual, expected.quantize(CENT), pace, projected, status)
