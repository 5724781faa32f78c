"""Attainment for the public events: running totals per target, kept by public_events itself.

Deterministic by construction: each figure comes only from events already applied by
this projection, in log order, so a rebuild announces the same attainment and the same
threshold crossings. (Reading the attainment read model instead would give figures from
whatever position that projection happened to be at.) An actual counts for the targets of
its person and of the units above them on its day, as known when the actual is applied, and
for the targets of its metric and of every ratio metric it is the numerator or denominator
of (a ratio target keeps running sums of both); pace is judged as of the day the event was
recorded, with the default thresholds.

A run of actuals is read and written in a few statements, but announced actual by actual,
so the events do not depend on how the runner cut the log into batches.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from projections.public_emit import Outgoing, emit_all, outgoing, paths
from target_ledger.domain.attainment import assess, days_elapsed, planned_by, rate, shown_actual
from target_ledger.domain.catalog import BUILT_IN_METRICS, part_key
from target_ledger.eventstore import Recorded
from target_ledger.integration import contract as c

# The targets each fact counts for (i: the fact's place in the run): those of its nodes and
# of its metric or a ratio metric it is part of. Each fact comes spread over its nodes and
# metrics already (one row per fact, node and metric), so targets join on node and metric
# together, and the planner knows how many rows there are: estimated through
# jsonb_array_elements_text (100 rows each), a run of 2,000 facts looked like 19 million rows
# and was JIT-compiled (~0.6 s for each of the first five runs of every session).
MATCH = """
SELECT f.i, t.target_id
  FROM unnest($1::int[], $2::text[], $3::text[], $4::date[], $5::jsonb[]) AS f(i, node, metric, day, scope)
  JOIN public_targets t
    ON t.node = f.node AND t.metric = f.metric AND t.starts_on <= f.day AND f.day <= t.ends_on AND f.scope @> t.scope
 ORDER BY f.i, t.target_id
"""

# A target set after actuals were recorded starts from them (a ratio's, from its parts', each
# part a metric in the target's scope and its own: $2 labels, $6 metrics, $7 own scopes).
START = """
SELECT p.label AS metric, sum(a.value) AS total
  FROM unnest($2::text[], $6::text[], $7::jsonb[]) AS p(label, metric, scope)
  JOIN public_actuals a
    ON a.nodes @> ARRAY[$1::text] AND a.metric = p.metric AND a.occurred_on BETWEEN $3 AND $4
   AND a.scope @> $5::jsonb AND a.scope @> p.scope AND NOT a.reversed
 GROUP BY p.label
"""

SAVE = """
UPDATE public_targets t SET value = s.value, actual = s.actual, numerator = s.numerator,
                            denominator = s.denominator, status = s.status, met = s.met, stretch_met = s.stretch_met
  FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[], $6::text[], $7::bool[],
              $8::bool[]) AS s(target_id, value, actual, numerator, denominator, status, met, stretch_met)
 WHERE t.target_id = s.target_id
"""

Crossing = Literal["target_met", "stretch_met", "status_changed"]
Fact = tuple[Recorded, list[str], str, date, str, Decimal]  # event, nodes, metric, day, scope, +/- value
Ratios = dict[str, tuple[str, str]]  # a ratio metric's numerator and denominator, as part_labels


async def ratios(conn: asyncpg.Connection) -> Ratios:
    """Every ratio metric's parts: the built-in ones, and those defined so far."""
    built_in = [m for m in BUILT_IN_METRICS.values() if not m.additive]
    found = {m.name: (m.parts[0], m.parts[1]) for m in built_in}
    defined = await conn.fetch("SELECT name, numerator, denominator FROM public_metrics WHERE numerator IS NOT NULL")
    return found | {r["name"]: (r["numerator"], r["denominator"]) for r in defined}


async def actuals_recorded(conn: asyncpg.Connection, batch: list[Recorded]) -> None:
    events = [r.event for r in batch]
    chains = await paths(conn, [(e.person, e.occurred_on) for e in events])
    scopes = [msgspec.json.encode(e.scope).decode() for e in events]
    await conn.execute(
        """INSERT INTO public_actuals (actual_id, nodes, metric, occurred_on, scope, value)
           SELECT a.id, ARRAY(SELECT jsonb_array_elements_text(a.nodes)), a.metric, a.day, a.scope, a.value
             FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::date[], $5::jsonb[], $6::numeric[])
                  AS a(id, nodes, metric, day, scope, value)""",
        [e.originator_id for e in events],
        [msgspec.json.encode(n).decode() for n in chains],
        [e.metric for e in events],
        [e.occurred_on for e in events],
        scopes,
        [e.value for e in events],
    )
    facts = [
        (r, n, e.metric, e.occurred_on, s, e.value) for r, e, n, s in zip(batch, events, chains, scopes, strict=True)
    ]
    await _count(conn, facts)


async def actual_recorded(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await actuals_recorded(conn, [recorded])


async def actual_reversed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    fact = await conn.fetchrow(
        """UPDATE public_actuals SET reversed = true WHERE actual_id = $1
           RETURNING nodes, metric, occurred_on, scope::text AS scope, value""",
        recorded.event.originator_id,
    )
    await _count(
        conn, [(recorded, list(fact["nodes"]), fact["metric"], fact["occurred_on"], fact["scope"], -fact["value"])]
    )


async def _count(conn: asyncpg.Connection, facts: list[Fact]) -> None:
    """Add each fact to its targets and announce each target after each fact, in order."""
    parts = await ratios(conn)
    counts_for: dict[str, list[str]] = defaultdict(list)  # a metric, and the ratios it is part of
    for ratio, labels in sorted(parts.items()):
        for metric in dict.fromkeys(part_key(label)[0] for label in labels):
            counts_for[metric].append(ratio)
    spread = [
        (i, node, metric, f[3], f[4])
        for i, f in enumerate(facts, start=1)
        for node in f[1]
        for metric in [f[2], *counts_for[f[2]]]
    ]
    matches = await conn.fetch(MATCH, *([row[n] for row in spread] for n in range(5)))
    per_fact: dict[int, list[UUID]] = defaultdict(list)
    for m in matches:
        per_fact[m["i"]].append(m["target_id"])
    targets = await Targets.load(conn, list({m["target_id"] for m in matches}), parts)
    out: list[Outgoing] = []
    for i, (recorded, _, metric, _, scope, value) in enumerate(facts, start=1):
        for target_id in per_fact[i]:
            targets.count(target_id, metric, msgspec.json.decode(scope), value)
            out += targets.announce(recorded, target_id)
    await emit_all(conn, out)
    await targets.save(conn)


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    scope = msgspec.json.encode(e.scope).decode()
    numerator, denominator = (await ratios(conn)).get(e.metric, ("", ""))
    labels = list(dict.fromkeys([e.metric, numerator, denominator]))
    keys = [part_key(label) for label in labels]
    own = [msgspec.json.encode(k[1]).decode() for k in keys]
    found = await conn.fetch(START, e.node, labels, e.starts_on, e.ends_on, scope, [k[0] for k in keys], own)
    totals = defaultdict(Decimal, {r["metric"]: r["total"] for r in found})
    await conn.execute(
        """INSERT INTO public_targets (target_id, node, metric, period, scope, starts_on, ends_on, value, stretch,
                                       parent_id, actual, numerator, denominator)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)""",
        e.originator_id,
        e.node,
        e.metric,
        e.period,
        scope,
        e.starts_on,
        e.ends_on,
        e.value,
        e.stretch,
        e.parent_id,
        totals[e.metric],
        totals[numerator],
        totals[denominator],
    )
    counted = totals[e.metric] or totals[numerator] or totals[denominator]
    await _reassess(conn, recorded, e.originator_id, quiet=not counted)


async def target_adjusted(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await _reassess(conn, recorded, recorded.event.originator_id, value=recorded.event.value)


async def _reassess(
    conn: asyncpg.Connection, recorded: Recorded, target_id: UUID, *, value: Decimal | None = None, quiet: bool = False
) -> None:
    targets = await Targets.load(conn, [target_id], await ratios(conn))
    if value is not None:
        targets.rows[target_id]["value"] = value
    await emit_all(conn, targets.announce(recorded, target_id, quiet=quiet))
    await targets.save(conn)


class Targets:
    """Some targets' rows, their paths, metrics' directions and parts, and time splits, held
    while a run of events is announced; saved back at the end."""

    def __init__(self, rows: dict[UUID, dict[str, Any]], nodes: dict[UUID, list[str]], lower: set[str], ratios, splits):
        self.rows, self.nodes, self.lower, self.ratios, self.splits = rows, nodes, lower, ratios, splits

    @classmethod
    async def load(cls, conn: asyncpg.Connection, target_ids: list[UUID], ratios: Ratios) -> "Targets":
        found = await conn.fetch("SELECT * FROM public_targets WHERE target_id = ANY($1::uuid[])", target_ids)
        rows = {r["target_id"]: {**dict(r), "scope": msgspec.json.decode(r["scope"])} for r in found}
        chains = await paths(conn, [(r["node"], r["starts_on"]) for r in rows.values()])
        metrics = list({r["metric"] for r in rows.values()})
        lower = await conn.fetch("SELECT name FROM public_metrics WHERE name = ANY($1::text[]) AND lower", metrics)
        split = [t for t, r in rows.items() if r["axis"] == "period"]
        # The time split only: a matrix's products beside its months span the whole period.
        children = await conn.fetch(
            """SELECT c.parent_id, c.starts_on, c.ends_on, c.value FROM public_targets c
                 JOIN public_targets p ON p.target_id = c.parent_id
                WHERE c.parent_id = ANY($1::uuid[]) AND c.period <> p.period""",
            split,
        )
        splits: dict[UUID, list[tuple[date, date, Decimal]]] = defaultdict(list)
        for child in children:
            splits[child["parent_id"]].append((child["starts_on"], child["ends_on"], child["value"]))
        return cls(rows, dict(zip(rows, chains, strict=True)), {m["name"] for m in lower}, ratios, splits)

    def count(self, target_id: UUID, metric: str, scope: dict[str, str], value: Decimal) -> None:
        """Add a fact's value to the target's running sum: its actual, or a ratio's part (a
        share's part only when the fact lies in the part's own scope too)."""
        row = self.rows[target_id]
        if row["metric"] not in self.ratios:
            row["actual"] += value
            return

        def counts(label: str) -> bool:
            part, own = part_key(label)
            return part == metric and scope.items() >= row["scope"].items() and scope.items() >= own.items()

        numerator, denominator = self.ratios[row["metric"]]
        row["numerator"] += value if counts(numerator) else 0
        row["denominator"] += value if counts(denominator) else 0

    def announce(self, recorded: Recorded, target_id: UUID, *, quiet: bool = False) -> list[Outgoing]:
        """attainment.updated.v1 for the target (unless quiet), then each threshold it crossed, once."""
        row, today = self.rows[target_id], recorded.recorded_at.date()
        lower, first, last = row["metric"] in self.lower, row["starts_on"], row["ends_on"]
        value, stretch = Decimal(row["value"]), row["stretch"]
        # Judged on the exact rate; shown, like every figure, without flattering.
        exact = rate(row["numerator"], row["denominator"]) if row["metric"] in self.ratios else Decimal(row["actual"])
        standing = assess(
            target=value,
            actual=exact,
            expected=planned_by(value, first, last, self.splits.get(target_id, []), today),
            elapsed_days=days_elapsed(first, last, today),
            total_days=(last - first).days + 1,
            lower_is_better=lower,
        )
        actual = shown_actual(exact, lower_is_better=lower)
        common: dict[str, Any] = {k: row[k] for k in ("target_id", "node", "metric", "period", "scope")}
        common |= {"actual": actual, "attainment_pct": standing.attainment_pct, "as_of": today}
        common |= {"target": value, "stretch": stretch}
        subject, nodes = str(target_id), self.nodes[target_id]
        out = []
        if not quiet:
            figures: dict[str, Any] = {
                "gap": standing.gap,
                "expected": standing.expected,
                "pace_pct": standing.pace_pct,
            }
            update = c.Attainment(**common, **figures, status=standing.status)
            out.append(outgoing(recorded, update, subject=subject, nodes=nodes))
        so_far = Fraction(exact)
        met = not lower and so_far >= value > 0
        stretch_met = not lower and stretch is not None and so_far >= stretch > 0
        crossings: list[tuple[Crossing, bool]] = [
            ("target_met", met and not row["met"]),
            ("stretch_met", stretch_met and not row["stretch_met"]),
            ("status_changed", row["status"] is not None and row["status"] != standing.status),
        ]
        for crossing, crossed in crossings:
            if crossed:
                data = c.ThresholdCrossed(
                    **common, crossing=crossing, previous_status=row["status"], status=standing.status
                )
                out.append(outgoing(recorded, data, subject=subject, nodes=nodes, key=f"{subject}/{crossing}"))
        row.update(status=standing.status, met=met, stretch_met=stretch_met)
        return out

    async def save(self, conn: asyncpg.Connection) -> None:
        rows = list(self.rows.values())
        if rows:
            columns = ("target_id", "value", "actual", "numerator", "denominator", "status", "met", "stretch_met")
            await conn.execute(SAVE, *([r[k] for r in rows] for k in columns))
