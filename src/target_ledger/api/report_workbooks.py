"""The decomposition matrix, attainment and the historical review as .xlsx workbooks."""

from decimal import Decimal
from typing import Any

from target_ledger.api import workbook as wb
from target_ledger.api.schemas import AttainmentRow, Matrix, MatrixRow

SCOPE_SEPARATOR = ";"


def _scope(scope: dict[str, str]) -> str:
    return SCOPE_SEPARATOR.join(f"{k}={v}" for k, v in scope.items())


def _part_label(row: MatrixRow, parent: MatrixRow | None) -> str:
    """What tells a part from its siblings: its node, its period, or its new dimension value."""
    if parent is None:
        return " ".join(filter(None, [row.node, row.period, _scope(row.scope)]))
    if row.node != parent.node:
        return row.node
    if row.period != parent.period:
        return row.period
    return _scope({k: v for k, v in row.scope.items() if parent.scope.get(k) != v})


def _path(row: MatrixRow, by_id: dict[Any, MatrixRow]) -> str:
    labels = []
    while row.parent_id in by_id:
        parent = by_id[row.parent_id]
        labels.append(_part_label(row, parent))
        row = parent
    return " / ".join(reversed(labels)) or _part_label(row, None)


def decomposition(matrix: Matrix, unit: str, lang: str) -> bytes:
    """Every target of the tree on one sheet, then one sheet per pair of axes: the parts of a split
    as rows, their own parts as columns, with row and column totals as formulas."""
    fmt = wb.FORMATS[unit]
    book = wb.new()
    columns = ["depth", "node", "metric", "period", "scope", "target", "share_of_parent", "share_of_root", "axis"]
    columns += ["method", "acknowledgement", "target_id"]
    ws = wb.sheet(book, wb.label("targets", lang), [wb.label(c, lang) for c in columns], frozen_columns=2)
    for r, row in enumerate(matrix.rows, start=2):
        cells = [row.depth, row.node, row.metric, row.period, _scope(row.scope), row.value]
        cells += [wb.percent(row.share_of_parent), wb.percent(row.share_of_root), row.axis, row.method]
        cells += [row.acknowledgement, str(row.target_id)]
        formats = [None, None, None, None, None, fmt, wb.FORMATS["percent"], wb.FORMATS["percent"]]
        for c, value in enumerate(cells, start=1):
            wb.put(ws, r, c, value, formats[c - 1] if c <= len(formats) else None)
    by_id = {row.target_id: row for row in matrix.rows}
    children: dict[Any, list[MatrixRow]] = {}
    for row in matrix.rows:
        if row.parent_id in by_id:
            children.setdefault(row.parent_id, []).append(row)
    root = matrix.rows[0] if matrix.rows else None
    if root is not None and root.axis and children.get(root.target_id):
        # The first split alone: its parts and their values, totalled.
        parts = children[root.target_id]
        values = {(_part_label(p, root), wb.label("target", lang)): p.value for p in parts}
        rows = [_part_label(p, root) for p in parts]
        wb.pivot(
            book, _axis(root.axis, lang), _axis(root.axis, lang), rows, [wb.label("target", lang)], values, fmt, lang
        )
    pairs: dict[tuple[str, str], list[MatrixRow]] = {}
    for row in matrix.rows:
        parent = by_id.get(row.parent_id) if row.parent_id else None
        if parent is not None and parent.axis and row.axis and children.get(row.target_id):
            pairs.setdefault((parent.axis, row.axis), []).append(row)
    for (rows_axis, columns_axis), split_rows in pairs.items():
        labels, columns_seen, values = [], [], {}
        for row in split_rows:
            name = _path(row, by_id)
            labels.append(name)
            for part in children[row.target_id]:
                column = _part_label(part, row)
                if column not in columns_seen:
                    columns_seen.append(column)
                values[(name, column)] = part.value
        title = f"{_axis(rows_axis, lang)} \u00d7 {_axis(columns_axis, lang)}"  # x
        wb.pivot(book, title, _axis(rows_axis, lang), labels, columns_seen, values, fmt, lang)
    return wb.to_bytes(book)


def _axis(axis: str, lang: str) -> str:
    return wb.label({"period": "time"}.get(axis, axis), lang)


ATTAINMENT_COLUMNS = ["target", "actual", "gap", "attainment_pct", "expected", "pace_pct", "projected", "status"]


def attainment(headline: AttainmentRow | None, rows: list[AttainmentRow], unit: str, lang: str, title: str) -> bytes:
    """The breakdown (or a leaderboard) as rows; target, actual and gap totalled by formulas, and
    the total's attainment as actual / target (a ratio metric is not summed)."""
    fmt = wb.FORMATS[unit]
    book = wb.new()
    header = ["node", "period", "scope", *ATTAINMENT_COLUMNS]
    ws = wb.sheet(book, title, [wb.label(c, lang) for c in header], frozen_columns=3)
    listed = rows or ([headline] if headline else [])
    for r, row in enumerate(listed, start=2):
        cells = [row.node, row.period, _scope(row.scope), row.target, row.actual, row.gap]
        cells += [wb.percent(row.attainment_pct), row.expected, wb.percent(row.pace_pct), row.projected, row.status]
        formats = [None, None, None, fmt, fmt, fmt, wb.FORMATS["percent"], fmt, wb.FORMATS["percent"], fmt, None]
        for c, value in enumerate(cells, start=1):
            wb.put(ws, r, c, value, formats[c - 1])
    if unit != "ratio":
        last = len(listed) + 1
        total = last + 1
        wb.total_row(ws, total, 2, last, {4: fmt, 5: fmt, 6: fmt, 8: fmt, 10: fmt}, lang)
        cell = ws.cell(row=total, column=7, value=f'=IF(D{total}=0,"",E{total}/D{total})')
        cell.number_format = wb.FORMATS["percent"]
    if headline is not None and rows:
        # The node's own standing, as the ledger computes it, under the totals of its parts.
        r = len(listed) + 3
        cells = [headline.node, headline.period, _scope(headline.scope), headline.target, headline.actual]
        for c, value in enumerate(cells, start=1):
            wb.put(ws, r, c, value, fmt if c > 3 else None)
    return wb.to_bytes(book)


REVIEW_COLUMNS = ["original", "final", "actual", "gap", "attainment_pct", "previous_final", "previous_actual"]
REVIEW_COLUMNS += ["last_year_final", "last_year_actual", "alerts", "corrective_actions"]


def _review_order(row: dict[str, Any], node: str) -> tuple[int, bool]:
    """The reviewed node's rows first, then its children's whole-scope rows (the block the
    total adds up), then their scoped rows (parts of those: adding them would count twice)."""
    return (0 if row["node"] == node else 1, bool(row["scope"]))


def review(report: dict[str, Any], units: dict[str, str], lang: str) -> bytes:
    """One sheet per metric (one unit each): a row per node and scope, and below them the total
    of the children's whole-scope rows, to hold against the reviewed node's own row."""
    book = wb.new()
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(report["rows"], key=lambda row: _review_order(row, report["node"])):
        by_metric.setdefault(row["metric"], []).append(row)
    for metric, rows in by_metric.items():
        unit = units.get(metric, "count")
        fmt = wb.FORMATS[unit]
        header = ["node", "scope", *REVIEW_COLUMNS]
        ws = wb.sheet(book, f"{metric} {report['period']}", [wb.label(c, lang) for c in header], frozen_columns=2)
        for r, row in enumerate(rows, start=2):
            previous, last_year = row["previous"] or {}, row["last_year"] or {}
            cells: list[Any] = [row["node"], _scope(row["scope"]), _number(row["original"]), _number(row["final"])]
            cells += [_number(row["actual"]), _number(row["gap"]), wb.percent(_number(row["attainment_pct"]))]
            cells += [_number(previous.get("final")), _number(previous.get("actual"))]
            cells += [_number(last_year.get("final")), _number(last_year.get("actual"))]
            cells += [len(row["alerts"]), len(row["corrective_actions"])]
            for c, value in enumerate(cells, start=1):
                number_format = wb.FORMATS["percent"] if c == 7 else fmt if 3 <= c <= 11 else None
                wb.put(ws, r, c, value, number_format)
        parts = [r for r, row in enumerate(rows, start=2) if _review_order(row, report["node"]) == (1, False)]
        if unit != "ratio":
            total = len(rows) + 2
            summed: dict[int, str | None] = {c: fmt for c in (3, 4, 5, 6, 8, 9, 10, 11)}
            summed |= {12: None, 13: None}
            first, last = (parts[0], parts[-1]) if parts else (total, total - 1)
            wb.total_row(ws, total, first, last, summed, lang, title="parts_total")
            cell = ws.cell(row=total, column=7, value=f'=IF(D{total}=0,"",E{total}/D{total})')
            cell.number_format = wb.FORMATS["percent"]
    if not book.sheetnames:
        wb.sheet(book, report["period"], [wb.label(c, lang) for c in ["node", "scope", *REVIEW_COLUMNS]])
    return wb.to_bytes(book)


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
