"""The plan import's limits: what a rep may learn of targets above them, files that declare a million
rows, numbers with commas, a parse that keeps the service answering, the CLI's exit code and actor,
and the documented request body."""

import asyncio
import io
import threading
import zipfile

import httpx
import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from target_ledger.api import plans as plans_api
from target_ledger.app import create_app
from target_ledger.cli import main
from target_ledger.import_rows import read_lines
from target_ledger.plan_file import MAX_COLUMNS, MAX_ROWS, read_plan_file
from tests.api.live import serving
from tests.api.support import ADMIN, admin_post, build_east, team_target

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LAST_ROW = 1_048_576  # Excel's last row; XFD its last column


def _bomb(rows: list[list]) -> bytes:
    """A small workbook whose sheet declares every row and column Excel has, and has a cell in the last row."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    edited = io.BytesIO()
    with zipfile.ZipFile(edited, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                start = text.index('<dimension ref="')
                end = text.index("/>", start)
                text = text[:start] + '<dimension ref="A1:XFD1048576"' + text[end:]
                last = f'<row r="{LAST_ROW}"><c r="A{LAST_ROW}" t="inlineStr"><is><t>x</t></is></c></row>'
                data = text.replace("</sheetData>", last + "</sheetData>").encode()
            target.writestr(item, data)
    return edited.getvalue()


@pytest.fixture
async def east(client, auth):
    await build_east(client, auth)


async def _try(client, auth, content: bytes, who=ADMIN) -> dict:
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=content, headers=auth(*who))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_rep_learns_nothing_of_a_target_they_may_not_set(client, auth, east):
    await team_target(client, auth)  # rep2's 2026-Q3 revenue is 400
    for value in ("1", "400"):
        report = await _try(
            client, auth, f"node,metric,period,target\nrep2,revenue,2026-Q3,{value}\n".encode(), ("rep1",)
        )
        assert report["needs_adjustment"] == [] and report["unchanged"] == 0
        [error] = report["errors"]
        assert (error["row"], error["column"], error["target_id"]) == (2, None, None)
        assert error["message"].startswith("setting a target for 'rep2' needs to manage")
        assert "400" not in error["message"] and report["targets_to_set"] == []


async def test_a_sheet_declaring_a_million_rows_is_refused_naming_it(client, auth, east):
    content = _bomb([["node", "metric", "period", "target"], ["east", "revenue", "2026", 1]])
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=content, headers=auth(*ADMIN))
    assert r.status_code == 422, r.text
    assert "sheet 'Sheet' goes past 100,000 rows" in r.json()["detail"]


def test_an_actuals_workbook_declaring_a_million_rows_streams_its_rows_as_they_are(tmp_path):
    path = tmp_path / "actuals.xlsx"
    path.write_bytes(_bomb([["person", "metric", "date", "value"], ["rep1", "revenue", "2026-07-01", 5]]))
    lines = list(read_lines(path))
    assert [(line.number, line.cells) for line in lines] == [
        (2, ["rep1", "revenue", "2026-07-01", "5"]),
        (LAST_ROW, ["x", "", "", ""]),
    ]


async def test_a_comma_is_only_a_thousands_separator(client, auth, east):
    report = await _try(client, auth, b"node;metric;period;target\neast;revenue;2026;1234,56\n")
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "D (target)")]
    assert "'1234,56' is not a number" in report["errors"][0]["message"]
    csv = b'node,metric,period,target\neast,revenue,2026,"1,2,3"\neast-1,revenue,2026,1,200\n'
    csv += b'east-2,revenue,2026,"1,200.50"\n'
    report = await _try(client, auth, csv)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "D (target)"), (3, "E")]
    assert "past the header's 4 columns" in report["errors"][1]["message"]
    assert [(t["node"], t["value"]) for t in report["targets_to_set"]] == [("east-2", "1200.50")]


async def test_the_cli_exits_1_when_a_row_needs_an_adjustment(client, auth, east, db_url, settings, tmp_path):
    await admin_post(client, auth, "/v1/targets", {"node": "east", "metric": "revenue", "period": "2026", "value": "5"})
    path = tmp_path / "plan.csv"
    path.write_text("node,metric,period,target\neast,revenue,2026,6\n")
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import", "plan", str(path)], env=env)
    assert result.exit_code == 1, result.output
    assert "needing an adjustment request 1, errors 0, warnings 0; nothing stored" in result.output


async def test_the_plan_import_documents_its_file_body_and_413(client):
    operation = (await client.get("/schema/openapi.json")).json()["paths"]["/v1/plans/import"]["post"]
    # One media type a generator sends a file as; the description says which files it may be.
    content = operation["requestBody"]["content"]
    assert content == {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    assert ".xlsx workbook or a UTF-8 CSV" in operation["requestBody"]["description"]
    assert XLSX in operation["description"] and "text/csv" in operation["description"]
    assert "413" in operation["responses"]


async def test_a_csv_past_the_row_cap_and_a_sheet_past_the_column_cap_are_refused(client, auth, east):
    csv = b"node,metric,period,target\n" + b"east,revenue,2026,x\n" * MAX_ROWS
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=csv, headers=auth(*ADMIN))
    assert r.status_code == 422, r.text
    assert "sheet 'csv' goes past 100,000 rows" in r.json()["detail"]
    book = Workbook()
    book.active.append(["node", "metric", "period", "target"])
    book.active.cell(row=2, column=MAX_COLUMNS + 1, value=1)
    out = io.BytesIO()
    book.save(out)
    r = await client.post("/v1/plans/import", content=out.getvalue(), headers=auth(*ADMIN))
    assert r.status_code == 422, r.text
    assert "sheet 'Sheet' row 2 has cells past column ALL" in r.json()["detail"]


async def test_a_plan_is_parsed_off_the_event_loop_so_health_answers_first(settings, auth, monkeypatch):
    # The parse is held open until the health check has answered: on the loop it would block that answer.
    parsing, health_answered = threading.Event(), threading.Event()

    def held_parse(content: bytes, name: str, file: str):
        parsing.set()
        health_answered.wait(timeout=10)  # a bound, not an assertion: a parse on the loop just fails the order
        return read_plan_file(content, name, file)

    monkeypatch.setattr(plans_api, "read_plan_file", held_parse)
    answers = []
    # A real server in this event loop (the test client would run each request to its end in turn).
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def importing() -> None:
            # Not a plan at all: once parsed, the answer (422) is immediate.
            content = b"\xff not UTF-8"
            r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=content, headers=auth(*ADMIN))
            answers.append(("import", r.status_code))

        task = asyncio.create_task(importing())
        # While the file is being parsed, the service answers a health check.
        await asyncio.to_thread(parsing.wait, 10)
        r = await client.get("/health/live")
        answers.append(("health", r.status_code))
        health_answered.set()
        await task
    assert answers == [("health", 200), ("import", 422)]


async def test_the_cli_import_runs_as_the_named_admin_actor(client, auth, east, db_url, settings, tmp_path, pool):
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    # Its help says it bypasses the per-manager rights the HTTP endpoint applies.
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import", "plan", "--help"], env=env)
    assert "bypasses the rights of each manager that POST /v1/plans/import applies" in " ".join(result.output.split())
    # Named: any node's target, recorded under that name.
    path = tmp_path / "plan.csv"
    path.write_text("node,metric,period,target\neast,revenue,2026,6\n")
    args = ["import", "plan", "--actor", "ops-anna", str(path)]
    result = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
    assert result.exit_code == 0, result.output
    # Unnamed: `plan-import`.
    path.write_text("node,metric,period,target\neast-1,revenue,2026,5\n")
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import", "plan", str(path)], env=env)
    assert result.exit_code == 0, result.output
    actors = await pool.fetch(
        "SELECT payload->>'node' AS node, metadata->>'actor' AS actor FROM events "
        "WHERE type = 'TargetSet' ORDER BY position"
    )
    assert [(a["node"], a["actor"]) for a in actors] == [("east", "ops-anna"), ("east-1", "plan-import")]
