"""A ledger whose targets were set before migration 0030 recorded its calendar: the first start after takes
the configured calendar only if it reads every stored period key as the days stored with it."""

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from target_ledger.app import create_app
from target_ledger.calendar_settings import CalendarChangedError
from tests.api.support import build_east


async def _ledger_from_before_0030(settings, auth, db_url, period: str = "2026-Q1") -> None:
    """A gregorian ledger (fiscal years from January) with east-1's target for the period, then
    its recorded calendar deleted, as a ledger set up before migration 0030 has none."""
    async with AsyncTestClient(create_app(settings)) as client:
        await build_east(client, auth)
        body = {"node": "east-1", "metric": "revenue", "period": period, "value": "1200000"}
        r = await client.post("/v1/targets", json=body, headers=auth("east-boss"))
        assert r.status_code == 201, r.text
    conn = await asyncpg.connect(db_url)  # the owner's login: the service role may not delete
    try:
        await conn.execute("DELETE FROM ledger_calendar")
    finally:
        await conn.close()


async def _start_refused(settings) -> pytest.ExceptionInfo:
    with pytest.raises(ExceptionGroup) as refused:  # litestar's lifespan task group wraps it
        async with AsyncTestClient(create_app(settings)):
            pass
    return refused


async def _recorded(db_url) -> str | None:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchval("SELECT calendar FROM ledger_calendar")
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        (
            {"calendar": "445"},
            "2026-Q1 is stored as 2026-01-01..2026-03-31, TL_CALENDAR=445 with TL_FISCAL_YEAR_END_WEEKDAY="
            "saturday and TL_FISCAL_YEAR_END_NEAR=01-31 reads it as 2026-02-01..2026-05-02",
        ),
        (
            {"fiscal_year_start": 7},
            "2026-Q1 is stored as 2026-01-01..2026-03-31, TL_CALENDAR=gregorian with TL_FISCAL_YEAR_START=7 "
            "reads it as 2026-07-01..2026-09-30",
        ),
    ],
)
async def test_a_ledger_from_before_0030_refuses_a_calendar_that_reads_its_stored_keys_as_other_days(
    settings, auth, db_url, changed, said
) -> None:
    await _ledger_from_before_0030(settings, auth, db_url)
    refused = await _start_refused(msgspec.structs.replace(settings, **changed))
    assert refused.group_contains(CalendarChangedError, match=said, depth=1), refused.value.exceptions
    assert await _recorded(db_url) is None  # the wrong calendar was not recorded
    # Started on the calendar its targets were set on, it records that one and serves.
    async with AsyncTestClient(create_app(settings)) as again:
        assert (await again.get("/health/live")).status_code == 200
    assert await _recorded(db_url) == "gregorian, fiscal years starting in month 01"


async def test_a_ledger_from_before_0030_refuses_a_calendar_without_its_stored_keys(settings, auth, db_url) -> None:
    # A calendar month (2026-03) is no key of a 4-4-5 ledger: the start says why, in the parser's words.
    await _ledger_from_before_0030(settings, auth, db_url, period="2026-03")
    refused = await _start_refused(msgspec.structs.replace(settings, calendar="445"))
    said = r"2026-03 is stored as 2026-03-01..2026-03-31, TL_CALENDAR=445 .* does not read it \('2026-03' is a calendar"
    assert refused.group_contains(CalendarChangedError, match=said, depth=1), refused.value.exceptions
