"""The decomposition CSV as a cross table: when a tree is one, its totals, and when it is not (no I/O)."""

import csv
import io
import uuid
from decimal import Decimal

import msgspec

from target_ledger.api.cross_table import cross_csv
from target_ledger.api.schemas import Matrix, MatrixRow


def row(parent: MatrixRow | None, period: str, scope: dict[str, str], value: str, axis: str | None) -> MatrixRow:
    return MatrixRow(
        target_id=uuid.uuid4(),
        parent_id=parent.target_id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        node="east",
        metric="conversion_rate",
        period=period,
        scope=scope,
        value=Decimal(value),
        share_of_parent=None,
        share_of_root=None,
        axis=axis,
        method="explicit",
        acknowledgement="pending",
    )


def quarter_by_month_by_product(rates: dict[str, tuple[str, str]]) -> list[MatrixRow]:
    root = row(None, "2026-Q1", {}, "0.25", "period")
    rows = [root]
    for month, (a, b) in rates.items():
        parent = row(root, month, {}, "0.25", "dimension")
        rows += [parent, row(parent, month, {"product": "A"}, a, None), row(parent, month, {"product": "B"}, b, None)]
    return rows


def test_a_rate_matrix_leaves_the_column_totals_empty_and_keeps_the_targets_as_totals() -> None:
    # A ratio metric is not summed: its row totals are the months' own rates, the grand total Q1's.
    rows = quarter_by_month_by_product({"2026-01": ("0.2", "0.3"), "2026-02": ("0.1", "0.4")})
    table = list(csv.reader(io.StringIO(cross_csv(Matrix(position=1, rows=rows), additive=False) or "")))
    assert table == [
        ["period \\ product", "product=A", "product=B", "total"],
        ["2026-01", "0.2", "0.3", "0.25"],
        ["2026-02", "0.1", "0.4", "0.25"],
        ["total", "", "", "0.25"],
    ]


def test_parts_split_differently_or_one_axis_alone_are_no_cross_table() -> None:
    # January by product, February by segment: no common columns.
    rows = quarter_by_month_by_product({"2026-01": ("1", "2"), "2026-02": ("3", "4")})
    rows[-2] = msgspec.structs.replace(rows[-2], scope={"segment": "new"})
    assert cross_csv(Matrix(position=1, rows=rows), additive=True) is None
    # One level only.
    assert cross_csv(Matrix(position=1, rows=rows[:2]), additive=True) is None
