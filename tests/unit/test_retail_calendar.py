"""Retail calendars (4-5-4, 4-4-5, 5-4-4): years of whole weeks, checked against the NRF's calendar."""

from datetime import date, timedelta
from itertools import pairwise

import pytest

from target_ledger.application.judging import weeks_ended
from target_ledger.application.monitoring import follow_up_window
from target_ledger.domain.calendar import Calendar, Period
from target_ledger.domain.errors import InvalidPeriodError
from target_ledger.domain.retail_calendar import RetailYears

# The NRF 4-5-4 calendar: years end on the Saturday (5) nearest 31 January.
NRF = Calendar(retail=RetailYears("454", 5, (1, 31)))
FOUR_FOUR_FIVE = Calendar(retail=RetailYears("445", 5, (1, 31)))
# A year ending on the Sunday nearest 31 December: named for the calendar year it mostly covers.
DECEMBER = Calendar(retail=RetailYears("544", 6, (12, 31)))


def keys(periods: list[Period]) -> list[str]:
    return [period.key for period in periods]


# Hand-checked against the NRF's published 4-5-4 calendar: FY2023 ran 29 January 2023 to
# 3 February 2024 and had 53 weeks; its January (P12) had 5; FY2022 and FY2024 had 52.
@pytest.mark.parametrize(
    ("key", "kind", "start", "end"),
    [
        ("2023", "year", date(2023, 1, 29), date(2024, 2, 3)),
        ("2023-P01", "period", date(2023, 1, 29), date(2023, 2, 25)),
        ("2023-P02", "period", date(2023, 2, 26), date(2023, 4, 1)),
        ("2023-P03", "period", date(2023, 4, 2), date(2023, 4, 29)),
        ("2023-Q1", "quarter", date(2023, 1, 29), date(2023, 4, 29)),
        ("2023-H1", "half", date(2023, 1, 29), date(2023, 7, 29)),
        ("2023-P12", "period", date(2023, 12, 31), date(2024, 2, 3)),
        ("2023-Q4", "quarter", date(2023, 10, 29), date(2024, 2, 3)),
        ("2023-W01", "week", date(2023, 1, 29), date(2023, 2, 4)),
        ("2023-W53", "week", date(2024, 1, 28), date(2024, 2, 3)),
        ("2022", "year", date(2022, 1, 30), date(2023, 1, 28)),
        ("2024", "year", date(2024, 2, 4), date(2025, 2, 1)),
        ("2026", "year", date(2026, 2, 1), date(2027, 1, 30)),
    ],
)
def test_nrf_keys_name_the_nrf_calendars_days(key: str, kind: str, start: date, end: date) -> None:
    assert NRF.parse(key) == Period(key, kind, start, end)  # type: ignore[arg-type]


def test_a_53_week_year_puts_its_extra_week_in_p12() -> None:
    # NRF rule: the 53rd week is added to the last period, so Q4 has 14 weeks and P12 5 under 4-5-4.
    weeks = [NRF.parse(f"2023-P{n:02d}").days // 7 for n in range(1, 13)]
    assert weeks == [4, 5, 4] * 3 + [4, 5, 5]
    assert [NRF.parse(f"2022-P{n:02d}").days // 7 for n in range(1, 13)] == [4, 5, 4] * 4
    # 4-4-5: P12 has 6 weeks in a 53-week year.
    assert FOUR_FOUR_FIVE.parse("2023-P12").days == 42
    assert FOUR_FOUR_FIVE.parse("2023-P03") == Period("2023-P03", "period", date(2023, 3, 26), date(2023, 4, 29))


def test_a_quarter_splits_into_its_three_periods_and_a_period_into_its_weeks() -> None:
    q1 = NRF.parse("2026-Q1")
    assert keys(NRF.children(q1)) == ["2026-P01", "2026-P02", "2026-P03"]
    assert sum(p.days for p in NRF.children(q1)) == q1.days == 91
    assert keys(NRF.children(NRF.parse("2026-P02"))) == [f"2026-W{n:02d}" for n in range(5, 10)]
    assert keys(NRF.children(NRF.parse("2023-P12"))) == [f"2023-W{n:02d}" for n in range(49, 54)]
    assert keys(NRF.children(NRF.parse("2026"), "half")) == ["2026-H1", "2026-H2"]
    assert len(NRF.children(NRF.parse("2026"), "period")) == 12


def test_every_year_is_52_or_53_whole_weeks_and_the_years_touch() -> None:
    for calendar in (NRF, DECEMBER):
        years = [calendar.parse(str(year)) for year in range(1990, 2060)]
        assert {year.days for year in years} == {364, 371}
        assert all(a.end + timedelta(days=1) == b.start for a, b in pairwise(years))
        assert {year.end.weekday() for year in years} == {calendar.retail.end_weekday}  # type: ignore[union-attr]


def test_a_year_ending_near_31_december_is_named_for_that_year() -> None:
    # 2026-12-31 is a Thursday: the nearest Sunday is 3 January 2027.
    assert DECEMBER.parse("2026") == Period("2026", "year", date(2025, 12, 29), date(2027, 1, 3))
    assert DECEMBER.parse("2026-P01").days == 35  # 5-4-4


def test_every_day_lies_in_the_periods_that_parse_back_to_it() -> None:
    day = date(2022, 12, 1)
    while day < date(2025, 3, 1):
        for kind in ("year", "half", "quarter", "period", "week"):
            period = NRF.containing(day, kind)  # type: ignore[arg-type]
            assert period.contains(day) and NRF.parse(period.key) == period
        day += timedelta(days=3)


def test_previous_and_same_period_last_year_across_a_53_week_year() -> None:
    assert NRF.previous(NRF.parse("2024-P01")).key == "2023-P12"
    assert NRF.previous(NRF.parse("2024-W01")).key == "2023-W53"
    # A year is compared by key: FY2024's W52 with FY2023's W52, its P12 (4 weeks) with FY2023's (5).
    assert NRF.same_period_last_year(NRF.parse("2024-W52")).key == "2023-W52"
    assert NRF.same_period_last_year(NRF.parse("2024-P12")).key == "2023-P12"
    # FY2028, the next 53-week NRF year, compares its W53 with FY2027's last week, W52.
    assert NRF.parse("2028").days == 371
    assert NRF.same_period_last_year(NRF.parse("2028-W53")).key == "2027-W52"


def test_a_retail_ledger_refuses_calendar_months_naming_the_period_to_use() -> None:
    # NRF's fiscal 2026 starts on 1 February: January 2026 is fiscal 2025's last period.
    january = r"plans on a 4-5-4 calendar; use 2025-P12 \(2026-01-04\.\.2026-01-31\)"
    with pytest.raises(InvalidPeriodError, match=january) as refused:
        NRF.parse("2026-01")
    assert refused.value.field == "period"
    with pytest.raises(InvalidPeriodError, match="fiscal year 2026 has weeks W01 to W52"):
        NRF.parse("2026-W53")
    with pytest.raises(InvalidPeriodError, match="splits into period, week, not 'month'") as wrong_part:
        NRF.children(NRF.parse("2026-Q1"), "month")
    assert wrong_part.value.field == "into"


def test_a_gregorian_ledger_refuses_retail_periods() -> None:
    with pytest.raises(InvalidPeriodError, match="plans on calendar months; use 2026-01") as refused:
        Calendar().parse("2026-P01")
    assert refused.value.field == "period"


def test_a_gregorian_ledger_from_july_suggests_the_fiscal_month_a_retail_period_would_be() -> None:
    # TL_FISCAL_YEAR_START=7: fiscal 2026 starts in July 2026, so its month 01 is 2026-07, its 07 2027-01.
    july = Calendar(7)
    with pytest.raises(InvalidPeriodError, match="use 2026-07, fiscal month 01 of 2026: fiscal years start in month"):
        july.parse("2026-P01")
    with pytest.raises(InvalidPeriodError, match="use 2027-01, fiscal month 07 of 2026"):
        july.parse("2026-P07")


@pytest.mark.parametrize(
    ("pattern", "weekday", "near", "said"),
    [
        ("446", 5, (1, 31), "pattern"),
        ("454", 7, (1, 31), "weekday"),
        ("454", 5, (2, 29), "month and day"),
        ("454", 5, (13, 1), "month and day"),
    ],
)
def test_a_retail_calendar_refuses_what_describes_no_year(
    pattern: str, weekday: int, near: tuple[int, int], said: str
) -> None:
    with pytest.raises(ValueError, match=said):
        RetailYears(pattern, weekday, near)


def test_the_calendar_describes_itself_for_the_record() -> None:
    assert NRF.describe() == "retail 4-5-4, years ending on the saturday nearest 01-31"
    assert Calendar(fiscal_start_month=4).describe() == "gregorian, fiscal years starting in month 04"


def test_the_weekly_alert_rules_and_follow_ups_judge_the_calendars_weeks_and_periods() -> None:
    # Wednesday 15 April 2026: the last ISO week ended on Sunday the 12th, the last NRF fiscal
    # week (Sunday to Saturday) on Saturday the 11th.
    today = date(2026, 4, 15)
    assert weeks_ended(today, 1) == [(date(2026, 4, 6), date(2026, 4, 12))]
    assert weeks_ended(today, 2, NRF) == [(date(2026, 4, 5), date(2026, 4, 11)), (date(2026, 3, 29), date(2026, 4, 4))]
    # A monthly follow-up is due for the last period ended: P02 (1 March - 4 April), not March.
    assert follow_up_window("monthly", today, NRF) == (date(2026, 3, 1), date(2026, 4, 4))
    assert follow_up_window("monthly", today, Calendar()) == (date(2026, 3, 1), date(2026, 3, 31))
