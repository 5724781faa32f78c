"""/v1/incentive-plans and /v1/payouts: plans asked and approved, payouts read, explained, exported."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from projections import attainment as attainment_model
from projections import incentives as model
from target_ledger.api import payout_export
from target_ledger.api.adjustments import Decision
from target_ledger.api.attainment import AcceptLanguage, MinPosition, wait_for
from target_ledger.api.schemas import Amount, ExplainedEvent, Input, MetricName, NodeId, PeriodKey, Struct
from target_ledger.application import Command, incentives, payouts
from target_ledger.application.payouts import Payout
from target_ledger.domain.incentive import IncentivePlan, Terms, Tier

Justification = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class TierInput(Input):
    """Attainment (a fraction of the target) from `from` (inclusive) up to `to` (exclusive; null:
    no end) earns `multiplier` times the base."""

    from_: Amount = msgspec.field(name="from")
    multiplier: Amount
    to: Amount | None = None


class TermsInput(Input, kw_only=True):
    """Exactly one of base_amount (money per person) and rate_of_actual (a fraction: 0.05 is 5 %)."""

    tiers: Annotated[list[TierInput], msgspec.Meta(max_length=20)]
    base_amount: Amount | None = None
    rate_of_actual: Amount | None = None
    cap: Amount | None = None
    team_award: Amount | None = None
    justification: Justification


class RequestPlan(TermsInput, kw_only=True):
    node: NodeId
    metric: MetricName
    period: PeriodKey


class TierView(Struct):
    from_: Decimal = msgspec.field(name="from")
    to: Decimal | None
    multiplier: Decimal


class TermsView(Struct):
    tiers: list[TierView]
    base_amount: Decimal | None
    rate_of_actual: Decimal | None
    cap: Decimal | None
    team_award: Decimal | None


class PlanView(Struct):
    id: UUID
    node: str
    metric: str
    period: str
    status: str  # approved while terms are in force; before, the latest request's state
    request_status: Literal["pending", "approved", "rejected", "withdrawn"]  # of the latest request
    plan_version: int
    terms: TermsView | None
    pending: TermsView | None
    requester: str
    position: int | None = None


class PayoutView(Struct):
    plan_id: UUID
    plan_node: str
    plan_version: int
    person: str
    metric: str
    period: str
    status: Literal["provisional", "final"]
    target_id: UUID
    target: Decimal
    actual: Decimal
    attainment_pct: Decimal | None
    tier: int | None
    multiplier: Decimal | None
    earned: Decimal
    cap_applied: bool
    team_award: Decimal
    team_attainment_pct: Decimal | None
    team_reached: bool
    amount: Decimal
    computation: str
    finalised_position: int | None


class Payouts(Struct):
    as_of: datetime
    payouts: list[PayoutView]


class PayoutExplanation(Struct):
    payout: PayoutView
    events: list[ExplainedEvent]


def _terms(data: TermsInput) -> Terms:
    tiers = [Tier(from_=t.from_, to=t.to, multiplier=t.multiplier) for t in data.tiers]
    return Terms(
        tiers=tiers,
        base_amount=data.base_amount,
        rate_of_actual=data.rate_of_actual,
        cap=data.cap,
        team_award=data.team_award,
    )


def _terms_view(terms: Terms | None) -> TermsView | None:
    return None if terms is None else msgspec.convert(msgspec.to_builtins(terms), TermsView)


def _view(plan: IncentivePlan, position: int | None, status_code: int = 200) -> Response[PlanView]:
    body = PlanView(
        id=plan.id,
        node=plan.node,
        metric=plan.metric,
        period=plan.period,
        status=plan.status,
        request_status=plan.request_status,
        plan_version=plan.plan_version,
        terms=_terms_view(plan.terms),
        pending=_terms_view(plan.pending),
        requester=plan.requester,
        position=position,
    )
    return Response(body, status_code=status_code, headers={"ETag": f'"{plan.version}"'})


def payout_view(p: Payout) -> PayoutView:
    return PayoutView(
        **msgspec.structs.asdict(p.payout),
        plan_id=p.plan_id,
        plan_node=p.plan_node,
        plan_version=p.plan_version,
        metric=p.metric,
        period=p.period,
        status=p.status,  # type: ignore[arg-type]
        team_attainment_pct=p.team_attainment_pct,
        team_reached=p.team_reached,
        finalised_position=p.finalised_position,
    )


async def _fresh(state: State, min_position: int | None) -> None:
    """Payouts read plans and finals from one read model, attainment from another: both as fresh."""
    for projection in (model.NAME, attainment_model.NAME):
        await wait_for(state, projection, min_position)


class IncentivePlanController(Controller):
    path = "/v1/incentive-plans"
    tags = ["incentives"]

    @post("/", status_code=201, summary="Request an incentive plan for a node's people (pending until approved)")
    async def request(self, data: JSONBody[RequestPlan], command: NamedDependency[Command]) -> Response[PlanView]:
        plan, position = await incentives.request_plan(
            command,
            node=data.node,
            metric=data.metric,
            period=data.period,
            terms=_terms(data),
            justification=data.justification,
        )
        return _view(plan, position, 201)

    @get("/{plan_id:uuid}", summary="A plan: its terms in force, and the change waiting for a decision")
    async def read(self, plan_id: FromPath[UUID], command: NamedDependency[Command]) -> Response[PlanView]:
        return _view(await incentives.read_plan(command, plan_id), None)

    @post("/{plan_id:uuid}/changes", status_code=201, summary="Request a change of a plan's terms")
    async def change(
        self, plan_id: FromPath[UUID], data: JSONBody[TermsInput], command: NamedDependency[Command]
    ) -> Response[PlanView]:
        plan, position = await incentives.request_change(command, plan_id, _terms(data), data.justification)
        return _view(plan, position, 201)

    @post("/{plan_id:uuid}/approve", status_code=200, summary="Approve the waiting change: its terms are in force")
    async def approve(self, plan_id: FromPath[UUID], command: NamedDependency[Command]) -> Response[PlanView]:
        return _view(*await incentives.approve(command, plan_id))

    @post("/{plan_id:uuid}/reject", status_code=200, summary="Reject the waiting change, saying why")
    async def reject(
        self, plan_id: FromPath[UUID], data: JSONBody[Decision], command: NamedDependency[Command]
    ) -> Response[PlanView]:
        return _view(*await incentives.reject(command, plan_id, data.reason))

    @post("/{plan_id:uuid}/withdraw", status_code=200, summary="The requester withdraws the waiting request")
    async def withdraw(
        self, plan_id: FromPath[UUID], data: JSONBody[Decision], command: NamedDependency[Command]
    ) -> Response[PlanView]:
        return _view(*await incentives.withdraw(command, plan_id, data.reason))

    @get(
        "/{plan_id:uuid}/payouts/{person:str}",
        summary="One person's payout under a plan, and the stored events it comes from",
        description="The plan's events (request, approval, finalisations), the person's target's (and its "
        "adjustments'), and each actual counted, oldest first, with their hash chain. 403 unless you may read "
        "the person; 404 if the plan pays them nothing.",
    )
    async def explain(
        self,
        state: State,
        plan_id: FromPath[UUID],
        person: FromPath[NodeId],
        command: NamedDependency[Command],
        min_position: MinPosition = None,
    ) -> PayoutExplanation:
        await _fresh(state, min_position)
        found, records = await payouts.explain(command, plan_id, person)
        return PayoutExplanation(payout=payout_view(found), events=[ExplainedEvent(**r) for r in records])


class PayoutController(Controller):
    path = "/v1/payouts"
    tags = ["incentives"]

    @get(
        "/",
        summary="Payouts of a node's people under the approved plans of a metric and period",
        description="A rep sees their own, a manager their subtree's. `provisional` while the period is open "
        "for the plan's node; `final` once its close finalised them.",
    )
    async def read(
        self,
        state: State,
        command: NamedDependency[Command],
        node: FromQuery[NodeId],
        metric: FromQuery[MetricName],
        period: FromQuery[PeriodKey],
        min_position: MinPosition = None,
    ) -> Payouts:
        await _fresh(state, min_position)
        found = await payouts.payouts(command, node=node, metric=metric, period=period)
        return Payouts(as_of=command.clock(), payouts=[payout_view(p) for p in found])

    @get(
        "/export",
        summary="Payouts for payroll, as CSV or an xlsx workbook",
        description="The rows of GET /v1/payouts, one per person and plan, with a total.",
    )
    async def export(
        self,
        state: State,
        command: NamedDependency[Command],
        node: FromQuery[NodeId],
        metric: FromQuery[MetricName],
        period: FromQuery[PeriodKey],
        format: Annotated[Literal["csv", "xlsx"], QueryParameter(description="csv or xlsx (required)")],
        min_position: MinPosition = None,
        accept_language: AcceptLanguage = None,
    ) -> Response[Any]:
        await _fresh(state, min_position)
        rows = [payout_view(p) for p in await payouts.payouts(command, node=node, metric=metric, period=period)]
        name = f"payouts-{node}-{metric}-{period}"
        return payout_export.answer(rows, format, accept_language, name)
