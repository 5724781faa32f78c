"""The public, versioned contract: CloudEvents 1.0 envelopes and one data Struct per event type."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

import msgspec

SOURCE = "urn:target-ledger"
NAMESPACE = uuid.UUID("0b9f3a52-7a4e-4c1e-9d55-3f1f0c2a7e61")  # public event ids: uuid5 in here
T = TypeVar("T")


class Data(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class TargetSet(Data):
    target_id: uuid.UUID
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    starts_on: date
    ends_on: date
    value: Decimal
    stretch: Decimal | None
    parent_id: uuid.UUID | None
    rationale: str


class TargetAdjusted(Data):
    target_id: uuid.UUID
    node: str
    previous_value: Decimal
    value: Decimal
    adjustment_id: uuid.UUID


class Change(Data):
    target_id: uuid.UUID
    node: str
    period: str
    old_value: Decimal
    new_value: Decimal


class AdjustmentRequested(Data):
    adjustment_id: uuid.UUID
    target_id: uuid.UUID
    node: str
    requester: str
    reason_category: str
    justification: str
    evidence: list[str]
    changes: list[Change]
    approvals_needed: int


class AdjustmentDecided(Data):
    adjustment_id: uuid.UUID
    target_id: uuid.UUID
    node: str
    decision: Literal["approved", "rejected", "withdrawn"]
    decided_by: str
    reason: str


class Attainment(Data):
    """How a target stands after an actual, a reversal or an adjustment (pace as of that day)."""

    target_id: uuid.UUID
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    target: Decimal
    stretch: Decimal | None
    actual: Decimal
    attainment_pct: Decimal | None
    gap: Decimal
    expected: Decimal
    pace_pct: Decimal | None
    status: str
    as_of: date


class ThresholdCrossed(Data):
    target_id: uuid.UUID
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    crossing: Literal["target_met", "stretch_met", "status_changed"]
    previous_status: str | None
    status: str
    target: Decimal
    stretch: Decimal | None
    actual: Decimal
    attainment_pct: Decimal | None
    as_of: date


class AlertRaised(Data):
    alert_id: uuid.UUID
    rule: str
    subject: str
    target_id: uuid.UUID | None
    node: str
    metric: str
    period: str
    value: Decimal | None
    threshold: Decimal | None
    message: str
    assignee: str
    occurrence: int


class AlertResolved(Data):
    alert_id: uuid.UUID
    rule: str
    target_id: uuid.UUID | None
    node: str
    value: Decimal | None
    message: str


class Measure(Data):
    attainment_pct: Decimal | None
    pace_pct: Decimal | None
    actual: Decimal | None


class CorrectiveActionOpened(Data):
    action_id: uuid.UUID
    target_id: uuid.UUID
    alert_id: uuid.UUID | None
    node: str
    owner: str
    due: date
    plan: str
    expected_effect: str
    before: Measure


class CorrectiveActionCompleted(Data):
    action_id: uuid.UUID
    target_id: uuid.UUID
    node: str
    completed_by: str
    outcome: str
    after: Measure


class PeriodClosed(Data):
    period: str
    node: str
    starts_on: date
    ends_on: date
    closed_by: str


class OpportunityStageChanged(Data):
    opportunity_id: uuid.UUID
    person: str
    name: str
    metric: str
    from_stage: str
    stage: str
    probability: Decimal  # a fraction from 0 to 1
    amount: Decimal  # expected


class OpportunityClosed(Data):
    opportunity_id: uuid.UUID
    person: str
    name: str
    metric: str
    outcome: Literal["won", "lost"]
    amount: Decimal  # won: the actual recorded; lost: the amount it was expected to bring
    closed_on: date
    actual_id: uuid.UUID | None  # won: the actual recorded (source pipeline)
    reason: str | None  # lost: price, competitor, timing, no_budget or other
    note: str


class ForecastSubmitted(Data):
    node: str
    metric: str
    period: str
    commit: Decimal
    best_case: Decimal
    submitted_by: str
    note: str


class IncentiveFinalised(Data):
    """A person's payout under an incentive plan as a period's close froze it (amount: what
    payroll pays, to the cent); a reopen and the next close send it again, with the new figures."""

    plan_id: uuid.UUID
    plan_node: str
    plan_version: int
    person: str
    metric: str
    period: str
    closed_for: str
    target: Decimal
    actual: Decimal
    attainment_pct: Decimal | None  # None: a target of 0 (no tier, nothing earned)
    tier: int | None
    multiplier: Decimal | None
    earned: Decimal
    cap_applied: bool
    team_award: Decimal
    amount: Decimal


TYPES: dict[str, type[Data]] = {
    "attainment.updated.v1": Attainment,
    "attainment.threshold_crossed.v1": ThresholdCrossed,
    "target.set.v1": TargetSet,
    "target.adjusted.v1": TargetAdjusted,
    "adjustment.requested.v1": AdjustmentRequested,
    "adjustment.decided.v1": AdjustmentDecided,
    "alert.raised.v1": AlertRaised,
    "alert.resolved.v1": AlertResolved,
    "corrective_action.opened.v1": CorrectiveActionOpened,
    "corrective_action.completed.v1": CorrectiveActionCompleted,
    "period.closed.v1": PeriodClosed,
    "opportunity.stage_changed.v1": OpportunityStageChanged,
    "opportunity.closed.v1": OpportunityClosed,
    "forecast.submitted.v1": ForecastSubmitted,
    "incentive.finalised.v1": IncentiveFinalised,
}


class CloudEvent(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """A CloudEvents 1.0 JSON envelope; `sequence` (the feed cursor) and `ledgerposition`
    (the domain event's place in the log) are extension attributes."""

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str = SOURCE
    type: str
    time: datetime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    sequence: int
    ledgerposition: int
    data: T


def event_id(domain_event_id: uuid.UUID, kind: str, key: str) -> uuid.UUID:
    """The same domain event always yields the same public ids, rebuild after rebuild."""
    return uuid.uuid5(NAMESPACE, f"{domain_event_id}/{kind}/{key}")


def schemas() -> dict[str, Any]:
    """A JSON Schema (2020-12) per event type: the envelope with that type's data."""
    result = {}
    for kind, data in TYPES.items():
        schema = msgspec.json.schema(CloudEvent[data])  # type: ignore[valid-type]
        envelope = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]
        envelope["properties"]["type"]["const"] = kind
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = kind
        result[kind] = schema
    return result
