"""Workbooks the tests write: a sheet of rows, and one whose sheet XML is edited after saving."""

import io
import zipfile
from collections.abc import Callable

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"


def workbook(rows: list[list], edit: Callable[[Workbook], None] = lambda book: None) -> bytes:
    """A workbook whose first sheet holds `rows`, changed by `edit` before it is saved."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet_xml(content: bytes, edit: Callable[[str], str], part: str = SHEET) -> bytes:
    """The workbook with its first sheet's XML (or another part) rewritten by `edit`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    edited = io.BytesIO()
    with zipfile.ZipFile(edited, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == part:
                data = edit(data.decode()).encode()
            target.writestr(item, data)
    return edited.getvalue()
