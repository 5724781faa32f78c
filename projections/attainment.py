"""Current attainment: daily actuals per node, rolled up the org as of their date, and targets.

A person's actual counts for the person and for every unit above the unit they were in
on that day. When a membership changes (even back-dated), the person's days are taken
out of the old chain and put into the new one, from their own daily rows.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.domain.actual import Actual
from target_ledger.domain.catalog import part_key
from target_ledger.domain.org import Organisation
from target_ledger.domain.target import Target
from target_ledger.eventstore import Recorded

NAME = "attainment"
TABLES = [
    "attainment_units",
    "attainment_memberships",
    "attainment_targets",
    "attainment_actuals",
    "attainment_daily",
]
VERSION = 2  # raise it when the handlers or tables change meaning: workers then rebuild the model

# Each actual counts for its person and for every unit above the unit they were in that day.
ADD_TO_DAILY = """
INSERT INTO attainment_daily AS d (node, metric, day, scope, value)
SELECT n, a.metric, a.day, a.scope, sum(a.value)
  FROM unnest($1::text[], $2::text[], $3::date[], $4::jsonb[], $5::numeric[]) AS a(person, metric, day, scope, value)
  LEFT JOIN attainment_memberships m
    ON m.person = a.person AND m.valid_from <= a.day AND (m.valid_to IS NULL OR a.day < m.valid_to)
  LEFT JOIN attainment_units u ON u.node = m.unit
 CROSS JOIN LATERAL unnest(ARRAY[a.person] || coalesce(u.path, '{}')) AS n
 GROUP BY n, a.metric, a.day, a.scope
ON CONFLICT (node, metric, day, scope) DO UPDATE SET value = d.value + EXCLUDED.value
"""

# A person's days, added (sign 1) or taken out (sign -1) of the units they were in on them.
SHIFT_PERSON = """
INSERT INTO attainment_daily AS d (node, metric, day, scope, value)
SELECT n, p.metric, p.day, p.scope, $2 * sum(p.value)
  FROM attainment_daily p
  JOIN attainment_memberships m
    ON m.person = p.node AND m.valid_from <= p.day AND (m.valid_to IS NULL OR p.day < m.valid_to)
  JOIN attainment_units u ON u.node = m.unit
 CROSS JOIN unnest(u.path) AS n
 WHERE p.node = $1
 GROUP BY n, p.metric, p.day, p.scope
ON CONFLICT (node, metric, day, scope) DO UPDATE SET value = d.value + EXCLUDED.value
"""


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def unit_created(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO attainment_units (node, path)
           SELECT $1, ARRAY[$1::text] || coalesce((SELECT path FROM attainment_units WHERE node = $2), '{}')""",
        e.node,
        e.parent,
    )


async def _rejoin(conn: asyncpg.Connection, person: str, change: str, *args: object) -> None:
    await conn.execute(SHIFT_PERSON, person, -1)
    await conn.execute(change, person, *args)
    await conn.execute(SHIFT_PERSON, person, 1)


async def person_joined(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await _rejoin(
        conn,
        e.person,
        "INSERT INTO attainment_memberships (person, unit, valid_from) VALUES ($1, $2, $3)",
        e.unit,
        e.effective,
    )


async def person_moved(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await _rejoin(
        conn,
        e.person,
        """WITH closed AS (UPDATE attainment_memberships SET valid_to = $3
                            WHERE person = $1 AND valid_to IS NULL)
           INSERT INTO attainment_memberships (person, unit, valid_from) VALUES ($1, $2, $3)""",
        e.to_unit,
        e.effective,
    )


async def person_left(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await _rejoin(
        conn,
        e.person,
        "UPDATE attainment_memberships SET valid_to = $2 WHERE person = $1 AND valid_to IS NULL",
        e.effective,
    )


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO attainment_targets (target_id, node, metric, period, scope, starts_on, ends_on,
                                           value, parent_id)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)""",
        e.originator_id,
        e.node,
        e.metric,
        e.period,
        _json(e.scope),
        e.starts_on,
        e.ends_on,
        e.value,
        e.parent_id,
    )


async def target_decomposed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute("UPDATE attainment_targets SET axis = $2 WHERE target_id = $1", e.originator_id, e.axis)


async def target_adjusted(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute("UPDATE attainment_targets SET value = $2 WHERE target_id = $1", e.originator_id, e.value)


async def actuals_recorded(conn: asyncpg.Connection, batch: list[Recorded]) -> None:
    """A run of recorded actuals, in two statements (the runner hands them over together)."""
    events = [r.event for r in batch]
    people, metrics, days = [e.person for e in events], [e.metric for e in events], [e.occurred_on for e in events]
    scopes, values = [_json(e.scope) for e in events], [e.value for e in events]
    await conn.execute(
        """INSERT INTO attainment_actuals (actual_id, person, metric, occurred_on, value, scope, source,
                                           external_ref, position)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::numeric[], $6::jsonb[],
                                $7::text[], $8::text[], $9::bigint[])""",
        [e.originator_id for e in events],
        people,
        metrics,
        days,
        values,
        scopes,
        [e.source for e in events],
        [e.external_ref for e in events],
        [r.position for r in batch],
    )
    await conn.execute(ADD_TO_DAILY, people, metrics, days, scopes, values)


async def actual_recorded(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await actuals_recorded(conn, [recorded])


async def actual_reversed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    fact = await conn.fetchrow(
        """UPDATE attainment_actuals SET reversed = true WHERE actual_id = $1
           RETURNING person, metric, occurred_on, scope::text AS scope, value""",
        recorded.event.originator_id,
    )
    await conn.execute(
        ADD_TO_DAILY, [fact["person"]], [fact["metric"]], [fact["occurred_on"]], [fact["scope"]], [-fact["value"]]
    )


HANDLERS = {
    Organisation.OrgUnitCreated: unit_created,
    Organisation.PersonJoined: person_joined,
    Organisation.PersonMoved: person_moved,
    Organisation.PersonLeft: person_left,
    Target.TargetSet: target_set,
    Target.TargetDecomposed: target_decomposed,
    Target.TargetAdjusted: target_adjusted,
    Actual.ActualRecorded: actual_recorded,
    Actual.ActualReversed: actual_reversed,
}
BATCH_HANDLERS = {Actual.ActualRecorded: actuals_recorded}


@dataclass(frozen=True)
class Plan:
    """A target as the read model holds it, with its time split if it has one."""

    target_id: UUID
    value: Decimal
    # The children's days and values, when split by time; of a matrix split by month and product,
    # the months only (a product's target spans the whole period: no season of its own).
    seasonal: list[tuple[date, date, Decimal]]


async def fetch_plan(
    conn: asyncpg.Connection, *, node: str, metric: str, period: str, scope: dict[str, str]
) -> Plan | None:
    query = """SELECT target_id, value, axis FROM attainment_targets
                WHERE node = $1 AND metric = $2 AND period = $3 AND scope = $4::jsonb"""
    if (row := await conn.fetchrow(query, node, metric, period, _json(scope))) is None:
        return None
    seasonal = []
    if row["axis"] == "period":
        children = await conn.fetch(
            "SELECT starts_on, ends_on, value FROM attainment_targets WHERE parent_id = $1 AND period <> $2"
            " ORDER BY starts_on",
            row["target_id"],
            period,
        )
        seasonal = [(c["starts_on"], c["ends_on"], c["value"]) for c in children]
    return Plan(row["target_id"], row["value"], seasonal)


async def fetch_actual_totals(
    conn: asyncpg.Connection,
    *,
    node: str,
    metrics: list[str],
    starts_on: date,
    ends_on: date,
    scope: dict[str, str],
) -> dict[str, Decimal]:
    """Each part's total for a node (rolled up as of each day) between two days, in a scope: a
    part is a metric, or a metric in a scope of its own (domain/catalog.py part_label)."""
    rows = await conn.fetch(
        """SELECT p.label AS metric, sum(d.value) AS total
             FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS p(label, metric, scope)
             JOIN attainment_daily d
               ON d.node = $1 AND d.metric = p.metric AND d.day BETWEEN $5 AND $6 AND d.scope @> $7::jsonb
              AND d.scope @> p.scope
            GROUP BY p.label""",
        node,
        *_parts(metrics),
        starts_on,
        ends_on,
        _json(scope),
    )
    totals = {r["metric"]: r["total"] for r in rows}
    return {m: totals.get(m, Decimal(0)) for m in metrics}


def _parts(labels: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Parts as three arrays: their labels, metrics and own scopes (a share's part has one)."""
    keys = [part_key(label) for label in labels]
    return labels, [m for m, _ in keys], [_json(own) for _, own in keys]


# Per key (node, period, first and last day, scope): its totals per part between the two
# days in its scope (a share's part in its own scope too), and its target with, when it is
# split by time, its children's days and values; and the position of the last event these
# figures include. One round trip for every row of a read.
FIGURES = """
SELECT tot.metrics, tot.totals, t.target_id, t.value, s.starts, s.ends, s.vals,
       (SELECT position FROM projection_tracking WHERE name = $8) AS read_position
  FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::jsonb[])
       WITH ORDINALITY AS k(node, period, starts_on, ends_on, scope, i)
  LEFT JOIN LATERAL (
      SELECT array_agg(d.label) AS metrics, array_agg(d.total) AS totals
        FROM (SELECT p.label, sum(a.value) AS total
                FROM unnest($7::text[], $9::text[], $10::jsonb[]) AS p(label, metric, scope)
                JOIN attainment_daily a
                  ON a.node = k.node AND a.metric = p.metric AND a.day BETWEEN k.starts_on AND k.ends_on
                 AND a.scope @> k.scope AND a.scope @> p.scope
               GROUP BY p.label) AS d) AS tot ON true
  LEFT JOIN attainment_targets t
    ON t.node = k.node AND t.metric = $6 AND t.period = k.period AND t.scope = k.scope
  LEFT JOIN LATERAL (
      SELECT array_agg(c.starts_on ORDER BY c.starts_on) AS starts,
             array_agg(c.ends_on ORDER BY c.starts_on) AS ends,
             array_agg(c.value ORDER BY c.starts_on) AS vals
        FROM attainment_targets c
       WHERE t.axis = 'period' AND c.parent_id = t.target_id AND c.period <> t.period) AS s ON true
 ORDER BY k.i
"""


async def fetch_split_target(
    conn: asyncpg.Connection, *, node: str, metric: str, period: str, scope: dict[str, str]
) -> tuple[Decimal, str | None, list[tuple[str, str, dict[str, str]]]] | None:
    """A target's value, the axis it is split along, and its parts' keys (node, period, scope)."""
    query = """SELECT t.value, t.axis,
                      coalesce(json_agg(json_build_array(c.node, c.period, c.scope) ORDER BY c.starts_on, c.node)
                               FILTER (WHERE c.target_id IS NOT NULL), '[]')::text AS parts
                 FROM attainment_targets t LEFT JOIN attainment_targets c ON c.parent_id = t.target_id
                WHERE t.node = $1 AND t.metric = $2 AND t.period = $3 AND t.scope = $4::jsonb
                GROUP BY t.target_id, t.value, t.axis"""
    if (row := await conn.fetchrow(query, node, metric, period, _json(scope))) is None:
        return None
    parts = [(n, p, s) for n, p, s in msgspec.json.decode(row["parts"])]
    return row["value"], row["axis"], parts


async def fetch_nodes_with_targets(
    conn: asyncpg.Connection, metric: str, nodes: list[str], starts_on: date, ends_on: date
) -> set[str]:
    """Those of the nodes with a target of the metric whose days lie within [starts_on, ends_on]."""
    rows = await conn.fetch(
        """SELECT DISTINCT node FROM attainment_targets
            WHERE node = ANY($1::text[]) AND metric = $2 AND starts_on >= $3 AND ends_on <= $4""",
        nodes,
        metric,
        starts_on,
        ends_on,
    )
    return {r["node"] for r in rows}


FigureKey = tuple[str, str, date, date, dict[str, str]]  # node, period, first day, last day, scope


async def fetch_figures(
    conn: asyncpg.Connection, metric: str, parts: list[str], keys: list[FigureKey]
) -> tuple[list[tuple[dict[str, Decimal], Plan | None]], int]:
    """fetch_actual_totals of `parts` and fetch_plan of `metric` for many keys, in one query;
    and the read model's position they stand at (0 without keys)."""
    columns = [[k[n] for k in keys] for n in range(4)]
    labels, metrics, scopes = _parts(parts)
    rows = await conn.fetch(FIGURES, *columns, [_json(k[4]) for k in keys], metric, labels, NAME, metrics, scopes)
    figures: list[tuple[dict[str, Decimal], Plan | None]] = []
    for r in rows:
        totals = dict.fromkeys(parts, Decimal(0)) | dict(zip(r["metrics"] or [], r["totals"] or [], strict=True))
        plan = None
        if r["target_id"] is not None:
            seasonal = list(zip(r["starts"], r["ends"], r["vals"], strict=True)) if r["starts"] else []
            plan = Plan(r["target_id"], r["value"], seasonal)
        figures.append((totals, plan))
    return figures, (rows[0]["read_position"] or 0) if rows else 0


# Per key (node, first and last day, scope): the targets of the metric whose days meet the
# key's, one row per part of a time split (or one row): what a period with no target of its
# own (a week of a month target) derives its planned share from.
HOLDERS = """
SELECT k.i, t.target_id, t.starts_on, t.ends_on, t.value,
       c.starts_on AS part_starts_on, c.ends_on AS part_ends_on, c.value AS part_value
  FROM unnest($1::text[], $2::date[], $3::date[], $4::jsonb[]) WITH ORDINALITY AS k(node, starts_on, ends_on, scope, i)
  JOIN attainment_targets t
    ON t.node = k.node AND t.metric = $5 AND t.scope = k.scope
   AND t.starts_on <= k.ends_on AND t.ends_on >= k.starts_on
  LEFT JOIN attainment_targets c ON t.axis = 'period' AND c.parent_id = t.target_id AND c.period <> t.period
 ORDER BY k.i, t.starts_on, t.target_id, c.starts_on
"""

HolderKey = tuple[str, date, date, dict[str, str]]  # node, first day, last day, scope
HolderRow = tuple[UUID, date, date, Decimal, list[tuple[date, date, Decimal]]]  # id, days, value, time split


async def fetch_holders(conn: asyncpg.Connection, metric: str, keys: list[HolderKey]) -> list[list[HolderRow]]:
    """Per key, the metric's targets of the same node and scope whose days meet the key's days,
    each with its time split's days and values (empty when it is not split by time)."""
    columns = [[k[n] for k in keys] for n in range(3)]
    rows = await conn.fetch(HOLDERS, *columns, [_json(k[3]) for k in keys], metric)
    found: list[dict[UUID, HolderRow]] = [{} for _ in keys]
    for r in rows:
        key = r["target_id"]
        holder = found[r["i"] - 1].setdefault(key, (key, r["starts_on"], r["ends_on"], r["value"], []))
        if r["part_starts_on"] is not None:
            holder[4].append((r["part_starts_on"], r["part_ends_on"], r["part_value"]))
    return [list(by_id.values()) for by_id in found]


async def fetch_target_keys(conn: asyncpg.Connection, target_ids: list[UUID]) -> dict[UUID, asyncpg.Record]:
    """Metric, scope and days of targets, by id."""
    rows = await conn.fetch(
        """SELECT target_id, node, metric, scope::text AS scope, starts_on, ends_on FROM attainment_targets
            WHERE target_id = ANY($1::uuid[])""",
        target_ids,
    )
    return {r["target_id"]: r for r in rows}


async def fetch_targets_covering(conn: asyncpg.Connection, starts_on: date, ends_on: date) -> list[asyncpg.Record]:
    """Targets whose days overlap [starts_on, ends_on], shortest first: what the alert rules judge."""
    return await conn.fetch(
        """SELECT target_id, node, metric, period, scope::text AS scope, starts_on, ends_on, value
             FROM attainment_targets WHERE starts_on <= $2 AND ends_on >= $1
            ORDER BY ends_on - starts_on, period""",
        starts_on,
        ends_on,
    )


async def fetch_last_actual_days(conn: asyncpg.Connection, people: list[str], until: date) -> dict[str, date]:
    """Each person's latest day up to `until` with an actual that stands (not reversed): an
    actual dated ahead says nothing of the days before it."""
    rows = await conn.fetch(
        """SELECT person, max(occurred_on) AS day FROM attainment_actuals
            WHERE person = ANY($1::text[]) AND NOT reversed AND occurred_on <= $2 GROUP BY person""",
        people,
        until,
    )
    return {r["person"]: r["day"] for r in rows}


async def fetch_targets_within(
    conn: asyncpg.Connection, nodes: list[str], starts_on: date, ends_on: date
) -> list[asyncpg.Record]:
    """The nodes' targets whose periods lie within [starts_on, ends_on], longest first."""
    return await conn.fetch(
        """SELECT target_id, node, metric, period, scope::text AS scope, starts_on, ends_on, value
             FROM attainment_targets WHERE node = ANY($1::text[]) AND starts_on >= $2 AND ends_on <= $3
            ORDER BY node, metric, ends_on - starts_on DESC, starts_on""",
        nodes,
        starts_on,
        ends_on,
    )


# A page of actuals in the order they were recorded (their event's position) after a position,
# filtered; `people` NULL means everyone's. `node` takes the person's own actuals and those of
# the people who were in a unit below it on their day (as attainment counts them).
LIST_ACTUALS = """
SELECT a.actual_id, a.person, a.metric, a.occurred_on, a.value, a.scope::text AS scope, a.source,
       a.external_ref, a.reversed, a.position
  FROM attainment_actuals a
 WHERE a.position > $1
   AND ($2::text[] IS NULL OR a.person = ANY($2))
   AND ($3::text IS NULL OR a.person = $3)
   AND ($4::text IS NULL OR a.person = $4 OR EXISTS (
        SELECT 1 FROM attainment_memberships m JOIN attainment_units u ON u.node = m.unit
         WHERE m.person = a.person AND m.valid_from <= a.occurred_on
           AND (m.valid_to IS NULL OR a.occurred_on < m.valid_to) AND $4 = ANY(u.path)))
   AND ($5::text IS NULL OR a.metric = $5)
   AND ($6::date IS NULL OR a.occurred_on >= $6)
   AND ($7::date IS NULL OR a.occurred_on <= $7)
   AND ($8::text IS NULL OR a.source = $8)
   AND ($9::text IS NULL OR a.external_ref = $9)
   AND ($10::boolean IS NULL OR a.reversed = $10)
 ORDER BY a.position
 LIMIT $11
"""


@dataclass(frozen=True)
class ActualFilter:
    """What an actuals list asks for; None leaves a field unfiltered."""

    people: list[str] | None = None  # those the reader may read; None: everyone's
    person: str | None = None
    node: str | None = None
    metric: str | None = None
    since: date | None = None
    until: date | None = None
    source: str | None = None
    external_ref: str | None = None
    reversed: bool | None = None


async def fetch_actuals(conn: asyncpg.Connection, f: ActualFilter, *, after: int, limit: int) -> list[dict]:
    """Up to `limit` actuals recorded after position `after`, oldest first."""
    rows = await conn.fetch(
        LIST_ACTUALS,
        after,
        f.people,
        f.person,
        f.node,
        f.metric,
        f.since,
        f.until,
        f.source,
        f.external_ref,
        f.reversed,
        limit,
    )
    return [{**dict(r), "scope": msgspec.json.decode(r["scope"])} for r in rows]
