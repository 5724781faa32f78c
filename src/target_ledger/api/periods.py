"""/v1/periods: close a period for a subtree; reopen it with a reason and an approval."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from target_ledger.api.schemas import Input, NodeId, PeriodKey, Struct
from target_ledger.application import Command, periods


class Subtree(Input):
    node: NodeId


class Reopen(Input):
    node: NodeId
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class ClosureView(Struct):
    period: str
    node: str
    starts_on: date
    ends_on: date
    status: str
    reopen_requested_by: str | None
    reopen_reason: str | None


class Changed(Struct):
    period: str
    node: str
    position: int


class PeriodController(Controller):
    path = "/v1/periods"
    tags = ["periods"]

    @get("/", summary="Closures: which periods are closed (or were reopened) for which subtrees")
    async def closures(
        self,
        command: NamedDependency[Command],
        period: Annotated[PeriodKey | None, QueryParameter()] = None,
        node: Annotated[NodeId | None, QueryParameter()] = None,
    ) -> list[ClosureView]:
        return [ClosureView(**c) for c in await periods.closures(command, period=period, node=node)]

    @post("/{period:str}/close", status_code=200, summary="Freeze the period's targets, adjustments and actuals")
    async def close(self, period: FromPath[str], data: JSONBody[Subtree], command: NamedDependency[Command]) -> Changed:
        position = await periods.close(command, period, data.node)
        return Changed(period=command.calendar.parse(period).key, node=data.node, position=position)

    @post("/{period:str}/reopen", status_code=200, summary="Ask to reopen a closed period, saying why")
    async def reopen(self, period: FromPath[str], data: JSONBody[Reopen], command: NamedDependency[Command]) -> Changed:
        position = await periods.request_reopen(command, period, data.node, data.reason)
        return Changed(period=command.calendar.parse(period).key, node=data.node, position=position)

    @post("/{period:str}/reopen/approval", status_code=200, summary="A manager above the node approves the reopen")
    async def approve(
        self, period: FromPath[str], data: JSONBody[Subtree], command: NamedDependency[Command]
    ) -> Changed:
        position = await periods.approve_reopen(command, period, data.node)
        return Changed(period=command.calendar.parse(period).key, node=data.node, position=position)
