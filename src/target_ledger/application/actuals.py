"""Recording actual results, one or a batch at a time, and reversing or correcting a wrong one."""

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import asyncpg

from target_ledger.application import Command
from target_ledger.domain.access import check_can_record_actual
from target_ledger.domain.actual import Actual, AlreadyReversedError, check_date, correction_id, name_uuid
from target_ledger.domain.catalog import Catalog
from target_ledger.domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
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
class Clash:
    index: int
    stored: Actual  # what its source and external_ref stand for now
    message: str


class ActualResentError(ConflictError):
    """Actuals re-sent under a stored source and external_ref with other content: nothing of
    the request was stored, and the stored actual stays as it is (a correction changes it)."""

    def __init__(self, clashes: list[Clash], *, batch: bool = True) -> None:
        super().__init__("; ".join(c.message for c in clashes), field="external_ref")
        self.clashes, self.batch = clashes, batch


@dataclass(frozen=True)
class Outcome:
    actual_id: uuid.UUID
    position: int
    duplicate: bool


def _decide(
    cmd: Command,
    catalog: Catalog,
    org: Organisation,
    periods: Periods,
    item: ActualInput,
    corrects: uuid.UUID | None = None,
) -> Actual:
    """Every rule an actual meets wherever it enters (one, a batch, a correction, the importer)."""
    check_can_record_actual(cmd.actor, org, item.person, cmd.today())
    if not org.is_person(item.person):
        raise DomainError(f"{item.person!r} is not a person of the organisation", field="person")
    person = org.people[item.person]
    today, ahead = cmd.today(), cmd.actual_max_days_ahead
    check_date(item.occurred_on, joined=person.memberships[0][0], left=person.left, today=today, max_days_ahead=ahead)
    chain = [item.person, *org.ancestors(item.person, item.occurred_on)]
    periods.check_open(chain, item.occurred_on, item.occurred_on, field="date")
    if not catalog.metric(item.metric).additive:
        raise DomainError(f"{item.metric} is computed from its parts: record those instead", field="metric")
    catalog.check_scope(item.scope)
    catalog.metric(item.metric).check_value(item.value, negative_allowed=True)
    return Actual.record(
        person=item.person,
        metric=item.metric,
        occurred_on=item.occurred_on,
        value=item.value,
        source=item.source,
        external_ref=item.external_ref,
        scope=item.scope,
        at=cmd.clock(),
        corrects=corrects,
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
    noun: str = "item",
) -> list[Actual]:
    """Decide every item; raise BatchInvalidError listing each bad one by index and field,
    together with `errors` found before (items that could not even be decoded). An item in a
    closed period is a 409 for the whole request, unless `reject_closed` lists it as bad. A
    message names another item as `noun` and index ("line 7" for the importer)."""
    actuals, errors = [], list(errors or [])
    first: dict[uuid.UUID, tuple[int, Actual]] = {}  # each actual id's first item
    for position, item in enumerate(items):
        index = indexes[position] if indexes else position
        try:
            actual = _decide(cmd, catalog, org, periods, item)
            earlier, same = first.setdefault(actual.id, (index, actual))
            if same is not actual and (differs := same.differences(actual)):
                raise DomainError(
                    f"repeats the source and external_ref of {noun} {earlier} with another {_named(differs)}",
                    field="external_ref",
                )
            actuals.append(actual)
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
    return await append_actuals(cmd, checked, indexes)


async def append_actuals(
    cmd: Command, actuals: list[Actual], indexes: list[int] | None = None, *, corrected: Actual | None = None
) -> list[Outcome]:
    """Append actuals decided by check_actuals in one transaction, after the reversal of the
    actual they correct, if any. One re-sent with other content than its source and
    external_ref stand for raises ActualResentError (each by its index in `indexes`, else in
    `actuals`), and nothing is stored."""
    reversal = corrected.collect_events() if corrected else []
    events = [*reversal, *(e for a in actuals for e in a.collect_events())]
    # The event ids follow the actuals' ids where those are deterministic, so a re-send is the same event.
    generated = cmd.event_ids(len(actuals))
    event_ids = [
        name_uuid(a.id, "recorded") if a.external_ref or corrected or generated is None else generated[i]
        for i, a in enumerate(actuals)
    ]
    sent = {
        event_id: (indexes[i] if indexes else i, a)
        for i, (event_id, a) in enumerate(zip(event_ids, actuals, strict=True))
    }
    current: dict[uuid.UUID, Actual] = {}  # what each re-sent one duplicates

    async def replayed(ids: list[uuid.UUID], conn: asyncpg.Connection) -> None:
        stored = await cmd.store.get_holding(ids, conn)
        clashes = []
        for event_id in set(ids) & set(sent):  # not the reversal: a retried one may give another reason
            index, actual = sent[event_id]
            current[event_id] = now = await _latest(cmd, stored[event_id], conn)
            if differs := now.differences(actual):
                clashes.append(Clash(index, now, _clash(now, actual, differs)))
        if clashes:
            raise ActualResentError(sorted(clashes, key=lambda c: c.index))

    reversal_ids = [name_uuid(corrected.id, "reversed")] if corrected else []
    ids = reversal_ids + event_ids
    appended = await cmd.append(events, event_ids=ids, closures_checked=True, replayed=replayed)
    seen: set[uuid.UUID] = set()
    outcomes = []
    positions, new = appended.positions[len(reversal) :], appended.new[len(reversal) :]
    for event_id, actual, position, stored_now in zip(event_ids, actuals, positions, new, strict=True):
        actual_id = current[event_id].id if event_id in current else actual.id
        outcomes.append(Outcome(actual_id, position, not stored_now or actual.id in seen))
        seen.add(actual.id)
    return outcomes


async def _latest(cmd: Command, actual: Actual, conn: asyncpg.Connection | None = None) -> Actual:
    """What a source and external_ref stand for now: the stored actual, or its last correction.
    A reversed actual that nothing corrected stays what they stand for (re-sending it changes nothing)."""
    while actual.reversed and (correction := await cmd.store.get(correction_id(actual.id), conn)) is not None:
        actual = correction
    return actual


def _named(facts: list[str]) -> str:
    """Facts of an actual as a client names them."""
    return ", ".join("date" if fact == "occurred_on" else fact for fact in facts)


def _clash(stored: Actual, sent: Actual, differs: list[str]) -> str:
    wording = ", ".join(f"{_named([name])} {getattr(stored, name)} (sent: {getattr(sent, name)})" for name in differs)
    change = (
        "it was reversed: record the new one under another external_ref"
        if stored.reversed
        else f"to change it, POST /v1/actuals/{stored.id}/correction"
    )
    return f"{stored.source} {stored.external_ref!r} is actual {stored.id} with {wording}; {change}"


async def record_actual(cmd: Command, item: ActualInput) -> Outcome:
    try:
        [outcome] = await record_actuals(cmd, [item])
    except BatchInvalidError as invalid:
        [error] = invalid.errors
        raise DomainError(error.message, field=error.field) from None
    except ActualResentError as resent:
        raise ActualResentError(resent.clashes, batch=False) from None
    return outcome


async def reverse_actual(cmd: Command, actual_id: uuid.UUID, reason: str) -> int:
    actual = await cmd.store.get(actual_id)
    if not isinstance(actual, Actual):
        raise NotFoundError(f"no actual {actual_id}", field="actual_id")
    check_can_record_actual(cmd.actor, await cmd.org(), actual.person, cmd.today())
    # Taking an actual back changes its period's figures: a closed period keeps them.
    await cmd.check_open(actual.person, actual.occurred_on, actual.occurred_on, field="actual_id")
    actual.reverse(reason, at=cmd.clock())
    events = actual.collect_events()
    return (await cmd.append(events)).last


@dataclass(frozen=True)
class Change:
    """What a corrected actual should have said: the value, and what else differs (None: kept)."""

    value: Decimal
    reason: str
    person: str | None = None
    metric: str | None = None
    occurred_on: date | None = None
    scope: dict[str, str] | None = None


async def correct_actual(cmd: Command, actual_id: uuid.UUID, change: Change) -> Outcome:
    """Reverse an actual and record what it should have said, in one append, with the same
    permission as a reversal. The new actual's id follows from the old one's, so a retried
    correction is a duplicate (nothing stored) and another correction of it a 409. A reversed
    actual, or a period closed for the old or the new date, is a 409; the new actual meets
    every rule of a new one (422)."""
    old = await cmd.store.get(actual_id)
    if not isinstance(old, Actual):
        raise NotFoundError(f"no actual {actual_id}", field="actual_id")
    catalog, org, periods = await cmd.catalog(), await cmd.org(), await cmd.periods()
    check_can_record_actual(cmd.actor, org, old.person, cmd.today())
    item = ActualInput(
        person=change.person or old.person,
        metric=change.metric or old.metric,
        occurred_on=change.occurred_on or old.occurred_on,
        value=change.value,
        source=old.source,
        external_ref=old.external_ref,
        scope=old.scope if change.scope is None else change.scope,
    )
    new = _decide(cmd, catalog, org, periods, item, corrects=old.id)
    if old.reversed:
        return await _corrected_before(cmd, old, new)
    if not old.differences(new):
        raise DomainError("the correction says what the actual says already", field="value")
    await cmd.check_open(old.person, old.occurred_on, old.occurred_on, field="actual_id")
    old.reverse(change.reason, at=cmd.clock())
    try:
        [outcome] = await append_actuals(cmd, [new], corrected=old)
    except ActualResentError:  # another correction of it committed meanwhile
        return await _corrected_before(cmd, old, new)
    return outcome


async def _corrected_before(cmd: Command, old: Actual, new: Actual) -> Outcome:
    """A correction of a reversed actual: the same correction again changes nothing; any other is a 409."""
    stored = await cmd.store.get(new.id)
    if stored is None:
        raise AlreadyReversedError(f"actual {old.id} was reversed ({old.reversal_reason}): nothing is left to correct")
    if differs := stored.differences(new):
        raise AlreadyReversedError(
            f"actual {old.id} was corrected already, by actual {stored.id} with another {_named(differs)}:"
            f" correct that one instead"
        )
    first, *_ = await cmd.store.records([stored.id])
    return Outcome(stored.id, first["position"], duplicate=True)
