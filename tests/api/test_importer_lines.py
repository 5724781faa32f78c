"""The actuals importer: each line that cannot become a row is rejected by line and reason, the rest stored."""

import asyncio
import csv
import io
import json
import os
import re
import sys
from datetime import date, timedelta

import pytest

from target_ledger.importer import Rejects, import_actuals
from tests.api.support import build_east, importer

TODAY = "2026-08-03"
STORED = "SELECT count(*) FROM events WHERE type = 'ActualRecorded'"
HEADER = b"person,metric,date,value,source,external_ref,scope.segment\n"


@pytest.fixture(autouse=True)
async def east(client, auth, clock) -> None:
    clock.set(TODAY)
    await build_east(client, auth)


async def run(store, path) -> tuple[tuple[int, int, int], list[dict[str, str]]]:
    """Import `path`; the summary (stored, duplicates, rejected) and the rejects file's rows (CSV
    or JSON Lines), each with the `line`, `field` and `reason` its error names."""
    out = io.StringIO()
    summary = await import_actuals(importer(store, TODAY), path, Rejects(out), batch_size=3)
    text = out.getvalue()
    rows = [json.loads(t) for t in text.splitlines()] if path.suffix == ".jsonl" else csv.DictReader(io.StringIO(text))
    return (summary.stored, summary.duplicates, summary.rejected), [{**r, **where(r["error"])} for r in rows]


def where(error: str) -> dict[str, str]:
    """ "line 4: value: Expected ..." as its line, field (if any) and reason."""
    match = re.fullmatch(r"line (\d+): (?:([a-z_.]+): )?(.*)", error, re.DOTALL)
    assert match, error
    return {"line": match[1], "field": match[2] or "", "reason": match[3]}


async def test_hostile_csv_lines_are_rejected_by_line_and_reason_and_every_good_row_is_stored(
    store, pool, tmp_path
) -> None:
    lines = [
        HEADER,  # 1
        b"rep1,calls,2026-07-01,1,crm,imp1,new\n",  # 2 good
        b"\xff\xfe,bad\n",  # 3 not UTF-8
        b"rep1,calls,2026-07-02,1,crm,imp11,new,extra\n",  # 4 a field too many
        b"rep1,calls,2026-07-02,1,crm\n",  # 5 too few
        b"rep2,calls,2026-07-03,2,crm,imp3,new\n",  # 6 good
        b'rep1,calls,2026-07-04,1,crm,"' + b"x" * 200_000 + b'",new\n',  # 7 over the CSV field size limit
        b"\n",  # 8 blank: skipped
        b'rep2,calls,2026-07-05,1,crm,"imp,5",new\n',  # 9 good, a quoted comma
        b"rep1,calls,2026-07-06,1,crm,imp6,caf\xc3\xa9\xe9\n",  # 10 one bad byte after good UTF-8
        b'rep2,calls,2026-07-07,1,crm,"imp\n7",new\n',  # 11-12 good, a value spanning two lines
        b"rep1,calls,2026-07-08,3,crm,imp8,new\n",  # 13 good, last
    ]
    path = tmp_path / "actuals.csv"
    path.write_bytes(b"".join(lines))
    # The import reads the file to its end: six rows stored (the short one takes the defaults),
    # each bad line in the rejects file.
    summary, rejected = await run(store, path)
    assert summary == (6, 0, 4)
    assert await pool.fetchval(STORED) == 6
    assert [(r["line"], r["reason"]) for r in rejected] == [
        ("3", "not valid UTF-8"),
        ("4", "8 fields, the header has 7: rep1,calls,2026-07-02,1,crm,imp11,new,extra"),
        ("7", f"not CSV: field larger than field limit (131072): {lines[6][:4096].decode()}… (200034 characters)"),
        ("10", "not valid UTF-8"),
    ]
    # A row with values keeps them in the file's columns, a byte that is not UTF-8 as its escape.
    assert (rejected[0]["person"], rejected[0]["metric"], rejected[0]["value"]) == ("\\xff\\xfe", "bad", "")
    assert rejected[3]["scope.segment"] == "café\\xe9" and rejected[3]["external_ref"] == "imp6"
    assert [r["person"] for r in rejected[1:3]] == ["", ""]  # its line is in the error
    # Re-running it stores nothing twice.
    assert (await run(store, path))[0] == (0, 6, 4)


async def test_a_rejected_row_holding_commas_and_quotes_keeps_its_columns_in_the_rejects_file(store, tmp_path) -> None:
    row = 'nobody,calls,2026-07-01,1,crm,"ref, with a comma","a ""quoted"" one"'
    path = tmp_path / "actuals.csv"
    path.write_bytes(HEADER + row.encode() + b"\n")
    _, [rejected] = await run(store, path)
    # The file's columns plus `error`, each value as it was.
    assert list(rejected)[:8] == [*HEADER.decode().strip().split(","), "error"]
    assert (rejected["line"], rejected["field"]) == ("2", "person")
    assert rejected["external_ref"] == "ref, with a comma" and rejected["scope.segment"] == 'a "quoted" one'


async def test_hostile_json_lines_are_rejected_by_line_and_reason_and_every_good_one_is_stored(
    store, pool, tmp_path
) -> None:
    def good(ref: str) -> bytes:
        body = {"person": "rep1", "metric": "calls", "date": "2026-07-01", "value": "1", "external_ref": ref}
        return json.dumps(body).encode() + b"\n"

    lines = [
        good("j1"),  # 1
        b'{"person": "rep1", \xff}\n',  # 2 not UTF-8
        b"not json\n",  # 3
        b'["rep1", "calls"]\n',  # 4 not an object
        b"[" * 100_000 + b"]" * 100_000 + b"\n",  # 5 nested too deep
        b'{"person": "rep1", "metric": "calls", "date": "2026-07-01", "value": "1", "external_ref": "\\ud800"}\n',  # 6
        b"   \n",  # 7 blank: skipped
        good("j2"),  # 8
        b'{"person": "rep1", "metric": "calls", "date": "2026-07-01", "value": "NaN", "external_ref": "j9"}\n',  # 9
        good("j3"),  # 10
    ]
    path = tmp_path / "actuals.jsonl"
    path.write_bytes(b"".join(lines))
    summary, rejected = await run(store, path)
    assert summary == (3, 0, 6)
    assert await pool.fetchval(STORED) == 3
    reasons = {r["line"]: (r["field"], r["reason"]) for r in rejected}
    assert list(reasons) == ["2", "3", "4", "5", "6", "9"]
    assert reasons["2"][1].startswith("not valid UTF-8: ")
    assert reasons["3"][1].startswith("not JSON")
    assert reasons["4"][1] == 'a line must hold one JSON object: ["rep1", "calls"]'
    assert reasons["5"][1].startswith("not JSON: nested too deep: [[[")
    assert reasons["6"][1].startswith("not JSON")  # a lone surrogate is no text PostgreSQL can hold
    assert reasons["9"][0] == "value"
    # A rejected object comes back as it was, with its error: fixed, it imports as it is.
    assert {k: v for k, v in rejected[-1].items() if k not in ("error", "line", "field", "reason")} == json.loads(
        lines[8]
    )


async def test_a_clash_within_the_file_names_the_line_it_repeats(store, tmp_path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text(
        "person,metric,date,value,source,external_ref\n"
        "rep1,calls,2026-07-01,1,crm,dup\n"  # 2
        "rep1,calls,2026-07-02,1,crm,other\n"  # 3
        "rep1,calls,2026-07-01,5,crm,dup\n"  # 4: dup again with another value
    )
    summary, [clash] = await run(store, path)
    assert summary == (2, 0, 1)
    assert (clash["line"], clash["field"]) == ("4", "external_ref")
    assert "of line 2 with another value" in clash["reason"], clash["reason"]


async def test_a_byte_order_mark_does_not_rename_the_first_column(store, pool, tmp_path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER + b"rep1,calls,2026-07-01,1,crm,bom,new\n")
    assert (await run(store, path))[0] == (1, 0, 0)


async def test_blank_lines_before_the_header_are_skipped(store, tmp_path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_bytes(b"\n\r\n" + HEADER + b"rep1,calls,2026-07-01,1,crm,blank,new\n")
    summary, rejected = await run(store, path)
    assert summary == (1, 0, 0), rejected


async def test_the_command_exits_1_with_a_summary_and_the_rejects_file_when_lines_are_rejected(
    db_url, pool, tmp_path
) -> None:
    # The command runs on the real clock: a day a week back, after the people joined.
    day = (date.today() - timedelta(days=7)).isoformat()
    path = tmp_path / "actuals.csv"
    path.write_bytes(HEADER + f"rep1,calls,{day},1,crm,cli1,new\n".encode() + b"\xff,bad\n")
    env = {**os.environ, "DATABASE_URL": db_url, "TL_DATA_DIR": str(tmp_path)}
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "target_ledger", "import", "actuals", str(path),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await cli.communicate()
    assert cli.returncode == 1, err.decode()
    assert "stored 1, duplicates 0, rejected 1" in out.decode()
    with (tmp_path / "actuals.csv.rejects.csv").open(encoding="utf-8", newline="") as f:
        [rejected] = list(csv.DictReader(f))
    assert (rejected["person"], rejected["metric"], rejected["error"]) == ("\\xff", "bad", "line 3: not valid UTF-8")
