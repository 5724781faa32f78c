"""The Actual aggregate: a dated result for (person, metric) from a source."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import AlreadyExistsError, DomainError
from target_ledger.domain.values import check_amount

ACTUALS = uuid.UUID("0b7f3f64-3c5e-4a8e-b2a4-5d0f4f1f9c02")


def actual_id(source: str, external_ref: str | None) -> uuid.UUID:
    """Same source and external reference, same actual: re-sending changes nothing."""
    if external_ref is None:
        return uuid.uuid4()
    return uuid.uuid5(ACTUALS, f"{source}|{external_ref}")


class Actual(Aggregate, created_event_name="ActualRecorded"):
    TOPIC = "Actual"

    class Created(Aggregate.Created):
        TOPIC = "Actual.Created"  # the library's base; never stored itself

    class ActualRecorded(Created):
        TOPIC = "ActualRecorded"
        class_version = 2
        person: str
        metric: str
        occurred_on: date
        value: Decimal
        source: str
        external_ref: str | None
        scope: dict[str, str]

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["scope"] = {}  # version 1 actuals had no scope

    class ActualReversed(Aggregate.Event):
        TOPIC = "ActualReversed"
        reason: str

        def apply(self, actual: "Actual") -> None:
            actual.reversed, actual.reversal_reason = True, self.reason

    def __init__(
        self,
        person: str,
        metric: str,
        occurred_on: date,
        value: Decimal,
        source: str,
        external_ref: str | None,
        scope: dict[str, str],
    ):
        self.scope = scope
        self.reversed = False
        self.reversal_reason = ""
        self.person = person
        self.metric = metric
        self.occurred_on = occurred_on
        self.value = value
        self.source = source
        self.external_ref = external_ref

    @classmethod
    def record(
        cls,
        *,
        person: str,
        metric: str,
        occurred_on: date,
        value: Decimal,
        source: str,
        external_ref: str | None,
        at: datetime,
        scope: dict[str, str] | None = None,
    ) -> "Actual":
        check_amount(value, negative_allowed=True)  # a negative actual is a credit note
        return cls._create(
            cls.ActualRecorded,
            id=actual_id(source, external_ref),
            person=person,
            metric=metric,
            occurred_on=occurred_on,
            value=value,
            source=source,
            external_ref=external_ref,
            scope=dict(sorted((scope or {}).items())),
            timestamp=at,
        )

    def reverse(self, reason: str, at: datetime) -> None:
        """Take a wrong actual back; the original stays in the history."""
        if self.reversed:
            raise AlreadyReversedError(f"actual {self.id} was already reversed: {self.reversal_reason}")
        if not reason.strip():
            raise DomainError("a reversal needs a reason", field="reason")
        self.trigger_event(self.ActualReversed, reason=reason, timestamp=at)


class AlreadyReversedError(AlreadyExistsError):
    pass
