"""/v1/corrective-actions: open with a cause analysis, progress, complete, cancel, list."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from projections import actions as actions_model
from target_ledger.api.attainment import MinPosition, wait_for
from target_ledger.api.schemas import Input, NodeId, Struct, Text
from target_ledger.application import Command, corrective_actions
from target_ledger.domain.corrective_action import FACTORS, Cause, CorrectiveAction, effect


class CauseBody(Input):
    kind: Literal["subjective", "objective"]
    factor: Annotated[str, msgspec.Meta(max_length=32, description=f"one of {', '.join(FACTORS)}")]
    description: Text = ""


class OpenAction(Input):
    target_id: UUID
    causes: Annotated[list[CauseBody], msgspec.Meta(max_length=50)]
    plan: Text
    owner: NodeId
    due: date
    alert_id: UUID | None = None
    resources: Text = ""
    expected_effect: Text = ""


class Progress(Input):
    note: Text = ""


class Completion(Input):
    outcome: Text = ""


class Cancellation(Input):
    reason: Text = ""


class MeasureView(Struct):
    attainment_pct: Decimal | None
    pace_pct: Decimal | None
    actual: Decimal | None


class EffectView(Struct):
    """After minus before: attainment and pace in percentage points, and the actual."""

    attainment_pts: Decimal | None
    pace_pts: Decimal | None
    actual: Decimal | None


class NoteView(Struct):
    person: str
    note: str
    at: datetime


class ActionView(Struct):
    id: UUID
    target_id: UUID
    alert_id: UUID | None
    node: str
    owner: str
    opened_by: str
    due: date
    status: str
    overdue: bool
    causes: list[CauseBody]
    plan: str
    resources: str
    expected_effect: str
    notes: list[NoteView]
    outcome: str
    before: MeasureView
    after: MeasureView | None
    effect: EffectView | None
    opened_at: datetime
    closed_at: datetime | None
    position: int | None = None


def _view(action: CorrectiveAction, today: date, position: int | None, status_code: int = 200) -> Response[ActionView]:
    after = action.after
    body = ActionView(
        id=action.id,
        target_id=action.target_id,
        alert_id=action.alert_id,
        node=action.node,
        owner=action.owner,
        opened_by=action.opened_by,
        due=action.due,
        status=action.status,
        overdue=action.is_overdue(today),
        causes=[msgspec.convert(msgspec.to_builtins(c), CauseBody) for c in action.causes],
        plan=action.plan,
        resources=action.resources,
        expected_effect=action.expected_effect,
        notes=[NoteView(person=n.person, note=n.note, at=n.at) for n in action.notes],
        outcome=action.outcome,
        before=MeasureView(**msgspec.structs.asdict(action.before)),
        after=MeasureView(**msgspec.structs.asdict(after)) if after else None,
        effect=EffectView(**msgspec.structs.asdict(effect(action.before, after))) if after else None,
        opened_at=action.created_on,
        closed_at=action.modified_on if action.status != "open" else None,
        position=position,
    )
    return Response(body, status_code=status_code, headers={"ETag": f'"{action.version}"'})


class CorrectiveActionController(Controller):
    path = "/v1/corrective-actions"
    tags = ["corrective actions"]

    @post("/", status_code=201, summary="Open a corrective action against a target (and optionally an alert)")
    async def open(self, data: JSONBody[OpenAction], command: NamedDependency[Command]) -> Response[ActionView]:
        causes = [Cause(**msgspec.structs.asdict(c)) for c in data.causes]
        opening = corrective_actions.Opening(**{**msgspec.structs.asdict(data), "causes": causes})
        action, position = await corrective_actions.open_action(command, opening)
        return _view(action, command.today(), position, 201)

    @get("/", summary="Actions by owner, node (its subtree) and status; `overdue` is open and past due")
    async def search(
        self,
        state: State,
        command: NamedDependency[Command],
        owner: Annotated[str | None, QueryParameter(max_length=64)] = None,
        node: Annotated[str | None, QueryParameter(max_length=64)] = None,
        status: Annotated[str | None, QueryParameter(pattern="^(open|completed|cancelled|overdue)$")] = None,
        min_position: MinPosition = None,
    ) -> list[ActionView]:
        await wait_for(state, actions_model.NAME, min_position)
        items = await corrective_actions.list_actions(command, owner=owner, node=node, status=status)
        return [msgspec.convert(item, ActionView, from_attributes=True) for item in items]

    @get("/{action_id:uuid}", summary="An action with its notes, outcome and measured effect")
    async def read(self, action_id: FromPath[UUID], command: NamedDependency[Command]) -> Response[ActionView]:
        return _view(await corrective_actions.read_action(command, action_id), command.today(), None)

    @post("/{action_id:uuid}/progress", status_code=200, summary="Add a progress note")
    async def progress(
        self, action_id: FromPath[UUID], data: JSONBody[Progress], command: NamedDependency[Command]
    ) -> Response[ActionView]:
        action, position = await corrective_actions.progress(command, action_id, data.note)
        return _view(action, command.today(), position)

    @post("/{action_id:uuid}/completion", status_code=200, summary="Complete with the outcome; measures the effect")
    async def completion(
        self, action_id: FromPath[UUID], data: JSONBody[Completion], command: NamedDependency[Command]
    ) -> Response[ActionView]:
        action, position = await corrective_actions.complete(command, action_id, data.outcome)
        return _view(action, command.today(), position)

    @post("/{action_id:uuid}/cancellation", status_code=200, summary="Cancel, saying why")
    async def cancellation(
        self, action_id: FromPath[UUID], data: JSONBody[Cancellation], command: NamedDependency[Command]
    ) -> Response[ActionView]:
        action, position = await corrective_actions.cancel(command, action_id, data.reason)
        return _view(action, command.today(), position)
