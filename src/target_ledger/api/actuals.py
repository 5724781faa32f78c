"""/v1/actuals: record one or a batch, reverse or correct a wrong one."""

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from target_ledger.api import lists
from target_ledger.api.errors import field_and_message
from target_ledger.api.openapi import answers
from target_ledger.api.schemas import (
    ActualRecorded,
    ActualsRecorded,
    Correction,
    Position,
    RecordActual,
    RecordActuals,
    Reversal,
)
from target_ledger.application import Command, actuals


def as_input(item: RecordActual) -> actuals.ActualInput:
    return actuals.ActualInput(
        person=item.person,
        metric=item.metric,
        occurred_on=item.date,
        value=item.value,
        source=item.source,
        external_ref=item.external_ref,
        scope=dict(item.scope),
    )


def _recorded(outcome: actuals.Outcome) -> ActualRecorded:
    return ActualRecorded(id=outcome.actual_id, position=outcome.position, duplicate=outcome.duplicate)


def _answer(outcome: actuals.Outcome) -> Response[ActualRecorded]:
    return Response(_recorded(outcome), status_code=200 if outcome.duplicate else 201)


def _decode_items(raw: list[dict[str, Any]]) -> tuple[list[actuals.ActualInput], list[int], list[actuals.ItemError]]:
    """Decode every item, keeping each one's index and every malformed one's error, so the
    rules can still be checked on the rest and every bad item reported at once."""
    try:  # the usual case, all well formed: one conversion for the whole batch
        return [as_input(item) for item in msgspec.convert(raw, list[RecordActual])], list(range(len(raw))), []
    except msgspec.ValidationError:
        pass
    items, indexes, errors = [], [], []
    for index, item in enumerate(raw):
        try:
            items.append(as_input(msgspec.convert(item, RecordActual)))
            indexes.append(index)
        except msgspec.ValidationError as e:
            errors.append(actuals.ItemError(index, *field_and_message(str(e))))
    return items, indexes, errors


class ActualController(Controller):
    path = "/v1/actuals"
    tags = ["actuals"]
    list_actuals = lists.list_actuals

    @post(
        "/",
        status_code=201,
        summary="Record an actual; re-sending the same source and external_ref changes nothing",
        description="201 stored; 200 `duplicate: true` when its source and external_ref hold the same actual"
        " already; 409 naming `external_ref`, with the `stored` actual, when they hold another content.",
        responses=answers(ActualRecorded, 200, description="sent before with the same content: `duplicate: true`"),
    )
    async def record_actual(
        self, data: JSONBody[RecordActual], command: NamedDependency[Command]
    ) -> Response[ActualRecorded]:
        return _answer(await actuals.record_actual(command, as_input(data)))

    @post(
        "/batch",
        status_code=201,
        summary="Record up to 10,000 actuals: all or nothing; the 422 lists every bad item by index",
    )
    async def record_batch(self, data: JSONBody[RecordActuals], command: NamedDependency[Command]) -> ActualsRecorded:
        items, indexes, errors = _decode_items(data.items)
        outcomes = await actuals.record_actuals(command, items, indexes=indexes, errors=errors)
        duplicates = sum(o.duplicate for o in outcomes)
        return ActualsRecorded(
            stored=len(outcomes) - duplicates, duplicates=duplicates, items=[_recorded(o) for o in outcomes]
        )

    @post("/{actual_id:uuid}/reversal", status_code=201, summary="Reverse a wrong actual, saying why")
    async def reverse(
        self, actual_id: FromPath[UUID], data: JSONBody[Reversal], command: NamedDependency[Command]
    ) -> Position:
        return Position(position=await actuals.reverse_actual(command, actual_id, data.reason))

    @post(
        "/{actual_id:uuid}/correction",
        status_code=201,
        summary="Correct an actual: its reversal and the new actual in one append",
        description="What is not given is kept. 201 with the new actual's id; 200 `duplicate: true` when this"
        " correction was made already; 409 when the actual was reversed or corrected otherwise, or its old or"
        " new date lies in a closed period.",
    )
    async def correct(
        self, actual_id: FromPath[UUID], data: JSONBody[Correction], command: NamedDependency[Command]
    ) -> Response[ActualRecorded]:
        change = actuals.Change(
            value=data.value,
            reason=data.reason,
            person=data.person,
            metric=data.metric,
            occurred_on=data.date,
            scope=None if data.scope is None else dict(data.scope),
        )
        return _answer(await actuals.correct_actual(command, actual_id, change))
