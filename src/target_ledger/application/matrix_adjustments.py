"""Adjusting a target of a matrix: every cell it touches re-allocated, every margin still exact."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from fractions import Fraction

from target_ledger.application import Command
from target_ledger.application.targets import get_target
from target_ledger.domain.adjustment import Change
from target_ledger.domain.catalog import Metric
from target_ledger.domain.controlled_rounding import controlled_round
from target_ledger.domain.decomposition import quantum_for
from target_ledger.domain.errors import DomainError
from target_ledger.domain.target import Target

# How a cell's own children follow it (a cell split further, by weeks): the single-axis re-allocation.
Descend = Callable[[Command, Target, Decimal, None], Awaitable[list[Change]]]


def change(target: Target, value: Decimal) -> Change:
    return Change(
        target_id=target.id,
        node=target.node,
        period=target.period,
        old_value=target.value,
        new_value=value,
        version=target.version,
    )


async def matrix_of(cmd: Command, target: Target) -> Target | None:
    """The matrix whose margin `target` is (a month or a product of a quarter split both ways)."""
    if target.parent_id is None:
        return None
    parent = await get_target(cmd.store, target.parent_id)
    return parent if parent.cross_parts else None


async def rescale(
    cmd: Command,
    root: Target,
    metric: Metric,
    descend: Descend,
    *,
    total: Decimal | None = None,
    margins: dict[uuid.UUID, Decimal] | None = None,
) -> list[Change]:
    """The changes of adjusting the matrix `root` to `total` (every cell scaled alike), or some of
    its margins (their cells scaled, the other margin and the root following: a month's change is
    a change of the quarter). Cells are controlled-rounded, so every row and column still adds up."""
    rows = [await get_target(cmd.store, p.target_id) for p in root.parts]
    columns = [await get_target(cmd.store, p.target_id) for p in root.cross_parts]
    margins = margins or {}
    in_rows, in_columns = {r.id for r in rows} & set(margins), {c.id for c in columns} & set(margins)
    if in_rows and in_columns:
        raise DomainError(
            "quota moves between two months, or two products, of a matrix: not across", field="transfer_to"
        )
    row_of = {p.target_id: i for i, row in enumerate(rows) for p in row.parts}
    grid: list[list[Target | None]] = [[None] * len(columns) for _ in rows]
    for j, column in enumerate(columns):
        for part in column.parts:
            grid[row_of[part.target_id]][j] = await get_target(cmd.store, part.target_id)
    cells = [[c for c in line if c is not None] for line in grid]
    if any(len(line) != len(columns) for line in cells):
        raise DomainError(f"the matrix of target {root.id} is missing cells", field="new_value")
    asked = [total or Decimal(0), *margins.values()]
    everything = [root.value, *asked, *(t.value for t in [*rows, *columns, *(c for line in cells for c in line)])]
    quantum = min(quantum_for(v, metric.unit) for v in everything)
    exact = [[Fraction(c.value / quantum) for c in line] for line in cells]
    if total is not None:
        exact = _scaled(exact, Fraction(total / quantum))
    for i, row in enumerate(rows):
        if row.id in margins:
            exact[i] = _scaled([exact[i]], Fraction(margins[row.id] / quantum))[0]
    for j, column in enumerate(columns):
        if column.id in margins:
            scaled = _scaled([[line[j]] for line in exact], Fraction(margins[column.id] / quantum))
            for line, (share,) in zip(exact, scaled, strict=True):
                line[j] = share
    rounded = await asyncio.to_thread(controlled_round, exact)  # not on the event loop
    value = {c.id: n * quantum for cs, ns in zip(cells, rounded, strict=True) for c, n in zip(cs, ns, strict=True)}
    value |= {r.id: sum(ns) * quantum for r, ns in zip(rows, rounded, strict=True)}
    value |= {c.id: sum(ns[j] for ns in rounded) * quantum for j, c in enumerate(columns)}
    value[root.id] = sum(map(sum, rounded)) * quantum
    margin_targets = [*rows, *columns]
    ordered = (
        [t for t in margin_targets if t.id in margins] + [root] + [t for t in margin_targets if t.id not in margins]
    )
    # A target left as it was is no change (a month beside a transfer between two others, closed
    # perhaps), unless a part of it changes: its parts are stored with it.
    moved = {t.id for t in [*cells_of(cells), *margin_targets, root] if value[t.id] != t.value}
    asked_for = {*margins, *([root.id] if total is not None else [])}  # the diff starts with what was asked
    changes = [
        change(t, value[t.id].quantize(quantum) if t.id in moved else t.value)  # kept as written: 900, not 900.00
        for t in ordered
        if t.id in moved | asked_for or any(p.target_id in moved for p in [*t.parts, *t.cross_parts])
    ]
    for cell in cells_of(cells):
        if cell.id in moved:
            changes += await descend(cmd, cell, value[cell.id].quantize(quantum), None)
    return changes


def cells_of(cells: list[list[Target]]) -> list[Target]:
    return [cell for line in cells for cell in line]


def _scaled(table: list[list[Fraction]], total: Fraction) -> list[list[Fraction]]:
    """The table scaled to `total`, every cell alike; an empty table (all zero) evenly."""
    current = sum(map(sum, table), Fraction(0))
    if current == 0:
        count = sum(map(len, table))
        return [[total / count for _ in line] for line in table]
    return [[cell * total / current for cell in line] for line in table]
