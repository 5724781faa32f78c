"""The annual plan as a spreadsheet: reports opened in openpyxl with their totals checked, and a plan
imported, re-imported and exported round-trip."""

import asyncio
import hashlib
import io
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from target_ledger.cli import main
from tests.api.support import ADMIN, admin_post, build_east, team_target

PAIR = "组织 \u00d7 时间"  # the sheet of the org split by time
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SUM = re.compile(r"^=SUM\(([A-Z]+\d+):([A-Z]+\d+)\)$")


def _sum(ws, formula: str) -> Decimal:
    """What Excel would show for a =SUM(A1:B2) formula (numbers, or other SUMs, in the range)."""
    first, last = _SUM.match(formula).groups()
    total = Decimal(0)
    for row in ws[f"{first}:{last}"]:
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                total += _sum(ws, cell.value)
            elif cell.value is not None:
                total += Decimal(str(cell.value))
    return total


def _book(content: bytes):
    return load_workbook(io.BytesIO(content))


async def _head(pool) -> int:
    return await pool.fetchval("SELECT max(position) FROM events")


def _plan(rows: list[list], header: list[str]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = "2026"
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["node", "metric", "period", "scope", "target", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "product:A"]
HEADER += ["product:B"]
ROWS = [
    ["east", "revenue", "2026", None, 4000, 1000, 900, 1000, 1100, None, None],
    ["east-1", "revenue", "2026", None, 2500],
    ["east-2", "revenue", "2026", None, 1500, None, None, None, None, 1000, 500],
]


@pytest.fixture
async def east(client, auth):
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})


async def test_decomposition_as_xlsx_has_a_sheet_per_axis_pair_with_totals_that_add_up(client, auth, east, pool):
    # east-1's Q3 revenue (1000) splits over rep1 and rep2, and rep1's share over the months.
    team = await team_target(client, auth)
    rep1 = next(c for c in team["children"] if c["node"] == "rep1")
    r = await client.post(
        f"/v1/targets/{rep1['target_id']}/decomposition",
        json={"axis": "period", "method": "even", "into": "month"},
        headers=auth("lead1"),
    )
    assert r.status_code == 201, r.text
    # The matrix as a workbook, in Chinese.
    r = await client.get(
        f"/v1/targets/{team['id']}/decomposition",
        params={"format": "xlsx", "min_position": await _head(pool)},
        headers={**auth("lead1"), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(XLSX)
    book = _book(r.content)
    assert book.sheetnames == ["目标明细", "组织", PAIR]
    listing = book["目标明细"]
    assert [c.value for c in listing[1]][:6] == ["层级", "组织/人员", "指标", "期间", "范围", "目标值"]
    assert listing.freeze_panes == "C2"
    assert listing["F2"].value == 1000 and listing["F2"].number_format == "#,##0.00"
    # The org split: each rep's share, and a column total that is the team's target.
    org = book["组织"]
    assert [org.cell(row=i, column=1).value for i in (2, 3, 4)] == ["rep1", "rep2", "合计"]
    assert _sum(org, org["B4"].value) == Decimal(1000)
    # org by time: rep1's months, their row total is rep1's target, the column totals add up to it too.
    pair = book[PAIR]
    assert [c.value for c in pair[1]] == ["组织", "2026-07", "2026-08", "2026-09", "合计"]
    assert pair.freeze_panes == "B2"
    assert pair["B2"].number_format == "#,##0.00"
    assert _sum(pair, pair["E2"].value) == Decimal(rep1["value"]) == Decimal(600)
    assert sum(_sum(pair, pair.cell(row=3, column=c).value) for c in (2, 3, 4)) == Decimal(600)


async def test_attainment_and_leaderboard_as_xlsx_total_by_formulas_with_percent_formats(client, auth, east, pool):
    await team_target(client, auth)
    for rep, value in (("rep1", "300"), ("rep2", "100")):
        body = {"person": rep, "metric": "revenue", "date": "2026-07-15", "value": value, "external_ref": rep}
        r = await client.post("/v1/actuals", json=body, headers=auth(*ADMIN))
        assert r.status_code == 201, r.text
    params = {"node": "east-1", "metric": "revenue", "period": "2026-Q3", "breakdown": "children"}
    r = await client.get(
        "/v1/attainment",
        params={**params, "format": "xlsx", "min_position": await _head(pool)},
        headers=auth("lead1"),
    )
    assert r.status_code == 200, r.text
    ws = _book(r.content).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:7] == ["node", "period", "scope", "target", "actual", "gap", "attainment %"]
    # The team's lead has no target of their own: a blank row the totals skip.
    assert [ws.cell(row=i, column=1).value for i in (2, 3, 4, 5)] == ["lead1", "rep1", "rep2", "Total"]
    # Targets 600 + 400, actuals 300 + 100, by the total row's formulas; attainment as a percentage.
    assert _sum(ws, ws["D5"].value) == Decimal(1000)
    assert _sum(ws, ws["E5"].value) == Decimal(400)
    assert ws["G5"].value == '=IF(D5=0,"",E5/D5)'
    assert ws["G3"].value == pytest.approx(0.5) and ws["G3"].number_format == "0.0%"
    # The leaderboard of the team, the same way.
    r = await client.get(
        "/v1/attainment/leaderboard",
        params={"unit": "east-1", "metric": "revenue", "period": "2026-Q3", "format": "xlsx"},
        headers=auth("lead1"),
    )
    assert r.status_code == 200, r.text
    ws = _book(r.content).worksheets[0]
    total = [ws.cell(row=i, column=1).value for i in range(1, ws.max_row + 1)].index("Total") + 1
    assert _sum(ws, ws[f"E{total}"].value) == Decimal(400)


async def test_historical_review_as_xlsx_has_a_sheet_per_metric_with_totals(client, auth, east, pool):
    await team_target(client, auth)
    r = await client.get(
        "/v1/reviews/2026-Q3",
        params={"node": "east-1", "format": "xlsx", "min_position": await _head(pool)},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 200, r.text
    book = _book(r.content)
    assert book.sheetnames == ["revenue 2026-Q3"]
    ws = book["revenue 2026-Q3"]
    nodes = [ws.cell(row=i, column=1).value for i in range(2, ws.max_row + 1)]
    # The team's own row first, then its reps', then the total of the parts: the reps' finals
    # add up to the team's, never the team and its reps counted together.
    assert nodes[0] == "east-1" and nodes[-1] == "Total of the parts"
    total = ws.max_row
    team = Decimal(str(ws.cell(row=2, column=4).value))
    reps = [Decimal(str(ws.cell(row=i, column=4).value)) for i in range(3, total)]
    assert _sum(ws, ws.cell(row=total, column=4).value) == sum(reps) == team == Decimal(1000)
    assert ws.cell(row=2, column=4).number_format == "#,##0.00"


async def test_a_plan_is_tried_imported_reimported_and_exported_round_trip(
    client, auth, east, pool, db_url, settings, tmp_path
):
    plan = _plan(ROWS, HEADER)
    # A dry run: what would be set and split, and nothing stored.
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=plan, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    report = r.json()
    assert [(t["node"], t["value"]) for t in report["targets_to_set"]] == [
        ("east", "4000"),
        ("east-1", "2500"),
        ("east-2", "1500"),
    ]
    assert [(s["row"], s["axis"], s["parts"]) for s in report["splits"]] == [
        (2, "period", {"2026-Q1": "1000", "2026-Q2": "900", "2026-Q3": "1000", "2026-Q4": "1100"}),
        (4, "dimension", {"A": "1000", "B": "500"}),
    ]
    assert report["errors"] == [] and report["stored"] is False
    east_id = report["targets_to_set"][0]["target_id"]
    assert (await client.get(f"/v1/targets/{east_id}", headers=auth(*ADMIN))).status_code == 404
    # Applied: one append, by the importer, the file's digest in every event's metadata.
    r = await client.post("/v1/plans/import", content=plan, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    stored = await pool.fetch(
        "SELECT DISTINCT xid::text, metadata->>'actor' AS actor, metadata->>'file_sha256' AS sha FROM events "
        "WHERE type IN ('TargetSet', 'TargetDecomposed')"
    )
    assert [(s["actor"], s["sha"]) for s in stored] == [("root", hashlib.sha256(plan).hexdigest())]
    count = await pool.fetchval("SELECT count(*) FROM events WHERE type = 'TargetSet'")
    assert count == 3 + 4 + 2
    east_target = (await client.get(f"/v1/targets/{east_id}", headers=auth(*ADMIN))).json()
    assert [c["value"] for c in east_target["children"]] == ["1000", "900", "1000", "1100"]
    # The same file again changes nothing.
    r = await client.post("/v1/plans/import", content=plan, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["unchanged"], r.json()["targets_to_set"]) == (False, 3, [])
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'TargetSet'") == count
    # A changed cell of an existing target is reported as needing an adjustment request, not applied.
    changed = [row[:] for row in ROWS]
    changed[1][4] = 2600
    r = await client.post("/v1/plans/import", content=_plan(changed, HEADER), headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    [needs] = r.json()["needs_adjustment"]
    assert (needs["sheet"], needs["row"], needs["column"]) == ("2026", 3, "E (target)")
    assert "request an adjustment" in needs["message"]
    east_1 = (await client.get(f"/v1/targets/{needs['target_id']}", headers=auth(*ADMIN))).json()
    assert east_1["value"] == "2500"
    # Exported by the CLI (zh-CN headers), the file imports as it is: nothing to change.
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    path = tmp_path / "plan-2026.xlsx"
    args = ["export", "plan", "--year", "2026", "--lang", "zh-CN", str(path)]
    result = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
    assert result.exit_code == 0, result.output
    exported = load_workbook(path).worksheets[0]
    assert [c.value for c in exported[1]][:5] == ["组织/人员", "指标", "期间", "范围", "目标值"]
    assert exported.freeze_panes == "D2"
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import", "plan", "--dry-run", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "targets to set 0, splits 0, unchanged 3, needing an adjustment request 0, errors 0" in result.output


async def test_a_plan_with_errors_names_sheet_row_and_column_and_stores_nothing(client, auth, east, pool):
    rows = [
        ["east", "revenue", "2026", None, 4000, 1000, 1000, 1000, 999],  # the quarters miss 1
        ["east-1", "revenu", "2026", None, 2500],  # no such metric
        ["east-2", "revenue", "2026", None, "lots"],  # not a number
        ["west", "revenue", "2026", None, 100],  # no such node
    ]
    plan = _plan(rows, HEADER[:9])
    before = await _head(pool)
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=plan, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    errors = {(e["sheet"], e["row"], e["column"]) for e in r.json()["errors"]}
    assert errors == {
        ("2026", 2, "F (2026-Q1)"),
        ("2026", 3, "B (metric)"),
        ("2026", 4, "E (target)"),
        ("2026", 5, "A (node)"),
    }
    # Applied, it is all or nothing: a 422 naming every error, and no event stored.
    r = await client.post("/v1/plans/import", content=plan, headers=auth(*ADMIN))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in r.json()["errors"]} >= {"2026!3 B (metric)", "2026!4 E (target)"}
    assert await _head(pool) == before


async def test_only_a_manager_above_the_nodes_imports_their_plan_and_csv_works_too(client, auth, east, pool):
    csv = "\ufeffnode;metric;period;target\neast-1;revenue;2026;2500\neast;revenue;2026;4000\n"
    # lead1 manages east-1 itself, not a unit above it: both rows are refused, each where it stands.
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=csv.encode(), headers=auth("lead1"))
    assert r.status_code == 200, r.text
    assert [(e["sheet"], e["row"], e["message"][:17]) for e in r.json()["errors"]] == [
        ("csv", 2, "setting a target "),
        ("csv", 3, "setting a target "),
    ]
    # east's manager may set east-1's; the CSV (Excel's UTF-8 with a BOM, semicolons) imports.
    content = csv.encode().replace(b"east;", b"east-2;")
    r = await client.post("/v1/plans/import", content=content, headers=auth("east-boss"))
    assert r.status_code == 201, r.text
    assert [t["node"] for t in r.json()["targets_to_set"]] == ["east-1", "east-2"]
