"""Reviews (复盘): record what a closed period taught, and read its historical review."""

from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from projections import actions as actions_model
from projections import alerts as alerts_model
from projections import attainment as attainment_model
from projections import audit as audit_model
from projections import reviews as reviews_model
from target_ledger.application import Command
from target_ledger.application.attainment import standing_on
from target_ledger.application.periods import closed_for
from target_ledger.application.reads import authorize_read
from target_ledger.domain.access import can_read, check_manages_or_runs
from target_ledger.domain.calendar import Period
from target_ledger.domain.errors import AlreadyExistsError
from target_ledger.domain.review import Review
from target_ledger.eventstore import StreamConflictError


async def record_review(cmd: Command, *, period: str, node: str, notes: dict[str, Any]) -> tuple[Review, int]:
    """Once per closed period and node, by its manager, one above, or an admin."""
    check_manages_or_runs(cmd.actor, await cmd.org(), node, cmd.today(), "reviewing")
    span = cmd.calendar.parse(period)
    await closed_for(cmd, span.key, node)
    review = Review.record(period=span.key, node=node, reviewer=cmd.actor.subject, at=cmd.clock(), **notes)
    try:
        appended = await cmd.append(review.collect_events())
    except StreamConflictError:
        raise AlreadyExistsError(f"{span.key} is already reviewed for {node!r}", field="period") from None
    return review, appended.last


class _Reader:
    """Reads one period's figures for one node's targets from the read models."""

    def __init__(self, cmd: Command, conn: asyncpg.Connection, closed: str | None = None) -> None:
        """`closed`: the period key closed for the node, whose actual is every one in the period
        (one dated after the close too, as its final payouts count them), not the actual to date."""
        self.cmd, self.conn, self.closed = cmd, conn, closed

    async def targets(self, nodes: list[str], span: Period) -> list[asyncpg.Record]:
        within = await attainment_model.fetch_targets_within(self.conn, nodes, span.start, span.end)
        return [t for t in within if t["period"] == span.key]

    async def figures(self, target: asyncpg.Record) -> dict[str, Any]:
        """Original and final value, each adjustment with its approvals, and where it ended."""
        history = await audit_model.fetch_history(self.conn, target["target_id"])
        approvals: dict[Any, list[str]] = {}
        for h in history:
            if h["type"] == "AdjustmentApproved":
                approvals.setdefault(h["adjustment_id"], []).append(h["detail"].get("approver", h["actor"]))
        adjustments = [
            {
                "adjustment_id": h["adjustment_id"],
                "reason_category": h["reason_category"],
                "old_value": h["old_value"],
                "new_value": h["new_value"],
                "approved_by": approvals.get(h["adjustment_id"], []),
                "recorded_at": h["recorded_at"],
                "position": h["position"],
            }
            for h in history
            if h["type"] == "TargetAdjusted"
        ]
        original = next((h["new_value"] for h in history if h["type"] == "TargetSet"), target["value"])
        span = self.cmd.calendar.parse(target["period"])
        row = await standing_on(
            self.cmd,
            self.conn,
            node=target["node"],
            metric=target["metric"],
            period=span.key,
            scope=msgspec.json.decode(target["scope"]),
            day=span.end if span.key == self.closed else min(span.end, self.cmd.today()),
        )
        standing = row.standing
        return {
            "period": span.key,
            "target_id": target["target_id"],
            "original": original,
            "final": target["value"],
            "adjustments": adjustments,
            "actual": row.actual,
            "attainment_pct": standing.attainment_pct if standing else None,
            "gap": standing.gap if standing else None,
            "status": standing.status if standing else None,
        }

    async def compared(self, target: asyncpg.Record, span: Period) -> dict[str, Any] | None:
        """The same node, metric and scope in another period, if it had a target."""
        same = [
            t
            for t in await self.targets([target["node"]], span)
            if (t["metric"], t["scope"]) == (target["metric"], target["scope"])
        ]
        if not same:
            return None
        figures = await self.figures(same[0])
        return {k: figures[k] for k in ("period", "original", "final", "actual", "attainment_pct", "gap")}


def _effect(action: asyncpg.Record) -> dict[str, Any]:
    def points(after: Decimal | None, before: Decimal | None) -> Decimal | None:
        return after - before if after is not None and before is not None else None

    return {
        "action_id": action["action_id"],
        "plan": action["plan"],
        "owner": action["owner"],
        "due": action["due"],
        "status": action["status"],
        "outcome": action["outcome"],
        "attainment_before": action["attainment_before"],
        "attainment_after": action["attainment_after"],
        "attainment_change": points(action["attainment_after"], action["attainment_before"]),
        "pace_before": action["pace_before"],
        "pace_after": action["pace_after"],
        "pace_change": points(action["pace_after"], action["pace_before"]),
    }


async def review_report(cmd: Command, *, period: str, node: str) -> dict[str, Any]:
    """Per node (the node and its children) and metric: original and final target, each
    adjustment, actual, attainment, gap, alerts raised, corrective actions and their effect,
    the recorded review, and the same figures for the previous period and a year before."""
    org, today = await authorize_read(cmd, node), cmd.today()
    span = cmd.calendar.parse(period)
    # The children's rows are theirs: a member reading their unit's review sees only their own.
    nodes = [n for n in [node, *org.children(node, span.end)] if can_read(cmd.actor, org, n, today)]
    previous, last_year = cmd.calendar.previous(span), cmd.calendar.same_period_last_year(span)
    closure = await cmd.closure(node, span.start, span.end)
    async with cmd.store.pool.acquire() as conn:
        reader, rows = _Reader(cmd, conn, span.key if closure is not None else None), []
        nested = await attainment_model.fetch_targets_within(conn, nodes, span.start, span.end)
        alerts = await alerts_model.fetch_raised_between(conn, nodes, span.start, span.end)
        for target in await reader.targets(nodes, span):
            key = (target["node"], target["metric"], target["scope"])
            ids = [t["target_id"] for t in nested if (t["node"], t["metric"], t["scope"]) == key]
            actions = await actions_model.fetch_for_targets(conn, ids)
            rows.append(
                {
                    "node": target["node"],
                    "metric": target["metric"],
                    "scope": msgspec.json.decode(target["scope"]),
                    **await reader.figures(target),
                    "alerts": [
                        a for a in alerts if a["node"] == target["node"] and a["metric"] in ("", target["metric"])
                    ],
                    "corrective_actions": [_effect(a) for a in actions],
                    "previous": await reader.compared(target, previous),
                    "last_year": await reader.compared(target, last_year),
                }
            )
        review = await reviews_model.fetch_review(conn, span.key, node)
    return {
        "period": span.key,
        "node": node,
        "starts_on": span.start,
        "ends_on": span.end,
        "closed": closure is not None,
        "rows": rows,
        "review": review,
    }
