"""Made-up but realistic ledger content: people, teams and their recorded actuals."""

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import msgspec
from eventsourcing.persistence import StoredEvent

from target_ledger.domain.actual import Actual
from target_ledger.eventstore import LedgerMapper, Metadata
from target_ledger.eventstore.store import DomainEvent

META = Metadata(actor="bench", correlation_id="bench")
TEAMS = ["north", "south", "east", "west"]
TEAM_SIZE = 8
PEOPLE = [f"{team}-{n}" for team in TEAMS for n in range(1, TEAM_SIZE + 1)]
_refs = itertools.count()


def actual_events(count: int, *, days_back: int = 730, today: date | None = None) -> Iterator[DomainEvent]:
    """`count` ActualRecorded events, one per new actual, spread over people and the last days."""
    today = today or datetime.now(UTC).date()
    at = datetime.now(UTC)
    for n in range(count):
        ref = next(_refs)
        actual = Actual.record(
            person=PEOPLE[ref % len(PEOPLE)],
            metric="revenue",
            occurred_on=today - timedelta(days=ref % days_back),
            value=Decimal(100 + ref % 900),
            source="bench",
            external_ref=f"{uuid.uuid4().hex}-{n}",
            scope={},
            at=at,
        )
        yield from actual.collect_events()


def stored(events: list[DomainEvent], mapper: LedgerMapper) -> list[StoredEvent]:
    return [mapper.to_stored_event(e) for e in events]


def raw_rows(events: list[StoredEvent]) -> list[tuple]:
    """The rows a plain INSERT would write for these events: the service's columns, no more."""
    meta = msgspec.json.encode(META).decode()
    return [(uuid.uuid4(), e.originator_id, e.originator_version, e.topic, e.state.decode(), meta) for e in events]
