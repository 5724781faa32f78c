"""Actual.record builds its aggregate and event without the library's generic _create: both
must give the same aggregate and store the same event, and name_uuid must be uuid5."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from target_ledger.domain.actual import ACTUALS, Actual, correction_id, name_uuid
from target_ledger.eventstore.mapper import LedgerMapper

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
FACTS = {"person": "p-1", "metric": "revenue", "occurred_on": date(2026, 3, 1), "value": Decimal("-12.50")}


def _by_library(actual_id: uuid.UUID, source: str, external_ref: str | None, scope: dict[str, str]) -> Actual:
    return Actual._create(
        Actual.ActualRecorded,
        id=actual_id,
        timestamp=AT,
        source=source,
        external_ref=external_ref,
        scope=dict(sorted(scope.items())),
        **FACTS,
    )


@pytest.mark.parametrize(
    ("source", "external_ref", "scope", "corrects"),
    [
        ("crm", "deal-7", {"region": "EU", "channel": "web"}, None),
        ("manual", None, {}, None),
        ("crm", "deal-7", {}, uuid.UUID("5d6c1e0e-8f8b-4a33-9b1a-6f1d0c2b7a10")),
    ],
)
def test_record_gives_what_the_library_gives(
    source: str, external_ref: str | None, scope: dict[str, str], corrects: uuid.UUID | None
) -> None:
    fast = Actual.record(source=source, external_ref=external_ref, scope=scope, at=AT, corrects=corrects, **FACTS)
    slow = _by_library(fast.id, source, external_ref, scope)
    assert vars(fast) == {**vars(slow), "_pending_events": fast.pending_events}
    assert type(fast) is type(slow)
    mapper = LedgerMapper()
    [mine], [theirs] = fast.collect_events(), slow.collect_events()
    assert mapper.to_stored_event(mine) == mapper.to_stored_event(theirs)
    assert vars(mine) == vars(theirs) and type(mine) is type(theirs)
    assert fast.version == 1 and fast.created_on == AT == fast.modified_on


def test_ids_are_uuid5() -> None:
    names = ["crm|deal-7", "", "ünïcode|€", "x" * 500, "recorded"]
    for space in [ACTUALS, uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]:
        for name in names:
            assert name_uuid(space, name) == uuid.uuid5(space, name) == name_uuid(space.bytes, name)
    corrected = uuid.uuid4()
    assert correction_id(corrected) == uuid.uuid5(corrected, "correction")
    recorded = Actual.record(source="crm", external_ref="deal-7", at=AT, **FACTS)
    assert recorded.id == uuid.uuid5(ACTUALS, "crm|deal-7")
