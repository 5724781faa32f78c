"""The attainment matrix as the API answers it: labelled rows and columns of cells, with totals."""

from collections.abc import Callable
from fractions import Fraction

from target_ledger.api.schemas import AttainmentCell, AttainmentColumn, AttainmentLine, AttainmentMatrix, AttainmentRow
from target_ledger.application.attainment import Row
from target_ledger.application.attainment_matrix import Matrix
from target_ledger.domain.attainment import RATE, shown
from target_ledger.domain.catalog import Metric

AsRow = Callable[[Row], AttainmentRow]  # how /v1/attainment shows a row


def cell(row: Row, metric: Metric, as_row: AsRow) -> AttainmentCell:
    """The cell of a row as /v1/attainment shows it, with attainment as a fraction instead of a percentage."""
    shown_row, exact = as_row(row), row.standing.attainment if row.standing else None
    same = {name: getattr(shown_row, name) for name in AttainmentCell.__struct_fields__ if name != "attainment"}
    higher = metric.direction != "lower"  # rounded the way that does not flatter, as every shown figure
    attainment = None if exact is None else shown(exact / Fraction(100), RATE, higher_is_better=higher)
    return AttainmentCell(**same, attainment=attainment)


def label(row: Row, axis: str) -> str:
    """What names a part along its axis: the child node, the sub-period, or the dimension value."""
    return {"children": row.node, "time": row.period}.get(axis) or row.scope[axis]


def body(matrix: Matrix, metric: Metric, as_row: AsRow) -> AttainmentMatrix:
    first, second = matrix.axes

    def of(row: Row) -> AttainmentCell:
        return cell(row, metric, as_row)

    return AttainmentMatrix(
        axes=[first, second],
        columns=[AttainmentColumn(label=label(c, second), total=of(c)) for c in matrix.columns],
        rows=[
            AttainmentLine(label=label(r, first), total=of(r), cells=[of(c) for c in line])
            for r, line in zip(matrix.rows, matrix.cells, strict=True)
        ],
        total=of(matrix.total),
    )
