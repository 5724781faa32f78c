"""The annual plan read back: the targets of a year as the rows of a plan file."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from projections import targets as target_tree
from projections.runner import caught_up
from target_ledger.application import Command, ReadModelBehindError
from target_ledger.domain.errors import DomainError
from target_ledger.eventstore.store import replay

READ_MODEL_WAIT = 10.0  # seconds an export waits for the targets read model to apply the log's last event


async def plan_of_year(cmd: Command, year: str) -> list[dict[str, Any]]:
    """The targets inside a year as the plan file lists them: a target split along time or a dimension
    carries its parts as that row's split columns (a part split further is a row of its own too);
    a part of an org split is a row naming its parent's node in `part_of`."""
    span = cmd.calendar.parse(year)
    if span.kind != "year":
        raise DomainError(f"{year!r} is not a year", field="year")
    store = cmd.store
    if not await caught_up(store.pool, store, target_tree.NAME, await store.head(), READ_MODEL_WAIT):
        raise ReadModelBehindError("the targets read model is behind the log: is the server or `project` running?")
    rows: list[dict[str, Any]] = []
    after = None
    async with store.pool.acquire() as conn:
        while page := await target_tree.fetch_targets(
            conn,
            after=after,
            nodes=None,
            node=None,
            metric=None,
            period=None,
            scope={},
            acknowledged=None,
            limit=1000,
        ):
            rows.extend(page)
            last = page[-1]
            after = (last["node"], last["metric"], last["starts_on"], last["target_id"])
    children: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    rows = _of_year(rows, children, span.start, span.end)
    by_id = {r["target_id"]: r for r in rows}
    plan = []
    for row in rows:
        parent = by_id.get(row["parent_id"])
        splits: dict[str, Decimal] = {}
        if row["axis"] == "period":
            splits = {c["period"]: c["value"] for c in children.get(row["target_id"], [])}
        elif row["axis"] == "dimension":
            for c in children.get(row["target_id"], []):
                # None: a matrix's month beside its products (the matrix is refused below, whole).
                name = next((k for k in c["scope"] if k not in row["scope"]), None)
                if name is not None:
                    splits[f"{name}:{c['scope'][name]}"] = c["value"]
        if parent is not None and parent["axis"] in ("period", "dimension") and row["axis"] is None:
            continue  # only a split column of its parent's row
        part_of = parent["node"] if parent is not None and parent["axis"] == "org" else ""
        plan.append({**row, "splits": splits, "part_of": part_of})
    return await _with_rationales(cmd, plan)


def _of_year(
    rows: list[dict[str, Any]], children: dict[uuid.UUID, list[dict[str, Any]]], start: date, end: date
) -> list[dict[str, Any]]:
    """The targets whose period lies in the year, and every part of their splits, down every level,
    wherever the part's period starts (2026-W01 of January's weeks starts in 2025): a split is
    exported whole, or its row would not import again. In the read model's order."""
    chosen = {r["target_id"] for r in rows if r["starts_on"] and start <= r["starts_on"] <= r["ends_on"] <= end}
    wholes = list(chosen)
    while wholes:
        parts = [c["target_id"] for c in children.get(wholes.pop(), []) if c["target_id"] not in chosen]
        chosen.update(parts)
        wholes.extend(parts)
    return [r for r in rows if r["target_id"] in chosen]


async def _with_rationales(cmd: Command, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its target's rationale (`rationale`), as set: the read model does not keep it.
    A matrix (a target split along two axes) is refused: a plan row holds one split, and its cells
    would not import again; refused rather than exported without them."""
    streams = await cmd.store.load_after_each({row["target_id"]: 0 for row in plan})
    targets = [replay(streams[row["target_id"]], None) for row in plan]
    for t in targets:
        if getattr(t, "cross_parts", None):
            raise DomainError(
                f"the year holds a decomposition matrix: {t.node} {t.metric} {t.period} is split by {t.axis} "
                f"and by {t.cross_axis} (target {t.id}); a plan file holds one split per target, so this plan "
                f"cannot be exported whole: export the matrix with GET /v1/targets/{t.id}/decomposition",
                field="year",
            )
    return [{**row, "rationale": getattr(t, "rationale", "")} for row, t in zip(plan, targets, strict=True)]
