"""Reports as .xlsx: a sheet per axis pair, totals as formulas, number formats by unit, frozen headers."""

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Number formats by the metric's unit; percentages are stored as fractions so Excel's % shows them.
FORMATS = {"money": "#,##0.00", "count": "#,##0", "ratio": "0.00%", "percent": "0.0%"}
_BOLD = Font(bold=True)
# Sheet names: at most 31 characters, none of these.
_NOT_IN_TITLE = str.maketrans({c: "-" for c in "[]:*?/\\"})

LABELS: dict[str, tuple[str, str]] = {  # key → (en, zh-CN)
    "node": ("node", "组织/人员"),
    "metric": ("metric", "指标"),
    "period": ("period", "期间"),
    "scope": ("scope", "范围"),
    "target": ("target", "目标值"),
    "stretch": ("stretch", "挑战目标"),
    "rationale": ("rationale", "制定依据"),
    "actual": ("actual", "实际完成"),
    "gap": ("gap", "差距"),
    "attainment_pct": ("attainment %", "完成率"),
    "expected": ("expected to date", "应完成"),
    "pace_pct": ("pace %", "进度"),
    "projected": ("projected", "预计完成"),
    "status": ("status", "状态"),
    "original": ("original target", "原始目标"),
    "final": ("final target", "最终目标"),
    "adjustments": ("adjustments", "调整"),
    "alerts": ("alerts", "预警数"),
    "corrective_actions": ("corrective actions", "改进措施数"),
    "previous_final": ("previous period target", "上期目标"),
    "previous_actual": ("previous period actual", "上期实际"),
    "last_year_final": ("same period last year: target", "去年同期目标"),
    "last_year_actual": ("same period last year: actual", "去年同期实际"),
    "total": ("Total", "合计"),
    "parts_total": ("Total of the parts", "下级合计"),
    "depth": ("depth", "层级"),
    "share_of_parent": ("share of parent", "占上级比例"),
    "share_of_root": ("share of total", "占总目标比例"),
    "axis": ("split along", "分解维度"),
    "method": ("split by", "分解方法"),
    "acknowledgement": ("acknowledgement", "确认状态"),
    "target_id": ("target id", "目标编号"),
    "targets": ("Targets", "目标明细"),
    "org": ("org", "组织"),
    "time": ("time", "时间"),
    "dimension": ("dimension", "维度"),
}


def language(accept_language: str | None) -> str:
    """zh-CN when the client prefers Chinese (Accept-Language), else English."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def label(key: str, lang: str) -> str:
    en, zh = LABELS.get(key, (key, key))
    return zh if lang == "zh-CN" else en


def new() -> Workbook:
    book = Workbook()
    book.remove(book.active)
    return book


def sheet(book: Workbook, title: str, header: Sequence[str], *, frozen_columns: int = 1) -> Worksheet:
    """A sheet whose header row (and first columns) stay in view while scrolling."""
    name = title.translate(_NOT_IN_TITLE)[:31]
    taken = set(book.sheetnames)
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name[:27]} ({n})", n + 1
    ws = book.create_sheet(unique)
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = _BOLD
    ws.freeze_panes = ws.cell(row=2, column=frozen_columns + 1)
    for i, text in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(text)) + 4))
    return ws


def put(ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None) -> None:
    """A cell; text is always text (a node named `=HYPERLINK(...)` never becomes a formula)."""
    cell = ws.cell(row=row, column=column)
    if value is None:
        return
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"
        return
    cell.value = value
    if number_format:
        cell.number_format = number_format


EXCEL_DIGITS = 15  # a spreadsheet number holds 15 significant digits; a longer decimal is rounded


def exact(value: Any) -> Any:
    """A decimal a spreadsheet number would round (more than 15 significant digits, like
    999999999999999.98) as its exact text; anything else as it is."""
    if isinstance(value, Decimal) and value.is_finite() and len(value.as_tuple().digits) > EXCEL_DIGITS:
        return str(value)
    return value


def percent(value: Decimal | None) -> Decimal | None:
    """A percentage (85.5) as the fraction a % format shows as 85.5 %."""
    return None if value is None else value / 100


def total_row(
    ws: Worksheet, row: int, first: int, last: int, columns: dict[int, str | None], lang: str, title: str = "total"
) -> None:
    """A bold totals row under rows first..last: a SUM per column in `columns` (with its format)."""
    put(ws, row, 1, label(title, lang))
    ws.cell(row=row, column=1).font = _BOLD
    for column, number_format in columns.items():
        letter = get_column_letter(column)
        formula = f"=SUM({letter}{first}:{letter}{last})" if last >= first else "=0"
        cell = ws.cell(row=row, column=column, value=formula)
        cell.font = _BOLD
        if number_format:
            cell.number_format = number_format


def pivot(
    book: Workbook,
    title: str,
    corner: str,
    rows: list[str],
    columns: list[str],
    values: dict[tuple[str, str], Decimal],
    number_format: str,
    lang: str,
) -> Worksheet:
    """A matrix of rows by columns, a row total (formula) at the right and column totals below."""
    ws = sheet(book, title, [corner, *columns, label("total", lang)])
    width = len(columns)
    for r, name in enumerate(rows, start=2):
        put(ws, r, 1, name)
        for c, column in enumerate(columns, start=2):
            put(ws, r, c, values.get((name, column)), number_format)
        if width:
            total = ws.cell(row=r, column=width + 2, value=f"=SUM(B{r}:{get_column_letter(width + 1)}{r})")
            total.number_format = number_format
            total.font = _BOLD
    last = len(rows) + 1
    total_row(ws, last + 1, 2, last, dict.fromkeys(range(2, width + 3), number_format), lang)
    return ws


def to_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}.xlsx"'}
