"""The Target aggregate: a value to reach for (node, metric, period)."""

import uuid
from datetime import datetime
from decimal import Decimal

from eventsourcing.domain import Aggregate

from target_ledger.domain.calendar import period_bounds
from target_ledger.domain.values import check_amount

TARGETS = uuid.UUID("6f1d2a3c-8e0b-4c55-9a57-0c1e7c1f7a01")


def target_id(node: str, metric: str, period: str) -> uuid.UUID:
    """The natural key makes the id: a second target for the same key is a conflict."""
    return uuid.uuid5(TARGETS, f"{node}|{metric}|{period}")


class Target(Aggregate, created_event_name="TargetSet"):
    TOPIC = "Target"

    class Created(Aggregate.Created):
        TOPIC = "Target.Created"  # the library's base; never stored itself

    class TargetSet(Created):
        TOPIC = "TargetSet"
        node: str
        metric: str
        period: str
        value: Decimal
        rationale: str

    def __init__(self, node: str, metric: str, period: str, value: Decimal, rationale: str):
        self.node = node
        self.metric = metric
        self.period = period
        self.value = value
        self.rationale = rationale

    @classmethod
    def set(
        cls, *, node: str, metric: str, period: str, value: Decimal, rationale: str, at: datetime
    ) -> "Target":
        period_bounds(period)
        check_amount(value, negative_allowed=False)
        return cls._create(
            cls.TargetSet,
            id=target_id(node, metric, period),
            node=node,
            metric=metric,
            period=period,
            value=value,
            rationale=rationale,
            timestamp=at,
        )
