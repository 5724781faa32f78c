"""/v1/targets: set a target, read it."""

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from target_ledger.api.schemas import SetTarget, TargetView
from target_ledger.application import Command, targets
from target_ledger.domain.access import Principal, check_can_read
from target_ledger.domain.target import Target
from target_ledger.eventstore import EventStore


def _view(target: Target, position: int | None = None) -> Response[TargetView]:
    body = TargetView(
        id=target.id,
        node=target.node,
        metric=target.metric,
        period=target.period,
        value=target.value,
        rationale=target.rationale,
        version=target.version,
        position=position,
    )
    return Response(body, headers={"ETag": f'"{target.version}"'})


class TargetController(Controller):
    path = "/v1/targets"
    tags = ["targets"]

    @post("/", status_code=201, summary="Set a target for (node, metric, period)")
    async def set_target(
        self, data: JSONBody[SetTarget], command: NamedDependency[Command]
    ) -> Response[TargetView]:
        target, position = await targets.set_target(
            command,
            node=data.node,
            metric=data.metric,
            period=data.period,
            value=data.value,
            rationale=data.rationale,
        )
        response = _view(target, position)
        response.headers["Location"] = f"/v1/targets/{target.id}"
        return response

    @get("/{target_id:uuid}", summary="A target as it stands now")
    async def get_target(
        self, target_id: FromPath[UUID], store: NamedDependency[EventStore], actor: NamedDependency[Principal]
    ) -> Response[TargetView]:
        target = await targets.get_target(store, target_id)
        check_can_read(actor, target.node)
        return _view(target)
