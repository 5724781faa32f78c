"""Recording actual results."""

import uuid
from datetime import date
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.domain.access import check_can_record_actual
from target_ledger.domain.actual import Actual
from target_ledger.domain.errors import DomainError


async def record_actual(
    cmd: Command,
    *,
    person: str,
    metric: str,
    occurred_on: date,
    value: Decimal,
    source: str,
    external_ref: str | None,
    scope: dict[str, str] | None = None,
) -> tuple[uuid.UUID, int, bool]:
    """Record one actual; return its id, position, and whether it was a duplicate."""
    check_can_record_actual(cmd.actor, person)
    catalog = await cmd.catalog()
    if not catalog.metric(metric).additive:
        raise DomainError(f"{metric} is computed from its parts: record those instead", field="metric")
    catalog.check_scope(scope or {})
    actual = Actual.record(
        person=person,
        metric=metric,
        occurred_on=occurred_on,
        value=value,
        source=source,
        external_ref=external_ref,
        scope=scope,
        at=cmd.clock(),
    )
    # The event id follows the actual's id, so a re-send is the same event.
    event_ids = [uuid.uuid5(actual.id, "recorded")] if external_ref else cmd.event_ids(1)
    appended = await cmd.store.append(actual.collect_events(), cmd.metadata, event_ids=event_ids)
    return actual.id, appended.last, appended.stored == 0
