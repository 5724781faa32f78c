"""Bodies of the pipeline routes: opportunities, stages, the funnel, forecasts and their submissions."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from target_ledger.api.schemas import Amount, Input, MetricName, NodeId, PeriodKey, ScopeMap, Struct, Text
from target_ledger.domain.opportunity import LOSS_REASONS

StageName = Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["proposal"])]
Probability = Annotated[Decimal, msgspec.Meta(description='a fraction from 0 to 1, e.g. "0.5"')]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Day = date  # a field named `date` hides the type in its class


class OpenOpportunity(Input):
    person: NodeId
    name: Title
    amount: Amount
    close_on: date
    metric: MetricName = "revenue"
    scope: ScopeMap = {}
    stage: StageName | None = None
    probability: Probability | None = None


class StageChange(Input):
    stage: StageName
    probability: Probability | None = None


class Revision(Input):
    reason: Text
    amount: Amount | None = None
    close_on: date | None = None


class Win(Input):
    amount: Amount | None = None
    date: Day | None = None


class Loss(Input):
    reason: Annotated[str, msgspec.Meta(max_length=32, description=f"one of {', '.join(LOSS_REASONS)}")]
    note: Text = ""


class OpportunityView(Struct):
    id: UUID
    person: str
    name: str
    metric: str
    scope: dict[str, str]
    amount: Decimal
    close_on: date
    stage: str
    probability: Decimal
    status: str
    opened_by: str
    won_amount: Decimal | None
    actual_id: UUID | None
    closed_on: date | None
    loss_reason: str
    loss_note: str
    version: int
    position: int | None = None
    duplicate: bool = False


class OpportunityItem(Struct):
    opportunity_id: UUID
    person: str
    name: str
    metric: str
    scope: dict[str, str]
    amount: Decimal  # expected
    close_on: date
    stage: str
    probability: Decimal
    status: str
    opened_at: datetime
    stage_since: datetime
    closed_on: date | None
    won_amount: Decimal | None
    loss_reason: str | None
    stages: list[str]  # every stage it entered, in order
    opened_by: str | None  # who opened it (they read it wherever they move)


class OpportunityPage(Struct):
    items: list[OpportunityItem]
    next: str | None  # the next page's cursor; null on the last page


class StageBody(Input):
    name: StageName
    probability: Probability


class Stages(Input):
    stages: Annotated[list[StageBody], msgspec.Meta(max_length=20)]


class StagesView(Struct):
    stages: list[StageBody]
    position: int | None = None


class StageRowView(Struct):
    stage: str
    count: int
    value: Decimal
    average_age_days: Decimal | None
    conversion: Decimal | None
    configured: bool = True  # false: a stage removed from the configuration, where open deals still stand


class SlippingView(Struct):
    opportunity_id: UUID
    person: str
    name: str
    stage: str
    amount: Decimal
    close_on: date
    days_late: int


class FunnelView(Struct):
    node: str
    period: str
    metric: str
    stages: list[StageRowView]
    won_count: int
    won_value: Decimal
    lost_count: int
    lost_value: Decimal
    slipping: list[SlippingView]


class SubmissionView(Struct):
    commit: Decimal
    best_case: Decimal
    note: str
    submitted_by: str
    submitted_at: datetime


class ForecastView(Struct):
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    target: Decimal | None
    actual: Decimal
    projected: Decimal | None
    pipeline: Decimal
    weighted_pipeline: Decimal
    forecast: Decimal
    forecast_pct: Decimal | None
    gap_after_forecast: Decimal | None
    open_opportunities: int
    submitted: SubmissionView | None
    position: int | None


class SubmitForecast(Input):
    node: NodeId
    period: PeriodKey
    commit: Amount
    best_case: Amount
    metric: MetricName = "revenue"
    note: Text = ""


class ForecastSubmitted(Struct):
    node: str
    metric: str
    period: str
    submissions: int
    position: int


class SubmissionsView(Struct):
    node: str
    metric: str
    period: str
    as_of: date | None
    submissions: list[SubmissionView]
    latest: SubmissionView | None
    closed: bool
    actual: Decimal | None
    accuracy: Decimal | None
