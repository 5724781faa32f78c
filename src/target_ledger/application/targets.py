"""Setting and reading targets."""

import uuid
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.domain.access import check_can_set_targets
from target_ledger.domain.errors import AlreadyExistsError, NotFoundError
from target_ledger.domain.target import Target
from target_ledger.eventstore import EventStore, StreamConflictError


async def set_target(
    cmd: Command, *, node: str, metric: str, period: str, value: Decimal, rationale: str
) -> tuple[Target, int]:
    check_can_set_targets(cmd.actor, node)
    target = Target.set(
        node=node, metric=metric, period=period, value=value, rationale=rationale, at=cmd.clock()
    )
    events = target.collect_events()
    try:
        appended = await cmd.store.append(events, cmd.metadata, event_ids=cmd.event_ids(1))
    except StreamConflictError:
        raise AlreadyExistsError(
            f"a target for {node}/{metric}/{period} already exists: {target.id}", field="period"
        ) from None
    return target, appended.last


async def get_target(store: EventStore, target_id: uuid.UUID) -> Target:
    target = await store.get(target_id)
    if not isinstance(target, Target):
        raise NotFoundError(f"no target {target_id}")
    return target
