"""Fiscal calendars: period keys (2026, 2026-H1, 2026-Q3, 2026-07 or 2026-P07, 2026-W27) and their days."""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from target_ledger.domain.errors import InvalidPeriodError
from target_ledger.domain.retail_calendar import RetailYears
from target_ledger.domain.values import FIRST_YEAR, LAST_YEAR

# "period": a retail calendar's 4- or 5-week period (2026-P01), where a gregorian one has months.
# "day": read only (attainment of 2026-06-16 against its planned share); never a target's period.
PeriodKind = Literal["year", "half", "quarter", "month", "period", "week", "day"]

_FIRST_YEAR, _LAST_YEAR = FIRST_YEAR, LAST_YEAR
# [0-9], not \d: \d also matches non-ASCII digits, which int() would quietly accept.
_KEY = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:-(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])|P(?P<period>0[1-9]|1[0-2])|W(?P<week>[0-9]{2})))?"
)
_DAY_KEY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FORMS = "2026 (fiscal year), 2026-H1 (fiscal half), 2026-Q3 (fiscal quarter), 2026-07 (month) or 2026-W27 (ISO week)"
_RETAIL_FORMS = "2026 (fiscal year), 2026-H1, 2026-Q3, 2026-P07 (4- or 5-week period) or 2026-W27 (fiscal week)"
_FISCAL_MONTHS = {"year": 12, "half": 6, "quarter": 3}


def _nesting(*kinds: PeriodKind) -> dict[PeriodKind, tuple[PeriodKind, ...]]:
    """Each kind splits into every finer one of the list."""
    return {kind: kinds[n + 1 :] for n, kind in enumerate(kinds)}


_ALLOWED_INTO = _nesting("year", "half", "quarter", "month", "week") | {"day": ()}
# A retail year nests exactly: year, halves of 6 periods, quarters of 3, periods of 4 or 5 weeks.
_RETAIL_ALLOWED_INTO = _nesting("year", "half", "quarter", "period", "week") | {"day": ()}
_Parts = dict[PeriodKind, PeriodKind]  # the part a split into time takes when it names none
_DEFAULT_INTO: _Parts = {"year": "quarter", "half": "quarter", "quarter": "month", "month": "week"}
_RETAIL_DEFAULT_INTO: _Parts = {"year": "quarter", "half": "quarter", "quarter": "period", "period": "week"}
_RETAIL_PERIODS = {"year": 12, "half": 6, "quarter": 3, "period": 1}
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """A span of whole days named by its key; start and end are both inclusive."""

    key: str
    kind: PeriodKind
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def overlap_days(self, other: "Period") -> int:
        common = (min(self.end, other.end) - max(self.start, other.start)).days + 1
        return max(common, 0)


@dataclass(frozen=True, slots=True)
class Calendar:
    """Gregorian (the default): years, halves and quarters follow the fiscal year; months and ISO
    weeks never move. Retail (`retail` set): the year, its halves, quarters, periods and weeks are
    all whole fiscal weeks (retail_calendar.py); calendar months and ISO weeks are not its keys."""

    fiscal_start_month: int = 1
    retail: RetailYears | None = None

    def __post_init__(self) -> None:
        # type() rather than isinstance(): True is an int, but not a month.
        if type(self.fiscal_start_month) is not int or not 1 <= self.fiscal_start_month <= 12:
            raise ValueError(f"fiscal_start_month must be 1..12, not {self.fiscal_start_month!r}")
        if self.retail is not None and self.fiscal_start_month != 1:
            raise ValueError("a retail calendar's year starts where the last one ended, not in a fiscal start month")

    def describe(self) -> str:
        """What the ledger plans on, in words: recorded once, compared at every start."""
        if self.retail is not None:
            return f"retail {self.retail.describe()}"
        return f"gregorian, fiscal years starting in month {self.fiscal_start_month:02d}"

    def parse(self, key: str) -> Period:
        # fullmatch: with match() and $, "2026\n" would pass.
        match = _KEY.fullmatch(key)
        if match is None:
            forms = _FORMS if self.retail is None else _RETAIL_FORMS
            raise InvalidPeriodError(f"{key!r} is not a period key: use {forms}", field="period")
        year = int(match["year"])
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            raise InvalidPeriodError(
                f"{key!r} is out of range: years run {_FIRST_YEAR} to {_LAST_YEAR}", field="period"
            )
        if self.retail is not None:
            return self._retail(key, year, match, self.retail)
        if match["period"]:
            raise InvalidPeriodError(
                f"{key!r} is a retail calendar's period: this ledger plans on calendar months; "
                f"use {self._fiscal_month(year, int(match['period']))}",
                field="period",
            )
        if match["week"]:
            return _iso_week(key, year, int(match["week"]))
        if match["month"]:
            start = date(year, int(match["month"]), 1)
            return Period(key, "month", start, _months_later(start, 1) - _DAY)
        kind: PeriodKind = "half" if match["half"] else "quarter" if match["quarter"] else "year"
        number = int(match["half"] or match["quarter"] or 1)
        length = _FISCAL_MONTHS[kind]
        start = _months_later(date(year, self.fiscal_start_month, 1), (number - 1) * length)
        return Period(key, kind, start, _months_later(start, length) - _DAY)

    def parse_reading(self, key: str) -> Period:
        """A period to read attainment over: any period key, or a single day (2026-06-16, in either
        calendar), which reads its planned share of the targets holding it but is never a target's period."""
        if _DAY_KEY.fullmatch(key) is None:
            return self.parse(key)
        try:
            day = date.fromisoformat(key)
        except ValueError:
            raise InvalidPeriodError(f"{key!r} is not a day: use YYYY-MM-DD, e.g. 2026-06-16", field="period") from None
        if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            raise InvalidPeriodError(
                f"{key!r} is out of range: years run {_FIRST_YEAR} to {_LAST_YEAR}", field="period"
            )
        return Period(key, "day", day, day)

    def children(self, period: Period, into: PeriodKind | None = None, field: str = "into") -> list[Period]:
        """The period's parts of kind `into` (its default part without); `field` is the input a week's
        refusal names: `into`, or `breakdown` for a breakdown by time, where no `into` was asked for."""
        period = self._own(period)
        retail = self.retail is not None
        allowed = (_RETAIL_ALLOWED_INTO if retail else _ALLOWED_INTO)[period.kind]
        if not allowed:
            raise InvalidPeriodError(
                f"{period.key!r} is a {period.kind}, the finest period: it has no parts", field=field
            )
        into = into or (_RETAIL_DEFAULT_INTO if retail else _DEFAULT_INTO)[period.kind]
        if into not in allowed:
            raise InvalidPeriodError(
                f"{period.key!r} is a {period.kind}: it splits into {', '.join(allowed)}, not {into!r}",
                field="into",
            )
        # Walk part by part from the first day; a week may start before it or end after the last.
        parts = [self._containing(period.start, into)]
        while parts[-1].end < period.end:
            parts.append(self._containing(parts[-1].end + _DAY, into))
        return parts

    def previous(self, period: Period) -> Period:
        period = self._own(period)
        return self._containing(period.start - _DAY, period.kind)

    def same_period_last_year(self, period: Period) -> Period:
        """The same key a year before. Week 53 comes only in some years (ISO or fiscal): where the
        year before has none, it is compared with that year's week 52. A retail year's P12, Q4, H2
        and the year itself keep their key though a 53-week year's are a week longer (no restating)."""
        period = self._own(period)
        year = int(period.key[:4]) - 1
        if period.kind == "day":  # 29 February is compared with the 28th
            return self.parse_reading(_a_year_before(period.start).isoformat())
        if period.kind == "week":
            week = min(int(period.key[-2:]), self._weeks_in(year))
            return self.parse(f"{year}-W{week:02d}")
        return self.parse(f"{year}{period.key[4:]}")

    def week_of(self, day: date) -> Period:
        """The week holding the day: its ISO week, or in a retail calendar its fiscal week."""
        return self._containing(day, "week")

    def containing(self, day: date, kind: PeriodKind) -> Period:
        """The year, half, quarter, month (gregorian) or period (retail), or week holding the day."""
        if kind not in (_RETAIL_ALLOWED_INTO if self.retail is not None else _ALLOWED_INTO):
            raise InvalidPeriodError(f"this ledger's calendar has no {kind!r} periods", field="period")
        return self._containing(day, kind)

    def _fiscal_month(self, year: int, number: int) -> str:
        """The calendar month that is month `number` of fiscal year `year` (2026-07 for P01 from July)."""
        first = _months_later(date(year, self.fiscal_start_month, 1), number - 1)
        key = f"{first.year}-{first.month:02d}"
        if self.fiscal_start_month == 1:
            return key
        return f"{key}, fiscal month {number:02d} of {year}: fiscal years start in month {self.fiscal_start_month:02d}"

    def _weeks_in(self, year: int) -> int:
        return self.retail.weeks(year) if self.retail is not None else _weeks_in(year)

    def _retail(self, key: str, year: int, match: re.Match[str], retail: RetailYears) -> Period:
        if match["month"]:
            raise InvalidPeriodError(
                f"{key!r} is a calendar month: this ledger plans on a {'-'.join(retail.pattern)} calendar; "
                f"{self._period_holding(date(year, int(match['month']), 15))}",
                field="period",
            )
        if match["week"]:
            week = int(match["week"])
            if not 1 <= week <= retail.weeks(year):
                raise InvalidPeriodError(
                    f"{key!r} is not a week: fiscal year {year} has weeks W01 to W{retail.weeks(year)}",
                    field="period",
                )
            return Period(key, "week", *retail.week_span(year, week))
        kind: PeriodKind = (
            "half" if match["half"] else "quarter" if match["quarter"] else "period" if match["period"] else "year"
        )
        length = _RETAIL_PERIODS[kind]
        number = int(match["half"] or match["quarter"] or match["period"] or 1)
        return Period(key, kind, *retail.span(year, (number - 1) * length + 1, length))

    def _period_holding(self, day: date) -> str:
        """Which retail period to use instead of the calendar month around `day` (its middle)."""
        try:
            period = self._containing(day, "period")
        except InvalidPeriodError:  # past the last year the ledger reads
            return "use its fiscal period (2026-P01 … P12)"
        return f"use {period.key} ({period.start}..{period.end}), the period holding most of it"

    def _containing(self, day: date, kind: PeriodKind) -> Period:
        # Built as a key and parsed, so every period handed out parses back to itself.
        if kind == "day":
            return self.parse_reading(day.isoformat())
        if self.retail is not None:
            return self.parse(self.retail.key_containing(day, kind))
        if kind == "week":
            iso = day.isocalendar()
            return self.parse(f"{iso.year}-W{iso.week:02d}")
        if kind == "month":
            return self.parse(f"{day.year}-{day.month:02d}")
        months_in = (day.month - self.fiscal_start_month) % 12
        fiscal_year = day.year if day.month >= self.fiscal_start_month else day.year - 1
        suffix = {"year": "", "half": f"-H{months_in // 6 + 1}", "quarter": f"-Q{months_in // 3 + 1}"}[kind]
        return self.parse(f"{fiscal_year}{suffix}")

    def _own(self, period: Period) -> Period:
        # A quarter made by a calendar with another fiscal start has the same key but other days.
        own = self.parse_reading(period.key)
        if own != period:
            raise InvalidPeriodError(
                f"{period.key!r} runs {own.start}..{own.end} in this calendar, "
                f"not {period.start}..{period.end}: it comes from another calendar",
                field="period",
            )
        return own


def _a_year_before(day: date) -> date:
    return date(day.year - 1, day.month, min(day.day, 28 if day.month == 2 else 31))


def _months_later(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _weeks_in(year: int) -> int:
    # 28 December always falls in the last ISO week of its year.
    return date(year, 12, 28).isocalendar().week


def _iso_week(key: str, year: int, week: int) -> Period:
    if not 1 <= week <= _weeks_in(year):
        raise InvalidPeriodError(
            f"{key!r} is not a week: ISO year {year} has weeks W01 to W{_weeks_in(year)}", field="period"
        )
    monday = date.fromisocalendar(year, week, 1)
    return Period(key, "week", monday, monday + timedelta(days=6))
