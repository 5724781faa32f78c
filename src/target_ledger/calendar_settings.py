"""The ledger's calendar from its settings (TL_CALENDAR...), and the one recorded in its database."""

from typing import TYPE_CHECKING

import asyncpg

from target_ledger.domain.calendar import Calendar
from target_ledger.domain.retail_calendar import PATTERNS, WEEKDAYS, RetailYears

if TYPE_CHECKING:
    from target_ledger.config import Settings

# The NRF's 4-5-4 calendar: years end on the Saturday nearest 31 January.
DEFAULT_END_WEEKDAY, DEFAULT_END_NEAR = "saturday", "01-31"


class CalendarSettingError(ValueError):
    """TL_CALENDAR and its companions describe no calendar: the message names the variable."""


class CalendarChangedError(RuntimeError):
    """The configured calendar is not the one the ledger's periods were recorded in."""


def fiscal_calendar(settings: "Settings") -> Calendar:
    """A CalendarSettingError naming the variable when TL_CALENDAR and its companions do not describe a calendar."""
    name = settings.calendar.strip().lower().replace("-", "")
    if name == "gregorian":
        if settings.fiscal_year_end_weekday is not None or settings.fiscal_year_end_near is not None:
            raise CalendarSettingError(
                "TL_FISCAL_YEAR_END_WEEKDAY and TL_FISCAL_YEAR_END_NEAR apply to a retail calendar "
                "(TL_CALENDAR=445, 454 or 544); a gregorian ledger's year starts in TL_FISCAL_YEAR_START"
            )
        try:
            return Calendar(settings.fiscal_year_start)
        except ValueError:
            start = settings.fiscal_year_start
            raise CalendarSettingError(f"TL_FISCAL_YEAR_START is a month, 1 to 12, not {start!r}") from None
    if name not in PATTERNS:
        raise CalendarSettingError(f"TL_CALENDAR is gregorian, 445, 454 or 544, not {settings.calendar!r}")
    if settings.fiscal_year_start != 1:
        raise CalendarSettingError(
            "TL_FISCAL_YEAR_START applies to a gregorian calendar: a retail year ends on "
            "TL_FISCAL_YEAR_END_WEEKDAY nearest TL_FISCAL_YEAR_END_NEAR"
        )
    weekday = (settings.fiscal_year_end_weekday or DEFAULT_END_WEEKDAY).strip().lower()
    if weekday not in WEEKDAYS:
        raise CalendarSettingError(f"TL_FISCAL_YEAR_END_WEEKDAY is a weekday's name (saturday), not {weekday!r}")
    near = settings.fiscal_year_end_near or DEFAULT_END_NEAR
    month, _, day = near.partition("-")
    try:
        retail = RetailYears(name, WEEKDAYS.index(weekday), (int(month), int(day)))
    except ValueError:
        raise CalendarSettingError(
            f"TL_FISCAL_YEAR_END_NEAR is a month and day, MM-DD (01-31, not 02-29), not {near!r}"
        ) from None
    return Calendar(retail=retail)


async def check_recorded(conn: asyncpg.Connection, calendar: Calendar) -> None:
    """Record the calendar at the ledger's first start; refuse any later start on another one.

    Stored targets and closes name their periods by key (2026-Q1): under another calendar the
    same key would mean other days, silently."""
    await conn.execute(
        "INSERT INTO ledger_calendar (only_row, calendar) VALUES (true, $1) ON CONFLICT (only_row) DO NOTHING",
        calendar.describe(),
    )
    recorded = await conn.fetchval("SELECT calendar FROM ledger_calendar WHERE only_row")
    if recorded != calendar.describe():
        raise CalendarChangedError(
            f"this ledger's periods were recorded on the calendar {recorded!r}, and the settings "
            f"(TL_CALENDAR, TL_FISCAL_YEAR_START, TL_FISCAL_YEAR_END_WEEKDAY, TL_FISCAL_YEAR_END_NEAR) "
            f"now describe {calendar.describe()!r}: set them back; a ledger's calendar cannot change"
        )
