"""A tiny aggregate for event-store tests, and helpers shared by tests."""

from datetime import UTC, datetime

from eventsourcing.domain import Aggregate

from target_ledger.eventstore import Metadata

META = Metadata(actor="tester", correlation_id="corr-1")


class Counter(Aggregate, created_event_name="CounterStarted"):
    TOPIC = "test.Counter"

    class Created(Aggregate.Created):
        TOPIC = "test.Counter.Created"

    class CounterStarted(Created):
        TOPIC = "test.CounterStarted"
        name: str

    class Incremented(Aggregate.Event):
        TOPIC = "test.Incremented"
        by: int

        def apply(self, aggregate: "Counter") -> None:
            aggregate.count += self.by

    def __init__(self, name: str):
        self.name = name
        self.count = 0

    @classmethod
    def start(cls, name: str) -> "Counter":
        return cls._create(cls.CounterStarted, name=name, timestamp=datetime.now(UTC))

    def increment(self, by: int = 1) -> None:
        self.trigger_event(self.Incremented, by=by)
