"""A three-level plan (year → quarters → months, a product split, an org split two levels deep) imported,
exported, and imported into a second, fresh ledger: the same targets and splits, and nothing to change."""

import asyncio
import io
from decimal import Decimal

from click.testing import CliRunner
from openpyxl import Workbook

from target_ledger.cli import main
from target_ledger.plan_file import read_plan
from tests.api.ledgers import ledger_targets
from tests.api.support import ADMIN, admin_post, build_east

HEADER = ["node", "metric", "period", "scope", "target", "part of", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
HEADER += ["2026-01", "2026-02", "2026-03", "product:A", "product:B"]
_ = None
# Parts before their wholes on purpose: the order of the rows does not matter.
ROWS = [
    # east-2's Q1 (a part of its quarters) split into months; its Q2 into products.
    ["east-2", "revenue", "2026-Q1", _, 750, _, _, _, _, _, 250, 250, 250],
    ["east-2", "revenue", "2026-Q2", _, 750, _, _, _, _, _, _, _, _, 500, 250],
    # east-2's Q3 is all lead2's: an org split of a part of a split along time.
    ["lead2", "revenue", "2026-Q3", _, 750, "east-2"],
    ["east-2", "revenue", "2026-Q3", _, 750],
    # rep1 and rep2 are the parts of east-1's target; rep1's own is split by product.
    ["rep1", "revenue", "2026", _, 3000, "east-1", _, _, _, _, _, _, _, 2000, 1000],
    ["rep2", "revenue", "2026", _, 2000, "east-1"],
    # east-1 and east-2 are the parts of east's target; east-2's own is split into quarters.
    ["east-1", "revenue", "2026", _, 5000, "east"],
    ["east-2", "revenue", "2026", _, 3000, "east", 750, 750, 750, 750],
    ["east", "revenue", "2026", _, 8000],
]


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    book.active.title = "2026"
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _semantics(content: bytes) -> set[tuple]:
    """A plan file as what it says: each row's target, its split and its whole, in any order or layout."""
    lines, problems = read_plan(content, "plan.xlsx")
    assert problems == []
    return {
        (
            line.node,
            line.metric,
            line.period,
            tuple(sorted(line.scope.items())),
            Decimal(line.value),
            tuple(sorted(line.splits.items())),
            line.part_of,
        )
        for line in lines
    }


async def test_a_three_level_plan_round_trips_into_a_second_ledger(
    client, auth, settings, db_url, second_ledger, tmp_path
):
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})
    plan = _workbook(ROWS)
    # Imported into the first ledger: 9 rows, 7 splits (3 along the org, 2 along time, 2 by product).
    r = await client.post("/v1/plans/import", content=plan, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["errors"], report["warnings"]) == ([], [])
    assert sorted((s["row"], s["axis"]) for s in report["splits"]) == [
        (2, "period"),
        (3, "dimension"),
        (5, "org"),
        (6, "dimension"),
        (8, "org"),
        (9, "period"),
        (10, "org"),
    ]
    # east's org split is the decomposition the API makes: its parts east-1 and east-2.
    east = next(t for t in report["targets_to_set"] if t["node"] == "east")
    stored = (await client.get(f"/v1/targets/{east['target_id']}", headers=auth(*ADMIN))).json()
    assert [(c["node"], c["value"]) for c in stored["children"]] == [("east-1", "5000"), ("east-2", "3000")]
    # Exported by the CLI: the same plan, row for row.
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    path = tmp_path / "plan-2026.xlsx"
    result = await asyncio.to_thread(CliRunner().invoke, main, ["export", "plan", "--year", "2026", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert _semantics(path.read_bytes()) == _semantics(plan)
    # Imported into a second, fresh ledger by the CLI: every target and split as in the first.
    second_url, second = second_ledger
    env2 = {"DATABASE_URL": second_url, "TL_DATA_DIR": second.data_dir}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import", "plan", str(path)], env=env2)
    assert result.exit_code == 0, result.output
    first, copy = await ledger_targets(db_url, settings), await ledger_targets(second_url, second)
    assert len(first) == 9 + 1 + 3 + 2 + 2  # the rows, and the parts that are split columns only
    assert copy == first
    # The export imported again, in either ledger: nothing to change.
    for environment in (env, env2):
        args = ["import", "plan", "--dry-run", str(path)]
        result = await asyncio.to_thread(CliRunner().invoke, main, args, env=environment)
        assert result.exit_code == 0, result.output
        assert "targets to set 0, splits 0, unchanged 9, needing an adjustment request 0, errors 0" in result.output


async def test_a_part_that_disagrees_with_its_wholes_split_names_the_cell(client, auth):
    await build_east(client, auth)
    rows = [row[:] for row in ROWS if row[0] not in ("rep1", "rep2", "lead2") and row[2] not in ("2026-Q2", "2026-Q3")]
    rows[0][4] = 700  # east-2's Q1 row says 700; east-2's quarters say 750
    rows[1][5] = rows[2][5] = None  # east-1 and east-2 are no parts of east here
    rows.append(["rep1", "revenue", "2026", _, 3000, "east-2"])  # rep1 is not under east-2
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=_workbook(rows), headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    errors = {(e["row"], e["column"]): e["message"] for e in r.json()["errors"]}
    assert "row 4's split makes this target 750, the file says 700 here" in errors[(2, "E (target)")]
    assert errors[(6, "F (part of)")] == "'rep1' is not directly under 'east-2'"


async def test_a_target_set_by_two_rows_is_an_error_naming_the_first(client, auth):
    await build_east(client, auth)
    # The same target on two rows.
    rows = [["east", "revenue", "2026", _, 8000], ["east", "revenue", "2026", _, 8000]]
    r = await client.post("/v1/plans/import", params={"dry_run": "true"}, content=_workbook(rows), headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    assert [(e["row"], e["column"], e["message"]) for e in r.json()["errors"]] == [
        (3, "A (node)", "this target is already set by sheet '2026' row 2")
    ]
