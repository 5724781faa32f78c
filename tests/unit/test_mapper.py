"""The mapper keeps types through JSON and upcasts old event versions."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from target_ledger.domain.actual import Actual
from target_ledger.eventstore.mapper import LedgerMapper


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
