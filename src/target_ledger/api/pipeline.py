"""/v1/opportunities, /v1/pipeline/stages, /v1/funnel, /v1/forecast and /v1/forecasts."""

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from projections import attainment as attainment_model
from projections import pipeline as pipeline_model
from target_ledger.api import pages
from target_ledger.api.attainment import MinPosition, ScopeQuery, parse_scope, wait_for
from target_ledger.api.openapi import answers
from target_ledger.api.pipeline_schemas import (
    ForecastSubmitted,
    ForecastView,
    FunnelView,
    Loss,
    OpenOpportunity,
    OpportunityItem,
    OpportunityPage,
    OpportunityView,
    Revision,
    StageBody,
    StageChange,
    Stages,
    StagesView,
    SubmissionsView,
    SubmitForecast,
    Win,
)
from target_ledger.application import Command, forecasts, opportunities, pipeline
from target_ledger.domain.opportunity import Opportunity
from target_ledger.domain.pipeline_stages import Stage

NodeQuery = Annotated[str, QueryParameter(max_length=64, description="this node and everything below it")]
PeriodQuery = Annotated[str, QueryParameter(max_length=8, description="e.g. 2026-Q3")]
MetricQuery = Annotated[str, QueryParameter(max_length=64, description="revenue unless named")]


def _view(
    opportunity: Opportunity, position: int | None, status_code: int = 200, *, duplicate: bool = False
) -> Response[OpportunityView]:
    o = opportunity
    body = OpportunityView(
        id=o.id,
        person=o.person,
        name=o.name,
        metric=o.metric,
        scope=o.scope,
        amount=o.amount,
        close_on=o.close_on,
        stage=o.stage,
        probability=o.probability,
        status=o.status,
        opened_by=o.opened_by,
        won_amount=o.won_amount,
        actual_id=o.actual_id,
        closed_on=o.closed_on,
        loss_reason=o.loss_reason,
        loss_note=o.loss_note,
        version=o.version,
        position=position,
        duplicate=duplicate,
    )
    return Response(body, status_code=status_code, headers={"ETag": f'"{o.version}"'})


class OpportunityController(Controller):
    path = "/v1/opportunities"
    tags = ["pipeline"]

    @post("/", status_code=201, summary="Open an opportunity for a person: expected amount, close date, stage")
    async def open(self, data: JSONBody[OpenOpportunity], command: NamedDependency[Command]) -> Response:
        opening = opportunities.Opening(**{**msgspec.structs.asdict(data), "scope": dict(data.scope)})
        opportunity, position = await opportunities.open_opportunity(command, opening)
        return _view(opportunity, position, 201)

    @get(
        "/",
        summary="The opportunities of a subtree the reader may read one by one, closing in a period if named",
        description="Soonest first (by the day it closes: expected, or closed), a page at a time; only the"
        " deals GET /v1/opportunities/{id} would show the reader (whoever may read the deal's person, and"
        " its opener).",
    )
    async def search(
        self,
        state: State,
        command: NamedDependency[Command],
        node: NodeQuery,
        period: Annotated[str | None, QueryParameter(max_length=8, description="closing in it")] = None,
        status: Annotated[str | None, QueryParameter(pattern="^(open|won|lost)$")] = None,
        metric: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: pages.Limit = 100,
        cursor: pages.CursorParam = None,
        min_position: MinPosition = None,
    ) -> OpportunityPage:
        cursors = pages.walk(state, "opportunities", node=node, period=period, status=status, metric=metric)
        after = cursors.after(cursor, tuple[date, UUID])
        await wait_for(state, pipeline_model.NAME, min_position)
        query = pipeline.OpportunityQuery(node=node, period=period, status=status, metric=metric)
        rows = await pipeline.list_opportunities(command, query, after=after, limit=limit + 1)
        items = msgspec.convert(rows[:limit], list[OpportunityItem])
        key = lambda r: (r["closed_on"] or r["close_on"], r["opportunity_id"])  # noqa: E731
        return OpportunityPage(items=items, next=cursors.next(rows, limit, key))

    @get("/{opportunity_id:uuid}", summary="An opportunity as it stands")
    async def read(self, opportunity_id: FromPath[UUID], command: NamedDependency[Command]) -> Response:
        return _view(await opportunities.read_opportunity(command, opportunity_id), None)

    @post("/{opportunity_id:uuid}/stage", status_code=200, summary="Move it to a stage (its default probability)")
    async def stage(
        self, opportunity_id: FromPath[UUID], data: JSONBody[StageChange], command: NamedDependency[Command]
    ) -> Response:
        opportunity, position = await opportunities.change_stage(command, opportunity_id, data.stage, data.probability)
        return _view(opportunity, position)

    @post("/{opportunity_id:uuid}/revision", status_code=200, summary="A new expected amount or close date, and why")
    async def revision(
        self, opportunity_id: FromPath[UUID], data: JSONBody[Revision], command: NamedDependency[Command]
    ) -> Response:
        changed = await opportunities.revise(command, opportunity_id, data.amount, data.close_on, data.reason)
        return _view(*changed)

    @post(
        "/{opportunity_id:uuid}/win",
        status_code=201,
        summary="Won: records the actual (source `pipeline`); the same win again is a 200, `duplicate` true",
        responses=answers(OpportunityView, 201)
        | answers(OpportunityView, 200, description="won before with the same content: `duplicate: true`"),
    )
    async def win(
        self, opportunity_id: FromPath[UUID], data: JSONBody[Win], command: NamedDependency[Command]
    ) -> Response:
        won = await opportunities.win(command, opportunity_id, data.amount, data.date)
        return _view(won.opportunity, won.position, 200 if won.duplicate else 201, duplicate=won.duplicate)

    @post("/{opportunity_id:uuid}/loss", status_code=200, summary="Lost, with a reason category and a note")
    async def loss(
        self, opportunity_id: FromPath[UUID], data: JSONBody[Loss], command: NamedDependency[Command]
    ) -> Response:
        return _view(*await opportunities.lose(command, opportunity_id, data.reason, data.note))


class PipelineController(Controller):
    path = "/v1"
    tags = ["pipeline"]

    @get("/pipeline/stages", summary="The pipeline's stages in order, each with its default probability")
    async def stages(self, command: NamedDependency[Command]) -> StagesView:
        settings = await opportunities.read_stages(command)
        return StagesView(stages=[StageBody(name=s.name, probability=s.probability) for s in settings.stages])

    @put("/pipeline/stages", status_code=200, summary="Configure the stages and their default probabilities (admin)")
    async def configure(self, data: JSONBody[Stages], command: NamedDependency[Command]) -> StagesView:
        configured = [Stage(name=s.name, probability=s.probability) for s in data.stages]
        position = await opportunities.configure_stages(command, configured)
        return StagesView(stages=data.stages, position=position)

    @get("/funnel", summary="Count and value per stage, conversion, age in stage and slipping deals of a subtree")
    async def funnel(
        self,
        state: State,
        command: NamedDependency[Command],
        node: NodeQuery,
        period: PeriodQuery,
        metric: MetricQuery = "revenue",
        min_position: MinPosition = None,
    ) -> FunnelView:
        await wait_for(state, pipeline_model.NAME, min_position)
        result, late = await pipeline.read_funnel(command, node=node, period=period, metric=metric)
        return msgspec.convert(
            {"node": node, "period": period, "metric": metric, **vars(result), "slipping": late},
            FunnelView,
            from_attributes=True,
        )

    @get("/forecast", summary="Actual to date + open pipeline weighted by probability, beside the run rate and target")
    async def forecast(
        self,
        state: State,
        command: NamedDependency[Command],
        node: NodeQuery,
        period: PeriodQuery,
        metric: MetricQuery = "revenue",
        scope_filter: ScopeQuery = None,
        min_position: MinPosition = None,
    ) -> ForecastView:
        for model in (pipeline_model.NAME, attainment_model.NAME):  # opportunities, and actuals to date
            await wait_for(state, model, min_position)
        found = await pipeline.read_forecast(
            command, node=node, metric=metric, period=period, scope=parse_scope(scope_filter)
        )
        return msgspec.convert(found, ForecastView, from_attributes=True)

    @post("/forecasts", status_code=201, summary="Submit a commit and best case for a node and period (managers)")
    async def submit(self, data: JSONBody[SubmitForecast], command: NamedDependency[Command]) -> ForecastSubmitted:
        forecast, position = await forecasts.submit(
            command,
            node=data.node,
            metric=data.metric,
            period=data.period,
            commit=data.commit,
            best_case=data.best_case,
            note=data.note,
        )
        n = len(forecast.submissions)
        return ForecastSubmitted(
            node=forecast.node, metric=forecast.metric, period=forecast.period, submissions=n, position=position
        )

    @get("/forecasts", summary="The submissions as known at the end of a day; accuracy once the period is closed")
    async def submissions(
        self,
        state: State,
        command: NamedDependency[Command],
        node: NodeQuery,
        period: PeriodQuery,
        metric: MetricQuery = "revenue",
        as_of: Annotated[date | None, QueryParameter(description="as recorded by the end of this day (UTC)")] = None,
        min_position: MinPosition = None,
    ) -> SubmissionsView:
        await wait_for(state, attainment_model.NAME, min_position)  # a closed period's actual
        known = await forecasts.known_on(command, node=node, metric=metric, period=period, as_of=as_of)
        return msgspec.convert(known, SubmissionsView, from_attributes=True)
