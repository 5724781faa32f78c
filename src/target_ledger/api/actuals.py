"""/v1/actuals: record an actual result."""

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from target_ledger.api.schemas import ActualRecorded, RecordActual
from target_ledger.application import Command, actuals


class ActualController(Controller):
    path = "/v1/actuals"
    tags = ["actuals"]

    @post(
        "/",
        status_code=201,
        summary="Record an actual; re-sending the same source and external_ref changes nothing",
    )
    async def record_actual(
        self, data: JSONBody[RecordActual], command: NamedDependency[Command]
    ) -> Response[ActualRecorded]:
        actual_id, position, duplicate = await actuals.record_actual(
            command,
            person=data.person,
            metric=data.metric,
            occurred_on=data.date,
            value=data.value,
            source=data.source,
            external_ref=data.external_ref,
            scope=dict(data.scope),
        )
        body = ActualRecorded(id=actual_id, position=position, duplicate=duplicate)
        return Response(body, status_code=200 if duplicate else 201)
