"""A close that commits between a writer's check and its append: the write fails, never lands."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from target_ledger.application import Command, org, periods
from target_ledger.application.actuals import ActualInput, append_actuals, check_actuals
from target_ledger.domain.access import Principal
from target_ledger.domain.errors import ConflictError

ADMIN = Principal("root", "admin")


def _command(store, request: str) -> Command:
    return Command(store=store, clock=lambda: datetime(2026, 8, 3, 12, tzinfo=UTC), actor=ADMIN, request_id=request)


async def test_an_actual_checked_before_a_close_and_appended_after_it_is_refused(store, pool) -> None:
    setup = _command(store, "setup")
    await org.create_unit(setup, node="acme", kind="company", name="Acme")
    await org.add_person(setup, person="rep1", name="Rep", unit="acme", effective=date(2026, 1, 1))
    # A writer decides on a July actual while July is still open...
    writer = _command(store, "writer")
    item = ActualInput(person="rep1", metric="revenue", occurred_on=date(2026, 7, 14), value=Decimal(10))
    decided = check_actuals(writer, await writer.catalog(), await writer.org(), await writer.periods(), [item])
    # ...July closes and commits before the writer appends...
    await periods.close(_command(store, "closer"), "2026-07", "acme")
    # ...so the append fails, and nothing of it is stored.
    with pytest.raises(ConflictError, match="closed or reopened"):
        await append_actuals(writer, decided)
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'ActualRecorded'") == 0
    # Decided again, the same actual meets the close itself.
    again = _command(store, "again")
    with pytest.raises(ConflictError, match="2026-07 is closed"):
        check_actuals(again, await again.catalog(), await again.org(), await again.periods(), [item])
    # An August actual, decided and appended after the close, lands.
    august = ActualInput(person="rep1", metric="revenue", occurred_on=date(2026, 8, 1), value=Decimal(5))
    later = _command(store, "later")
    decided = check_actuals(later, await later.catalog(), await later.org(), await later.periods(), [august])
    assert len(await append_actuals(later, decided)) == 1
