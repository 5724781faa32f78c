"""Recording actual results."""

import uuid
from datetime import date
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.domain.access import check_can_record_actual
from target_ledger.domain.actual import Actual


async def record_actual(
    cmd: Command,
    *,
    person: str,
    metric: str,
    occurred_on: date,
    value: Decimal,
    source: str,
    external_ref: str | None,
) -> tuple[uuid.UUID, int, bool]:
    """Record one actual; return its id, position, and whether it was a duplicate."""
    check_can_record_actual(cmd.actor, person)
    actual = Actual.record(
        person=person,
        metric=metric,
        occurred_on=occurred_on,
        value=value,
        source=source,
        external_ref=external_ref,
        at=cmd.clock(),
    )
    # The event id follows the actual's id, so a re-send is the same event.
    event_ids = [uuid.uuid5(actual.id, "recorded")] if external_ref else cmd.event_ids(1)
    appended = await cmd.store.append(actual.collect_events(), cmd.metadata, event_ids=event_ids)
    return actual.id, appended.last, appended.stored == 0
