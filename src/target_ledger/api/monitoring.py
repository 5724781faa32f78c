"""/v1/alerts, /v1/alert-rules and a target's follow-up plan and reports."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from projections import alerts as alerts_model
from target_ledger.api.attainment import MinPosition, wait_for
from target_ledger.api.schemas import Input, MetricName, NodeId, Struct, Text
from target_ledger.application import Command, alerts
from target_ledger.domain.alert import RULES
from target_ledger.domain.alert_rules import Settings

RuleName = Annotated[str, msgspec.Meta(pattern=f"^({'|'.join(RULES)})$", description=f"one of {', '.join(RULES)}")]
Percent = Annotated[Decimal, msgspec.Meta(description="a percentage, 0 to 1000")]


class AlertView(Struct):
    alert_id: UUID
    rule: str
    subject: str
    target_id: UUID | None
    node: str
    metric: str
    period: str
    status: str
    value: Decimal | None
    threshold: Decimal | None
    message: str
    assignee: str
    acknowledged_by: str | None
    ack_comment: str | None
    occurrences: int
    raised_at: datetime
    resolved_at: datetime | None
    history: list[dict[str, Any]]


class Acknowledgement(Input):
    comment: Text = ""


class Acknowledged(Struct):
    alert_id: UUID
    acknowledged_by: str
    position: int


class RuleRefinement(Input):
    node: NodeId | None = None
    metric: MetricName | None = None
    enabled: bool | None = None
    threshold: Percent | None = None
    weeks: Annotated[int, msgspec.Meta(ge=1, le=52)] | None = None
    share: Percent | None = None
    margin: Percent | None = None
    days: Annotated[int, msgspec.Meta(ge=1, le=52)] | None = None


class FollowUpPlan(Input):
    cadence: Literal["daily", "weekly", "monthly"]
    reporter: NodeId
    supervisor: NodeId


class FollowUpReport(Input):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class Appended(Struct):
    position: int


class MonitoringController(Controller):
    path = "/v1"
    tags = ["alerts"]

    @get("/alerts", summary="Alerts of a subtree; `assignee=me`: those routed to you")
    async def list_alerts(
        self,
        state: State,
        command: NamedDependency[Command],
        node: Annotated[NodeId | None, QueryParameter(description="this node and everything below it")] = None,
        status: Annotated[str | None, QueryParameter(pattern="^(open|resolved)$")] = None,
        assignee: Annotated[str | None, QueryParameter(pattern="^me$")] = None,
        min_position: MinPosition = None,
    ) -> list[AlertView]:
        await wait_for(state, alerts_model.NAME, min_position)
        found = await alerts.list_alerts(command, node=node, status=status, mine=assignee == "me")
        return [msgspec.convert(a, AlertView) for a in found]

    @post("/alerts/{alert_id:uuid}/acknowledgement", status_code=200, summary="The manager it is routed to takes it")
    async def acknowledge(
        self, alert_id: FromPath[UUID], data: JSONBody[Acknowledgement], command: NamedDependency[Command]
    ) -> Acknowledged:
        alert, position = await alerts.acknowledge(command, alert_id, data.comment)
        return Acknowledged(alert_id=alert.id, acknowledged_by=command.actor.subject, position=position)

    @get("/alert-rules", summary="The built-in rules' defaults and every refinement by subtree and metric")
    async def rules(self, command: NamedDependency[Command]) -> dict[str, Any]:
        return await alerts.rules(command)

    @put("/alert-rules/{rule:str}", status_code=200, summary="Refine a rule for a subtree and/or metric")
    async def configure(
        self, rule: FromPath[RuleName], data: JSONBody[RuleRefinement], command: NamedDependency[Command]
    ) -> Appended:
        given = msgspec.structs.asdict(data)
        node, metric = given.pop("node"), given.pop("metric")
        return Appended(position=await alerts.configure_rule(command, rule, node, metric, Settings(**given)))

    @put("/targets/{target_id:uuid}/follow-up-plan", status_code=200, summary="Who reports how often, who supervises")
    async def plan(
        self, target_id: FromPath[UUID], data: JSONBody[FollowUpPlan], command: NamedDependency[Command]
    ) -> Appended:
        _, position = await alerts.plan_follow_up(command, target_id, data.cadence, data.reporter, data.supervisor)
        return Appended(position=position)

    @post("/targets/{target_id:uuid}/follow-ups", status_code=201, summary="The reporter's follow-up report")
    async def report(
        self, target_id: FromPath[UUID], data: JSONBody[FollowUpReport], command: NamedDependency[Command]
    ) -> Appended:
        _, position = await alerts.report_follow_up(command, target_id, data.note)
        return Appended(position=position)
