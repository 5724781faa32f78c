"""Period close: a closed period freezes the targets, adjustments and actuals in it, per subtree."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import ConflictError, DomainError, ForbiddenError

PERIODS_ID = uuid.uuid5(uuid.UUID("0c7e9b1a-2d3f-4a5b-8c6d-7e8f9a0b1c06"), "periods")


class PeriodClosedError(ConflictError):
    """A write falls in a closed period: it waits for an approved reopen."""


@dataclass
class Closure:
    period: str
    node: str
    starts_on: date
    ends_on: date
    closed: bool = True
    reopen_requested_by: str | None = None
    reopen_reason: str = ""

    def covers(self, starts_on: date, ends_on: date) -> bool:
        return self.closed and self.starts_on <= starts_on and ends_on <= self.ends_on


class Periods(Aggregate):
    """Every closure in one stream: few, rare, and consulted by every write."""

    TOPIC = "Periods"

    class Created(Aggregate.Created):
        TOPIC = "Periods.Created"

    class PeriodClosed(Aggregate.Event):
        TOPIC = "PeriodClosed"
        period: str
        node: str
        starts_on: date
        ends_on: date
        person: str

        def apply(self, periods: "Periods") -> None:
            periods.closures[(self.period, self.node)] = Closure(self.period, self.node, self.starts_on, self.ends_on)

    class PeriodReopenRequested(Aggregate.Event):
        TOPIC = "PeriodReopenRequested"
        period: str
        node: str
        person: str
        reason: str

        def apply(self, periods: "Periods") -> None:
            closure = periods.closures[(self.period, self.node)]
            closure.reopen_requested_by, closure.reopen_reason = self.person, self.reason

    class PeriodReopened(Aggregate.Event):
        TOPIC = "PeriodReopened"
        period: str
        node: str
        approver: str
        requester: str
        reason: str

        def apply(self, periods: "Periods") -> None:
            closure = periods.closures[(self.period, self.node)]
            closure.closed, closure.reopen_requested_by = False, None

    def __init__(self) -> None:
        self.closures: dict[tuple[str, str], Closure] = {}

    @classmethod
    def start(cls, at: datetime) -> "Periods":
        return cls._create(cls.Created, id=PERIODS_ID, timestamp=at)

    def closure(self, period: str, node: str) -> Closure | None:
        found = self.closures.get((period, node))
        return found if found is not None and found.closed else None

    def covered(self, starts_on: date, ends_on: date) -> set[str]:
        """The nodes with a close of their own in force covering the days."""
        return {c.node for c in self.closures.values() if c.covers(starts_on, ends_on)}

    def closing(self, nodes: list[str], starts_on: date, ends_on: date) -> Closure | None:
        """The closure that freezes [starts_on, ends_on] for a node, given it and its ancestors."""
        if not self.closures:  # the usual case; a batch of actuals asks once per item
            return None
        return next(
            (c for c in self.closures.values() if c.node in nodes and c.covers(starts_on, ends_on)),
            None,
        )

    def check_open(self, nodes: list[str], starts_on: date, ends_on: date, *, field: str | None = None) -> None:
        closure = self.closing(nodes, starts_on, ends_on)
        if closure is not None:
            raise PeriodClosedError(
                f"period {closure.period} is closed for {closure.node!r}: nothing in it changes "
                "unless the period is reopened (POST /v1/periods/{period}/reopen, then an approval)",
                field=field,
            )

    def close(
        self,
        period: str,
        node: str,
        starts_on: date,
        ends_on: date,
        person: str,
        at: datetime,
        *,
        above: tuple[str, ...] = (),
    ) -> None:
        """`above`: the node's ancestors. A close in force of the node or of a unit above it
        covering the days freezes them already: a second close is a 409, never a second finalisation."""
        covering = self.closing([node, *above], starts_on, ends_on)
        if covering is not None:
            whose = "" if covering.node == node else f" (by its close for {covering.node!r}, a unit above it)"
            raise ConflictError(f"period {period} is already closed for {node!r}{whose}")
        self.trigger_event(
            self.PeriodClosed,
            period=period,
            node=node,
            starts_on=starts_on,
            ends_on=ends_on,
            person=person,
            timestamp=at,
        )

    def _closed(self, period: str, node: str) -> Closure:
        closure = self.closure(period, node)
        if closure is None:
            raise ConflictError(f"period {period} is not closed for {node!r}")
        return closure

    def request_reopen(self, period: str, node: str, person: str, reason: str, at: datetime) -> None:
        closure = self._closed(period, node)
        if not reason.strip():
            raise DomainError("reopening a closed period needs a reason", field="reason")
        if closure.reopen_requested_by is not None:
            raise ConflictError(f"reopening {period} for {node!r} was asked by {closure.reopen_requested_by!r} already")
        self.trigger_event(
            self.PeriodReopenRequested, period=period, node=node, person=person, reason=reason, timestamp=at
        )

    def approve_reopen(self, period: str, node: str, approver: str, at: datetime) -> None:
        """The caller has checked that the approver manages a unit above the node."""
        closure = self._closed(period, node)
        if closure.reopen_requested_by is None:
            raise ConflictError(f"nobody asked to reopen {period} for {node!r}: ask first, with a reason")
        if closure.reopen_requested_by == approver:
            raise ForbiddenError("a requester never approves their own request")
        self.trigger_event(
            self.PeriodReopened,
            period=period,
            node=node,
            approver=approver,
            requester=closure.reopen_requested_by,
            reason=closure.reopen_reason,
            timestamp=at,
        )
