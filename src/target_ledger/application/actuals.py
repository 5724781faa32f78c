"""Recording actual results, one or a batch at a time, and reversing a wrong one."""

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.domain.access import check_can_record_actual
from target_ledger.domain.actual import Actual
from target_ledger.domain.catalog import Catalog
from target_ledger.domain.errors import DomainError, ForbiddenError, NotFoundError
from target_ledger.domain.org import Organisation
from target_ledger.domain.period import PeriodClosedError, Periods

MAX_BATCH = 10_000


@dataclass(frozen=True)
class ActualInput:
    person: str
    metric: str
    occurred_on: date
    value: Decimal
    source: str = "manual"
    external_ref: str | None = None
    scope: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str | None
    message: str


class BatchInvalidError(Exception):
    """Some items break a rule: nothing of the batch was stored."""

    def __init__(self, errors: list[ItemError]) -> None:
        super().__init__(f"{len(errors)} item(s) are invalid; nothing was stored")
        self.errors = errors


@dataclass(frozen=True)
class Outcome:
    actual_id: uuid.UUID
    position: int
    duplicate: bool


def _decide(cmd: Command, catalog: Catalog, org: Organisation, periods: Periods, item: ActualInput) -> Actual:
    check_can_record_actual(cmd.actor, org, item.person, cmd.today())
    if not org.is_person(item.person):
        raise DomainError(f"{item.person!r} is not a person of the organisation", field="person")
    chain = [item.person, *org.ancestors(item.person, item.occurred_on)]
    periods.check_open(chain, item.occurred_on, item.occurred_on, field="date")
    if not catalog.metric(item.metric).additive:
        raise DomainError(f"{item.metric} is computed from its parts: record those instead", field="metric")
    catalog.check_scope(item.scope)
    return Actual.record(
        person=item.person,
        metric=item.metric,
        occurred_on=item.occurred_on,
        value=item.value,
        source=item.source,
        external_ref=item.external_ref,
        scope=item.scope,
        at=cmd.clock(),
    )


def check_actuals(
    cmd: Command,
    catalog: Catalog,
    org: Organisation,
    periods: Periods,
    items: list[ActualInput],
    *,
    indexes: list[int] | None = None,
    errors: list[ItemError] | None = None,
    reject_closed: bool = False,
) -> list[Actual]:
    """Decide every item; raise BatchInvalidError listing each bad one by index and field,
    together with `errors` found before (items that could not even be decoded). An item in a
    closed period is a 409 for the whole request, unless `reject_closed` lists it as bad."""
    actuals, errors = [], list(errors or [])
    for position, item in enumerate(items):
        index = indexes[position] if indexes else position
        try:
            actuals.append(_decide(cmd, catalog, org, periods, item))
        except ForbiddenError:
            raise  # a 403 for the whole request, not one bad item among others
        except PeriodClosedError as e:
            if not reject_closed:
                raise
            errors.append(ItemError(index, e.field, str(e)))
        except DomainError as e:
            errors.append(ItemError(index, e.field, str(e)))
    if errors:
        raise BatchInvalidError(sorted(errors, key=lambda e: e.index))
    return actuals


async def record_actuals(
    cmd: Command,
    items: list[ActualInput],
    *,
    indexes: list[int] | None = None,
    errors: list[ItemError] | None = None,
) -> list[Outcome]:
    """Store a batch whole or not at all; re-sent items (same source and external reference)
    change nothing and come back as duplicates."""
    catalog, org, periods = await cmd.catalog(), await cmd.org(), await cmd.periods()
    checked = check_actuals(cmd, catalog, org, periods, items, indexes=indexes, errors=errors)
    return await append_actuals(cmd, checked)


async def append_actuals(cmd: Command, actuals: list[Actual]) -> list[Outcome]:
    """Append actuals decided by check_actuals, in one transaction."""
    events = [e for a in actuals for e in a.collect_events()]
    # The event id follows the actual's id, so a re-send is the same event.
    generated = cmd.event_ids(len(events))
    event_ids = [
        uuid.uuid5(a.id, "recorded") if a.external_ref or generated is None else generated[i]
        for i, a in enumerate(actuals)
    ]
    appended = await cmd.append(events, event_ids=event_ids, closures_checked=True)
    seen: set[uuid.UUID] = set()
    outcomes = []
    for actual, position, new in zip(actuals, appended.positions, appended.new, strict=True):
        outcomes.append(Outcome(actual.id, position, not new or actual.id in seen))
        seen.add(actual.id)
    return outcomes


async def record_actual(cmd: Command, item: ActualInput) -> Outcome:
    try:
        [outcome] = await record_actuals(cmd, [item])
    except BatchInvalidError as invalid:
        [error] = invalid.errors
        raise DomainError(error.message, field=error.field) from None
    return outcome


async def reverse_actual(cmd: Command, actual_id: uuid.UUID, reason: str) -> int:
    actual = await cmd.store.get(actual_id)
    if not isinstance(actual, Actual):
        raise NotFoundError(f"no actual {actual_id}")
    check_can_record_actual(cmd.actor, await cmd.org(), actual.person, cmd.today())
    # Taking an actual back changes its period's figures: a closed period keeps them.
    await cmd.check_open(actual.person, actual.occurred_on, actual.occurred_on, field="actual_id")
    actual.reverse(reason, at=cmd.clock())
    events = actual.collect_events()
    return (await cmd.append(events)).last
