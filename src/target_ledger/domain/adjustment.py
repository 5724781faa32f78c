"""Adjustment requests: a justified change to targets, decided by approvers above them."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec
from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import AlreadyExistsError, DomainError, ForbiddenError

REASONS = ("force_majeure", "policy_change", "market_change", "org_change", "data_error", "other")
Status = Literal["pending", "approved", "rejected", "withdrawn"]


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One target whose value the request would change, and its version when asked."""

    target_id: uuid.UUID
    node: str
    period: str
    old_value: Decimal
    new_value: Decimal
    version: int


class AlreadyDecidedError(AlreadyExistsError):
    pass


def check_approver(requester: str, approvals: list[str], approver: str) -> None:
    """The approval rules every request shares (adjustments, incentive plans): never the
    requester, and never the same person twice."""
    if approver == requester:
        raise ForbiddenError("a requester never approves their own request")
    if approver in approvals:
        raise ForbiddenError("the second approval must come from someone else, at the next level up")


def check_rejecter(requester: str, approver: str, reason: str) -> None:
    """A requester withdraws rather than rejects; a rejection says why."""
    if approver == requester:
        raise ForbiddenError("a requester withdraws their own request; they do not reject it")
    if not reason.strip():
        raise DomainError("a rejection needs a reason", field="reason")


class Adjustment(Aggregate):
    TOPIC = "Adjustment"

    class Created(Aggregate.Created):
        TOPIC = "Adjustment.Created"  # the library's base; never stored itself

    class AdjustmentRequested(Created):
        TOPIC = "AdjustmentRequested"
        target_id: uuid.UUID
        requester: str
        reason_category: str
        justification: str
        evidence: list[str]
        changes: list[Change]
        approvals_needed: int

    class AdjustmentApproved(Aggregate.Event):
        TOPIC = "AdjustmentApproved"
        approver: str
        level: int

        def apply(self, adjustment: "Adjustment") -> None:
            adjustment.approvals.append(self.approver)
            if len(adjustment.approvals) >= adjustment.approvals_needed:
                adjustment.status = "approved"

    class AdjustmentRejected(Aggregate.Event):
        TOPIC = "AdjustmentRejected"
        approver: str
        reason: str

        def apply(self, adjustment: "Adjustment") -> None:
            adjustment.status, adjustment.decision_reason = "rejected", self.reason

    class AdjustmentWithdrawn(Aggregate.Event):
        TOPIC = "AdjustmentWithdrawn"
        reason: str

        def apply(self, adjustment: "Adjustment") -> None:
            adjustment.status, adjustment.decision_reason = "withdrawn", self.reason

    def __init__(
        self,
        target_id: uuid.UUID,
        requester: str,
        reason_category: str,
        justification: str,
        evidence: list[str],
        changes: list[Change],
        approvals_needed: int,
    ):
        self.target_id, self.requester = target_id, requester
        self.reason_category, self.justification, self.evidence = reason_category, justification, evidence
        self.changes, self.approvals_needed = changes, approvals_needed
        self.approvals: list[str] = []
        self.status: Status = "pending"
        self.decision_reason = ""

    @classmethod
    def request(
        cls,
        *,
        target_id: uuid.UUID,
        requester: str,
        reason_category: str,
        justification: str,
        evidence: list[str],
        changes: list[Change],
        approvals_needed: int,
        at: datetime,
    ) -> "Adjustment":
        if reason_category not in REASONS:
            raise DomainError(f"reason_category is one of {', '.join(REASONS)}", field="reason_category")
        if not justification.strip():
            raise DomainError("an adjustment needs a justification", field="justification")
        if not any(c.old_value != c.new_value for c in changes):
            raise DomainError("the request changes no target's value", field="new_value")
        return cls._create(
            cls.AdjustmentRequested,
            id=uuid.uuid4(),
            target_id=target_id,
            requester=requester,
            reason_category=reason_category,
            justification=justification,
            evidence=evidence,
            changes=changes,
            approvals_needed=approvals_needed,
            timestamp=at,
        )

    @property
    def level(self) -> int:
        """Which approval comes next: 1, or 2 when a large change needs the next level up."""
        return len(self.approvals) + 1

    def check_pending(self) -> None:
        if self.status != "pending":
            raise AlreadyDecidedError(f"adjustment {self.id} is already {self.status}")

    def approve(self, approver: str, at: datetime) -> None:
        """The caller has checked that the approver stands high enough for this level."""
        self.check_pending()
        check_approver(self.requester, self.approvals, approver)
        self.trigger_event(self.AdjustmentApproved, approver=approver, level=self.level, timestamp=at)

    def reject(self, approver: str, reason: str, at: datetime) -> None:
        self.check_pending()
        check_rejecter(self.requester, approver, reason)
        self.trigger_event(self.AdjustmentRejected, approver=approver, reason=reason, timestamp=at)

    def withdraw(self, person: str, reason: str, at: datetime) -> None:
        self.check_pending()
        if person != self.requester:
            raise ForbiddenError("only the requester withdraws a request")
        self.trigger_event(self.AdjustmentWithdrawn, reason=reason, timestamp=at)
