"""The auditor's questions: every change to a target, and changes across targets."""

import uuid
from datetime import datetime
from typing import Any

from projections import audit
from target_ledger.application import Command
from target_ledger.application.reads import authorize_read
from target_ledger.application.targets import get_target
from target_ledger.domain.errors import ForbiddenError


async def history(cmd: Command, target_id: uuid.UUID) -> list[dict[str, Any]]:
    target = await get_target(cmd.store, target_id)
    await authorize_read(cmd, target.node)
    async with cmd.store.pool.acquire() as conn:
        return await audit.fetch_history(conn, target_id)


async def search(
    cmd: Command,
    *,
    node: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    reason_category: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Auditors and admins search everything; a manager searches the subtree of a node they manage."""
    nodes = None
    if cmd.actor.role not in ("auditor", "admin"):
        if node is None:
            raise ForbiddenError("searching without a node needs the auditor or admin role")
        await authorize_read(cmd, node)
    if node is not None:
        nodes = (await cmd.org()).subtree(node, cmd.today())
    async with cmd.store.pool.acquire() as conn:
        return await audit.fetch_audit(
            conn, nodes=nodes, actor=actor, since=since, until=until, reason_category=reason_category, limit=limit
        )
