"""/v1/attainment: target, actual, attainment % and gap from the read model."""

from typing import Annotated

import asyncpg
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromQuery, QueryParameter

from projections import attainment
from projections.runner import caught_up, tracked
from target_ledger.api.schemas import Attainment, AttainmentRow, MetricName, NodeId, PeriodKey
from target_ledger.application import Command
from target_ledger.application.reads import authorize_read

MinPosition = Annotated[
    int | None,
    QueryParameter(ge=0, description="wait (bounded) until the read model has applied this position"),
]


async def read_position(conn: asyncpg.Connection, projection: str) -> int:
    """The position of the last event the read model has applied."""
    return (await tracked(conn, projection)).position


async def wait_for(state: State, projection: str, min_position: int | None) -> None:
    """Hold the read until the read model has applied min_position, or answer 503."""
    if min_position is None:
        return
    settings = state.settings
    if not await caught_up(
        state.pool,
        state.store,
        projection,
        min_position,
        settings.min_position_timeout,
        state.progress,
    ):
        raise ServiceUnavailableException(
            f"the {projection} read model has not reached position {min_position} yet",
            headers={"Retry-After": "1"},
        )


class AttainmentController(Controller):
    path = "/v1/attainment"
    tags = ["attainment"]

    @get("/", summary="Attainment of a node's targets")
    async def read(
        self,
        state: State,
        command: NamedDependency[Command],
        node: FromQuery[NodeId],
        metric: FromQuery[MetricName | None] = None,
        period: FromQuery[PeriodKey | None] = None,
        min_position: MinPosition = None,
    ) -> Response[Attainment]:
        await authorize_read(command, node)
        await wait_for(state, attainment.NAME, min_position)
        async with state.pool.acquire() as conn:
            position = await read_position(conn, attainment.NAME)
            rows = await attainment.fetch_attainment(conn, node=node, metric=metric, period=period)
        body = Attainment(position=position, rows=[AttainmentRow(**r) for r in rows])
        return Response(body, headers={"X-Read-Position": str(position)})
