"""Fiscal calendars: how period keys become days, nest into parts and look back a period or a year."""

from datetime import date
from itertools import pairwise

import pytest

from target_ledger.domain.calendar import Calendar, Period, PeriodKind
from target_ledger.domain.errors import InvalidPeriodError

CALENDAR = Calendar()
APRIL = Calendar(fiscal_start_month=4)
OCTOBER = Calendar(fiscal_start_month=10)


def keys(periods: list[Period]) -> list[str]:
    return [period.key for period in periods]


def weeks(year: int, first: int, last: int) -> list[str]:
    return [f"{year}-W{week:02d}" for week in range(first, last + 1)]


def months(*spans: tuple[int, int, int]) -> list[str]:
    return [f"{year}-{month:02d}" for year, first, last in spans for month in range(first, last + 1)]


# Reading keys


@pytest.mark.parametrize(
    ("key", "kind", "start", "end"),
    [
        ("2026", "year", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-H1", "half", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-H2", "half", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026-Q1", "quarter", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 9, 30)),
        ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-07", "month", date(2026, 7, 1), date(2026, 7, 31)),
        ("2026-12", "month", date(2026, 12, 1), date(2026, 12, 31)),
        ("2028-02", "month", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-W27", "week", date(2026, 6, 29), date(2026, 7, 5)),
        ("2026-W01", "week", date(2025, 12, 29), date(2026, 1, 4)),
        ("2026-W53", "week", date(2026, 12, 28), date(2027, 1, 3)),
        ("1900", "year", date(1900, 1, 1), date(1900, 12, 31)),
        ("2999-12", "month", date(2999, 12, 1), date(2999, 12, 31)),
    ],
)
def test_every_key_form_names_its_kind_and_days(key: str, kind: PeriodKind, start: date, end: date) -> None:
    assert CALENDAR.parse(key) == Period(key, kind, start, end)


def test_a_fiscal_year_starting_in_april_ends_in_march() -> None:
    assert APRIL.parse("2026") == Period("2026", "year", date(2026, 4, 1), date(2027, 3, 31))


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("2026-Q1", date(2026, 4, 1), date(2026, 6, 30)),
        ("2026-Q4", date(2027, 1, 1), date(2027, 3, 31)),
        ("2026-H1", date(2026, 4, 1), date(2026, 9, 30)),
        ("2026-H2", date(2026, 10, 1), date(2027, 3, 31)),
    ],
)
def test_april_fiscal_quarters_and_halves_run_into_the_next_calendar_year(key: str, start: date, end: date) -> None:
    assert (APRIL.parse(key).start, APRIL.parse(key).end) == (start, end)


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("2026", date(2026, 10, 1), date(2027, 9, 30)),
        ("2026-Q1", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-Q2", date(2027, 1, 1), date(2027, 3, 31)),
        ("2026-H2", date(2027, 4, 1), date(2027, 9, 30)),
    ],
)
def test_an_october_fiscal_year_is_named_for_the_year_it_starts_in(key: str, start: date, end: date) -> None:
    assert (OCTOBER.parse(key).start, OCTOBER.parse(key).end) == (start, end)


@pytest.mark.parametrize("key", ["2026-07", "2026-W27"])
def test_months_and_iso_weeks_ignore_the_fiscal_start(key: str) -> None:
    assert APRIL.parse(key) == OCTOBER.parse(key) == CALENDAR.parse(key)


@pytest.mark.parametrize("start_month", [0, 13, -1, True])
def test_a_fiscal_start_that_is_not_a_month_is_refused(start_month: int) -> None:
    with pytest.raises(ValueError, match="fiscal_start_month"):
        Calendar(start_month)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "26",
        "20260",
        "2026-",
        "2026-H0",
        "2026-H3",
        "2026-Q0",
        "2026-Q5",
        "2026-q3",
        "2026-00",
        "2026-13",
        "2026-7",
        "2026-W7",
        "2026-w27",
        "2026-W027",
        " 2026",
        "2026\n",
        "FY2026",
        "2026-Q1-01",
        "٢٠٢٦",  # Arabic-Indic digits: int() would read them, the key must not
    ],
)
def test_a_key_in_no_accepted_form_is_refused_listing_the_forms(key: str) -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        CALENDAR.parse(key)
    assert raised.value.field == "period"
    message = str(raised.value)
    assert repr(key) in message
    assert all(form in message for form in ["2026", "2026-H1", "2026-Q3", "2026-07", "2026-W27"])


@pytest.mark.parametrize("key", ["1899", "3000", "0000", "1899-12", "3000-Q1", "9999-W01"])
def test_a_year_outside_1900_to_2999_is_refused_as_out_of_range(key: str) -> None:
    with pytest.raises(InvalidPeriodError, match="years run 1900 to 2999") as raised:
        CALENDAR.parse(key)
    assert raised.value.field == "period"
    assert repr(key) in str(raised.value)


@pytest.mark.parametrize(
    ("key", "last"), [("2025-W53", "W52"), ("2026-W00", "W53"), ("2026-W54", "W53"), ("2027-W99", "W52")]
)
def test_a_week_the_iso_year_does_not_have_is_refused_naming_its_last_week(key: str, last: str) -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        CALENDAR.parse(key)
    assert raised.value.field == "period"
    assert repr(key) in str(raised.value)
    assert f"W01 to {last}" in str(raised.value)


def test_only_some_years_have_an_iso_week_53() -> None:
    assert date(2026, 12, 28).isocalendar().week == 53
    assert CALENDAR.parse("2026-W53").days == 7
    assert CALENDAR.parse("2020-W53").start == date(2020, 12, 28)


# Days of a period


def test_a_period_counts_its_days_both_ends_included() -> None:
    assert CALENDAR.parse("2028-02").days == 29
    assert CALENDAR.parse("2026").days == 365
    assert APRIL.parse("2027").days == 366  # takes in 29 February 2028
    assert CALENDAR.parse("2026-W27").days == 7


def test_a_week_contains_its_monday_and_sunday_but_not_the_next_monday() -> None:
    week = CALENDAR.parse("2026-W27")
    assert week.contains(date(2026, 6, 29)) and week.contains(date(2026, 7, 5))
    assert not week.contains(date(2026, 6, 28)) and not week.contains(date(2026, 7, 6))


def test_a_week_straddling_a_month_end_overlaps_each_month_by_its_own_days() -> None:
    # 1 July 2026 is a Wednesday: W27 runs Mon 29 June to Sun 5 July.
    assert date(2026, 7, 1).strftime("%A") == "Wednesday"
    week = CALENDAR.parse("2026-W27")
    assert week.overlap_days(CALENDAR.parse("2026-07")) == 5
    assert week.overlap_days(CALENDAR.parse("2026-06")) == 2
    assert CALENDAR.parse("2026-07").overlap_days(week) == 5


def test_periods_that_only_touch_or_lie_apart_overlap_by_no_days() -> None:
    assert CALENDAR.parse("2026-06").overlap_days(CALENDAR.parse("2026-07")) == 0
    assert CALENDAR.parse("2026-01").overlap_days(CALENDAR.parse("2026-12")) == 0


def test_a_period_overlaps_a_period_it_contains_by_all_of_its_days() -> None:
    assert CALENDAR.parse("2026").overlap_days(CALENDAR.parse("2026-Q3")) == 92


# Parts of a period


def test_a_year_splits_into_its_fiscal_quarters_by_default() -> None:
    parts = APRIL.children(APRIL.parse("2026"))
    assert keys(parts) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert parts[-1].end == date(2027, 3, 31)


def test_a_year_splits_into_its_two_halves() -> None:
    assert keys(APRIL.children(APRIL.parse("2026"), "half")) == ["2026-H1", "2026-H2"]


def test_an_april_fiscal_year_splits_into_calendar_months_from_april_to_march() -> None:
    parts = APRIL.children(APRIL.parse("2026"), "month")
    assert keys(parts) == months((2026, 4, 12), (2027, 1, 3))


def test_a_calendar_year_splits_into_all_53_iso_weeks_of_2026() -> None:
    parts = CALENDAR.children(CALENDAR.parse("2026"), "week")
    assert keys(parts) == weeks(2026, 1, 53)
    assert parts[0].start == date(2025, 12, 29)  # W01 begins in the year before


def test_a_year_ending_midweek_takes_in_the_next_years_first_week() -> None:
    # 31 December 2025 is a Wednesday of 2026-W01.
    assert keys(CALENDAR.children(CALENDAR.parse("2025"), "week")) == [*weeks(2025, 1, 52), "2026-W01"]


def test_an_april_fiscal_year_splits_into_weeks_across_two_iso_years() -> None:
    parts = APRIL.children(APRIL.parse("2026"), "week")
    assert keys(parts) == weeks(2026, 14, 53) + weeks(2027, 1, 13)


def test_a_half_splits_into_its_two_quarters_by_default() -> None:
    assert keys(APRIL.children(APRIL.parse("2026-H2"))) == ["2026-Q3", "2026-Q4"]
    assert keys(APRIL.children(APRIL.parse("2026-H1"), "quarter")) == ["2026-Q1", "2026-Q2"]


def test_an_april_fiscal_second_half_splits_into_october_to_march() -> None:
    parts = APRIL.children(APRIL.parse("2026-H2"), "month")
    assert keys(parts) == months((2026, 10, 12), (2027, 1, 3))


def test_a_half_splits_into_the_weeks_that_touch_it() -> None:
    # 30 June 2026, a Tuesday, falls in W27.
    assert keys(CALENDAR.children(CALENDAR.parse("2026-H1"), "week")) == weeks(2026, 1, 27)


def test_a_quarter_splits_into_its_months_by_default() -> None:
    assert keys(APRIL.children(APRIL.parse("2026-Q4"))) == ["2027-01", "2027-02", "2027-03"]
    assert keys(OCTOBER.children(OCTOBER.parse("2026-Q1"), "month")) == ["2026-10", "2026-11", "2026-12"]


def test_a_quarter_splits_into_the_weeks_that_touch_it() -> None:
    # Q3 2026 runs Wed 1 July (W27) to Wed 30 September (W40).
    assert keys(CALENDAR.children(CALENDAR.parse("2026-Q3"), "week")) == weeks(2026, 27, 40)


def test_july_2026_splits_into_weeks_27_to_31_straddling_both_ends() -> None:
    month = CALENDAR.parse("2026-07")
    parts = CALENDAR.children(month)
    assert parts == CALENDAR.children(month, "week")
    assert keys(parts) == weeks(2026, 27, 31)
    assert parts[0].start == date(2026, 6, 29) and parts[-1].end == date(2026, 8, 2)
    assert [month.overlap_days(part) for part in parts] == [5, 7, 7, 7, 5]


def test_february_2026_starting_on_a_sunday_gives_its_first_week_one_day() -> None:
    month = CALENDAR.parse("2026-02")
    parts = CALENDAR.children(month)
    assert keys(parts) == weeks(2026, 5, 9)
    assert [month.overlap_days(part) for part in parts] == [1, 7, 7, 7, 6]


@pytest.mark.parametrize("key", months((2024, 1, 12), (2026, 1, 12), (2027, 1, 12)))
def test_a_months_weeks_pro_rated_by_days_add_up_to_the_month(key: str) -> None:
    month = CALENDAR.parse(key)
    assert sum(month.overlap_days(week) for week in CALENDAR.children(month)) == month.days


@pytest.mark.parametrize("start_month", range(1, 13))
@pytest.mark.parametrize("into", ["half", "quarter", "month"])
def test_for_any_fiscal_start_a_years_parts_tile_it_without_gap_or_overlap(start_month: int, into: PeriodKind) -> None:
    calendar = Calendar(start_month)
    year = calendar.parse("2026")
    parts = calendar.children(year, into)
    assert parts[0].start == year.start and parts[-1].end == year.end
    assert all((later.start - earlier.end).days == 1 for earlier, later in pairwise(parts))
    assert sum(part.days for part in parts) == year.days


@pytest.mark.parametrize("into", [None, "week", "month"])
def test_a_week_is_the_finest_period_and_has_no_parts(into: PeriodKind | None) -> None:
    with pytest.raises(InvalidPeriodError, match="finest") as raised:
        CALENDAR.children(CALENDAR.parse("2026-W27"), into)
    assert raised.value.field == "into"


@pytest.mark.parametrize(
    ("key", "into", "allowed"),
    [
        ("2026-07", "quarter", "week"),
        ("2026-07", "month", "week"),
        ("2026-Q3", "half", "month, week"),
        ("2026-Q3", "year", "month, week"),
        ("2026-H1", "half", "quarter, month, week"),
        ("2026", "year", "half, quarter, month, week"),
        ("2026", "day", "half, quarter, month, week"),
    ],
)
def test_splitting_into_a_kind_that_is_not_finer_is_refused_naming_what_is_allowed(
    key: str, into: PeriodKind, allowed: str
) -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        CALENDAR.children(CALENDAR.parse(key), into)
    assert raised.value.field == "into"
    assert repr(key) in str(raised.value) and allowed in str(raised.value)


def test_a_quarter_from_a_calendar_with_another_fiscal_start_is_refused() -> None:
    with pytest.raises(InvalidPeriodError, match="another calendar") as raised:
        APRIL.children(CALENDAR.parse("2026-Q1"))
    assert raised.value.field == "period"


def test_splitting_past_year_2999_is_refused_rather_than_making_an_unreadable_key() -> None:
    # 31 December 2999 falls in ISO week 3000-W01.
    with pytest.raises(InvalidPeriodError, match="3000-W01"):
        CALENDAR.children(CALENDAR.parse("2999-12"))


# Looking back


@pytest.mark.parametrize(
    ("calendar", "key", "before"),
    [
        (CALENDAR, "2026", "2025"),
        (CALENDAR, "2026-H1", "2025-H2"),
        (CALENDAR, "2026-H2", "2026-H1"),
        (CALENDAR, "2026-Q1", "2025-Q4"),
        (CALENDAR, "2026-Q3", "2026-Q2"),
        (CALENDAR, "2026-01", "2025-12"),
        (CALENDAR, "2026-07", "2026-06"),
        (CALENDAR, "2026-W27", "2026-W26"),
        (CALENDAR, "2026-W01", "2025-W52"),
        (CALENDAR, "2027-W01", "2026-W53"),
        (APRIL, "2026-Q1", "2025-Q4"),
        (APRIL, "2026-H1", "2025-H2"),
    ],
)
def test_the_previous_period_is_the_one_of_the_same_kind_just_before(calendar: Calendar, key: str, before: str) -> None:
    period = calendar.parse(key)
    previous = calendar.previous(period)
    assert previous == calendar.parse(before)
    assert (period.start - previous.end).days == 1


def test_the_quarter_before_an_april_fiscal_first_quarter_is_january_to_march() -> None:
    previous = APRIL.previous(APRIL.parse("2026-Q1"))
    assert (previous.key, previous.start, previous.end) == ("2025-Q4", date(2026, 1, 1), date(2026, 3, 31))


def test_there_is_no_period_before_1900() -> None:
    with pytest.raises(InvalidPeriodError, match="1899"):
        CALENDAR.previous(CALENDAR.parse("1900-W01"))


@pytest.mark.parametrize(
    ("calendar", "key", "year_before"),
    [
        (CALENDAR, "2026", "2025"),
        (CALENDAR, "2026-H2", "2025-H2"),
        (CALENDAR, "2026-Q3", "2025-Q3"),
        (CALENDAR, "2026-07", "2025-07"),
        (CALENDAR, "2028-02", "2027-02"),
        (CALENDAR, "2026-W27", "2025-W27"),
        (CALENDAR, "2026-W53", "2025-W52"),
        (CALENDAR, "2021-W52", "2020-W52"),
        (APRIL, "2026-Q4", "2025-Q4"),
        (OCTOBER, "2026-H1", "2025-H1"),
    ],
)
def test_the_same_period_last_year_keeps_its_place_in_the_year(calendar: Calendar, key: str, year_before: str) -> None:
    assert calendar.same_period_last_year(calendar.parse(key)) == calendar.parse(year_before)


def test_week_53_a_year_on_falls_back_to_week_52_when_last_year_had_none() -> None:
    assert date(2025, 12, 28).isocalendar().week == 52
    assert CALENDAR.same_period_last_year(CALENDAR.parse("2026-W53")).key == "2025-W52"


# For existing callers


@pytest.mark.parametrize(
    ("key", "first", "last"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
    ],
)
def test_the_default_calendar_reads_keys_on_the_calendar_year(key: str, first: date, last: date) -> None:
    period = CALENDAR.parse(key)
    assert (period.start, period.end) == (first, last)


@pytest.mark.parametrize("key", ["2026-Q0", "2026-13", "2025-W53", "26", "2026-W7", "2026-q3", ""])
def test_the_default_calendar_refuses_bad_keys_naming_the_period_field(key: str) -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        CALENDAR.parse(key)
    assert raised.value.field == "period"
