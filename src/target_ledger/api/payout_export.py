"""Payouts for payroll: CSV, or an xlsx sheet whose amounts total as a formula."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from litestar import Response

from target_ledger.api import spreadsheet, workbook

COLUMNS: dict[str, tuple[str, str]] = {  # key → (en, zh-CN)
    "person": ("person", "人员"),
    "plan_node": ("plan for", "方案适用组织"),
    "metric": ("metric", "指标"),
    "period": ("period", "期间"),
    "status": ("status", "状态"),
    "target": ("target", "目标值"),
    "actual": ("actual", "实际完成"),
    "attainment_pct": ("attainment %", "完成率"),
    "tier": ("tier", "档位"),
    "multiplier": ("multiplier", "系数"),
    "earned": ("earned", "提成"),
    "cap_applied": ("capped", "封顶"),
    "team_award": ("team award", "团队奖励"),
    "amount": ("amount", "应发金额"),
    "plan_id": ("plan id", "方案编号"),
}
MONEY = ("target", "actual", "earned", "team_award", "amount")


VALUES: dict[str, tuple[str, str]] = {  # a value shown → (en, zh-CN)
    "provisional": ("provisional", "暂定"),
    "final": ("final", "已定"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
}


def _cell(row: Any, key: str, lang: str) -> Any:
    value = getattr(row, key)
    if key == "cap_applied":
        value = "yes" if value else "no"
    if key in ("cap_applied", "status"):
        en, zh = VALUES.get(value, (value, value))
        return zh if lang == "zh-CN" else en
    return str(value) if key == "plan_id" else value


def _cells(row: Any, lang: str = "en") -> list[Any]:
    return [_cell(row, key, lang) for key in COLUMNS]


def _xlsx(rows: Sequence[Any], lang: str) -> bytes:
    book = workbook.new()
    header = [en if lang == "en" else zh for en, zh in COLUMNS.values()]
    ws = workbook.sheet(book, "payouts" if lang == "en" else "奖金", header)
    keys = list(COLUMNS)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(_cells(row, lang), start=1):
            key = keys[c - 1]
            if key == "attainment_pct":
                workbook.put(ws, r, c, workbook.percent(value), workbook.FORMATS["percent"])
            elif key in MONEY:  # exact: an amount a number would round is written as its text
                workbook.put(ws, r, c, workbook.exact(value), workbook.FORMATS["money"])
            else:
                workbook.put(ws, r, c, value)
    totalled = ("earned", "team_award", "amount")
    money: dict[int, str | None] = {keys.index(k) + 1: workbook.FORMATS["money"] for k in totalled}
    workbook.total_row(ws, len(rows) + 2, 2, len(rows) + 1, money, lang)
    for key in totalled:  # a SUM would skip a text amount and round a long total: the exact sum instead
        total = sum((getattr(row, key) for row in rows), Decimal(0))
        if any(isinstance(workbook.exact(getattr(row, key)), str) for row in rows) or workbook.exact(total) != total:
            ws.cell(row=len(rows) + 2, column=keys.index(key) + 1, value=str(total)).data_type = "s"
    return workbook.to_bytes(book)


def answer(rows: Sequence[Any], format: str, accept_language: str | None, filename: str) -> Response[Any]:
    """The rows as a CSV (dot decimals, one row per person and plan) or an xlsx workbook."""
    if format == "xlsx":
        book = _xlsx(rows, workbook.language(accept_language))
        return Response(book, media_type=workbook.XLSX, headers=workbook.attachment(filename))
    text = spreadsheet.to_csv(list(COLUMNS), (_cells(row) for row in rows))
    headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
