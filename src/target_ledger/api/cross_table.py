"""The decomposition as a cross table (rows one axis, columns the other, with totals) when it is one."""

from decimal import Decimal

from target_ledger.api import spreadsheet
from target_ledger.api.report_workbooks import _part_label as part_label
from target_ledger.api.schemas import Matrix, MatrixRow

TOTAL = "total"


def cross_csv(matrix: Matrix, additive: bool) -> str | None:
    """A target split along one axis whose parts are each split alike along another (Q1 by month, each
    month by product: "多维度的交叉分解" of the source documents) as a CSV cross table: a row per part,
    a column per part of theirs, a total column and a total row. None when the tree is not such a
    matrix (one axis, parts split differently, or a third level), for the CSV of every target.
    Totals add the cells for an additive metric; a rate does not add: its row total is the row's own
    target, its column totals are left empty, its grand total is the root's target."""
    if not matrix.rows or max(r.depth for r in matrix.rows) != 2:
        return None
    root, children = matrix.rows[0], _children(matrix.rows)
    # A split along two axes at once also lists its columns' margins (product A's Q1 target) below
    # the root, beside the rows; they must then be exactly the columns, else this is no cross table.
    parts = children.get(root.target_id, [])
    rows = [r for r in parts if r.target_id in children]
    margins = [r for r in parts if r.target_id not in children]
    if not rows or len({r.axis for r in rows}) != 1:  # before labelling every cell (10,000 of them at most)
        return None
    columns = [[part_label(c, r) for c in children.get(r.target_id, [])] for r in rows]
    if not columns[0] or any(c != columns[0] for c in columns):
        return None
    if margins and [part_label(m, root) for m in margins] != columns[0]:
        return None
    cells = [[c.value for c in children[r.target_id]] for r in rows]
    if additive:
        row_totals = [sum(line, Decimal(0)) for line in cells]
        column_totals: list[Decimal | None] = [sum(column, Decimal(0)) for column in zip(*cells, strict=True)]
        grand = sum(row_totals, Decimal(0))
    else:
        row_totals, column_totals, grand = [r.value for r in rows], [None] * len(columns[0]), root.value
    corner = f"{_axis(root, rows[0])} \\ {_axis(rows[0], children[rows[0].target_id][0])}"
    lines = [[part_label(r, root), *line, total] for r, line, total in zip(rows, cells, row_totals, strict=True)]
    lines.append([TOTAL, *column_totals, grand])
    return spreadsheet.to_csv([corner, *columns[0], TOTAL], lines)


def _children(rows: list[MatrixRow]) -> dict[object, list[MatrixRow]]:
    children: dict[object, list[MatrixRow]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    return children


def _axis(row: MatrixRow, part: MatrixRow) -> str:
    """The name of the axis a target is split along: node, period, or the dimension its part adds."""
    if row.axis == "dimension":
        return next((k for k in part.scope if k not in row.scope), "dimension")
    return {"org": "node"}.get(row.axis or "", row.axis or "")
