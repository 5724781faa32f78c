"""CSV that a spreadsheet opens as data: text that would start a formula is kept as text."""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection): a
# scope value or a node name typed as =HYPERLINK(...) must not run on an auditor's machine.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def cell(value: Any) -> Any:
    """The value as a CSV cell: None empty, formula-like text prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A header row of `columns`, then each row's cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([cell(c) for c in row] for row in rows)
    return out.getvalue()
