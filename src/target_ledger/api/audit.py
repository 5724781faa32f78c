"""/v1/targets/{id}/history and /v1/audit: every change, who asked, why, who approved."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from projections import audit as audit_model
from target_ledger.api.attainment import MinPosition, wait_for
from target_ledger.api.schemas import NodeId, Struct
from target_ledger.application import Command, audit
from target_ledger.domain.adjustment import REASONS


class AuditEntry(Struct):
    position: int
    target_id: UUID
    node: str
    type: str
    actor: str
    recorded_at: datetime
    adjustment_id: UUID | None
    reason_category: str | None
    old_value: Decimal | None
    new_value: Decimal | None
    detail: dict[str, Any]


class AuditController(Controller):
    path = "/v1"
    tags = ["audit"]

    @get("/targets/{target_id:uuid}/history", summary="Every change to a target, in order, with who, why and approvals")
    async def history(
        self,
        target_id: FromPath[UUID],
        state: State,
        command: NamedDependency[Command],
        min_position: MinPosition = None,
    ) -> list[AuditEntry]:
        await wait_for(state, audit_model.NAME, min_position)
        return [AuditEntry(**e) for e in await audit.history(command, target_id)]

    @get("/audit", summary="Changes across targets: by node (and below), actor, time and reason")
    async def search(
        self,
        state: State,
        command: NamedDependency[Command],
        node: Annotated[NodeId | None, QueryParameter(description="this node and everything below it")] = None,
        # not `actor`: that name is the dependency holding the caller
        by_actor: Annotated[str | None, QueryParameter(name="actor", max_length=64)] = None,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
        reason_category: Annotated[str | None, QueryParameter(pattern=f"^({'|'.join(REASONS)})$")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
        min_position: MinPosition = None,
    ) -> list[AuditEntry]:
        await wait_for(state, audit_model.NAME, min_position)
        entries = await audit.search(
            command, node=node, actor=by_actor, since=since, until=until, reason_category=reason_category, limit=limit
        )
        return [AuditEntry(**e) for e in entries]
