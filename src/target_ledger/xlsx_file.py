"""An .xlsx checked before it is parsed (a zip, no decompression bomb), its cells read by one set of rules."""

import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook
from openpyxl.xml.functions import iterparse

ZIP = b"PK\x03\x04"  # every .xlsx starts with a zip entry, whatever the content type says
# What a workbook may unzip to, all its parts together: a plan of 100,000 rows is far below it. An
# actuals workbook read from the command line streams, and may be larger.
MAX_UNZIPPED = 256 * 1024 * 1024
MAX_UNZIPPED_ACTUALS = 2 * 1024 * 1024 * 1024
# A part unzipping to more than this many times its zipped size is padding, not a sheet (cells
# compress 5 to 20 times; a bomb's spaces a thousand times). Small parts are not judged by it.
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024
_CHUNK = 1024 * 1024
EXACT = 2**53  # integers a spreadsheet's number (a double) holds without loss are below it


class WorkbookError(ValueError):
    """The file is no readable .xlsx, or unzips to more than it may: nothing of it is read."""


class CellError(ValueError):
    """A cell whose value cannot be taken as it is: the message says why and what to type."""


def is_xlsx(head: bytes) -> bool:
    """Whether the bytes start like a zip (an .xlsx) rather than text."""
    return head.startswith(ZIP)


def open_workbook(source: bytes | Path, name: str, limit: int = MAX_UNZIPPED) -> Workbook:
    """The workbook, read-only with formulas' saved values, once every part is unzipped and counted:
    WorkbookError naming the file if it is no zip, a part is damaged, or it unzips to more than
    `limit` bytes (or to more than MAX_RATIO times a large part's zipped size). The bytes are counted
    as they are unzipped, so sizes the zip's directory states falsely do not help."""
    try:
        with io.BytesIO(source) if isinstance(source, bytes) else source.open("rb") as raw:
            _check_unzipped(raw, name, limit)
        if isinstance(source, bytes):
            return openpyxl.load_workbook(io.BytesIO(source), read_only=True, data_only=True)
        # Opened here, whatever the file's name (openpyxl judges a path by its extension), and closed with the book.
        handle = source.open("rb")
        try:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except BaseException:
            handle.close()
            raise
        close = book.close

        def closing() -> None:
            close()
            handle.close()

        book.close = closing  # type: ignore[method-assign]
        return book
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, SyntaxError, EOFError) as e:
        if isinstance(e, WorkbookError):
            raise
        raise WorkbookError(f"{name} is not a readable xlsx: {e}") from None


def _check_unzipped(raw: IO[bytes], name: str, limit: int) -> None:
    try:
        archive = zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise WorkbookError(f"{name} is not a readable xlsx: {e}") from None
    too_big = (
        f"{name} unzips to more than {limit // 2**20:,} MiB, the most a workbook may (save it as CSV, or split it)"
    )
    if sum(i.file_size for i in archive.infolist()) > limit:
        raise WorkbookError(too_big)
    total = 0
    for item in archive.infolist():
        bomb = f"{name}: {item.filename} unzips to more than {MAX_RATIO} times its size (a decompression bomb?)"
        if item.file_size > RATIO_FROM and item.file_size > MAX_RATIO * max(item.compress_size, 1):
            raise WorkbookError(bomb)
        part = 0
        try:
            with archive.open(item) as f:
                while chunk := f.read(_CHUNK):
                    part += len(chunk)
                    total += len(chunk)
                    if total > limit:
                        raise WorkbookError(too_big)
                    if part > RATIO_FROM and part > MAX_RATIO * max(item.compress_size, 1):
                        raise WorkbookError(bomb)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as e:
            raise WorkbookError(f"{name} is not a readable xlsx: {item.filename}: {e}") from None


def sheet_rows(book: Workbook, sheet: Any, name: str, max_columns: int) -> Iterator[tuple[int, list[Any]]]:
    """A sheet's rows by number, each cut to max_columns + 1 values (one past, to see there are more),
    a number cell as a Decimal with the places its format shows (1000000.50 stays so); WorkbookError
    naming the file and sheet if its XML is damaged."""
    sheet.reset_dimensions()  # the declared size is the file's word: rows are padded only to their own cells
    try:
        for number, row in enumerate(sheet.iter_rows(), start=1):
            yield number, [_shown(cell) for cell in row[: max_columns + 1]]
    except (SyntaxError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise WorkbookError(f"{name} is not a readable xlsx: sheet {sheet.title!r}: {e}") from None


_PLACES = re.compile(r"\.([0#]+)")


def _shown(cell: Any) -> Any:
    """A cell's value; a float as the Decimal a spreadsheet shows, with its format's places when
    that loses nothing (1000000.5 formatted #,##0.00 is 1000000.50)."""
    value = cell.value
    if not isinstance(value, float) or not math.isfinite(value):
        return value
    if value.is_integer() and abs(value) < EXACT:
        return int(value)  # as the file would have said 2026 rather than 2026.0
    exact = Decimal(format(value, ".15g"))  # 15 significant digits, as a spreadsheet shows: 0.1 + 0.2 is 0.3
    section = str(getattr(cell, "number_format", "General")).split(";")[0]
    if not re.search(r"[0#]", section):
        return exact  # General: the shortest decimal that is the float
    found = _PLACES.search(section)
    places = (len(found.group(1)) if found else 0) + (2 if "%" in section else 0)
    shown = exact.quantize(Decimal(1).scaleb(-places))
    return shown if shown == exact else exact


def text_cell(value: Any, where: str) -> str:
    """A cell of a text column (node, metric, person, source, external_ref...): a number only if it
    is an exact integer a spreadsheet holds without loss (below 2**53), as 123; CellError otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise CellError(f"{where} holds TRUE/FALSE: type it as text")
    if isinstance(value, float | int | Decimal):
        if value != int(value) or abs(int(value)) >= EXACT:
            raise CellError(f"{where} holds the number {value}, which may have lost digits: type it as text")
        return str(int(value))
    if isinstance(value, datetime | date | time):
        raise CellError(f"{where} holds a date ({value}): type it as text")
    return str(value).strip()


def date_cell(value: Any, where: str) -> str:
    """A date cell as 2026-07-01. A date and time is that day only at midnight: a time of day
    belongs to no day's actual reliably (which zone?), so it is refused, naming the cell."""
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise CellError(f"{where} holds a date with a time ({value}): type the date alone, as 2026-07-01")
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return text_cell(value, where)


_AMBIGUOUS = re.compile(r"^[+-]?\d{1,3}\.\d{3}$")


_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def number_cell(value: Any, commas: bool, where: str) -> Decimal:
    """A number cell or text, for plans and actuals alike; a comma only as a thousands separator
    (1,234,567.89), and never in a `;` or tab CSV (commas False), where it is a decimal comma this
    reader does not guess at (1234,56 is an error, not 123456; 12.000 is refused as ambiguous, not read
    as 12). InvalidOperation if it is no number, CellError naming `where` if it is ambiguous."""
    if isinstance(value, bool):
        raise InvalidOperation(str(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    text = str(value).strip().replace(" ", "")
    check_decimal_text(text, not commas, where)
    if "," in text:
        if not commas or not _GROUPED.match(text):
            raise InvalidOperation(text)
        text = text.replace(",", "")
    return Decimal(text)


def check_decimal_text(text: str, decimal_comma: bool, where: str) -> None:
    """In a `;` or tab CSV (saved where `,` is the decimal comma) 12.000 may be twelve thousand: refused,
    naming the cell, rather than read as 12. A number cell of a workbook has no such doubt."""
    if decimal_comma and _AMBIGUOUS.match(text.strip()):
        raise CellError(
            f"{where}: {text.strip()!r} is ambiguous in a ';' or tab separated file: is the '.' a thousands"
            " separator? Type the number without grouping (12000 or 12), with '.' as the decimal point"
        )


class Blank:
    """An empty cell that is empty for a reason the reader should hear (a formula never calculated,
    a merged range's hidden part): read as empty, and refused, saying why, where a value is needed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __str__(self) -> str:
        return ""


def explained_rows(book: Workbook, sheet: Any, name: str, max_columns: int) -> Iterator[tuple[int, list[Any]]]:
    """sheet_rows, with each empty cell that holds a formula without a saved value, or lies inside a
    merged range past its first cell, as a Blank saying so."""
    formulas, merged = _marks(book, sheet, name)
    for number, row in sheet_rows(book, sheet, name, max_columns):
        for col, value in enumerate(row, start=1):
            if value is None and (number, col) in formulas:
                row[col - 1] = Blank(
                    "the cell holds a formula without a saved value: open and save the file in Excel or"
                    " LibreOffice, or type the value"
                )
        for min_col, min_row, max_col, max_row in merged:
            if min_row <= number <= max_row:
                for col in range(min_col, min(max_col, max_columns + 1) + 1):
                    if (number, col) != (min_row, min_col) and col <= len(row) and row[col - 1] is None:
                        ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
                        row[col - 1] = Blank(
                            f"the cell is part of the merged range {ref}: unmerge it and type the value in each row"
                        )
        yield number, row


def _marks(book: Workbook, sheet: Any, name: str) -> tuple[set[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """The sheet's formula cells without a saved value, and its merged ranges, read from its XML as a
    stream (rows are dropped as they pass)."""
    formulas: set[tuple[int, int]] = set()
    merged: list[tuple[int, int, int, int]] = []
    data = None
    try:
        with book._archive.open(sheet._worksheet_path) as f:  # type: ignore[attr-defined]
            for event, element in iterparse(f, events=("start", "end")):
                tag = element.tag.rpartition("}")[2]
                if event == "start":
                    if tag == "sheetData":
                        data = element
                    continue
                if tag == "c" and element.get("r"):
                    parts = {child.tag.rpartition("}")[2]: child for child in element}
                    if "f" in parts and not (parts.get("v") is not None and parts["v"].text):
                        formulas.add(coordinate_to_tuple(element.get("r")))
                elif tag == "row" and data is not None:
                    data.remove(element)
                elif tag == "mergeCell" and element.get("ref"):
                    min_col, min_row, max_col, max_row = range_boundaries(element.get("ref"))
                    merged.append((min_col or 1, min_row or 1, max_col or 1, max_row or 1))
    except (SyntaxError, ValueError, TypeError, KeyError, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise WorkbookError(f"{name} is not a readable xlsx: sheet {sheet.title!r}: {e}") from None
    return formulas, merged
