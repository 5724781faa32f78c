"""Current attainment: each target's actual to date, attainment % and gap."""

from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from target_ledger.domain.actual import Actual
from target_ledger.domain.target import Target
from target_ledger.eventstore import Recorded

NAME = "attainment"


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """
        INSERT INTO attainment_targets (target_id, node, metric, period, scope, starts_on, ends_on,
                                        value, actual, version, updated_at)
        SELECT $1, $2, $3, $4, $5::jsonb, $6, $7, $8, coalesce(sum(a.value), 0), $9, $10
          FROM attainment_actuals a
         WHERE a.person = $2 AND a.metric = $3 AND a.occurred_on BETWEEN $6 AND $7
           AND a.scope @> $5::jsonb
        """,
        e.originator_id,
        e.node,
        e.metric,
        e.period,
        _json(e.scope),
        e.starts_on,
        e.ends_on,
        e.value,
        e.originator_version,
        recorded.recorded_at,
    )


async def actual_recorded(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO attainment_actuals (actual_id, person, metric, occurred_on, value, scope)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb)""",
        e.originator_id,
        e.person,
        e.metric,
        e.occurred_on,
        e.value,
        _json(e.scope),
    )
    await conn.execute(
        """UPDATE attainment_targets SET actual = actual + $4, updated_at = $5
            WHERE node = $1 AND metric = $2 AND $3 BETWEEN starts_on AND ends_on
              AND $6::jsonb @> scope""",
        e.person,
        e.metric,
        e.occurred_on,
        e.value,
        recorded.recorded_at,
        _json(e.scope),
    )


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


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


async def fetch_actual_total(
    conn: asyncpg.Connection,
    *,
    people: list[str],
    metric: str,
    starts_on: date,
    ends_on: date,
    scope: dict[str, str],
) -> Decimal:
    """What these people achieved on a metric between two days, within a scope."""
    total = await conn.fetchval(
        """SELECT coalesce(sum(value), 0) FROM attainment_actuals
            WHERE person = ANY($1::text[]) AND metric = $2 AND occurred_on BETWEEN $3 AND $4
              AND scope @> $5::jsonb""",
        people,
        metric,
        starts_on,
        ends_on,
        _json(scope),
    )
    return Decimal(total)
