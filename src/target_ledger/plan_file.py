"""The annual plan file (.xlsx or CSV, zh-CN or en headers): rows read into plan lines, and written back."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook

from target_ledger.api import workbook as wb
from target_ledger.application.plan_lines import PlanLine, Problem
from target_ledger.domain.errors import InvalidValueError
from target_ledger.domain.values import percent_form
from target_ledger.xlsx_file import (
    Blank,
    CellError,
    WorkbookError,
    explained_rows,
    is_xlsx,
    number_cell,
    open_workbook,
)
from target_ledger.xlsx_file import text_cell as _cell_text

# The plan's own columns in the order written; any other column is a split: a period key (2026-03)
# or a dimension value (product:A). `part of` names the node whose target (same metric, period and
# scope) this row's is a part of: the rows naming a node make its org split. Headers in either
# language are read.
FIELDS = ["node", "metric", "period", "scope", "target", "stretch", "rationale", "part_of"]
REQUIRED = ["node", "metric", "period", "target"]
_LABELS = {"part_of": ("part of", "所属上级")}


def _label(field: str, lang: str) -> str:
    en, zh = _LABELS.get(field, (wb.label(field, "en"), wb.label(field, "zh-CN")))
    return zh if lang == "zh-CN" else en


_HEADERS = {_label(f, lang).strip().lower(): f for f in FIELDS for lang in ("en", "zh-CN")} | {"value": "target"}
_SPLIT = re.compile(r"^\d{4}(-.+)?$|^[^:]+:.+$")
# A plan is a few thousand rows; beyond these a file is refused rather than read (a sheet may declare
# a million rows of 16,384 columns in a few bytes, and the reader would pad every row to them).
MAX_ROWS = 100_000  # of the whole file, every sheet's rows counted
MAX_COLUMNS = 1_000


class PlanFileError(Exception):
    """The file cannot be read as a plan at all (not an xlsx, not text)."""


def _text(value: Any) -> str:
    """A cell as text, whatever it holds (to see whether it is empty, or to quote it)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _period(value: Any, where: str) -> str:
    """A period cell: a key typed as text (2026-03, 2026-Q3). A date Excel made of a typed `2026-03`
    (the 1st at midnight) is that month again; any other date is refused, naming the cell."""
    if isinstance(value, datetime | date):
        if value.day != 1 or (isinstance(value, datetime) and value.time() != time(0)):
            raise CellError(
                f"{where} holds the date {value:%Y-%m-%d}: a period is a key such as 2026-03 or 2026-Q3,"
                " type it as text"
            )
        return f"{value.year}-{value.month:02d}"
    return _cell_text(value, where)


def _scope(text: str) -> dict[str, str]:
    """`product=A;segment=new` (also `:` and `,`)."""
    scope = {}
    for pair in filter(None, (p.strip() for p in re.split(r"[;,]", text))):
        name, sep, value = pair.partition("=") if "=" in pair else pair.partition(":")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{pair!r} is not dimension=value")
        scope[name.strip()] = value.strip()
    return scope


Rows = Iterator[tuple[int, list[Any]]]  # a sheet's rows one at a time, by their row number


def _sheets(content: bytes, name: str, file: str, skipped: list[str]) -> Iterator[tuple[str, bool, Rows]]:
    """Each visible sheet's title, whether a comma may group thousands in its numbers, and its rows,
    streamed; a hidden sheet's title goes to `skipped`. An .xlsx is known by its zip signature."""
    if is_xlsx(content):
        try:
            book = open_workbook(content, file)
        except WorkbookError as error:
            raise PlanFileError(str(error)) from None
        try:
            for ws in book.worksheets:
                if ws.sheet_state != "visible":
                    skipped.append(f"{ws.title!r} (hidden)")
                    continue
                yield ws.title, True, _read(book, ws, file)
        finally:
            book.close()
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanFileError("neither an .xlsx workbook nor UTF-8 text (save the CSV as UTF-8)") from None
    first = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first.count)
    yield name, delimiter == ",", _csv_rows(name, csv.reader(io.StringIO(text), delimiter=delimiter))


def _csv_rows(name: str, reader: Iterator[list[str]]) -> Rows:
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            yield number, list(row)
    except csv.Error as error:
        raise PlanFileError(f"sheet {name!r} row {number + 1} is not CSV: {error}") from None


def _capped(sheet: str, rows: Rows, before: int) -> Iterator[tuple[int, list[Any]]]:
    """The rows, refused past MAX_ROWS (with the rows of earlier sheets) or MAX_COLUMNS."""
    for count, (number, row) in enumerate(rows, start=before + 1):
        if count > MAX_ROWS:
            raise PlanFileError(f"sheet {sheet!r} goes past {MAX_ROWS:,} rows, the most a plan file may hold")
        if len(row) > MAX_COLUMNS and any(_text(c) for c in row[MAX_COLUMNS:]):
            raise PlanFileError(
                f"sheet {sheet!r} row {number} has cells past column {get_column_letter(MAX_COLUMNS)}, "
                f"the most a plan file may have ({MAX_COLUMNS:,})"
            )
        yield number, row[: MAX_COLUMNS + 1]


def _read(book: Workbook, ws: Any, file: str) -> Rows:
    try:
        yield from explained_rows(book, ws, file, MAX_COLUMNS)
    except WorkbookError as error:
        raise PlanFileError(str(error)) from None


@dataclass(frozen=True)
class PlanFile:
    lines: list[PlanLine]
    problems: list[Problem]
    skipped: list[str]  # the sheets not read, each saying why: hidden, or its first row is no plan header


def read_plan(content: bytes, name: str = "csv") -> tuple[list[PlanLine], list[Problem]]:
    """read_plan_file's lines and problems."""
    plan = read_plan_file(content, name)
    return plan.lines, plan.problems


def read_plan_file(content: bytes, name: str = "csv", file: str | None = None) -> PlanFile:
    """Every row of every visible sheet whose first row is a plan header as a plan line, or the
    problems of the rows that are not one; PlanFileError naming the `file` if it is no readable
    xlsx or CSV, or unzips to more than MAX_UNZIPPED bytes. Rows are read one at a time: only the
    plan lines are kept, so a file's size in memory is its values'."""
    lines: list[PlanLine] = []
    problems: list[Problem] = []
    skipped: list[str] = []
    count = 0
    for sheet, commas, sheet_rows in _sheets(content, name, file or name, skipped):
        header: list[str] | None = None
        fields: dict[int, str] = {}
        columns: dict[str, str] = {}
        for number, row in _capped(sheet, sheet_rows, count):
            count += 1
            if header is None:
                if not any(_text(c) for c in row):
                    continue  # blank rows before the header (an empty sheet says nothing)
                header = [_text(c) for c in row]
                while header and not header[-1]:
                    header.pop()  # empty cells after the last column
                fields = {i: _HEADERS.get(h.lower(), h) for i, h in enumerate(header) if h}
                missing = [f for f in REQUIRED if f not in fields.values()]
                unknown = [h for i, h in fields.items() if h not in FIELDS and not _SPLIT.match(h)]
                if len(missing) >= len(REQUIRED) - 1 and is_xlsx(content):
                    skipped.append(f"{sheet!r} (its row {number} is no plan header)")  # notes, a cover sheet
                    break
                if missing or unknown:
                    message = f"row {number} is not a plan header: missing {', '.join(missing)}" if missing else ""
                    if unknown:
                        message += ("; " if message else "") + f"unknown columns {', '.join(unknown)} (a split "
                        message += "column is a period such as 2026-03, or dimension:value such as product:A)"
                    problems.append(Problem(sheet=sheet, row=number, column=None, message=message))
                    break
                columns = {f: f"{get_column_letter(i + 1)} ({header[i]})" for i, f in fields.items()}
                continue
            line = _line(sheet, number, row, len(header), fields, columns, problems, commas)
            if line is not None:
                lines.append(line)
    if not lines and not problems:
        message = "the file holds no plan rows" + (f" (skipped sheets: {', '.join(skipped)})" if skipped else "")
        problems.append(Problem(sheet=name, row=1, column=None, message=message))
    return PlanFile(lines, problems, skipped)


def _line(
    sheet: str,
    number: int,
    row: list[Any],
    width: int,
    fields: dict[int, str],
    columns: dict[str, str],
    problems: list[Problem],
    commas: bool,
) -> PlanLine | None:
    cells = {f: row[i] if i < len(row) else None for i, f in fields.items()}
    extra = next((i for i in range(width, len(row)) if _text(row[i])), None)
    if extra is not None:
        # An unquoted 1,200 in a CSV shifts the row: its cells cannot be trusted to be the header's.
        where = get_column_letter(extra + 1)
        message = (
            f"the row has a value in column {where}, past the header's {width} columns (quote a number with a comma)"
        )
        problems.append(Problem(sheet=sheet, row=number, column=where, message=message))
        return None
    if not any(_text(v) for v in cells.values()):
        return None
    wrong = len(problems)

    def fail(field: str, message: str) -> None:
        problems.append(Problem(sheet=sheet, row=number, column=columns[field], message=message))

    for field, cell in cells.items():
        if isinstance(cell, Blank):
            fail(field, cell.reason)
        elif field in REQUIRED and not _text(cell):
            fail(field, f"{field} is required")
    texts: dict[str, str] = {}
    for field in ("node", "metric", "period", "scope", "rationale", "part_of"):
        try:
            cell, where = cells.get(field), f"{sheet}!{columns.get(field, field).split(' ')[0]}{number}"
            texts[field] = _period(cell, where) if field == "period" else _cell_text(cell, where)
        except CellError as error:
            fail(field, str(error))
    values: dict[str, Decimal] = {}
    for field, cell in cells.items():
        if (field in ("target", "stretch") or field not in FIELDS) and _text(cell):
            try:
                where = f"{sheet}!{columns[field].split(' ')[0]}{number}"
                # A rate may be typed as a percent ("15%" is 0.15), as POST /v1/targets takes it.
                if isinstance(cell, str) and cell.strip().endswith("%"):
                    values[field] = percent_form(cell, where)
                else:
                    values[field] = number_cell(cell, commas, where)
            except (CellError, InvalidValueError) as error:
                fail(field, str(error))
            except InvalidOperation:
                fail(field, f"{_text(cell)!r} is not a number (a comma only groups thousands, as in 1,234,567.89)")
    scope: dict[str, str] = {}
    try:
        scope = _scope(texts.get("scope", ""))
    except ValueError as error:
        fail("scope", str(error))
    if len(problems) > wrong:
        return None
    splits = {f: v for f, v in values.items() if f not in FIELDS}
    return PlanLine(
        sheet=sheet,
        row=number,
        columns={**columns, "value": columns["target"], "splits": next(iter(columns[f] for f in splits), "")},
        node=texts["node"],
        metric=texts["metric"],
        period=texts["period"],
        value=values["target"],
        scope=scope,
        stretch=values.get("stretch"),
        rationale=texts["rationale"],
        splits=splits,
        part_of=texts["part_of"],
    )


def write_plan(plan: Iterable[dict[str, Any]], units: dict[str, str], lang: str, title: str) -> bytes:
    """The plan as one sheet in the layout read_plan reads: a row per target, its split in columns
    (`splits`), the node whose org split it is a part of in `part of` (`part_of`)."""
    rows = list(plan)
    split_columns = sorted({k for r in rows for k in r["splits"]}, key=lambda k: (":" in k, len(k.split("-")), k))
    book = wb.new()
    header = [_label(f, lang) for f in FIELDS] + split_columns
    ws = wb.sheet(book, title, header, frozen_columns=3)
    for r, row in enumerate(rows, start=2):
        fmt = wb.FORMATS[units.get(row["metric"], "count")]
        scope = ";".join(f"{k}={v}" for k, v in row["scope"].items())
        rationale = row.get("rationale") or None
        cells = [row["node"], row["metric"], row["period"], scope, row["value"], row["stretch"], rationale]
        cells.append(row.get("part_of") or None)
        for c, value in enumerate(cells, start=1):
            wb.put(ws, r, c, value, fmt if c in (5, 6) else None)
        for c, key in enumerate(split_columns, start=len(FIELDS) + 1):
            wb.put(ws, r, c, row["splits"].get(key), fmt)
    return wb.to_bytes(book)
