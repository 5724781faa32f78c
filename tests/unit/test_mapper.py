"""The mapper keeps types through JSON and upcasts old event versions."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from target_ledger.domain.actual import Actual
from target_ledger.eventstore.mapper import FAST_TOPICS, LedgerMapper


def test_an_event_round_trips_with_its_types() -> None:
    actual = Actual.record(
        person="ann",
        metric="revenue",
        occurred_on=date(2026, 7, 1),
        value=Decimal("10.50"),
        source="crm",
        external_ref="x-1",
        at=datetime(2026, 7, 2, tzinfo=UTC),
    )
    [event] = actual.collect_events()
    mapper = LedgerMapper()
    stored = mapper.to_stored_event(event)
    # Stored under its short, stable type name, as plain JSON.
    assert stored.topic == "ActualRecorded"
    assert b'"value":"10.50"' in stored.state and b'"occurred_on":"2026-07-01"' in stored.state
    back = mapper.to_domain_event(stored)
    assert isinstance(back.originator_id, UUID)
    assert (back.value, back.occurred_on, back.timestamp) == (
        Decimal("10.50"),
        date(2026, 7, 1),
        datetime(2026, 7, 2, tzinfo=UTC),
    )
    assert back.mutate(None).value == Decimal("10.50")


class Quota(Aggregate, created_event_name="QuotaOpened"):
    TOPIC = "test.Quota"

    class Created(Aggregate.Created):
        TOPIC = "test.Quota.Created"

    class QuotaOpened(Created):
        TOPIC = "test.QuotaOpened"
        class_version = 2
        amount: Decimal
        currency: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["currency"] = "CNY"  # version 1 events were all in yuan

    def __init__(self, amount: Decimal, currency: str) -> None:
        self.amount, self.currency = amount, currency


def test_a_version_one_event_is_upcast_when_read() -> None:
    stored = StoredEvent(
        originator_id=UUID(int=1),
        originator_version=1,
        topic="test.QuotaOpened",
        state=b'{"timestamp":"2026-01-01T00:00:00+00:00","originator_topic":"test.Quota","amount":"5"}',
    )
    quota = LedgerMapper().to_domain_event(stored).mutate(None)
    assert (quota.amount, quota.currency) == (Decimal("5"), "CNY")


def _same(stored: StoredEvent) -> None:
    """The mapper's fast path gives exactly the event the mapper gives: class and every field."""
    mapper = LedgerMapper()
    fast = mapper.decode(stored.topic, stored.originator_id, stored.originator_version, stored.state.decode())
    slow = mapper.to_domain_event(stored)
    assert type(fast) is type(slow)
    assert vars(fast) == vars(slow)
    assert {k: type(v) for k, v in vars(fast).items()} == {k: type(v) for k, v in vars(slow).items()}


@pytest.mark.parametrize(
    ("value", "external_ref", "scope"),
    [
        (Decimal("10.50"), "x-1", {}),
        (Decimal("-3"), None, {"region": "eu", "product": "a b"}),
        (Decimal("123456789012.000001"), "é/ü", {"channel": "web"}),
    ],
)
def test_the_fast_path_decodes_every_type_it_covers_as_the_mapper_does(
    value: Decimal, external_ref: str | None, scope: dict[str, str]
) -> None:
    assert {"ActualRecorded", "ActualReversed"} == FAST_TOPICS  # a new one needs its case here
    actual = Actual.record(
        person="ann",
        metric="revenue",
        occurred_on=date(2026, 7, 1),
        value=value,
        source="crm",
        external_ref=external_ref,
        scope=scope,
        at=datetime(2026, 7, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    actual.reverse("typo", at=datetime(2026, 7, 3, tzinfo=UTC))
    for event in actual.collect_events():
        _same(LedgerMapper().to_stored_event(event))


def test_an_older_or_unexpected_stored_event_goes_through_the_mapper() -> None:
    version_one = b'{"timestamp":"2026-01-01T00:00:00+00:00","originator_topic":"Actual","person":"ann",'
    version_one += b'"metric":"revenue","occurred_on":"2026-01-01","value":"5","source":"crm","external_ref":null}'
    stored = StoredEvent(originator_id=UUID(int=1), originator_version=1, topic="ActualRecorded", state=version_one)
    _same(stored)  # upcast: version 1 had no scope
    assert LedgerMapper().decode("ActualRecorded", UUID(int=1), 1, version_one.decode()).scope == {}
    extra = version_one[:-1] + b',"scope":{},"class_version":2,"note":"kept"}'
    _same(StoredEvent(originator_id=UUID(int=1), originator_version=1, topic="ActualRecorded", state=extra))
    assert LedgerMapper().decode("ActualRecorded", UUID(int=1), 1, extra.decode()).note == "kept"
