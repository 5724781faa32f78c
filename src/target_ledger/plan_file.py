"""The annual plan file (.xlsx or CSV, zh-CN or en headers): rows read into plan lines, and written back."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from target_ledger.api import workbook as wb
from target_ledger.application.plans import PlanLine, Problem

# The plan's own columns in the order written; any other column is a split: a period key (2026-03)
# or a dimension value (product:A). Headers in either language are read.
FIELDS = ["node", "metric", "period", "scope", "target", "stretch", "rationale"]
REQUIRED = ["node", "metric", "period", "target"]
_HEADERS = {wb.label(f, lang).strip().lower(): f for f in FIELDS for lang in ("en", "zh-CN")} | {"value": "target"}
_SPLIT = re.compile(r"^\d{4}(-.+)?$|^[^:]+:.+$")
_ZIP = b"PK\x03\x04"


class PlanFileError(Exception):
    """The file cannot be read as a plan at all (not an xlsx, not text)."""


def _text(value: Any) -> str:
    """A cell as text; a date Excel made of `2026-03` is that month again."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return f"{value.year}-{value.month:02d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value: Any) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(_text(value).replace(",", "").replace(" ", ""))


def _scope(text: str) -> dict[str, str]:
    """`product=A;segment=new` (also `:` and `,`)."""
    scope = {}
    for pair in filter(None, (p.strip() for p in re.split(r"[;,]", text))):
        name, sep, value = pair.partition("=") if "=" in pair else pair.partition(":")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{pair!r} is not dimension=value")
        scope[name.strip()] = value.strip()
    return scope


def _sheets(content: bytes, name: str) -> Iterator[tuple[str, list[list[Any]]]]:
    if content.startswith(_ZIP):
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError) as error:
            raise PlanFileError(f"not a readable .xlsx workbook: {error}") from None
        for ws in book.worksheets:
            yield ws.title, [list(row) for row in ws.iter_rows(values_only=True)]
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanFileError("neither an .xlsx workbook nor UTF-8 text (save the CSV as UTF-8)") from None
    first = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first.count)
    yield name, list(csv.reader(io.StringIO(text), delimiter=delimiter))


def read_plan(content: bytes, name: str = "csv") -> tuple[list[PlanLine], list[Problem]]:
    """Every row of every sheet as a plan line, or the problems of the rows that are not one."""
    lines: list[PlanLine] = []
    problems: list[Problem] = []
    for sheet, rows in _sheets(content, name):
        if not any(_text(c) for row in rows for c in row):
            continue  # an empty sheet says nothing
        header = [_text(c) for c in rows[0]] if rows else []
        fields = {i: _HEADERS.get(h.lower(), h) for i, h in enumerate(header) if h}
        missing = [f for f in REQUIRED if f not in fields.values()]
        unknown = [h for i, h in fields.items() if h not in FIELDS and not _SPLIT.match(h)]
        if missing or unknown:
            message = f"row 1 is not a plan header: missing {', '.join(missing)}" if missing else ""
            if unknown:
                message += ("; " if message else "") + f"unknown columns {', '.join(unknown)} (a split column is "
                message += "a period such as 2026-03, or dimension:value such as product:A)"
            problems.append(Problem(sheet=sheet, row=1, column=None, message=message))
            continue
        columns = {f: f"{get_column_letter(i + 1)} ({header[i]})" for i, f in fields.items()}
        for number, row in enumerate(rows[1:], start=2):
            line = _line(sheet, number, row, fields, columns, problems)
            if line is not None:
                lines.append(line)
    if not lines and not problems:
        problems.append(Problem(sheet=name, row=1, column=None, message="the file holds no plan rows"))
    return lines, problems


def _line(
    sheet: str,
    number: int,
    row: list[Any],
    fields: dict[int, str],
    columns: dict[str, str],
    problems: list[Problem],
) -> PlanLine | None:
    cells = {f: row[i] if i < len(row) else None for i, f in fields.items()}
    if not any(_text(v) for v in cells.values()):
        return None
    wrong = len(problems)

    def fail(field: str, message: str) -> None:
        problems.append(Problem(sheet=sheet, row=number, column=columns[field], message=message))

    for field in REQUIRED:
        if not _text(cells[field]):
            fail(field, f"{field} is required")
    values: dict[str, Decimal] = {}
    for field, cell in cells.items():
        if (field in ("target", "stretch") or field not in FIELDS) and _text(cell):
            try:
                values[field] = _number(cell)
            except InvalidOperation:
                fail(field, f"{_text(cell)!r} is not a number")
    scope: dict[str, str] = {}
    try:
        scope = _scope(_text(cells.get("scope")))
    except ValueError as error:
        fail("scope", str(error))
    if len(problems) > wrong:
        return None
    splits = {f: v for f, v in values.items() if f not in FIELDS}
    return PlanLine(
        sheet=sheet,
        row=number,
        columns={**columns, "value": columns["target"], "splits": next(iter(columns[f] for f in splits), "")},
        node=_text(cells["node"]),
        metric=_text(cells["metric"]),
        period=_text(cells["period"]),
        value=values["target"],
        scope=scope,
        stretch=values.get("stretch"),
        rationale=_text(cells.get("rationale")),
        splits=splits,
    )


def write_plan(plan: Iterable[dict[str, Any]], units: dict[str, str], lang: str, title: str) -> bytes:
    """The plan as one sheet in the layout read_plan reads: a row per target, its split in columns."""
    rows = list(plan)
    split_columns = sorted({k for r in rows for k in r["splits"]}, key=lambda k: (":" in k, len(k.split("-")), k))
    book = wb.new()
    header = [wb.label(f, lang) for f in FIELDS] + split_columns
    ws = wb.sheet(book, title, header, frozen_columns=3)
    for r, row in enumerate(rows, start=2):
        fmt = wb.FORMATS[units.get(row["metric"], "count")]
        scope = ";".join(f"{k}={v}" for k, v in row["scope"].items())
        cells = [row["node"], row["metric"], row["period"], scope, row["value"], row["stretch"], ""]
        for c, value in enumerate(cells, start=1):
            wb.put(ws, r, c, value, fmt if c in (5, 6) else None)
        for c, key in enumerate(split_columns, start=len(FIELDS) + 1):
            wb.put(ws, r, c, row["splits"].get(key), fmt)
    return wb.to_bytes(book)
