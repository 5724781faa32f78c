"""/v1/attainment: target, actual, attainment % and gap from the read model."""

from typing import Annotated

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromQuery, QueryParameter

from projections import attainment
from projections.runner import caught_up, tracked
from target_ledger.api.schemas import Attainment, AttainmentRow, MetricName, NodeId, PeriodKey
from target_ledger.domain.access import Principal, check_can_read


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
        actor: NamedDependency[Principal],
        node: FromQuery[NodeId],
        metric: FromQuery[MetricName | None] = None,
        period: FromQuery[PeriodKey | None] = None,
        min_position: Annotated[
            int | None, QueryParameter(ge=0, description="wait until the read model has this position")
        ] = None,
    ) -> Response[Attainment]:
        check_can_read(actor, node)
        await wait_for(state, attainment.NAME, min_position)
        async with state.pool.acquire() as conn:
            position = (await tracked(conn, attainment.NAME)).position
            rows = await attainment.fetch_attainment(conn, node=node, metric=metric, period=period)
        body = Attainment(position=position, rows=[AttainmentRow(**r) for r in rows])
        return Response(body, headers={"X-Read-Position": str(position)})
