"""A plan whose parts are above their whole imports, with a warning naming the cell and both figures."""

import pytest

from tests.api.support import ADMIN, admin_post, build_east


@pytest.fixture
async def east(client, auth):
    await build_east(client, auth)


async def _import(client, auth, csv: str, dry_run: bool) -> dict:
    params = {"dry_run": "true"} if dry_run else {}
    r = await client.post("/v1/plans/import", params=params, content=csv.encode(), headers=auth(*ADMIN))
    assert r.status_code == (200 if dry_run else 201), r.text
    return r.json()


async def test_a_team_above_its_region_is_a_warning_in_a_dry_run_and_applied(client, auth, east):
    # east's 2026 revenue is 3000 already; the file asks 3500 of east-1, a team of east, unlinked by a split.
    await admin_post(
        client, auth, "/v1/targets", {"node": "east", "metric": "revenue", "period": "2026", "value": "3000"}
    )
    csv = "node,metric,period,target\neast-1,revenue,2026,3500\n"
    for dry_run in (True, False):
        report = await _import(client, auth, csv, dry_run)
        [warning] = report["warnings"]
        assert (warning["sheet"], warning["row"], warning["column"]) == ("csv", 2, "D (target)")
        assert warning["message"].startswith("east-1's target 3500 is above east's 3000 (revenue 2026)")
        assert report["errors"] == []
    # Applied all the same: the warning does not block.
    assert report["stored"] is True and [t["node"] for t in report["targets_to_set"]] == ["east-1"]


async def test_teams_that_add_up_above_their_region_are_a_warning_on_the_regions_row(client, auth, east):
    csv = "node,metric,period,target\neast,revenue,2026,4000\neast-1,revenue,2026,2500\neast-2,revenue,2026,1700\n"
    report = await _import(client, auth, csv, dry_run=True)
    [warning] = report["warnings"]
    assert (warning["row"], warning["column"]) == (2, "D (target)")
    assert warning["message"].startswith(
        "the targets under east (east-1 2500, east-2 1700) add up to 4200, above east's 4000 (revenue 2026)"
    )
    # The same teams as parts of east's split add up exactly: nothing to warn of.
    csv = csv.replace("2500\n", "2500,east\n").replace("1700\n", "1500,east\n").replace("target\n", "target,part of\n")
    report = await _import(client, auth, csv, dry_run=True)
    assert (report["errors"], report["warnings"]) == ([], [])


async def test_a_cost_ceiling_above_its_regions_is_a_warning_and_a_rate_is_not_compared(client, auth, east):
    # A lower-is-better metric (a cost ceiling): a team's ceiling above its region's cannot be used up.
    await admin_post(client, auth, "/v1/metrics", {"name": "travel_cost", "unit": "money", "direction": "lower"})
    csv = "node,metric,period,target\neast,travel_cost,2026,100\neast-1,travel_cost,2026,150\n"
    csv += "east,conversion_rate,2026,0.2\neast-1,conversion_rate,2026,0.3\n"
    report = await _import(client, auth, csv, dry_run=True)
    assert report["errors"] == []
    # Rates do not add up: a team's rate above its region's is no contradiction.
    [warning] = report["warnings"]
    assert warning["row"] == 3
    assert warning["message"] == (
        "east-1's target 150 is above east's 100 (travel_cost 2026): east-1's ceiling cannot be used up "
        "without passing east's"
    )


async def test_a_team_quarter_above_the_regions_quarter_is_a_warning_on_its_cell(client, auth, east):
    # east's year splits into quarters of 1000; east-1's Q1 row asks 1500, unlinked.
    csv = "node,metric,period,target,2026-Q1,2026-Q2,2026-Q3,2026-Q4\neast,revenue,2026,4000,1000,1000,1000,1000\n"
    csv += "east-1,revenue,2026-Q1,1500\n"
    report = await _import(client, auth, csv, dry_run=True)
    [warning] = report["warnings"]
    assert (warning["row"], warning["column"]) == (3, "D (target)")
    assert warning["message"].startswith("east-1's target 1500 is above east's 1000 (revenue 2026-Q1)")
