"""Decomposing a target along two axes at once: a matrix of cell targets whose margins add up."""

import asyncio
import uuid
from decimal import Decimal

from target_ledger.application import Command, preconditions
from target_ledger.application.targets import (
    Split,
    _append_new,
    check_parts_new,
    decide_split,
    get_target,
    plan_children,
)
from target_ledger.application.targets import decompose as decompose_along_one_axis
from target_ledger.domain.controlled_rounding import MAX_CELLS, controlled_round, proportional
from target_ledger.domain.decomposition import quantum_for
from target_ledger.domain.errors import DomainError
from target_ledger.domain.target import AlreadyDecomposedError, Part, Target

Cells = dict[str, dict[str, Decimal]]  # row key → column key → value


def part_of(target: Target) -> Part:
    return Part(target_id=target.id, node=target.node, period=target.period, scope=target.scope, value=target.value)


def axis_key(parent: Target, child: Part) -> tuple[str, str]:
    """Where a child lies along its parent's axis, and the axis's name in a field: ("org", node),
    ("period", "2026-01") or the dimension's name and value ("product", "A")."""
    if child.node != parent.node:
        return "org", child.node
    if child.period != parent.period:
        return "period", child.period
    return next(((k, v) for k, v in child.scope.items() if k not in parent.scope), ("parts", str(child.target_id)))


async def decompose(
    cmd: Command, parent_id: uuid.UUID, split: Split, cross: Split | None = None, cells: Cells | None = None
) -> tuple[Target, int | None]:
    """Split along one axis as before; along two when `cross` is given, or when the target is
    split already along another axis than `split`'s: its parts are then the matrix's rows."""
    await preconditions.admit(cmd)
    parent = await get_target(cmd.store, parent_id)
    second = cross is None and bool(parent.parts) and split.axis != parent.axis
    if cross is None and not second:
        if cells:
            raise DomainError("cells are given for a split along two axes: give `cross` too", field="cells")
        return await decompose_along_one_axis(cmd, parent_id, split)
    await preconditions.check_target(cmd, parent)
    made = None if second else await decide_split(cmd, parent, split)
    # The target's parts, as stored, are the rows; or those the first split of this request makes.
    rows = made or [await get_target(cmd.store, p.target_id) for p in parent.parts]
    decided = await cross_split(cmd, parent, rows, cross or split, cells, "cross" if cross else "axis")
    if decided is None:
        await cmd.check_conditions()  # nothing to append: a stale If-Match is a 412 still
        return parent, None
    changed = [parent] if made else [parent, *rows]
    return parent, await _append_new(cmd, [*(made or []), *decided], *changed)


async def cross_split(
    cmd: Command, parent: Target, rows: list[Target], split: Split, cells: Cells | None, field: str = "cross"
) -> list[Target] | None:
    """Split `parent`, already split into `rows`, along a second axis: the other margin (one target
    per column, a child of the parent) and a cell per row and column (a child of its row, a part of
    its column too). Default cells are row share times column share, rounded by controlled rounding so
    that every row and every column still sums exactly; None if it is split this very way already."""
    metric = (await cmd.catalog()).metric(parent.metric)
    if not metric.additive:
        raise DomainError("a matrix splits an additive metric; a rate is set on each part", field="axis")
    columns = await plan_children(cmd, parent, split)
    margins = [part_of(c) for c in columns.values()]
    if parent.cross_parts and (parent.cross_axis, parent.cross_method, parent.cross_parts) == (
        split.axis,
        split.method,
        margins,
    ):
        _check_same_cells(parent, rows, cells)
        return None
    parent.check_can_cross(split.axis)  # before any part is decided: a third axis is a 409
    if len(rows) * len(columns) > MAX_CELLS:  # the rounding grows faster than the cells: 53,000 took 30 s
        raise DomainError(
            f"{len(rows)} x {len(columns)} is {len(rows) * len(columns)} cells, more than {MAX_CELLS}: "
            "split a coarser axis, then the cells further",
            field=field,
        )
    for key, line in (cells or {}).items():
        for column, value in line.items():
            metric.check_target_value(value, field=f"cells.{key}.{column}")
    row_keys = [axis_key(parent, part_of(r)) for r in rows]
    column_axis = split.dimension if split.axis == "dimension" else split.axis
    values = await _cell_values(parent, rows, row_keys, list(columns.items()), column_axis or "", metric.unit, cells)
    made: list[Target] = []
    by_column: dict[str, list[Part]] = {key: [] for key in columns}
    for row, (_, key) in zip(rows, row_keys, strict=True):
        across = Split(
            axis=split.axis, method="explicit", into=split.into, dimension=split.dimension, allocations=values[key]
        )
        row_cells = await plan_children(cmd, row, across)
        await check_parts_new(cmd, across, row_cells)
        row.decompose(split.axis, "matrix", [part_of(c) for c in row_cells.values()], at=cmd.clock())
        for column, cell in row_cells.items():
            by_column[column].append(part_of(cell))
        made += row_cells.values()
    await check_parts_new(cmd, split, columns)
    for key, margin in columns.items():
        margin.decompose(parent.axis or "", "matrix", by_column[key], at=cmd.clock())
    parent.cross_decompose(split.axis, split.method, margins, at=cmd.clock())
    return [*columns.values(), *made]


async def _cell_values(
    parent: Target,
    rows: list[Target],
    row_keys: list[tuple[str, str]],
    columns: list[tuple[str, Target]],
    column_axis: str,
    unit: str,
    cells: Cells | None,
) -> Cells:
    """Each cell's value: as given (every margin must hold, else a 422 naming it), or
    proportional and controlled-rounded to the smallest step of the parent, rows and columns."""
    if cells is not None:
        return _given_cells(rows, row_keys, columns, column_axis, cells)
    quantum = min(quantum_for(t.value, unit) for t in [parent, *rows, *(c for _, c in columns)])
    exact = proportional([int(r.value / quantum) for r in rows], [int(c.value / quantum) for _, c in columns])
    rounded = await asyncio.to_thread(controlled_round, exact)  # 0.5 s for 10,000 cells: not on the event loop
    return {
        key: {column: (n * quantum).quantize(quantum) for (column, _), n in zip(columns, line, strict=True)}
        for (_, key), line in zip(row_keys, rounded, strict=True)
    }


def _given_cells(
    rows: list[Target],
    row_keys: list[tuple[str, str]],
    columns: list[tuple[str, Target]],
    column_axis: str,
    cells: Cells,
) -> Cells:
    keys = [key for _, key in row_keys]
    for key in cells:
        if key not in keys:
            raise DomainError(f"{key!r} is no row of the matrix; the rows are: {', '.join(keys)}", field=f"cells.{key}")
    for key in keys:
        for column, _ in columns:
            if column not in cells.get(key, {}):
                raise DomainError(f"no value given for the cell {key}/{column}", field=f"cells.{key}.{column}")
        for column in cells[key]:
            if column not in dict(columns):
                raise DomainError(f"{column!r} is no column of the matrix", field=f"cells.{key}.{column}")
    for row, (axis, key) in zip(rows, row_keys, strict=True):
        total = sum(cells[key].values(), Decimal(0))
        if total != row.value:
            raise DomainError(f"the cells of {key} sum to {total}, not its {row.value}", field=f"margins.{axis}.{key}")
    for column, target in columns:
        total = sum((cells[key][column] for key in keys), Decimal(0))
        if total != target.value:
            raise DomainError(
                f"the cells of {column} sum to {total}, not its {target.value}", field=f"margins.{column_axis}.{column}"
            )
    return cells


def _check_same_cells(parent: Target, rows: list[Target], cells: Cells | None) -> None:
    """The same split asked again with other explicit cells is a 409, not a 200 that stores nothing."""
    stored = {axis_key(parent, part_of(row))[1]: row for row in rows}
    for key, line in (cells or {}).items():
        row = stored.get(key)
        held = {} if row is None else {axis_key(row, cell)[1]: cell.value for cell in row.parts}
        if any(held.get(column) != value for column, value in line.items()):
            raise AlreadyDecomposedError(
                f"target {parent.id} is split this way already, with other cells ({key}); "
                "changing them is an adjustment request",
            )
