"""Current attainment: each target's actual to date, attainment % and gap."""

from decimal import Decimal
from typing import Any

import asyncpg

from target_ledger.domain.actual import Actual
from target_ledger.domain.calendar import period_bounds
from target_ledger.domain.target import Target
from target_ledger.eventstore import Recorded

NAME = "attainment"


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    starts_on, ends_on = period_bounds(e.period)
    await conn.execute(
        """
        INSERT INTO attainment_targets
               (target_id, node, metric, period, starts_on, ends_on, value, actual, version, updated_at)
        SELECT $1, $2, $3, $4, $5, $6, $7, coalesce(sum(a.value), 0), $8, $9
          FROM attainment_actuals a
         WHERE a.person = $2 AND a.metric = $3 AND a.occurred_on BETWEEN $5 AND $6
        """,
        e.originator_id,
        e.node,
        e.metric,
        e.period,
        starts_on,
        ends_on,
        e.value,
        e.originator_version,
        recorded.recorded_at,
    )


async def actual_recorded(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO attainment_actuals (actual_id, person, metric, occurred_on, value)
           VALUES ($1, $2, $3, $4, $5)""",
        e.originator_id,
        e.person,
        e.metric,
        e.occurred_on,
        e.value,
    )
    await conn.execute(
        """UPDATE attainment_targets SET actual = actual + $4, updated_at = $5
            WHERE node = $1 AND metric = $2 AND $3 BETWEEN starts_on AND ends_on""",
        e.person,
        e.metric,
        e.occurred_on,
        e.value,
        recorded.recorded_at,
    )


HANDLERS = {
    Target.TargetSet: target_set,
    Actual.ActualRecorded: actual_recorded,
}


def _row(r: asyncpg.Record) -> dict[str, Any]:
    value, actual = r["value"], r["actual"]
    return {
        "target_id": r["target_id"],
        "node": r["node"],
        "metric": r["metric"],
        "period": r["period"],
        "target": value,
        "actual": actual,
        "attainment_pct": (actual / value * 100).quantize(Decimal("0.01")) if value else None,
        "gap": value - actual,
    }


async def fetch_attainment(
    conn: asyncpg.Connection, *, node: str, metric: str | None, period: str | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT target_id, node, metric, period, value, actual FROM attainment_targets
            WHERE node = $1 AND ($2::text IS NULL OR metric = $2)
              AND ($3::text IS NULL OR period = $3)
            ORDER BY metric, starts_on, ends_on DESC""",
        node,
        metric,
        period,
    )
    return [_row(r) for r in rows]
