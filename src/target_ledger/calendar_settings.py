"""The ledger's calendar from its settings (TL_CALENDAR...), and the one recorded in its database."""

from datetime import date
from typing import TYPE_CHECKING

import asyncpg

from target_ledger.domain.calendar import Calendar
from target_ledger.domain.errors import InvalidPeriodError
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
    same key would mean other days, silently. A ledger from before migration 0030 has targets but
    no calendar recorded: it takes the configured one only if that reads every stored key as the
    days stored with it."""
    recorded = await conn.fetchval("SELECT calendar FROM ledger_calendar WHERE only_row")
    if recorded is None:
        await _reads_stored_periods(conn, calendar)
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


# Each period key with the days it was stored with, once: a set, however many targets name it.
_STORED_PERIODS = """
SELECT DISTINCT payload->>'period', payload->>'starts_on', payload->>'ends_on'
  FROM events WHERE type = 'TargetSet' ORDER BY 2, 1, 3"""


async def _reads_stored_periods(conn: asyncpg.Connection, calendar: Calendar) -> None:
    """A CalendarChangedError naming the variables and the first stored key the calendar reads as other days."""
    for key, starts_on, ends_on in await conn.fetch(_STORED_PERIODS):
        stored = (date.fromisoformat(starts_on), date.fromisoformat(ends_on))
        try:
            period = calendar.parse(key)
        except InvalidPeriodError as e:
            read = f"does not read it ({e})"
        else:
            if (period.start, period.end) == stored:
                continue
            read = f"reads it as {period.start}..{period.end}"
        raise CalendarChangedError(
            "this ledger's targets were set before it recorded its calendar (migration 0030), and the "
            f"settings read them as other days: {key} is stored as {starts_on}..{ends_on}, {_as_settings(calendar)} "
            f"{read}. Set the calendar the targets were set on; a ledger's calendar cannot change"
        )


def _as_settings(calendar: Calendar) -> str:
    """The settings that make the calendar, as an operator writes them."""
    retail = calendar.retail
    if retail is None:
        return f"TL_CALENDAR=gregorian with TL_FISCAL_YEAR_START={calendar.fiscal_start_month}"
    month, day = retail.end_near
    return (
        f"TL_CALENDAR={retail.pattern} with TL_FISCAL_YEAR_END_WEEKDAY={WEEKDAYS[retail.end_weekday]} "
        f"and TL_FISCAL_YEAR_END_NEAR={month:02d}-{day:02d}"
    )
