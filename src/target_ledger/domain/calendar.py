"""Period keys (2026, 2026-H1, 2026-Q3, 2026-07, 2026-W27) and the days they span."""

import re
from datetime import date, timedelta

from target_ledger.domain.errors import InvalidPeriodError

_PATTERNS = [
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-H([12])$"), "half"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "month"),
    (re.compile(r"^(\d{4})-W(\d{2})$"), "week"),
]


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def period_bounds(key: str) -> tuple[date, date]:
    """First and last day (inclusive) of a period key, calendar fiscal year."""
    for pattern, kind in _PATTERNS:
        match = pattern.match(key)
        if not match:
            continue
        year, n = int(match.group(1)), int(match.group(2)) if kind != "year" else 0
        if kind == "year":
            return date(year, 1, 1), date(year, 12, 31)
        if kind == "week":
            try:
                monday = date.fromisocalendar(year, n, 1)
            except ValueError:
                raise InvalidPeriodError(f"{key!r}: {year} has no ISO week {n}", field="period") from None
            return monday, monday + timedelta(days=6)
        months = {"half": 6, "quarter": 3, "month": 1}[kind]
        first = (n - 1) * months + 1
        return date(year, first, 1), _month_end(year, first + months - 1)
    raise InvalidPeriodError(
        f"{key!r} is not a period key: use 2026, 2026-H1, 2026-Q3, 2026-07 or 2026-W27",
        field="period",
    )
