"""An import file read row by row (CSV, JSON Lines, xlsx): each line's fields, or why it cannot become a row."""

import csv
import functools
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import InvalidOperation
from pathlib import Path
from typing import Any, TextIO

import msgspec
from openpyxl.utils import get_column_letter

from target_ledger.api.schemas import RecordActual
from target_ledger.xlsx_file import (
    MAX_UNZIPPED_ACTUALS,
    ZIP,
    Blank,
    CellError,
    WorkbookError,
    date_cell,
    explained_rows,
    number_cell,
    open_workbook,
    text_cell,
)

JSON_LINES = (".jsonl", ".ndjson", ".json")
SPREADSHEETS = (".xlsx",)
DELIMITERS = ",;\t"  # comma first: it wins a tie
MAX_COLUMNS = 1_000  # a workbook's columns read; a value past them makes its row a rejected one
ERROR = "error"  # the column (or key) a rejects file adds: ignored, so a fixed rejects file imports as it is
# The columns a header may name, from the request body of POST /v1/actuals (scope as `scope.<dimension>`).
COLUMNS = [f.encode_name for f in msgspec.structs.fields(RecordActual) if f.encode_name != "scope"]
REQUIRED = [f.encode_name for f in msgspec.structs.fields(RecordActual) if f.required]

Advance = Callable[[int, int | None], None]  # how far the reading is: done and total (bytes, or rows of a workbook)


class Unreadable(ValueError):
    """Why a line of the file cannot become a row."""


class HeaderError(ValueError):
    """The file has no header of actuals (or is no workbook): nothing of it is imported."""


@dataclass(frozen=True)
class Line:
    number: int  # the file line (a workbook's row) the row starts on
    raw: str  # as in the file, without its line ending; bytes that are not UTF-8 as lone surrogates
    fields: dict[str, Any]
    fault: str | None = None  # why it cannot become a row
    cells: list[str] | None = None  # a CSV or workbook row's values in the header's columns, if it has them
    header: list[str] | None = None  # a CSV file's or workbook's; none in JSON Lines
    sheet: bool = False  # a workbook's row, not a file's line

    @property
    def place(self) -> str:
        return f"{'row' if self.sheet else 'line'} {self.number}"


def is_workbook(path: Path) -> bool:
    """Named .xlsx, or starting with a zip's signature whatever its name."""
    with path.open("rb") as f:
        return path.suffix.lower() in SPREADSHEETS or f.read(len(ZIP)) == ZIP


def read_lines(
    path: Path, advance: Advance = lambda done, total: None, skipped: list[str] | None = None
) -> Iterator[Line]:
    """Rows one at a time: CSV (a header row; `,`, `;` or tab), an xlsx workbook's first visible
    sheet whose first row is a header of actuals (the sheets before it, and hidden ones, go to
    `skipped`) or JSON Lines. A line that cannot become a row comes with its fault, and the
    reading goes on; a header that is not one of actuals, or a workbook that cannot be read or
    unzips to more than MAX_UNZIPPED_ACTUALS bytes, raises HeaderError before any row."""
    if is_workbook(path):
        yield from _sheet_lines(path, advance, [] if skipped is None else skipped)
        return
    # surrogateescape: a byte that is not UTF-8 costs its line, not the file; utf-8-sig drops the
    # byte-order mark spreadsheets write, which would otherwise rename the first column.
    total = path.stat().st_size
    with (
        path.open("rb") as binary,
        io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="") as f,
    ):
        lines: Iterator[Line]
        if path.suffix.lower() in JSON_LINES:
            lines = (_line(number, raw.rstrip("\r\n"), parse) for number, raw, parse in _json_records(f))
        else:
            lines = _csv_lines(f)
        for line in lines:
            yield line
            advance(binary.tell(), total)  # ahead of the line by a buffer at most
    advance(total, total)


Parse = Callable[[], tuple[dict[str, Any], list[str] | None]]  # a record's fields and cells, or Unreadable


def _line(number: int, raw: str, parse: Parse, header: list[str] | None = None, sheet: bool = False) -> Line:
    """The one place deciding whether a line of the file is a row, and if not, why."""
    try:
        raw.encode()
    except UnicodeEncodeError:
        try:
            cells = parse()[1]  # its values, to be fixed in the rejects file
        except (Unreadable, UnicodeError):
            cells = None
        return Line(number, raw, {}, "not valid UTF-8", cells, header, sheet)
    try:
        fields, cells = parse()
    except Unreadable as e:
        return Line(number, raw, {}, str(e), None, header, sheet)
    return Line(number, raw, fields, None, cells, header, sheet)


def _json_records(f: TextIO) -> Iterator[tuple[int, str, Parse]]:
    for number, raw in enumerate(f, start=1):
        if raw.strip():
            yield number, raw, functools.partial(_json_object, raw)


def _json_object(raw: str) -> tuple[dict[str, Any], None]:
    try:
        decoded = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise Unreadable(f"not JSON: {e}") from None
    except RecursionError:
        raise Unreadable("not JSON: nested too deep") from None
    if not isinstance(decoded, dict):
        raise Unreadable("a line must hold one JSON object")
    decoded.pop(ERROR, None)
    return decoded, None


def check_header(header: list[str]) -> None:
    """Raise HeaderError naming each column that is unknown, missing or repeated."""
    named = [h for h in header if h and h != ERROR]  # a column without a name is ignored
    unknown = [h for h in named if h not in COLUMNS and not (h.startswith("scope.") and len(h) > 6)]
    missing = [c for c in REQUIRED if c not in named]
    twice = sorted({h for h in named if named.count(h) > 1})
    faults = [
        *(f"no column {c}" for c in missing),
        *(f"unknown column {h!r}" for h in unknown),
        *(f"{h} twice" for h in twice),
    ]
    if faults:
        raise HeaderError(
            f"the header is wrong: {'; '.join(faults)} (it names {', '.join(REQUIRED)}, and may name"
            f" {', '.join(c for c in COLUMNS if c not in REQUIRED)}, scope.<dimension> and {ERROR}, in any order)"
        )


def _csv_lines(f: TextIO) -> Iterator[Line]:
    taken: list[tuple[int, str]] = []  # the file lines of the record being read (a quoted value may span several)
    lines = enumerate(f, start=1)
    first = next(((n, text) for n, text in lines if text.strip()), None)  # blank lines before the header
    if first is None:
        raise HeaderError("the file is empty: it has no header row")

    def file_lines() -> Iterator[str]:
        for number, text in itertools.chain([first], lines):
            taken.append((number, text))
            yield text

    delimiter = max(DELIMITERS, key=first[1].count)
    reader = csv.reader(file_lines(), delimiter=delimiter)
    header: list[str] | None = None
    while True:
        try:
            values, error = next(reader), None
        except StopIteration:
            return
        except csv.Error as e:  # e.g. a value over the field size limit; the reader goes on at the next line
            values, error = [], f"not CSV: {e}"
        number, raw = taken[0][0], "".join(text for _, text in taken)
        taken.clear()
        if header is None:
            if error:
                raise HeaderError(f"the header row is not CSV: {error}")
            check_header(values)
            header = values
        elif values or error:  # not a blank line
            parse = functools.partial(_row_fields, header, values, error, delimiter != ",")
            yield _line(number, raw.rstrip("\r\n"), parse, header)


def _row_fields(
    header: list[str], values: list[str], error: str | None, decimal_comma: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """A row's fields by the header. A short row's missing values (trailing columns) take their
    defaults, as empty ones do; empty values after the last column (spreadsheets write them) are ignored.
    In a `;` or tab file a value such as 12.000 is refused as ambiguous (a thousands separator?)."""
    if error:
        raise Unreadable(error)
    if len(values) > len(header) and any(values[len(header) :]):
        raise Unreadable(f"{len(values)} fields, the header has {len(header)}")
    cells = (values + [""] * len(header))[: len(header)]  # as in the file: the rejects file writes them back
    row = {k: v for k, v in zip(header, cells, strict=True) if k and k != ERROR}
    if row.get("value", "").strip():
        try:  # a number as the plan reader reads it; a value that is none is named by the rules of an actual
            row["value"] = str(number_cell(row["value"], not decimal_comma, "value"))
        except CellError as e:
            raise Unreadable(str(e)) from None
        except InvalidOperation:
            pass
    scope = {k[6:]: v for k, v in row.items() if k.startswith("scope.") and v}
    return {**{k: v for k, v in row.items() if not k.startswith("scope.") and v != ""}, "scope": scope}, cells


def _sheet_lines(path: Path, advance: Advance, skipped: list[str]) -> Iterator[Line]:
    """The sheet's rows, read as CSV rows are: read-only, so a large workbook streams."""
    try:
        book = open_workbook(path, path.name, MAX_UNZIPPED_ACTUALS)
    except WorkbookError as e:
        raise HeaderError(str(e)) from None
    try:
        wrong: HeaderError | None = None
        for sheet in book.worksheets:
            if sheet.sheet_state != "visible":
                skipped.append(f"{sheet.title!r} (hidden)")
                continue
            try:
                yield from _rows_of(book, sheet, path.name, advance)
                return
            except _NotActuals as e:
                wrong = wrong or e.error
                skipped.append(f"{sheet.title!r} ({e.error})")
        skipped.clear()
        raise wrong or HeaderError("the workbook has no visible sheet with a header row")
    except WorkbookError as e:
        raise HeaderError(str(e)) from None
    finally:
        book.close()


class _NotActuals(Exception):
    def __init__(self, error: HeaderError) -> None:
        self.error = error


def _rows_of(book: Any, sheet: Any, name: str, advance: Advance) -> Iterator[Line]:
    """A sheet's rows; _NotActuals before any if its first row is no header of actuals."""
    total = sheet.max_row  # as the sheet declares it: for the progress only
    # The declared size is the file's word (a few bytes may declare 1,048,576 rows of 16,384 columns,
    # and every row would be padded to it): rows are read as they are, their values up to MAX_COLUMNS.
    header: list[str] | None = None
    for number, row in explained_rows(book, sheet, name, MAX_COLUMNS):
        advance(number, total)
        values = [_cell_text(v) for v in row]
        if not any(values):
            continue
        if header is None:
            try:
                check_header(values)
            except HeaderError as e:
                raise _NotActuals(HeaderError(f"sheet {sheet.title!r}: {e}")) from None
            header = values
            continue
        parse = functools.partial(_typed_fields, header, row, values, f"{sheet.title}!", number)
        yield _line(number, _csv_text(values), parse, header, sheet=True)
    if header is None:
        raise _NotActuals(HeaderError(f"sheet {sheet.title!r} is empty: it has no header row"))


def _typed_fields(
    header: list[str], row: list[Any], values: list[str], sheet: str, number: int
) -> tuple[dict[str, Any], list[str]]:
    """A workbook row's fields, each cell read by its column's type: the date column's dates (a time
    of day is refused), the value's numbers, and exact integers only in text columns."""
    typed = list(values)
    for i, value in enumerate(row[: len(header)]):
        where = f"{sheet}{get_column_letter(i + 1)}{number}"
        try:
            if isinstance(value, Blank):
                raise CellError(f"{header[i]}: {where}: {value.reason}")
            if header[i] == "date":
                typed[i] = date_cell(value, where)
            elif header[i] != "value" and header[i] != ERROR:
                typed[i] = text_cell(value, where)
        except CellError as e:
            raise Unreadable(str(e)) from None
    return _row_fields(header, typed, None)


def _cell_text(value: object) -> str:
    """A cell as a CSV file would hold it: a date as 2026-07-01, a number as the sheet shows it."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(value, ".15g")  # 15 significant digits, as the spreadsheet shows: 0.1 + 0.2 is 0.3
    return str(value)


def _csv_text(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue()
