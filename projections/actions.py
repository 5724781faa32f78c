"""Corrective actions: open and overdue per owner and node, notes, outcome and measured effect."""

from datetime import date
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.domain.corrective_action import CorrectiveAction
from target_ledger.eventstore import Recorded

NAME = "actions"
TABLES = ["corrective_actions"]
VERSION = 1  # raise it when the handlers or tables change meaning: workers then rebuild the model

Opened = CorrectiveAction.CorrectiveActionOpened


async def opened(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: Opened = recorded.event  # type: ignore[assignment]
    await conn.execute(
        """INSERT INTO corrective_actions (action_id, target_id, alert_id, node, owner, opened_by, due, status,
                                           causes, plan, resources, expected_effect, attainment_before,
                                           pace_before, actual_before, opened_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8::jsonb, $9, $10, $11, $12, $13, $14, $15)""",
        e.originator_id,
        e.target_id,
        e.alert_id,
        e.node,
        e.owner,
        e.opened_by,
        e.due,
        msgspec.json.encode(e.causes).decode(),
        e.plan,
        e.resources,
        e.expected_effect,
        e.before.attainment_pct,
        e.before.pace_pct,
        e.before.actual,
        e.timestamp,
    )


async def progressed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    note = {"person": e.person, "note": e.note, "at": e.timestamp}  # type: ignore[attr-defined]
    await conn.execute(
        "UPDATE corrective_actions SET notes = notes || jsonb_build_array($2::jsonb) WHERE action_id = $1",
        e.originator_id,
        msgspec.json.encode(note).decode(),
    )


async def completed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: CorrectiveAction.CorrectiveActionCompleted = recorded.event  # type: ignore[assignment]
    await conn.execute(
        """UPDATE corrective_actions SET status = 'completed', outcome = $2, closed_by = $3, attainment_after = $4,
                  pace_after = $5, actual_after = $6, closed_at = $7
            WHERE action_id = $1""",
        e.originator_id,
        e.outcome,
        e.person,
        e.after.attainment_pct,
        e.after.pace_pct,
        e.after.actual,
        e.timestamp,
    )


async def cancelled(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e: CorrectiveAction.CorrectiveActionCancelled = recorded.event  # type: ignore[assignment]
    await conn.execute(
        """UPDATE corrective_actions SET status = 'cancelled', outcome = $2, closed_by = $3, closed_at = $4
            WHERE action_id = $1""",
        e.originator_id,
        e.reason,
        e.person,
        e.timestamp,
    )


HANDLERS = {
    Opened: opened,
    CorrectiveAction.CorrectiveActionProgressed: progressed,
    CorrectiveAction.CorrectiveActionCompleted: completed,
    CorrectiveAction.CorrectiveActionCancelled: cancelled,
}


async def fetch_open(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every open action, soonest due first: what the alert scheduler checks for overdue ones."""
    return await conn.fetch(
        """SELECT action_id, target_id, node, owner, due, status FROM corrective_actions
            WHERE status = 'open' ORDER BY due, action_id"""
    )


async def fetch_actions(
    conn: asyncpg.Connection,
    *,
    owner: str | None = None,
    nodes: list[str] | None = None,
    status: str | None = None,
    today: date | None = None,
    target_ids: list[UUID] | None = None,
) -> list[asyncpg.Record]:
    """Actions by owner, node (any of `nodes`), status and target; `overdue` is open and due
    before `today`. Causes and notes are JSON text."""
    return await conn.fetch(
        """SELECT action_id, target_id, alert_id, node, owner, opened_by, due, status, causes::text AS causes, plan,
                  resources, expected_effect, notes::text AS notes, outcome, closed_by, attainment_before,
                  pace_before, actual_before, attainment_after, pace_after, actual_after, opened_at, closed_at
             FROM corrective_actions
            WHERE ($1::text IS NULL OR owner = $1)
              AND ($2::text[] IS NULL OR node = ANY($2::text[]))
              AND ($3::text IS NULL OR status = $3 OR ($3 = 'overdue' AND status = 'open' AND due < $4::date))
              AND ($5::uuid[] IS NULL OR target_id = ANY($5::uuid[]))
            ORDER BY due, opened_at, action_id""",
        owner,
        nodes,
        status,
        today,
        target_ids,
    )


async def fetch_for_targets(conn: asyncpg.Connection, target_ids: list[UUID]) -> list[asyncpg.Record]:
    """Every action of these targets, in any status (for the period review)."""
    return await fetch_actions(conn, target_ids=target_ids)
