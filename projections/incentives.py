"""Incentive plans as requested and approved, and the payouts each period close finalised."""

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.domain.incentive import IncentivePlan
from target_ledger.eventstore import Recorded

NAME = "incentives"
TABLES = ["incentive_plans", "incentive_payouts"]
VERSION = 1  # raise it when the handlers or tables change meaning: workers then rebuild the model


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def plan_requested(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO incentive_plans (plan_id, node, metric, period, starts_on, ends_on, status, plan_version,
                                        pending, requester, requested_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7::jsonb, $8, $9)""",
        e.originator_id,
        e.node,
        e.metric,
        e.period,
        e.starts_on,
        e.ends_on,
        _json(e.terms),
        e.requester,
        e.timestamp,
    )


async def change_requested(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """UPDATE incentive_plans SET status = 'pending', pending = $2::jsonb, requester = $3, requested_at = $4
            WHERE plan_id = $1""",
        e.originator_id,
        _json(e.terms),
        e.requester,
        e.timestamp,
    )


async def approved(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """UPDATE incentive_plans SET status = 'approved', terms = pending, pending = NULL, plan_version = $2
            WHERE plan_id = $1""",
        e.originator_id,
        e.plan_version,
    )


async def rejected(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await conn.execute(
        "UPDATE incentive_plans SET status = 'rejected', pending = NULL WHERE plan_id = $1",
        recorded.event.originator_id,
    )


async def withdrawn(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await conn.execute(
        "UPDATE incentive_plans SET status = 'withdrawn', pending = NULL WHERE plan_id = $1",
        recorded.event.originator_id,
    )


async def finalised(conn: asyncpg.Connection, recorded: Recorded) -> None:
    """The latest close's payouts replace the previous close's (after a reopen)."""
    e = recorded.event
    await conn.execute(
        """UPDATE incentive_plans SET finalised_at = $2, finalised_position = $3, team_attainment_pct = $4,
                                      team_reached = $5
            WHERE plan_id = $1""",
        e.originator_id,
        e.timestamp,
        recorded.position,
        e.team_attainment_pct,
        e.team_reached,
    )
    await conn.execute("DELETE FROM incentive_payouts WHERE plan_id = $1", e.originator_id)
    await conn.executemany(
        "INSERT INTO incentive_payouts (plan_id, person, position, payout) VALUES ($1, $2, $3, $4::jsonb)",
        [(e.originator_id, p.person, recorded.position, _json(p)) for p in e.payouts],
    )


HANDLERS = {
    IncentivePlan.IncentivePlanRequested: plan_requested,
    IncentivePlan.IncentivePlanChangeRequested: change_requested,
    IncentivePlan.IncentivePlanApproved: approved,
    IncentivePlan.IncentivePlanRejected: rejected,
    IncentivePlan.IncentivePlanRequestWithdrawn: withdrawn,
    IncentivePlan.IncentiveFinalised: finalised,
}

PLAN = """SELECT plan_id, node, metric, period, starts_on, ends_on, status, plan_version, terms::text AS terms,
                 pending::text AS pending, requester, requested_at, finalised_at, finalised_position,
                 team_attainment_pct, team_reached
            FROM incentive_plans"""


def _plan(row: asyncpg.Record) -> dict[str, Any]:
    plan = dict(row)
    for name in ("terms", "pending"):
        plan[name] = None if row[name] is None else msgspec.json.decode(row[name])
    return plan


async def fetch_plans(conn: asyncpg.Connection, *, metric: str | None, period: str | None) -> list[dict[str, Any]]:
    """Plans (of a metric and period, if given) by node, each with its terms in force (None
    before the first approval) and the change waiting for a decision (None if none)."""
    rows = await conn.fetch(
        PLAN + " WHERE ($1::text IS NULL OR metric = $1) AND ($2::text IS NULL OR period = $2) ORDER BY node, plan_id",
        metric,
        period,
    )
    return [_plan(r) for r in rows]


async def fetch_plans_within(conn: asyncpg.Connection, starts_on: Any, ends_on: Any) -> list[dict[str, Any]]:
    """Approved plans whose days lie within [starts_on, ends_on]: what a close of them finalises."""
    rows = await conn.fetch(
        PLAN + " WHERE plan_version > 0 AND starts_on >= $1 AND ends_on <= $2 ORDER BY node, plan_id",
        starts_on,
        ends_on,
    )
    return [_plan(r) for r in rows]


async def fetch_plans_overlapping(
    conn: asyncpg.Connection, metric: str, starts_on: Any, ends_on: Any
) -> list[dict[str, Any]]:
    """Approved plans of the metric sharing a day with [starts_on, ends_on]: who else may pay."""
    rows = await conn.fetch(
        PLAN + " WHERE plan_version > 0 AND metric = $1 AND starts_on <= $3 AND ends_on >= $2 ORDER BY node, plan_id",
        metric,
        starts_on,
        ends_on,
    )
    return [_plan(r) for r in rows]


async def fetch_final(conn: asyncpg.Connection, plan_id: UUID) -> dict[str, dict[str, Any]]:
    """The payouts the plan's latest close finalised, by person (empty if never finalised)."""
    rows = await conn.fetch(
        "SELECT person, position, payout::text AS payout FROM incentive_payouts WHERE plan_id = $1", plan_id
    )
    return {r["person"]: {**msgspec.json.decode(r["payout"]), "position": r["position"]} for r in rows}
