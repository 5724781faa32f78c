"""Retail fiscal years (4-4-5, 4-5-4, 5-4-4): 52 or 53 whole weeks ending on a weekday near a date."""

from dataclasses import dataclass
from datetime import date, timedelta

PATTERNS = {"445": (4, 4, 5), "454": (4, 5, 4), "544": (5, 4, 4)}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK = timedelta(days=7)
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RetailYears:
    """Where each fiscal year of a retail calendar starts and ends, and how its weeks group.

    Fiscal year N ends on `end_weekday` nearest to `end_near` (month, day) of year N + 1, or of
    year N when `end_near` is 31 December: it is named, like a year of TL_FISCAL_YEAR_START,
    for the calendar year its nominal first day (the day after `end_near`) falls in. The NRF's
    calendar is (454, Saturday, 31 January): FY2023 ran 29 January 2023 to 3 February 2024.
    The 53rd week of a long year goes to the last period, P12 (the NRF's rule)."""

    pattern: str
    end_weekday: int  # Monday 0 .. Sunday 6, as date.weekday()
    end_near: tuple[int, int]

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"a retail calendar's pattern is one of {', '.join(PATTERNS)}, not {self.pattern!r}")
        if type(self.end_weekday) is not int or not 0 <= self.end_weekday <= 6:
            raise ValueError(f"the year's last weekday is 0 (Monday) to 6 (Sunday), not {self.end_weekday!r}")
        month, day = self.end_near
        try:
            date(2001, month, day)  # 2001 has no 29 February: a year cannot end near a day that comes every 4 years
        except (TypeError, ValueError):
            raise ValueError(f"the date the year ends near is a month and day (MM-DD), not {self.end_near!r}") from None

    def last_day(self, year: int) -> date:
        month, day = self.end_near
        near = date(year if (month, day) == (12, 31) else year + 1, month, day)
        # The weekday nearest: at most 3 days either side.
        return near + timedelta(days=(self.end_weekday - near.weekday() + 3) % 7 - 3)

    def first_day(self, year: int) -> date:
        return self.last_day(year - 1) + _DAY

    def weeks(self, year: int) -> int:
        return (self.last_day(year) - self.last_day(year - 1)) // _WEEK

    def period_weeks(self, year: int) -> list[int]:
        """Weeks in each of P01..P12; a 53-week year's extra week is P12's."""
        counts = list(PATTERNS[self.pattern]) * 4
        counts[-1] += self.weeks(year) - 52
        return counts

    def year_of(self, day: date) -> int:
        year = day.year
        if day > self.last_day(year):
            return year + 1
        return year - 1 if day < self.first_day(year) else year

    def span(self, year: int, first_period: int, periods: int) -> tuple[date, date]:
        """The days of `periods` periods from P<first_period> (1-based), both ends inclusive."""
        counts = self.period_weeks(year)
        start = self.first_day(year) + _WEEK * sum(counts[: first_period - 1])
        end = start + _WEEK * sum(counts[first_period - 1 : first_period - 1 + periods]) - _DAY
        return start, end

    def week_span(self, year: int, week: int) -> tuple[date, date]:
        start = self.first_day(year) + _WEEK * (week - 1)
        return start, start + _WEEK - _DAY

    def key_containing(self, day: date, kind: str) -> str:
        """The key of the year, half, quarter, period or week holding the day."""
        year = self.year_of(day)
        week = (day - self.first_day(year)) // _WEEK + 1
        if kind == "week":
            return f"{year}-W{week:02d}"
        period, weeks_before = 1, 0
        for count in self.period_weeks(year):
            if week <= weeks_before + count:
                break
            period, weeks_before = period + 1, weeks_before + count
        suffix = {
            "year": "",
            "half": f"-H{(period - 1) // 6 + 1}",
            "quarter": f"-Q{(period - 1) // 3 + 1}",
            "period": f"-P{period:02d}",
        }[kind]
        return f"{year}{suffix}"

    def describe(self) -> str:
        month, day = self.end_near
        digits = self.pattern
        return f"{'-'.join(digits)}, years ending on the {WEEKDAYS[self.end_weekday]} nearest {month:02d}-{day:02d}"
