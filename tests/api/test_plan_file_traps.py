"""What a person sees of a bad plan or actuals file: a 422 naming the file (never a 500), one line and
exit 1 from the command line, skipped sheets listed, an --actor refused as a token's subject would be,
and an exported plan that keeps each target's rationale and its money's places."""

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from target_ledger.cli import main
from target_ledger.plan_file import read_plan_file
from tests.api.support import ADMIN, build_east
from tests.api.workbooks import with_sheet_xml, workbook

PLAN = ["node", "metric", "period", "target"]
DAMAGED = {
    "trunc.xlsx": workbook([PLAN, ["east", "revenue", "2026", 1]])[:100],
    "badxml.xlsx": with_sheet_xml(workbook([PLAN, ["east", "revenue", "2026", 1]]), lambda xml: xml[: len(xml) // 2]),
    "bomb.xlsx": with_sheet_xml(workbook([PLAN]), lambda xml: xml.replace("<sheetData>", " " * 2**21 + "<sheetData>")),
}


@pytest.fixture
async def east(client, auth):
    await build_east(client, auth)


@pytest.mark.parametrize("name", list(DAMAGED))
async def test_a_damaged_or_bomb_workbook_is_a_422_naming_the_file_even_sent_as_csv(client, auth, name):
    # Sent as text/csv: the body is known to be a workbook by its zip signature.
    headers = {**auth(*ADMIN), "Content-Type": "text/csv"}
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=DAMAGED[name], headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("the plan file")
    assert r.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("name", list(DAMAGED))
def test_the_command_line_says_what_is_wrong_with_a_damaged_workbook_in_one_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(DAMAGED[name])
    # Read before any database is opened: the file's fault is the whole answer.
    result = CliRunner().invoke(main, ["import", "plan", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.count("\n") == 1 and result.output.startswith(f"Error: {path}")


async def test_an_actuals_workbook_cut_short_stops_the_import_naming_the_file(db_url, settings, tmp_path):
    path = tmp_path / "badxml.xlsx"
    path.write_bytes(DAMAGED["badxml.xlsx"])
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import", "actuals", str(path)], env=env)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "nothing imported: badxml.xlsx is not a readable xlsx: sheet 'Sheet'" in result.output


@pytest.mark.parametrize("command", ["plan", "actuals"])
@pytest.mark.parametrize(
    "actor", ["", "x" * 5000, "bad\x01name"], ids=["empty", "5000 characters", "a control character"]
)
def test_an_actor_no_token_could_name_is_refused_naming_the_option(tmp_path, command, actor):
    path = tmp_path / "file.csv"
    path.write_text("node,metric,period,target\n")
    result = CliRunner().invoke(main, ["import", command, "--actor", actor, str(path)])
    assert result.exit_code == 2
    assert "Invalid value for '--actor'" in result.output


def _notes_and_hidden(book: Workbook) -> None:
    book.create_sheet("Notes", 0).append(["Read me first"])
    book.create_sheet("Old").sheet_state = "hidden"


async def test_a_workbook_with_notes_and_a_hidden_sheet_imports_its_plan_and_names_the_skipped(client, auth, east):
    content = workbook([PLAN, ["east", "revenue", "2026", 100]], _notes_and_hidden)
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=content, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["errors"] == [] and [t["node"] for t in report["targets_to_set"]] == ["east"]
    assert [w["message"] for w in report["warnings"]] == [
        "sheet skipped: 'Notes' (its row 1 is no plan header)",
        "sheet skipped: 'Old' (hidden)",
    ]


async def test_an_exported_plan_keeps_the_rationale_and_the_places_of_its_money(client, auth, east, db_url, settings):
    # A target of 1,000,000.50 with its rationale, imported from a CSV.
    content = b"node,metric,period,target,rationale\neast,revenue,2026,1000000.50,last year +10%\n"
    r = await client.post("/v1/plans/import", content=content, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    # Exported by the CLI: one row, one target; the rationale in its column.
    path = str(Path(settings.data_dir) / "plan.xlsx")
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["export", "plan", "--year", "2026", path], env=env)
    assert result.exit_code == 0, result.output
    assert "wrote 1 row(s), 1 target(s) with the split parts, of 2026" in result.output
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[1]][6] == "rationale" and sheet["G2"].value == "last year +10%"
    # Read back: the value with its cents, and the rationale.
    [line] = read_plan_file(await asyncio.to_thread(Path(path).read_bytes)).lines
    assert (str(line.value), line.rationale) == ("1000000.50", "last year +10%")
