"""Alerts: a rule's breach, raised once while it lasts and resolved when it clearly ends."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import ConflictError, ForbiddenError

ALERTS = uuid.UUID("b7e0c5d2-4a1f-4e8b-9c3d-5f6a7b8c9d05")
RULES = ("weekly_completion", "week_gap", "pace", "action_overdue", "no_actuals", "follow_up_missed", "forecast")
Rule = Literal["weekly_completion", "week_gap", "pace", "action_overdue", "no_actuals", "follow_up_missed", "forecast"]


def alert_id(rule: str, subject: str) -> uuid.UUID:
    """One alert per rule and subject (a target, an action, a person): a breach that is
    already open is not raised twice, whoever evaluates it."""
    return uuid.uuid5(ALERTS, f"{rule}|{subject}")


class Alert(Aggregate):
    TOPIC = "Alert"

    class Created(Aggregate.Created):
        TOPIC = "Alert.Created"  # the library's base; never stored itself

    class AlertRaised(Created):
        TOPIC = "AlertRaised"
        rule: str
        subject: str
        target_id: uuid.UUID | None
        node: str
        metric: str
        period: str
        value: Decimal | None
        threshold: Decimal | None
        message: str
        assignee: str  # the manager the alert is routed to

    class AlertRecurred(Aggregate.Event):
        """The same breach again after it was resolved: the alert opens anew."""

        TOPIC = "AlertRecurred"
        value: Decimal | None
        threshold: Decimal | None
        message: str
        assignee: str

        def apply(self, alert: "Alert") -> None:
            alert.status, alert.acknowledged_by = "open", None
            alert.value, alert.message, alert.assignee = self.value, self.message, self.assignee
            alert.occurrence += 1

    class AlertAcknowledged(Aggregate.Event):
        TOPIC = "AlertAcknowledged"
        person: str
        comment: str

        def apply(self, alert: "Alert") -> None:
            alert.acknowledged_by = self.person

    class AlertResolved(Aggregate.Event):
        TOPIC = "AlertResolved"
        value: Decimal | None
        message: str

        def apply(self, alert: "Alert") -> None:
            alert.status, alert.value = "resolved", self.value

    def __init__(
        self,
        rule: str,
        subject: str,
        target_id: uuid.UUID | None,
        node: str,
        metric: str,
        period: str,
        value: Decimal | None,
        threshold: Decimal | None,
        message: str,
        assignee: str,
    ):
        self.rule, self.subject, self.target_id = rule, subject, target_id
        self.node, self.metric, self.period = node, metric, period
        self.value, self.threshold, self.message, self.assignee = value, threshold, message, assignee
        self.status: Literal["open", "resolved"] = "open"
        self.acknowledged_by: str | None = None
        self.occurrence = 1

    @classmethod
    def raise_(
        cls,
        *,
        rule: str,
        subject: str,
        target_id: uuid.UUID | None,
        node: str,
        metric: str = "",
        period: str = "",
        value: Decimal | None = None,
        threshold: Decimal | None = None,
        message: str,
        assignee: str,
        at: datetime,
    ) -> "Alert":
        return cls._create(
            cls.AlertRaised,
            id=alert_id(rule, subject),
            rule=rule,
            subject=subject,
            target_id=target_id,
            node=node,
            metric=metric,
            period=period,
            value=value,
            threshold=threshold,
            message=message,
            assignee=assignee,
            timestamp=at,
        )

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def recur(self, *, value: Decimal | None, message: str, assignee: str, at: datetime) -> None:
        """Open again; an alert that is open already stays as it is (de-duplication)."""
        if not self.is_open:
            self.trigger_event(
                self.AlertRecurred,
                value=value,
                threshold=self.threshold,
                message=message,
                assignee=assignee,
                timestamp=at,
            )

    def acknowledge(self, person: str, comment: str, *, may: bool, at: datetime) -> None:
        if not may:
            raise ForbiddenError(
                f"alert {self.id} is routed to {self.assignee!r}: they (or a manager above) acknowledge it"
            )
        if not self.is_open:
            raise ConflictError(f"alert {self.id} is resolved: there is nothing to acknowledge")
        if self.acknowledged_by is not None:
            raise ConflictError(f"alert {self.id} was acknowledged by {self.acknowledged_by!r} already")
        self.trigger_event(self.AlertAcknowledged, person=person, comment=comment, timestamp=at)

    def resolve(self, *, value: Decimal | None, message: str, at: datetime) -> None:
        if self.is_open:
            self.trigger_event(self.AlertResolved, value=value, message=message, timestamp=at)
