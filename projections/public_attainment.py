"""Attainment for the public events: running totals per target, kept by public_events itself.

Deterministic by construction: each figure comes only from events already applied by
this projection, in log order, so a rebuild announces the same attainment and the same
threshold crossings. (Reading the attainment read model instead would give figures from
whatever position that projection happened to be at.) An actual counts for the targets of
its person and of the units above them on its day, as known when the actual is applied;
pace is judged as of the day the event was recorded, with the default thresholds.
"""

from datetime import date
from decimal import Decimal

import asyncpg
import msgspec

from projections.public_emit import emit, nodes_of
from target_ledger.domain.attainment import assess
from target_ledger.eventstore import Recorded
from target_ledger.integration import contract as c

# The targets an actual counts for; $5 is +value when recorded, -value when reversed.
COUNT = """
UPDATE public_targets SET actual = actual + $5
 WHERE node = ANY($1::text[]) AND metric = $2 AND starts_on <= $3 AND $3 <= ends_on AND $4::jsonb @> scope
RETURNING *
"""

# A target set after actuals were recorded starts from them.
START = """
UPDATE public_targets t SET actual = coalesce(
    (SELECT sum(a.value) FROM public_actuals a
      WHERE a.nodes @> ARRAY[t.node] AND a.metric = t.metric AND a.occurred_on BETWEEN t.starts_on AND t.ends_on
        AND a.scope @> t.scope AND NOT a.reversed), 0)
 WHERE target_id = $1
RETURNING *
"""

# Planned by a day: pro rata, or by the children's days when the target is split by time.
EXPECTED = """
SELECT sum(value * least(greatest($2 - starts_on + 1, 0), ends_on - starts_on + 1) / (ends_on - starts_on + 1))
  FROM public_targets WHERE parent_id = $1
"""


def _in_order(rows: list[asyncpg.Record]) -> list[asyncpg.Record]:
    """UPDATE ... RETURNING has no order; a rebuild must announce in the same one."""
    return sorted(rows, key=lambda r: r["target_id"])


async def actual_recorded(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    nodes = await nodes_of(conn, e.person, e.occurred_on)
    scope = msgspec.json.encode(e.scope).decode()
    await conn.execute(
        """INSERT INTO public_actuals (actual_id, nodes, metric, occurred_on, scope, value)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6)""",
        e.originator_id,
        nodes,
        e.metric,
        e.occurred_on,
        scope,
        e.value,
    )
    for row in _in_order(await conn.fetch(COUNT, nodes, e.metric, e.occurred_on, scope, e.value)):
        await announce(conn, recorded, row)


async def actual_reversed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    fact = await conn.fetchrow(
        """UPDATE public_actuals SET reversed = true WHERE actual_id = $1
           RETURNING nodes, metric, occurred_on, scope::text AS scope, value""",
        recorded.event.originator_id,
    )
    rows = await conn.fetch(COUNT, fact["nodes"], fact["metric"], fact["occurred_on"], fact["scope"], -fact["value"])
    for row in _in_order(rows):
        await announce(conn, recorded, row)


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO public_targets (target_id, node, metric, period, scope, starts_on, ends_on, value, stretch,
                                       parent_id)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10)""",
        e.originator_id,
        e.node,
        e.metric,
        e.period,
        msgspec.json.encode(e.scope).decode(),
        e.starts_on,
        e.ends_on,
        e.value,
        e.stretch,
        e.parent_id,
    )
    row = await conn.fetchrow(START, e.originator_id)
    await announce(conn, recorded, row, quiet=not row["actual"])


async def target_adjusted(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    row = await conn.fetchrow(
        "UPDATE public_targets SET value = $2 WHERE target_id = $1 RETURNING *", e.originator_id, e.value
    )
    await announce(conn, recorded, row)


async def _expected(conn: asyncpg.Connection, row: asyncpg.Record, today: date, elapsed: int, days: int) -> Decimal:
    if row["axis"] == "period":
        planned = await conn.fetchval(EXPECTED, row["target_id"], today)
        if planned is not None:
            return Decimal(planned)
    return Decimal(row["value"]) * elapsed / days


async def announce(conn: asyncpg.Connection, recorded: Recorded, row: asyncpg.Record, *, quiet: bool = False) -> None:
    """attainment.updated.v1 for the target (unless quiet), then each threshold it crossed, once."""
    today = recorded.recorded_at.date()
    days = (row["ends_on"] - row["starts_on"]).days + 1
    elapsed = min(max((today - row["starts_on"]).days + 1, 0), days)
    lower = bool(await conn.fetchval("SELECT lower FROM public_metrics WHERE name = $1", row["metric"]))
    value, actual, stretch = Decimal(row["value"]), Decimal(row["actual"]), row["stretch"]
    expected = await _expected(conn, row, today, elapsed, days) if elapsed else Decimal(0)
    standing = assess(
        target=value, actual=actual, expected=expected, elapsed_days=elapsed, total_days=days, lower_is_better=lower
    )
    target_id = str(row["target_id"])
    nodes = await nodes_of(conn, row["node"], row["starts_on"])
    common = {
        "target_id": row["target_id"],
        "node": row["node"],
        "metric": row["metric"],
        "period": row["period"],
        "scope": msgspec.json.decode(row["scope"]) if isinstance(row["scope"], str) else row["scope"],
        "actual": actual,
        "attainment_pct": standing.attainment_pct,
        "as_of": today,
    }
    if not quiet:
        update = c.Attainment(
            **common,
            target=value,
            stretch=stretch,
            gap=standing.gap,
            expected=standing.expected,
            pace_pct=standing.pace_pct,
            status=standing.status,
        )
        await emit(conn, recorded, update, subject=target_id, nodes=nodes)
    met = not lower and actual >= value > 0
    stretch_met = not lower and stretch is not None and actual >= stretch > 0
    crossings = [
        ("target_met", met and not row["met"]),
        ("stretch_met", stretch_met and not row["stretch_met"]),
        ("status_changed", row["status"] is not None and row["status"] != standing.status),
    ]
    for crossing, crossed in crossings:
        if crossed:
            data = c.ThresholdCrossed(
                **common,
                crossing=crossing,  # type: ignore[arg-type]
                previous_status=row["status"],
                status=standing.status,
                target=value,
                stretch=stretch,
            )
            await emit(conn, recorded, data, subject=target_id, nodes=nodes, key=f"{target_id}/{crossing}")
    await conn.execute(
        "UPDATE public_targets SET status = $2, met = $3, stretch_met = $4 WHERE target_id = $1",
        row["target_id"],
        standing.status,
        met,
        stretch_met,
    )
