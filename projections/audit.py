"""The audit trail: every change to every target and incentive plan — who, when, why, approved by whom."""

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.domain.adjustment import Adjustment
from target_ledger.domain.incentive import IncentivePlan
from target_ledger.domain.target import Target
from target_ledger.eventstore import Recorded

NAME = "audit"
TABLES = ["audit_trail"]
VERSION = 1  # raise it when the handlers or tables change meaning: workers then rebuild the model

INSERT = """
INSERT INTO audit_trail (position, target_id, node, type, actor, recorded_at, adjustment_id, reason_category,
                         old_value, new_value, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
"""


async def _row(
    conn: asyncpg.Connection,
    recorded: Recorded,
    target_id: UUID,
    node: str,
    detail: dict[str, Any],
    *,
    adjustment_id: UUID | None = None,
    reason_category: str | None = None,
    old_value: object = None,
    new_value: object = None,
) -> None:
    await conn.execute(
        INSERT,
        recorded.position,
        target_id,
        node,
        recorded.type,
        recorded.metadata.get("actor", ""),
        recorded.recorded_at,
        adjustment_id,
        reason_category,
        old_value,
        new_value,
        msgspec.json.encode(detail).decode(),
    )


async def _node_of(conn: asyncpg.Connection, target_id: UUID) -> str:
    return str(await conn.fetchval("SELECT node FROM audit_trail WHERE target_id = $1 LIMIT 1", target_id) or "")


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    detail = {
        "metric": e.metric,
        "period": e.period,
        "scope": e.scope,
        "stretch": e.stretch,
        "rationale": e.rationale,
        "parent_id": e.parent_id,
    }
    if e.growth is not None:  # where a growth target's number came from: its base actual
        detail["growth"] = msgspec.to_builtins(e.growth)
    await _row(conn, recorded, e.originator_id, e.node, detail, new_value=e.value)


async def target_responded(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await _row(conn, recorded, e.originator_id, await _node_of(conn, e.originator_id), {"comment": e.comment})


async def target_decomposed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    detail = {"axis": e.axis, "method": e.method, "parts": [msgspec.to_builtins(p) for p in e.parts]}
    await _row(conn, recorded, e.originator_id, await _node_of(conn, e.originator_id), detail)


async def target_adjusted(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    reason = await conn.fetchval(
        "SELECT reason_category FROM audit_trail WHERE adjustment_id = $1 LIMIT 1", e.adjustment_id
    )
    await _row(
        conn,
        recorded,
        e.originator_id,
        await _node_of(conn, e.originator_id),
        {},
        adjustment_id=e.adjustment_id,
        reason_category=reason,
        old_value=e.previous_value,
        new_value=e.value,
    )


async def adjustment_requested(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    detail = {
        "requester": e.requester,
        "justification": e.justification,
        "evidence": e.evidence,
        "approvals_needed": e.approvals_needed,
    }
    for change in e.changes:
        await _row(
            conn,
            recorded,
            change.target_id,
            change.node,
            detail,
            adjustment_id=e.originator_id,
            reason_category=e.reason_category,
            old_value=change.old_value,
            new_value=change.new_value,
        )


async def adjustment_decided(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """An approval, rejection or withdrawal shows in the history of every target it concerns."""
    e = recorded.event
    detail = {k: v for k, v in vars(e).items() if k in ("approver", "level", "reason")}
    asked = await conn.fetch(
        """SELECT target_id, node, reason_category FROM audit_trail
            WHERE adjustment_id = $1 AND type = 'AdjustmentRequested'""",
        e.originator_id,
    )
    for row in asked:
        await _row(
            conn,
            recorded,
            row["target_id"],
            row["node"],
            detail,
            adjustment_id=e.originator_id,
            reason_category=row["reason_category"],
        )


async def plan_requested(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """An incentive plan's history sits beside the targets', under the plan's id and node."""
    e = recorded.event
    detail = {
        "metric": e.metric,
        "period": e.period,
        "requester": e.requester,
        "justification": e.justification,
        "terms": msgspec.to_builtins(e.terms),
    }
    await _row(conn, recorded, e.originator_id, e.node, detail)


async def plan_changed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """A change asked, approved, rejected, withdrawn, or payouts finalised at a close."""
    e = recorded.event
    detail = {k: msgspec.to_builtins(v) for k, v in vars(e).items() if k in PLAN_DETAIL}
    await _row(conn, recorded, e.originator_id, await _node_of(conn, e.originator_id), detail)


PLAN_DETAIL = ("terms", "requester", "justification", "approver", "plan_version", "reason", "closed_for", "payouts")

HANDLERS = {
    Target.TargetSet: target_set,
    Target.TargetAcknowledged: target_responded,
    Target.TargetDisputed: target_responded,
    Target.TargetDecomposed: target_decomposed,
    Target.TargetCrossDecomposed: target_decomposed,  # the second axis of a matrix: axis, method, parts alike
    Target.TargetAdjusted: target_adjusted,
    Adjustment.AdjustmentRequested: adjustment_requested,
    Adjustment.AdjustmentApproved: adjustment_decided,
    Adjustment.AdjustmentRejected: adjustment_decided,
    Adjustment.AdjustmentWithdrawn: adjustment_decided,
    IncentivePlan.IncentivePlanRequested: plan_requested,
    IncentivePlan.IncentivePlanChangeRequested: plan_changed,
    IncentivePlan.IncentivePlanApproved: plan_changed,
    IncentivePlan.IncentivePlanRejected: plan_changed,
    IncentivePlan.IncentivePlanRequestWithdrawn: plan_changed,
    IncentivePlan.IncentiveFinalised: plan_changed,
}

SELECT = """SELECT position, target_id, node, type, actor, recorded_at, adjustment_id, reason_category,
                   old_value, new_value, detail::text AS detail FROM audit_trail"""


def _entry(r: asyncpg.Record) -> dict[str, Any]:
    return {**dict(r), "detail": msgspec.json.decode(r["detail"])}


async def fetch_history(conn: asyncpg.Connection, target_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(SELECT + " WHERE target_id = $1 ORDER BY position", target_id)
    return [_entry(r) for r in rows]


async def fetch_audit(
    conn: asyncpg.Connection,
    *,
    nodes: list[str] | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    reason_category: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        SELECT
        + """ WHERE ($1::text[] IS NULL OR node = ANY($1)) AND ($2::text IS NULL OR actor = $2)
                AND ($3::timestamptz IS NULL OR recorded_at >= $3) AND ($4::timestamptz IS NULL OR recorded_at < $4)
                AND ($5::text IS NULL OR reason_category = $5)
              ORDER BY position, target_id LIMIT $6""",
        nodes,
        actor,
        since,
        until,
        reason_category,
        limit,
    )
    return [_entry(r) for r in rows]
