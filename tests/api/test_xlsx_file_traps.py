"""Plan and actuals files read the same way: a workbook that unzips to a bomb or is damaged is refused
naming the file, a cell is read by its column's type or refused naming it, and 12.000 in a `;` file is
refused as ambiguous rather than read as twelve."""

import os
import struct
from datetime import datetime

import pytest
from openpyxl import Workbook

from target_ledger.import_rows import HeaderError, read_lines
from target_ledger.plan_file import read_plan_file
from target_ledger.xlsx_file import WorkbookError, open_workbook
from tests.api.workbooks import SHEET, with_sheet_xml, workbook

PLAN = ["node", "metric", "period", "target"]
ACTUALS = ["person", "metric", "date", "value", "external_ref"]


def padded(content: bytes, padding: str) -> bytes:
    """The workbook with `padding` inside its sheet's XML, before the rows."""
    return with_sheet_xml(content, lambda xml: xml.replace("<sheetData>", padding + "<sheetData>"))


def lying(content: bytes, part: str, size: int) -> bytes:
    """The zip with `part`'s unzipped size stated as `size`, in its local header and the directory."""
    data = bytearray(content)
    local, central = data.index(part.encode()) - 30, data.rindex(part.encode()) - 46
    assert data[local : local + 4] == b"PK\x03\x04" and data[central : central + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, local + 22, size)
    struct.pack_into("<I", data, central + 24, size)
    return bytes(data)


def test_a_sheet_padded_to_unzip_to_a_hundred_times_its_size_is_refused_for_plans_and_actuals(tmp_path):
    # Two MiB of spaces: a few kilobytes zipped, a thousand times that unzipped.
    bomb = padded(workbook([PLAN, ["east", "revenue", "2026", 1]]), " " * 2**21)
    with pytest.raises(Exception, match=r"plan\.xlsx: xl/worksheets/sheet1\.xml unzips to more than 100 times"):
        read_plan_file(bomb, "csv", "plan.xlsx")
    # The same workbook as actuals, from the command line's reader.
    path = tmp_path / "actuals.xlsx"
    path.write_bytes(bomb)
    with pytest.raises(HeaderError, match="decompression bomb"):
        list(read_lines(path))


def test_a_workbook_is_refused_past_its_limit_as_it_unzips_whatever_its_directory_says():
    # Sheet text that does not compress (the ratio rule says nothing), one MiB and more.
    noise = "<!--" + os.urandom(2**20).hex() + "-->"
    content = padded(workbook([PLAN]), noise)
    with pytest.raises(WorkbookError, match=r"plan\.xlsx unzips to more than 1 MiB"):
        open_workbook(content, "plan.xlsx", limit=2**20)
    # The sheet's size stated as 1,000 bytes: the bytes unzipped are what count, and the lie is found.
    with pytest.raises(WorkbookError, match=r"^plan\.xlsx "):
        open_workbook(lying(content, SHEET, 1000), "plan.xlsx", limit=2**20)


@pytest.mark.parametrize("damage", ["cut", "xml"])
def test_a_damaged_workbook_is_refused_naming_the_file_for_plans_and_actuals(tmp_path, damage):
    whole = workbook([ACTUALS, ["rep1", "calls", "2026-07-01", 1, "x1"]])
    # The first 100 bytes of a workbook, or its sheet's XML cut in half.
    content = whole[:100] if damage == "cut" else with_sheet_xml(whole, lambda xml: xml[: len(xml) // 2])
    with pytest.raises(Exception, match=r"^book\.xlsx is not a readable xlsx: "):
        read_plan_file(content, "csv", "book.xlsx")
    path = tmp_path / "book.xlsx"
    path.write_bytes(content)
    with pytest.raises(HeaderError, match=r"^book\.xlsx is not a readable xlsx: "):
        list(read_lines(path))


def test_a_file_starting_like_a_zip_is_read_as_a_workbook_whatever_its_name(tmp_path):
    path = tmp_path / "actuals.csv"
    path.write_bytes(workbook([ACTUALS, ["rep1", "calls", "2026-07-01", 1, "x1"]]))
    [line] = read_lines(path)
    assert line.fields["value"] == "1" and line.fault is None


def test_twelve_point_zero_zero_zero_in_a_semicolon_file_is_refused_as_ambiguous_for_plans_and_actuals(tmp_path):
    # A European Excel's CSV: 12.000 may be twelve thousand.
    plan = read_plan_file(b"node;metric;period;target\neast;revenue;2026;12.000\neast;calls;2026;12.5\n")
    [problem] = plan.problems
    assert (problem.row, problem.column) == (2, "D (target)")
    assert "'12.000' is ambiguous" in problem.message and "thousands separator" in problem.message
    assert [str(line.value) for line in plan.lines] == ["12.5"]
    # The same number in a comma file is twelve.
    [line] = read_plan_file(b"node,metric,period,target\neast,revenue,2026,12.000\n").lines
    assert line.value == 12
    path = tmp_path / "actuals.csv"
    path.write_text("person;metric;date;value\nrep1;calls;2026-07-01;12.000\nrep1;calls;2026-07-02;1.5\n")
    first, second = read_lines(path)
    assert "'12.000' is ambiguous" in (first.fault or "") and second.fault is None
    # One number reader for both: a comma file's grouped thousands are a number in actuals too.
    path.write_text('person,metric,date,value\nrep1,calls,2026-07-01,"1,234.50"\n')
    [line] = read_lines(path)
    assert line.fields["value"] == "1234.50" and line.cells == ["rep1", "calls", "2026-07-01", "1,234.50"]


def test_a_period_typed_as_a_day_is_refused_naming_the_cell_and_a_month_excel_made_a_date_is_that_month():
    rows = [PLAN, ["east", "revenue", datetime(2026, 3, 15), 1], ["east", "revenue", datetime(2026, 3, 1), 1]]
    plan = read_plan_file(workbook(rows), "csv", "plan.xlsx")
    [problem] = plan.problems
    assert (problem.row, problem.column) == (2, "C (period)")
    assert problem.message.startswith("Sheet!C2 holds the date 2026-03-15") and "type it as text" in problem.message
    assert [line.period for line in plan.lines] == ["2026-03"]


def test_a_date_with_a_time_is_refused_and_a_long_number_in_a_text_column_too(tmp_path):
    rows = [
        ACTUALS,
        ["rep1", "calls", datetime(2026, 7, 1, 15, 30), 1, "a"],
        ["rep1", "calls", datetime(2026, 7, 1), 1, 10**20],
        ["rep1", "calls", datetime(2026, 7, 1), 1, 1001],
    ]
    path = tmp_path / "actuals.xlsx"
    path.write_bytes(workbook(rows))
    timed, long, short = read_lines(path)
    assert timed.fault == "Sheet!C2 holds a date with a time (2026-07-01 15:30:00): type the date alone, as 2026-07-01"
    assert long.fault == "Sheet!E3 holds the number 1E+20, which may have lost digits: type it as text"
    assert short.fault is None and short.fields["external_ref"] == "1001" and short.fields["date"] == "2026-07-01"
    # A plan's node cell: the same rule.
    plan = read_plan_file(workbook([PLAN, [10**20, "revenue", "2026", 1], [7, "revenue", "2026", 1]]))
    assert [p.column for p in plan.problems] == ["A (node)"] and [line.node for line in plan.lines] == ["7"]


def _formula_and_merge(book: Workbook) -> None:
    book.active["D2"] = "=B9*2"  # a formula never calculated: no saved value
    book.active.merge_cells("A3:A4")


def test_a_formula_without_a_saved_value_and_a_merged_cell_say_so(tmp_path):
    rows = [PLAN, ["east", "revenue", "2026", None], ["east-1", "revenue", "2026", 1], [None, "calls", "2026", 2]]
    plan = read_plan_file(workbook(rows, _formula_and_merge), "csv", "plan.xlsx")
    messages = {(p.row, p.column): p.message for p in plan.problems}
    assert messages[(2, "D (target)")].startswith("the cell holds a formula without a saved value: open and save")
    assert messages[(4, "A (node)")].startswith("the cell is part of the merged range A3:A4")
    # In an actuals workbook alike.
    rows = [ACTUALS, ["rep1", "calls", "2026-07-01", None, "x"], ["rep1", "calls", "2026-07-01", 1, "y"]]
    path = tmp_path / "actuals.xlsx"
    path.write_bytes(workbook([*rows, [None, "calls", "2026-07-01", 1, "z"]], _formula_and_merge))
    formula, _, merged = read_lines(path)
    assert "formula without a saved value" in (formula.fault or "") and "merged range A3:A4" in (merged.fault or "")


def _notes_and_hidden(book: Workbook) -> None:
    book.active.title = "plan"
    notes = book.create_sheet("Notes", 0)
    notes.append(["Read me first"])
    old = book.create_sheet("Old")
    old.append(["node", "metric", "period"])
    old.sheet_state = "hidden"


def test_only_visible_sheets_with_a_header_are_read_and_the_others_are_named(tmp_path):
    plan = read_plan_file(workbook([PLAN, ["east", "revenue", "2026", 1]], _notes_and_hidden))
    assert plan.problems == [] and [line.node for line in plan.lines] == ["east"]
    assert plan.skipped == ["'Notes' (its row 1 is no plan header)", "'Old' (hidden)"]
    path = tmp_path / "actuals.xlsx"
    path.write_bytes(workbook([ACTUALS, ["rep1", "calls", "2026-07-01", 1, "x"]], _notes_and_hidden))
    skipped: list[str] = []
    [line] = read_lines(path, skipped=skipped)
    assert line.fault is None and skipped[0].startswith("'Notes' (sheet 'Notes': the header is wrong")


def test_a_money_cell_keeps_the_places_its_format_shows():
    def money(book: Workbook) -> None:
        book.active["D2"].number_format = "#,##0.00"

    [line] = read_plan_file(workbook([PLAN, ["east", "revenue", "2026", 1000000.5]], money)).lines
    assert str(line.value) == "1000000.50"
