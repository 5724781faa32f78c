"""What a plan pays one person: the tier their attainment reaches, the cap, the team award, to the cent."""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from target_ledger.domain.incentive import Terms

CENT = Fraction(1, 100)


def to_cent(exact: Fraction) -> Decimal:
    """The one rounding of a payout: exact to the cent, half away from zero (0.005 → 0.01,
    -0.005 → -0.01). Everything before it is exact."""
    cents = math.floor(abs(exact) / CENT + Fraction(1, 2))
    return Decimal(f"{-cents if exact < 0 else cents}E-2")


def tier_of(terms: Terms, attainment: Fraction) -> int:
    """The tier holding `attainment` (a fraction: 1 is 100 %): from ≤ attainment < to, so a
    boundary belongs to the tier it starts (exactly 100 % is in the tier from 1.0)."""
    for i, tier in enumerate(terms.tiers):
        if tier.to is None or attainment < Fraction(tier.to):
            return i
    return len(terms.tiers) - 1  # check_terms keeps the last tier open: not reached


@dataclass(frozen=True)
class Earning:
    """A person's payout: `earned` is the tier's pay after the cap, `amount` adds the team award."""

    tier: int | None  # 1 for the first tier (tiers[0]); None when attainment is undefined
    multiplier: Decimal | None
    base: Decimal  # the base amount, or actual * rate (to the cent, as shown)
    earned: Decimal
    cap_applied: bool
    team_award: Decimal
    amount: Decimal
    computation: str


def earn(terms: Terms, *, actual: Decimal | Fraction, attainment: Fraction, team_reached: bool) -> Earning:
    """base (base_amount, or actual * rate_of_actual) * the reached tier's multiplier, exactly;
    then at most `cap` (a penalty is never capped); plus `team_award` if the unit reached its
    target; then rounded once (to_cent). The multiplier applies to the whole base, not to the
    part above the tier's start."""
    i = tier_of(terms, attainment)
    multiplier = terms.tiers[i].multiplier
    if terms.base_amount is not None:
        base = Fraction(terms.base_amount)
        how = f"base {terms.base_amount}"
    else:
        # A negative actual (credit notes above the sales) earns nothing from a rate: it is never
        # multiplied by a negative multiplier into a bonus (plans before that rule may have one).
        base = max(Fraction(actual), Fraction(0)) * Fraction(terms.rate_of_actual or 0)
        how = f"actual {actual}{' (counted as 0)' if actual < 0 else ''} * rate {terms.rate_of_actual}"
    exact = base * Fraction(multiplier)
    # Tiers are numbered from 1 for people (tiers[0] is tier 1), as the export and computation show.
    steps = [f"tier {i + 1} (from {terms.tiers[i].from_}): {how} * {multiplier} = {to_cent(exact)}"]
    capped = terms.cap is not None and exact > terms.cap
    if capped:
        exact = Fraction(terms.cap or 0)
        steps.append(f"capped at {terms.cap}")
    award = terms.team_award if team_reached and terms.team_award is not None else Decimal("0.00")
    if team_reached and terms.team_award is not None:
        steps.append(f"team award {award}")
    amount = to_cent(exact + Fraction(award))
    steps.append(f"amount {amount}")
    return Earning(
        tier=i + 1,
        multiplier=multiplier,
        base=to_cent(base),
        earned=to_cent(exact),
        cap_applied=capped,
        team_award=award,
        amount=amount,
        computation="; ".join(steps),
    )


def earn_without_attainment(terms: Terms, *, team_reached: bool) -> Earning:
    """A person of the plan whose attainment is undefined (a target of 0): no tier, so nothing
    earned by one (neither a bonus nor a penalty); the team award if the unit reached its target."""
    award = terms.team_award if team_reached and terms.team_award is not None else Decimal("0.00")
    steps = ["target 0: attainment undefined, no tier: earned 0.00"]
    if award:
        steps.append(f"team award {award}")
    amount = to_cent(Fraction(award))
    steps.append(f"amount {amount}")
    zero = Decimal("0.00")
    return Earning(None, None, zero, zero, False, award, amount, "; ".join(steps))
