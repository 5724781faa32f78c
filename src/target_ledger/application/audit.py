"""The auditor's questions: every change to a target, and changes across targets."""

import uuid
from datetime import datetime
from typing import Any

from projections import audit
from target_ledger.application import Command
from target_ledger.application.reads import authorize_read
from target_ledger.application.targets import read_target
from target_ledger.domain.access import can_read, check_can_search_all


async def history(cmd: Command, target_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every change of a target, for whoever may read its node."""
    await read_target(cmd, target_id)
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
    """Auditors and admins search everything; others the nodes they may read in the subtree
    of a node they may read (`node`: 404 if unknown, 403 if out of reach)."""
    nodes = None
    if node is None:
        check_can_search_all(cmd.actor)
    else:
        org, today = await authorize_read(cmd, node), cmd.today()
        nodes = [n for n in org.subtree(node, today) if can_read(cmd.actor, org, n, today)]
    async with cmd.store.pool.acquire() as conn:
        return await audit.fetch_audit(
            conn, nodes=nodes, actor=actor, since=since, until=until, reason_category=reason_category, limit=limit
        )
