"""/v1/targets/{id}/adjustments and /v1/adjustments: request, approve, reject, withdraw."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from projections import attainment as attainment_model
from projections import inbox as inbox_model
from target_ledger.api.attainment import MinPosition, wait_for
from target_ledger.api.schemas import Amount, Input, Struct, Text, TypedValue
from target_ledger.application import Command, adjustments
from target_ledger.domain.adjustment import REASONS, Adjustment
from target_ledger.domain.values import typed_value, typed_values

Reason = Annotated[str, msgspec.Meta(description=f"one of {', '.join(REASONS)}")]


class RequestAdjustment(Input):
    reason_category: Reason
    justification: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    evidence: Annotated[list[Annotated[str, msgspec.Meta(max_length=2000)]], msgspec.Meta(max_length=50)] = []
    new_value: TypedValue | None = None
    reallocation: dict[str, TypedValue] | None = None
    transfer_to: UUID | None = None
    amount: Amount | None = None


class Decision(Input):
    reason: Text = ""


class ChangeView(Struct):
    target_id: UUID
    node: str
    period: str
    old_value: Decimal
    new_value: Decimal
    version: int


class AdjustmentView(Struct):
    id: UUID
    target_id: UUID
    status: str
    requester: str
    reason_category: str
    justification: str
    evidence: list[str]
    approvals_needed: int
    approvals: list[str]
    changes: list[ChangeView]
    position: int | None = None


def _view(adjustment: Adjustment, position: int | None, status_code: int = 200) -> Response[AdjustmentView]:
    body = AdjustmentView(
        id=adjustment.id,
        target_id=adjustment.target_id,
        status=adjustment.status,
        requester=adjustment.requester,
        reason_category=adjustment.reason_category,
        justification=adjustment.justification,
        evidence=adjustment.evidence,
        approvals_needed=adjustment.approvals_needed,
        approvals=adjustment.approvals,
        changes=[ChangeView(**msgspec.structs.asdict(c)) for c in adjustment.changes],
        position=position,
    )
    return Response(body, status_code=status_code, headers={"ETag": f'"{adjustment.version}"'})


class ImpactView(Struct):
    target_id: UUID
    node: str
    period: str
    old_value: Decimal
    new_value: Decimal
    version: int
    actual: Decimal | None
    attainment_old_pct: Decimal | None
    attainment_new_pct: Decimal | None


class InboxItem(Struct):
    adjustment_id: UUID
    target_id: UUID
    node: str
    requester: str
    status: str
    approvals_needed: int
    approvals: list[str]
    reason_category: str
    justification: str
    requested_at: datetime
    changes: list[ImpactView]


class AdjustmentController(Controller):
    path = "/v1"
    tags = ["adjustments"]

    @post(
        "/targets/{target_id:uuid}/adjustments",
        status_code=201,
        summary="Request a change of a target (and its children), or a quota transfer to a sibling",
    )
    async def request(
        self, target_id: FromPath[UUID], data: JSONBody[RequestAdjustment], command: NamedDependency[Command]
    ) -> Response[AdjustmentView]:
        fields = msgspec.structs.asdict(data)
        fields["new_value"] = None if data.new_value is None else typed_value(data.new_value, "new_value")
        fields["reallocation"] = typed_values(data.reallocation, "reallocation")  # a rate may be "15%"
        ask = adjustments.Ask(**fields)
        adjustment, position = await adjustments.request_adjustment(command, target_id, ask)
        return _view(adjustment, position, 201)

    @get(
        "/adjustments",
        summary="Adjustment requests you may read: `approver=me` lists those waiting for your approval",
        description="A request is readable by whoever may read its target's node, its requester and its "
        "approvers (auditors and admins: all). A change on a node you may not read shows no actual or "
        "attainment (null). A token whose subject is not a member of the organisation gets 403.",
    )
    async def inbox(
        self,
        state: State,
        command: NamedDependency[Command],
        status: Annotated[str | None, QueryParameter(pattern="^(pending|approved|rejected|withdrawn)$")] = None,
        approver: Annotated[str | None, QueryParameter(pattern="^me$")] = None,
        min_position: MinPosition = None,
    ) -> list[InboxItem]:
        # The impact reads actuals from the attainment read model: it must be as fresh.
        for projection in (inbox_model.NAME, attainment_model.NAME):
            await wait_for(state, projection, min_position)
        items = await adjustments.inbox(command, status=status, mine=approver == "me")
        return [msgspec.convert(item, InboxItem) for item in items]

    @get(
        "/adjustments/{adjustment_id:uuid}",
        summary="A request, its impact and its decisions",
        description="403 unless you may read the target's node, asked for it or approved it; 404 if unknown.",
    )
    async def read(self, adjustment_id: FromPath[UUID], command: NamedDependency[Command]) -> Response[AdjustmentView]:
        return _view(await adjustments.read_adjustment(command, adjustment_id), None)

    @post(
        "/adjustments/{adjustment_id:uuid}/approve", status_code=200, summary="Approve (the last approval applies it)"
    )
    async def approve(
        self, adjustment_id: FromPath[UUID], command: NamedDependency[Command]
    ) -> Response[AdjustmentView]:
        return _view(*await adjustments.approve(command, adjustment_id))

    @post("/adjustments/{adjustment_id:uuid}/reject", status_code=200, summary="Reject, saying why")
    async def reject(
        self, adjustment_id: FromPath[UUID], data: JSONBody[Decision], command: NamedDependency[Command]
    ) -> Response[AdjustmentView]:
        return _view(*await adjustments.reject(command, adjustment_id, data.reason))

    @post("/adjustments/{adjustment_id:uuid}/withdraw", status_code=200, summary="The requester withdraws it")
    async def withdraw(
        self, adjustment_id: FromPath[UUID], data: JSONBody[Decision], command: NamedDependency[Command]
    ) -> Response[AdjustmentView]:
        return _view(*await adjustments.withdraw(command, adjustment_id, data.reason))
