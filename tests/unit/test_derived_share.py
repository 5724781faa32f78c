"""The planned share of a week or a day inside a target's period, from the targets holding its days."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

from target_ledger.domain.derived_share import Holder, expected_share, planned_share, shown_share

JUNE = Holder(date(2026, 6, 1), date(2026, 6, 30), Decimal(3000))  # 100 a day
JULY = Holder(date(2026, 7, 1), date(2026, 7, 31), Decimal(6200))  # 200 a day
Q3 = Holder(date(2026, 7, 1), date(2026, 9, 30), Decimal(92000))  # 1,000 a day


def test_a_day_of_a_month_target_is_its_daily_share() -> None:
    # A day (16 June) is a period inside the month like a week: 3,000 / 30.
    assert planned_share([JUNE], date(2026, 6, 16), date(2026, 6, 16)) == 100


def test_a_day_of_a_month_split_by_weeks_takes_its_weeks_share() -> None:
    # June split by time: the week of 15..21 June carries 1,400 of it (the documents' uneven weeks):
    # its days take 200 each, not June's 100.
    split = Holder(JUNE.start, JUNE.end, JUNE.value, [(date(2026, 6, 15), date(2026, 6, 21), Decimal(1400))])
    assert planned_share([split], date(2026, 6, 16), date(2026, 6, 16)) == 200


def test_a_straddling_week_takes_each_months_share_of_its_own_days() -> None:
    # 29 June .. 5 July: two June days at 100 and five July days at 200.
    assert planned_share([JUNE, JULY], date(2026, 6, 29), date(2026, 7, 5)) == 1200


def test_the_shortest_target_holding_a_day_plans_it() -> None:
    # July's own target (200 a day) before the quarter's pro rata (1,000 a day).
    assert planned_share([Q3, JULY], date(2026, 7, 6), date(2026, 7, 12)) == 1400
    # August has no target of its own: the quarter's.
    assert planned_share([Q3, JULY], date(2026, 8, 3), date(2026, 8, 9)) == 7000


def test_a_day_no_target_plans_leaves_no_share() -> None:
    # 29 June .. 5 July with July's target only: two days planned by nothing.
    assert planned_share([JULY], date(2026, 6, 29), date(2026, 7, 5)) is None


def test_a_target_inside_the_period_read_is_not_a_holder() -> None:
    # The quarter read with only July's target: a sum of parts, not a derived share.
    assert planned_share([JULY], Q3.start, Q3.end) is None


def test_a_rate_is_inherited_not_divided() -> None:
    rate = Holder(JUNE.start, JUNE.end, Decimal("0.15"))
    assert planned_share([rate], date(2026, 6, 1), date(2026, 6, 7), additive=False) == Fraction(15, 100)
    other = Holder(JULY.start, JULY.end, Decimal("0.2"))
    assert planned_share([rate, other], date(2026, 6, 29), date(2026, 7, 5), additive=False) is None


def test_expected_runs_to_today_and_is_nothing_before_the_start() -> None:
    week = (date(2026, 6, 29), date(2026, 7, 5))
    assert expected_share([JUNE, JULY], *week, date(2026, 7, 1)) == 400  # two June days and one July day
    assert expected_share([JUNE, JULY], *week, date(2026, 6, 1)) == 0


def test_a_share_is_shown_to_the_cent_without_flattering() -> None:
    # A target up (more to do), a budget down (less to spend); counts to the cent too.
    assert shown_share(Fraction(280000, 3)) == Decimal("93333.34")
    assert shown_share(Fraction(280000, 3), lower_is_better=True) == Decimal("93333.33")
    assert shown_share(Fraction(14, 3)) == Decimal("4.67")
