"""The adjustment inbox: every request with its status, approvals and changes."""

from typing import Any

import asyncpg
import msgspec

from target_ledger.domain.adjustment import Adjustment
from target_ledger.eventstore import Recorded

NAME = "inbox"
TABLES = ["adjustment_inbox"]
VERSION = 1  # raise it when the handlers or tables change meaning: workers then rebuild the model


async def requested(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO adjustment_inbox (adjustment_id, target_id, node, requester, status, approvals_needed,
                                         reason_category, justification, changes, requested_at)
           VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8::jsonb, $9)""",
        e.originator_id,
        e.target_id,
        e.changes[0].node,
        e.requester,
        e.approvals_needed,
        e.reason_category,
        e.justification,
        msgspec.json.encode(e.changes).decode(),
        recorded.recorded_at,
    )


async def approved(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await conn.execute(
        """UPDATE adjustment_inbox SET approvals = approvals || $2::text,
                  status = CASE WHEN cardinality(approvals) + 1 >= approvals_needed THEN 'approved' ELSE status END
            WHERE adjustment_id = $1""",
        recorded.event.originator_id,
        recorded.event.approver,
    )


async def closed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    status = "rejected" if isinstance(recorded.event, Adjustment.AdjustmentRejected) else "withdrawn"
    await conn.execute(
        "UPDATE adjustment_inbox SET status = $2 WHERE adjustment_id = $1", recorded.event.originator_id, status
    )


HANDLERS = {
    Adjustment.AdjustmentRequested: requested,
    Adjustment.AdjustmentApproved: approved,
    Adjustment.AdjustmentRejected: closed,
    Adjustment.AdjustmentWithdrawn: closed,
}


async def fetch_requests(conn: asyncpg.Connection, status: str | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT adjustment_id, target_id, node, requester, status, approvals_needed, approvals, reason_category,
                  justification, changes::text AS changes, requested_at
             FROM adjustment_inbox WHERE ($1::text IS NULL OR status = $1) ORDER BY requested_at""",
        status,
    )
    return [{**dict(r), "changes": msgspec.json.decode(r["changes"])} for r in rows]
