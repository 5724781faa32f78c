"""The target tree: every target with its parent, for the decomposition matrix."""

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from target_ledger.domain.target import Target
from target_ledger.eventstore import Recorded

NAME = "targets"
TABLES = ["target_tree"]
VERSION = 2  # raise it when the handlers or tables change meaning: workers then rebuild the model


async def target_set(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """INSERT INTO target_tree (target_id, parent_id, node, metric, period, scope, value,
                                    stretch, version, position, starts_on, ends_on)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12)""",
        e.originator_id,
        e.parent_id,
        e.node,
        e.metric,
        e.period,
        msgspec.json.encode(e.scope).decode(),
        e.value,
        e.stretch,
        e.originator_version,
        recorded.position,
        e.starts_on,
        e.ends_on,
    )


async def target_decomposed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        """UPDATE target_tree SET axis = $2, method = $3, version = $4, position = $5
            WHERE target_id = $1""",
        e.originator_id,
        e.axis,
        e.method,
        e.originator_version,
        recorded.position,
    )


async def target_adjusted(conn: asyncpg.Connection, recorded: Recorded) -> None:
    e = recorded.event
    await conn.execute(
        "UPDATE target_tree SET value = $2, version = $3, position = $4 WHERE target_id = $1",
        e.originator_id,
        e.value,
        e.originator_version,
        recorded.position,
    )


async def _responded(conn: asyncpg.Connection, recorded: Recorded, state: str) -> None:
    e = recorded.event
    await conn.execute(
        """UPDATE target_tree SET acknowledgement = $2, version = $3, position = $4
            WHERE target_id = $1""",
        e.originator_id,
        state,
        e.originator_version,
        recorded.position,
    )


async def target_acknowledged(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await _responded(conn, recorded, "acknowledged")


async def target_disputed(conn: asyncpg.Connection, recorded: Recorded) -> None:
    await _responded(conn, recorded, "disputed")


HANDLERS = {
    Target.TargetSet: target_set,
    Target.TargetDecomposed: target_decomposed,
    Target.TargetAdjusted: target_adjusted,
    Target.TargetAcknowledged: target_acknowledged,
    Target.TargetDisputed: target_disputed,
}


async def fetch_tree(conn: asyncpg.Connection, root: UUID) -> list[dict[str, Any]]:
    """The target and everything decomposed from it, depth first, with each one's share of
    its parent and of the root."""
    rows = await conn.fetch(
        """
        WITH RECURSIVE tree AS (
            SELECT t.*, 0 AS depth, ARRAY[t.period || ' ' || t.node || ' ' || t.scope::text] AS path,
                   t.value AS parent_value
              FROM target_tree t WHERE t.target_id = $1
            UNION ALL
            SELECT c.*, tree.depth + 1, tree.path || (c.period || ' ' || c.node || ' ' || c.scope::text),
                   tree.value
              FROM target_tree c JOIN tree ON c.parent_id = tree.target_id
        )
        SELECT target_id, parent_id, node, metric, period, scope::text AS scope, value, axis, method,
               acknowledgement, depth, parent_value
          FROM tree ORDER BY path
        """,
        root,
    )
    root_value = rows[0]["value"] if rows else Decimal(0)
    return [
        {
            **{k: r[k] for k in ("target_id", "parent_id", "node", "metric", "period", "value")},
            "scope": msgspec.json.decode(r["scope"]),
            "axis": r["axis"],
            "method": r["method"],
            "acknowledgement": r["acknowledgement"],
            "depth": r["depth"],
            "share_of_parent": _share(r["value"], r["parent_value"]) if r["depth"] else None,
            "share_of_root": _share(r["value"], root_value),
        }
        for r in rows
    ]


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole * 100).quantize(Decimal("0.01")) if whole else None


# A page of targets in (node, metric, starts_on, target_id) order after a key (none: the first),
# filtered; `nodes` NULL means every node. Scope filters by containment (`{}`: every scope).
LIST = """
SELECT target_id, parent_id, node, metric, period, starts_on, ends_on, scope::text AS scope, value, stretch,
       axis, method, acknowledgement, version
  FROM target_tree
 WHERE ($1::text IS NULL OR (node, metric, starts_on, target_id) > ($1, $2::text, $3::date, $4::uuid))
   AND ($5::text[] IS NULL OR node = ANY($5))
   AND ($6::text IS NULL OR node = $6)
   AND ($7::text IS NULL OR metric = $7)
   AND ($8::text IS NULL OR period = $8)
   AND scope @> $9::jsonb
   AND ($10::boolean IS NULL OR (acknowledgement = 'acknowledged') = $10)
 ORDER BY node, metric, starts_on, target_id
 LIMIT $11
"""

TargetKey = tuple[str, str, date, UUID]  # node, metric, first day, target id


async def fetch_targets(
    conn: asyncpg.Connection,
    *,
    after: TargetKey | None,
    nodes: list[str] | None,
    node: str | None,
    metric: str | None,
    period: str | None,
    scope: dict[str, str],
    acknowledged: bool | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` targets after the key `after`, in key order."""
    key = after or (None, None, None, None)
    rows = await conn.fetch(
        LIST, *key, nodes, node, metric, period, msgspec.json.encode(scope).decode(), acknowledged, limit
    )
    return [{**dict(r), "scope": msgspec.json.decode(r["scope"])} for r in rows]
