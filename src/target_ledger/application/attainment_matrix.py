"""Attainment broken down along two axes at once: a matrix of cells with row, column and grand totals."""

from dataclasses import dataclass
from datetime import datetime

from target_ledger.application import Command
from target_ledger.application.attainment import Row, reading
from target_ledger.domain.controlled_rounding import MAX_CELLS  # the write side's cap too
from target_ledger.domain.errors import DomainError

MAX_AXES = 2


@dataclass(frozen=True)
class Matrix:
    """`rows` and `columns` are the one-axis answers along each axis (the margins); `cells[i][j]`
    is row i's part along the column axis; `total` is the node's own row."""

    axes: tuple[str, str]
    total: Row
    rows: list[Row]
    columns: list[Row]
    cells: list[list[Row]]


def axes_of(breakdown: str) -> tuple[str, str]:
    """The two axes of `breakdown=rows,columns`; 422 naming `breakdown` for an empty, repeated or third one."""
    axes = [a.strip() for a in breakdown.split(",")]
    if any(not a for a in axes):
        raise DomainError("an axis of the breakdown is empty: name two, e.g. time,product", field="breakdown")
    if len(axes) > MAX_AXES:
        raise DomainError(f"a breakdown has at most {MAX_AXES} axes, not {len(axes)}", field="breakdown")
    if len(set(axes)) != len(axes):
        raise DomainError(f"the breakdown names {axes[0]!r} twice: name two different axes", field="breakdown")
    return axes[0], axes[1]


async def attainment_matrix(
    cmd: Command,
    *,
    node: str,
    metric: str,
    period: str,
    scope: dict[str, str],
    breakdown: str,
    as_of: datetime | None = None,
) -> tuple[Matrix, int | None]:
    """The node's matrix along two axes (children, time or dimensions), read in one go so that the
    cells and the totals stand at the same position; the totals are the one-axis answers themselves."""
    first, second = axes_of(breakdown)
    read = await reading(cmd, node=node, metric=metric, scope=scope, as_of=as_of)
    key = (node, cmd.calendar.parse_reading(period), scope)
    rows, columns = read.keys(key, first), read.keys(key, second)
    if len(rows) * len(columns) > MAX_CELLS:
        raise DomainError(
            f"{first} by {second} is {len(rows)} x {len(columns)} cells, more than {MAX_CELLS}: "
            "narrow the scope or the period",
            field="breakdown",
        )
    cells = [read.keys(row, second) for row in rows]
    found, position = await read.rows([key, *rows, *columns, *(cell for line in cells for cell in line)])
    total, found = found[0], found[1:]
    by_row, found = found[: len(rows)], found[len(rows) :]
    by_column, found = found[: len(columns)], found[len(columns) :]
    width = len(columns)
    grid = [found[i * width : (i + 1) * width] for i in range(len(rows))]
    return Matrix((first, second), total, by_row, by_column, grid), position
