"""The importer's traps (issue 16, part 5): spreadsheets, short rows, sources, exit codes, the bar, rejects."""

import asyncio
import csv
import fcntl
import io
import os
import pty
import re
import struct
import sys
import termios
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from projections.runner import PROJECTIONS
from target_ledger.cli import main
from target_ledger.import_rows import HeaderError
from target_ledger.importer import Rejects, import_actuals
from tests.api.support import ADMIN, build_east, importer

TODAY = "2026-08-03"
VALUES = "SELECT payload->>'source', payload->>'external_ref', (payload->>'value')::numeric FROM events"
ACTUALS = f"{VALUES} WHERE type = 'ActualRecorded' ORDER BY position"
HEADER = "person,metric,date,value,source,external_ref,scope.segment"


@pytest.fixture(autouse=True)
async def east(client, auth, clock) -> None:
    clock.set(TODAY)
    await build_east(client, auth)


async def run(store, path: Path, source: str = "import") -> tuple[tuple[int, int, int], str]:
    """Import `path`: the summary (stored, duplicates, rejected) and the rejects file's text."""
    out = io.StringIO()
    summary = await import_actuals(importer(store, TODAY), path, Rejects(out), source=source, batch_size=3)
    return (summary.stored, summary.duplicates, summary.rejected), out.getvalue()


async def cli(db_url: str, tmp_path: Path, *args: str, stderr: int | None = None) -> tuple[int, str, str]:
    """Run `target-ledger` on the test's database: its exit code, stdout and stderr."""
    env = {**os.environ, "DATABASE_URL": db_url, "TL_DATA_DIR": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "target_ledger", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr or asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), (err or b"").decode()


async def test_an_excel_csv_with_a_byte_order_mark_and_semicolons_is_imported(store, pool, tmp_path) -> None:
    # Excel's "CSV UTF-8" in a locale that separates with semicolons.
    path = tmp_path / "actuals.csv"
    text = "person;metric;date;value;source;external_ref;scope.segment\r\nrep1;calls;2026-07-01;3;crm;semi1;new\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert await run(store, path) == ((1, 0, 0), "")
    assert await pool.fetch(ACTUALS) == [("crm", "semi1", 3)]


async def test_a_tab_separated_file_is_imported(store, pool, tmp_path) -> None:
    path = tmp_path / "actuals.tsv"
    path.write_text("person\tmetric\tdate\tvalue\texternal_ref\nrep2\tcalls\t2026-07-02\t4\ttab1\n")
    assert (await run(store, path))[0] == (1, 0, 0)
    assert await pool.fetch(ACTUALS) == [("import", "tab1", 4)]


async def test_an_xlsx_workbook_is_imported_directly_and_its_sum_is_stored(store, pool, tmp_path) -> None:
    # A workbook as a spreadsheet writes it: real dates and numbers, an empty cell, the first sheet read.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["person", "metric", "date", "value", "external_ref", "scope.segment"])
    sheet.append(["rep1", "revenue", datetime(2026, 7, 1), 1200.5, "x1", "new"])
    sheet.append(["rep2", "revenue", date(2026, 7, 2), 99.99, "x2", None])
    sheet.append([])
    sheet.append(["rep1", "revenue", "2026-07-03", 7, "x3"])
    sheet.append(["rep1", "revenue", "2026-07-04", "lots", "x4"])  # rejected: not a number
    book.create_sheet("notes").append(["ignored"])
    path = tmp_path / "actuals.xlsx"
    book.save(path)
    summary, rejects = await run(store, path)
    assert summary == (3, 0, 1)
    # The sum stored is the sum of the workbook's good values, as openpyxl reads them.
    read = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    values = [row[3] for row in read.iter_rows(min_row=2, values_only=True) if isinstance(row[3], int | float)]
    stored = "SELECT sum((payload->>'value')::numeric) FROM events WHERE type = 'ActualRecorded'"
    assert await pool.fetchval(stored) == sum(Decimal(str(v)) for v in values)
    # The rejected row comes back by its sheet row, in the workbook's columns.
    [rejected] = list(csv.DictReader(io.StringIO(rejects)))
    assert rejected["value"] == "lots" and rejected["error"].startswith("row 6: value:")


async def test_short_rows_take_the_defaults(store, pool, tmp_path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text(f"{HEADER}\nrep1,calls,2026-07-01,1,crm,short1\nrep1,calls,2026-07-02,2\n")
    summary, rejects = await run(store, path, source="salesforce")
    assert summary == (2, 0, 0), rejects
    [first, second] = await pool.fetch(ACTUALS)
    assert first == ("crm", "short1", 1)
    assert second[0] == "salesforce" and second[1].startswith("line3-")


async def test_any_source_name_is_accepted_and_a_malformed_one_is_rejected_saying_what_a_source_is(
    client, auth, store, pool, tmp_path
) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text(f"{HEADER}\nrep1,calls,2026-07-01,1,,sf1,new\nrep1,calls,2026-07-01,1,sales force!,sf2,new\n")
    summary, rejects = await run(store, path, source="salesforce")
    assert summary == (1, 0, 1)
    assert await pool.fetch(ACTUALS) == [("salesforce", "sf1", 1)]
    [rejected] = list(csv.DictReader(io.StringIO(rejects)))
    assert "line 3: source: a source is where the data came from" in rejected["error"], rejected["error"]
    assert "1-64 letters, digits" in rejected["error"]
    # The API takes the same names, and refuses the same ones saying why.
    deal = {"person": "rep1", "metric": "calls", "date": "2026-07-02", "value": "1", "external_ref": "hs1"}
    r = await client.post("/v1/actuals", json={**deal, "source": "hubspot.eu-1"}, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    r = await client.post("/v1/actuals", json={**deal, "source": "x" * 65}, headers=auth(*ADMIN))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "source", r.text
    assert "a source is where the data came from" in r.json()["errors"][0]["message"]


async def test_the_command_exits_1_with_a_summary_when_a_row_is_rejected(db_url, pool, tmp_path) -> None:
    # The command runs on the real clock: a day a week back, after the people joined.
    day = (date.today() - timedelta(days=7)).isoformat()
    path = tmp_path / "actuals.csv"
    path.write_bytes(f"{HEADER}\nrep1,calls,{day},1,crm,cli1,new\nrep1,calls,{day},x,crm,cli2,new\n".encode())
    code, out, err = await cli(db_url, tmp_path, "import", "actuals", str(path), "--source", "salesforce")
    assert code == 1, err
    assert "stored 1, duplicates 0, rejected 1" in out
    # Every row rejected: still 1.
    path.write_bytes(f"{HEADER}\nrep1,calls,{day},x,crm,cli3,new\n".encode())
    code, out, _ = await cli(db_url, tmp_path, "import", "actuals", str(path))
    assert (code, "stored 0, duplicates 0, rejected 1" in out) == (1, True)
    # Nothing rejected: 0.
    path.write_bytes(f"{HEADER}\nrep1,calls,{day},1,crm,cli1,new\n".encode())
    code, out, _ = await cli(db_url, tmp_path, "import", "actuals", str(path))
    assert (code, "stored 0, duplicates 1, rejected 0" in out) == (0, True)


async def test_a_wrong_header_stops_the_import_with_exit_1_naming_the_columns(db_url, pool, tmp_path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text("persn,metric,value,value\nrep1,calls,1,1\n")
    code, out, err = await cli(db_url, tmp_path, "import", "actuals", str(path))
    assert code == 1
    assert "stored 0, duplicates 0, rejected 0" in out
    assert "the header is wrong: no column person; no column date; unknown column 'persn'; value twice" in err, err
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'ActualRecorded'") == 0


async def test_a_file_named_xlsx_that_is_no_workbook_is_refused_as_a_whole(store, tmp_path) -> None:
    path = tmp_path / "actuals.xlsx"
    path.write_text(f"{HEADER}\nrep1,calls,2026-07-01,1,crm,x1,new\n")
    with pytest.raises(HeaderError, match=r"actuals\.xlsx is not a readable xlsx"):
        await run(store, path)


async def test_a_bad_source_option_is_refused_before_anything_is_read(db_url, tmp_path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text(f"{HEADER}\n")
    code, _, err = await cli(db_url, tmp_path, "import", "actuals", str(path), "--source", "sales force")
    assert code == 2 and "a source is where the data came from" in err, err


async def test_the_progress_bar_shows_the_total_the_rate_and_the_time_left(db_url, tmp_path) -> None:
    day = (date.today() - timedelta(days=7)).isoformat()
    path = tmp_path / "actuals.csv"
    rows = "".join(f"rep1,calls,{day},1,crm,bar{i},new\n" for i in range(50))
    path.write_text(f"{HEADER}\n{rows}")
    # On a terminal (the bar stays off in logs and pipes).
    terminal, screen = pty.openpty()
    fcntl.ioctl(screen, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 24 lines of 120 characters
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    code, out, _ = await cli(db_url, tmp_path, "import", "actuals", str(path), stderr=screen)
    os.close(screen)
    reader.join(timeout=10)
    os.close(terminal)
    assert code == 0, out
    # "actuals.csv: 100%|██████████| 2.51k/2.51k [00:00<00:00, 95.1kB/s]": done of the total, time left, rate.
    bar = re.compile(r"100%\|[^|]*\| ([\d.]+k?)/\1 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+ ?[kM]?B/s\]")
    assert bar.search(shown.decode()), shown.decode()


async def test_the_rejects_file_keeps_the_columns_and_quoting_and_imports_once_fixed(store, pool, tmp_path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text(
        f"{HEADER}\n"
        'rep1,revenue,2026-07-01,"12,5",crm,"ref, with a comma",new\n'  # a decimal comma: not a number here
        'rep1,calls,2026-07-02,1,crm,"a ""quoted"" ref",new\n'  # good
        "rep1,calls,2026-07-03,1,crm,r3,new,extra\n"  # a field too many
    )
    summary, rejects = await run(store, path)
    assert summary == (1, 0, 2)
    rows = list(csv.reader(io.StringIO(rejects)))
    # The file's columns plus `error`; the values as they were, quoted where they need it.
    assert rows[0] == [*HEADER.split(","), "error"]
    assert rows[1][:7] == ["rep1", "revenue", "2026-07-01", "12,5", "crm", "ref, with a comma", "new"]
    assert rows[1][7].startswith("line 2: value:")
    assert rows[2][:7] == [""] * 7 and rows[2][7] == (
        "line 4: 8 fields, the header has 7: rep1,calls,2026-07-03,1,crm,r3,new,extra"
    )
    # Fixed in place, the rejects file imports as it is (its `error` column is ignored).
    rows[1][3] = "12.5"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", newline="") as f:
        csv.writer(f).writerows(rows[:2])
    summary, rejects = await run(store, fixed)
    assert (summary, rejects) == ((1, 0, 0), ""), rejects
    assert await pool.fetch(ACTUALS) == [("crm", 'a "quoted" ref', 1), ("crm", "ref, with a comma", Decimal("12.5"))]


def test_the_version_and_the_projections_a_rebuild_takes_are_shown() -> None:
    runner = CliRunner()
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"target-ledger, version \d+\.\d+\.\d+\S*\n", version.output)
    shown = runner.invoke(main, ["rebuild", "--help"])
    assert shown.exit_code == 0
    assert all(p.NAME in shown.output for p in PROJECTIONS), shown.output
