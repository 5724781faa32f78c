"""A payout's arithmetic: the tier a boundary belongs to, the penalty, the cap, one rounding to the cent."""

from decimal import Decimal
from fractions import Fraction

import pytest

from target_ledger.domain.errors import DomainError
from target_ledger.domain.incentive import Terms, Tier, check_terms
from target_ledger.domain.payout import earn, to_cent

TIERS = [
    Tier(from_=Decimal(0), to=Decimal("0.5"), multiplier=Decimal("-0.2")),  # the shortfall penalty
    Tier(from_=Decimal("0.5"), to=Decimal("0.8"), multiplier=Decimal("0.5")),
    Tier(from_=Decimal("0.8"), to=Decimal(1), multiplier=Decimal(1)),
    Tier(from_=Decimal(1), multiplier=Decimal("1.5")),
]


def test_a_boundary_belongs_to_the_tier_it_starts() -> None:
    terms = Terms(tiers=TIERS, base_amount=Decimal("1000.00"))
    # Exactly 80 %: tier 2 (* 1), not tier 1; exactly 100 %: tier 3 (* 1.5).
    assert earn(terms, actual=Decimal(80), attainment=Fraction(4, 5), team_reached=False).amount == Decimal("1000.00")
    assert earn(terms, actual=Decimal(100), attainment=Fraction(1), team_reached=False).amount == Decimal("1500.00")
    # Just under 100 % (999.99 of 1000) is still the third tier (tiers[2]), numbered 3 for people.
    assert earn(terms, actual=Decimal(0), attainment=Fraction(99999, 100000), team_reached=False).tier == 3


def test_a_shortfall_is_a_deduction_and_a_penalty_is_never_capped() -> None:
    terms = Terms(tiers=TIERS, base_amount=Decimal("1000.00"), cap=Decimal("100.00"), team_award=Decimal("50.00"))
    # 40 %: 1000.00 * -0.2 = -200.00; the team's award still comes on top: -150.00.
    paid = earn(terms, actual=Decimal(40), attainment=Fraction(2, 5), team_reached=True)
    assert (paid.earned, paid.cap_applied, paid.amount) == (Decimal("-200.00"), False, Decimal("-150.00"))


def test_a_rate_of_the_actual_is_rounded_once_half_away_from_zero() -> None:
    terms = Terms(tiers=TIERS, rate_of_actual=Decimal("0.05"))
    # 333.33 * 0.05 * 1 = 16.6665 → 16.67 (half away from zero), only at the end.
    paid = earn(terms, actual=Decimal("333.33"), attainment=Fraction(9, 10), team_reached=False)
    assert paid.amount == Decimal("16.67")
    assert (to_cent(Fraction(5, 1000)), to_cent(Fraction(-5, 1000))) == (Decimal("0.01"), Decimal("-0.01"))


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ([Tier(from_=Decimal(0), multiplier=Decimal(-2))], "tiers[0].multiplier"),
        ([Tier(from_=Decimal(0), to=Decimal(1), multiplier=Decimal(1))], "tiers[0].to"),
        (
            [
                Tier(from_=Decimal(0), to=Decimal(1), multiplier=Decimal(1)),
                Tier(from_=Decimal("1.1"), multiplier=Decimal(1)),
            ],
            "tiers[1].from",
        ),
    ],
)
def test_terms_that_leave_a_gap_or_pay_below_minus_the_base_name_the_tier(tiers: list[Tier], field: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_terms(Terms(tiers=tiers, base_amount=Decimal("1.00")))
    assert refused.value.field == field


def test_a_rate_of_the_actual_refuses_a_penalty_multiplier() -> None:
    # Seed 003 §06: a shortfall "降低提成比例" lowers the rate; a negative one would cost a rep more the more they sell.
    penalty = [
        Tier(from_=Decimal(0), to=Decimal(1), multiplier=Decimal(-1)),
        Tier(from_=Decimal(1), multiplier=Decimal(1)),
    ]
    with pytest.raises(DomainError) as refused:
        check_terms(Terms(tiers=penalty, rate_of_actual=Decimal("0.05")))
    assert refused.value.field == "tiers[0].multiplier"
    # The same tiers on a base amount are a deduction of the bonus, as before.
    check_terms(Terms(tiers=penalty, base_amount=Decimal("1000.00")))


def test_a_negative_actual_earns_nothing_from_a_rate_even_under_an_old_penalty_tier() -> None:
    # A plan stored before the rule: rate 0.033333, tier 0 * -1; a credit note of -500 makes the actual negative.
    terms = Terms(
        tiers=[
            Tier(from_=Decimal(0), to=Decimal(1), multiplier=Decimal(-1)),
            Tier(from_=Decimal(1), multiplier=Decimal(1)),
        ],
        rate_of_actual=Decimal("0.033333"),
    )
    paid = earn(terms, actual=Decimal(-500), attainment=Fraction(-1, 2), team_reached=False)
    # Never a bonus: the rate applies to max(actual, 0).
    assert paid.amount == Decimal("0.00")
    assert "counted as 0" in paid.computation


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        (
            Terms(tiers=[Tier(from_=Decimal(0), multiplier=Decimal(999999999))], base_amount=Decimal("2.00")),
            "tiers[0].multiplier",
        ),
        (
            Terms(tiers=[Tier(from_=Decimal(0), multiplier=Decimal(100))], base_amount=Decimal("10000000000000.00")),
            "base_amount",
        ),
    ],
)
def test_a_multiplier_above_100_or_a_best_pay_above_the_money_limit_is_refused(terms: Terms, field: str) -> None:
    # A tier pays at most 100 times the base, and no payout reaches 10^15.
    with pytest.raises(DomainError) as refused:
        check_terms(terms)
    assert refused.value.field == field
