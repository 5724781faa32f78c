"""The attainment matrix as the API answers it: labelled rows and columns of cells, with totals."""

from fractions import Fraction

from target_ledger.api.schemas import AttainmentMatrix, MatrixCell, MatrixColumn, MatrixLine
from target_ledger.application.attainment import Row
from target_ledger.application.attainment_matrix import Matrix
from target_ledger.domain.attainment import RATE, shown
from target_ledger.domain.catalog import Metric


def cell(row: Row, metric: Metric) -> MatrixCell:
    s = row.standing
    exact = s.attainment if s else None  # a percentage, exactly: shown as a fraction, not flattering
    higher = metric.direction != "lower"
    return MatrixCell(
        node=row.node,
        period=row.period,
        scope=row.scope,
        target=row.target,
        target_source=row.target_source,  # type: ignore[arg-type]
        actual=row.actual,
        attainment=None if exact is None else shown(exact / Fraction(100), RATE, higher_is_better=higher),
        gap=s.gap if s else None,
    )


def label(row: Row, axis: str) -> str:
    """What names a part along its axis: the child node, the sub-period, or the dimension value."""
    return {"children": row.node, "time": row.period}.get(axis) or row.scope[axis]


def body(matrix: Matrix, metric: Metric) -> AttainmentMatrix:
    first, second = matrix.axes
    return AttainmentMatrix(
        axes=[first, second],
        columns=[MatrixColumn(label=label(c, second), total=cell(c, metric)) for c in matrix.columns],
        rows=[
            MatrixLine(label=label(r, first), total=cell(r, metric), cells=[cell(c, metric) for c in line])
            for r, line in zip(matrix.rows, matrix.cells, strict=True)
        ],
        total=cell(matrix.total, metric),
    )
