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
from target_ledger.application.plan_lines import PlanLine, Problem

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
_ZIP = b"PK\x03\x04"
_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
# A plan is a few thousand rows; beyond these a file is refused rather than read (a sheet may declare
# a million rows of 16,384 columns in a few bytes, and the reader would pad every row to them).
MAX_ROWS = 100_000  # of the whole file, every sheet's rows counted
MAX_COLUMNS = 1_000


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


def _number(value: Any, commas: bool) -> Decimal:
    """A number cell; a comma only as a thousands separator (1,234,567.89), and never in a `;` or tab
    CSV, where it is a decimal comma this reader does not guess at (1234,56 is an error, not 123456)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    text = _text(value).replace(" ", "")
    if "," in text:
        if not commas or not _GROUPED.match(text):
            raise InvalidOperation(text)
        text = text.replace(",", "")
    return Decimal(text)


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


def _sheets(content: bytes, name: str) -> Iterator[tuple[str, bool, Rows]]:
    """Each sheet's title, whether a comma may group thousands in its numbers, and its rows, streamed."""
    if content.startswith(_ZIP):
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError) as error:
            raise PlanFileError(f"not a readable .xlsx workbook: {error}") from None
        for ws in book.worksheets:
            ws.reset_dimensions()  # the declared size is the file's word: rows are padded only to their own cells
            rows = ws.iter_rows(values_only=True)
            yield ws.title, True, ((n, list(row)) for n, row in enumerate(rows, start=1))
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


def read_plan(content: bytes, name: str = "csv") -> tuple[list[PlanLine], list[Problem]]:
    """Every row of every sheet as a plan line, or the problems of the rows that are not one. Rows are
    read one at a time: only the plan lines are kept, so a file's size in memory is its values'."""
    lines: list[PlanLine] = []
    problems: list[Problem] = []
    count = 0
    for sheet, commas, sheet_rows in _sheets(content, name):
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
        problems.append(Problem(sheet=name, row=1, column=None, message="the file holds no plan rows"))
    return lines, problems


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

    for field in REQUIRED:
        if not _text(cells[field]):
            fail(field, f"{field} is required")
    values: dict[str, Decimal] = {}
    for field, cell in cells.items():
        if (field in ("target", "stretch") or field not in FIELDS) and _text(cell):
            try:
                values[field] = _number(cell, commas)
            except InvalidOperation:
                fail(field, f"{_text(cell)!r} is not a number (a comma only groups thousands, as in 1,234,567.89)")
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
        part_of=_text(cells.get("part_of")),
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
        cells = [row["node"], row["metric"], row["period"], scope, row["value"], row["stretch"], ""]
        cells.append(row.get("part_of") or None)
        for c, value in enumerate(cells, start=1):
            wb.put(ws, r, c, value, fmt if c in (5, 6) else None)
        for c, key in enumerate(split_columns, start=len(FIELDS) + 1):
            wb.put(ws, r, c, row["splits"].get(key), fmt)
    return wb.to_bytes(book)
