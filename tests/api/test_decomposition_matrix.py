"""A quarter split by month and by product at once: a matrix of targets whose every margin adds up."""

import asyncio
from decimal import Decimal

import pytest
from click.testing import CliRunner

from target_ledger.cli import main
from target_ledger.domain.decomposition import by_weights
from tests.api.support import ADMIN, admin_post, ask, build_east

MONTHS = ["2026-01", "2026-02", "2026-03"]


@pytest.fixture
async def org(client, auth) -> None:
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})


async def _quarter(client, auth, value: str) -> dict:
    r = await client.post(
        "/v1/targets",
        json={"node": "east-1", "metric": "revenue", "period": "2026-Q1", "value": value},
        headers=auth("east-boss"),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _split(client, auth, target_id, expect=201, who="east-boss", **body) -> dict:
    r = await client.post(f"/v1/targets/{target_id}/decomposition", json=body, headers=auth(who))
    assert r.status_code == expect, r.text
    return r.json()


async def _get(client, auth, target_id) -> dict:
    r = await client.get(f"/v1/targets/{target_id}", headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


async def _matrix(client, auth, quarter_id) -> tuple[dict, dict[str, str], dict[str, str], dict[tuple[str, str], str]]:
    """The quarter, its months, its products and its cells (month, product) → value, read back
    target by target; every cell also checked to be a part of both its month and its product."""
    quarter = await _get(client, auth, quarter_id)
    months = {c["period"]: await _get(client, auth, c["target_id"]) for c in quarter["children"]}
    products = {c["scope"]["product"]: await _get(client, auth, c["target_id"]) for c in quarter["cross_children"]}
    cells = {}
    for month, target in months.items():
        for c in target["children"]:
            cells[(month, c["scope"]["product"])] = (await _get(client, auth, c["target_id"]))["value"]
    for product, target in products.items():
        assert {(c["period"], product) for c in target["children"]} == {(m, product) for m in months}
        assert all(c["value"] == cells[(c["period"], product)] for c in target["children"])
    return (
        quarter,
        {m: t["value"] for m, t in months.items()},
        {p: t["value"] for p, t in products.items()},
        cells,
    )


def _check_sums(quarter: dict, months: dict, products: dict, cells: dict) -> None:
    """Every month's products sum to the month, every product's months to the product, all to the quarter."""
    for month, value in months.items():
        assert sum(Decimal(v) for (m, _), v in cells.items() if m == month) == Decimal(value), month
    for product, value in products.items():
        assert sum(Decimal(v) for (_, p), v in cells.items() if p == product) == Decimal(value), product
    assert sum(map(Decimal, months.values())) == sum(map(Decimal, products.values())) == Decimal(quarter["value"])


async def _approve(client, auth, asked: dict, *approvers: str) -> None:
    for who in approvers:
        r = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth(who))
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"


async def test_the_source_example_splits_q1_by_month_and_product_and_stays_exact_after_an_adjustment(
    client, auth, org, pool
) -> None:
    # The seed's worked example: Q1 revenue 1,200,000; January 400,000, February 450,000, March
    # 350,000; product A (high margin) 30 % = 360,000, product B 70 % = 840,000.
    quarter = await _quarter(client, auth, "1200000")
    months = {"2026-01": "400000", "2026-02": "450000", "2026-03": "350000"}
    await _split(client, auth, quarter["id"], axis="period", into="month", method="explicit", allocations=months)
    # Splitting the same target by product used to be a 409 ("already decomposed by period"): now a matrix.
    split = await _split(
        client, auth, quarter["id"], axis="dimension", dimension="product", method="weights", weights={"A": 30, "B": 70}
    )
    assert split["decomposed_along"] == "period" and split["crossed_along"] == "dimension"
    q, by_month, by_product, cells = await _matrix(client, auth, quarter["id"])
    assert by_product == {"A": "360000.00", "B": "840000.00"}
    assert cells == {
        ("2026-01", "A"): "120000.00",
        ("2026-01", "B"): "280000.00",
        ("2026-02", "A"): "135000.00",
        ("2026-02", "B"): "315000.00",
        ("2026-03", "A"): "105000.00",
        ("2026-03", "B"): "245000.00",
    }
    _check_sums(q, by_month, by_product, cells)
    # Asking the same split again stores nothing.
    await _split(client, auth, quarter["id"], 200, axis="dimension", dimension="product", method="weights",
                 weights={"A": 30, "B": 70})  # fmt: skip
    # The market shrinks: lead1 asks for 1,000,000; the impact diff shows every target of the matrix.
    asked = await ask(client, auth, quarter["id"], new_value="1000000")
    assert len(asked["changes"]) == 1 + 3 + 2 + 6
    assert asked["changes"][0]["target_id"] == quarter["id"]
    await _approve(client, auth, asked, "east-boss", "ceo")  # a 16.7 % cut needs two levels
    q, by_month, by_product, cells = await _matrix(client, auth, quarter["id"])
    assert q["value"] == "1000000.00"
    # Months and products scale by 5/6; the cells by controlled rounding, every margin exact.
    assert by_month == {"2026-01": "333333.33", "2026-02": "375000.00", "2026-03": "291666.67"}
    assert by_product == {"A": "300000.00", "B": "700000.00"}
    assert cells[("2026-02", "A")] == "112500.00"
    _check_sums(q, by_month, by_product, cells)
    # The audit trail shows both splits and the adjustment.
    head = await pool.fetchval("SELECT max(position) FROM events")
    r = await client.get(f"/v1/targets/{quarter['id']}/history", params={"min_position": head}, headers=auth("lead1"))
    assert [e["type"] for e in r.json() if e["type"].startswith("Target")] == [
        "TargetSet",
        "TargetDecomposed",
        "TargetCrossDecomposed",
        "TargetAdjusted",
    ]


async def test_cells_that_cannot_round_one_month_at_a_time_still_add_up_both_ways(client, auth, org) -> None:
    # 300.03 over three months is 100.01 each; half and half by product is A 150.02, B 150.01.
    # Each month's cent rounded on its own (largest remainder, ties to the first) goes to A three
    # times: A would get 150.03 and B 150.00. Controlled rounding gives A two of the cents.
    naive = [by_weights(Decimal("100.01"), [Decimal(1), Decimal(1)], Decimal("0.01")) for _ in MONTHS]
    assert [sum(column) for column in zip(*naive, strict=True)] == [Decimal("150.03"), Decimal("150.00")]
    quarter = await _quarter(client, auth, "300.03")
    # One request: the months and, crossed with them, the products.
    cross = {"axis": "dimension", "dimension": "product", "method": "even"}
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even", cross=cross)
    q, by_month, by_product, cells = await _matrix(client, auth, quarter["id"])
    assert by_month == dict.fromkeys(MONTHS, "100.01")
    assert by_product == {"A": "150.02", "B": "150.01"}
    assert sorted(cells.values()) == ["50.00"] * 3 + ["50.01"] * 3
    _check_sums(q, by_month, by_product, cells)


async def test_explicit_cells_must_hold_every_margin(client, auth, org) -> None:
    quarter = await _quarter(client, auth, "300")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even")
    body = {"axis": "dimension", "dimension": "product", "method": "weights", "weights": {"A": 1, "B": 2}}
    # A missing cell is named.
    cells = {"2026-01": {"A": "40", "B": "60"}, "2026-02": {"A": "30", "B": "70"}, "2026-03": {"A": "30"}}
    r = await client.post(
        f"/v1/targets/{quarter['id']}/decomposition", json={**body, "cells": cells}, headers=auth("east-boss")
    )
    assert r.status_code == 422 and "cells.2026-03.B" in r.text, r.text
    # Every month adds up, but product A gets 100 + 10, not its third of 300: the margin is named.
    cells["2026-03"] = {"A": "40", "B": "60"}
    r = await client.post(
        f"/v1/targets/{quarter['id']}/decomposition", json={**body, "cells": cells}, headers=auth("east-boss")
    )
    assert r.status_code == 422 and "margins.product.A" in r.text, r.text
    # A month that does not add up is named too.
    cells = {"2026-01": {"A": "40", "B": "70"}, "2026-02": {"A": "30", "B": "70"}, "2026-03": {"A": "30", "B": "60"}}
    r = await client.post(
        f"/v1/targets/{quarter['id']}/decomposition", json={**body, "cells": cells}, headers=auth("east-boss")
    )
    assert r.status_code == 422 and "margins.period.2026-01" in r.text, r.text
    # Cells that hold both margins are taken as given; nothing was stored by the refusals.
    cells["2026-01"] = {"A": "30", "B": "70"}
    cells["2026-03"] = {"A": "40", "B": "60"}
    await _split(client, auth, quarter["id"], **body, cells=cells)
    q, by_month, by_product, stored = await _matrix(client, auth, quarter["id"])
    assert stored[("2026-03", "A")] == "40" and by_product == {"A": "100.00", "B": "200.00"}
    _check_sums(q, by_month, by_product, stored)


async def test_a_cell_splits_further_and_follows_an_adjustment_of_the_quarter(client, auth, org) -> None:
    quarter = await _quarter(client, auth, "1200000")
    months = {"2026-01": "400000", "2026-02": "450000", "2026-03": "350000"}
    cross = {"axis": "dimension", "dimension": "product", "method": "weights", "weights": {"A": 30, "B": 70}}
    await _split(client, auth, quarter["id"], axis="period", into="month", method="explicit", allocations=months,
                 cross=cross)  # fmt: skip
    january = await _get(client, auth, (await _get(client, auth, quarter["id"]))["children"][0]["target_id"])
    cell = next(c for c in january["children"] if c["scope"] == {"product": "A"})
    # January's product A (120,000) is split further between the team's two reps, 2 : 1.
    reps = await _split(client, auth, cell["target_id"], who="lead1", axis="org", method="weights",
                        weights={"rep1": 2, "rep2": 1})  # fmt: skip
    assert [c["value"] for c in reps["children"]] == ["80000.00", "40000.00"]
    # A month's change is a change of the quarter: January 400,000 → 340,000.
    asked = await ask(client, auth, january["id"], new_value="340000")
    assert asked["changes"][0]["target_id"] == january["id"]
    await _approve(client, auth, asked, "east-boss", "ceo")  # over 10 %: two levels
    q, by_month, by_product, cells = await _matrix(client, auth, quarter["id"])
    assert q["value"] == "1140000.00" and by_month["2026-01"] == "340000.00"
    assert cells[("2026-01", "A")] == "102000.00" and cells[("2026-02", "A")] == "135000.00"
    assert by_product == {"A": "342000.00", "B": "798000.00"}
    _check_sums(q, by_month, by_product, cells)
    # The reps' targets followed their cell.
    split_cell = await _get(client, auth, cell["target_id"])
    assert [c["value"] for c in split_cell["children"]] == ["68000.00", "34000.00"]
    # Quota moves from product B to A: the months and the quarter stay.
    products = (await _get(client, auth, quarter["id"]))["cross_children"]
    asked = await ask(client, auth, products[1]["target_id"], transfer_to=products[0]["target_id"], amount="98000")
    await _approve(client, auth, asked, "east-boss", "ceo")  # over 10 %: two levels
    q, by_month, by_product, cells = await _matrix(client, auth, quarter["id"])
    assert by_product == {"A": "440000.00", "B": "700000.00"} and by_month["2026-01"] == "340000.00"
    _check_sums(q, by_month, by_product, cells)


async def test_a_second_axis_keeps_the_rules_of_a_split(client, auth, org) -> None:
    quarter = await _quarter(client, auth, "900")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even")
    body = {"axis": "dimension", "dimension": "product", "method": "even"}
    # A rep may not split the quarter; a stale If-Match is a 412; the same axis twice is refused.
    await _split(client, auth, quarter["id"], 403, who="rep1", **body)
    r = await client.post(
        f"/v1/targets/{quarter['id']}/decomposition", json=body, headers={**auth("east-boss"), "If-Match": '"1"'}
    )
    assert r.status_code == 412, r.text
    r = await client.post(
        f"/v1/targets/{quarter['id']}/decomposition",
        json={"axis": "period", "into": "week", "method": "even"},
        headers=auth("east-boss"),
    )
    assert r.status_code == 409, r.text
    # The current version goes through; a third axis on the quarter is a 409.
    version = (await _get(client, auth, quarter["id"]))["version"]
    r = await client.post(
        f"/v1/targets/{quarter['id']}/decomposition",
        json=body,
        headers={**auth("east-boss"), "If-Match": f'"{version}"', "Idempotency-Key": "matrix-1"},
    )
    assert r.status_code == 201 and len(r.json()["cross_children"]) == 2, r.text
    # A retry with the same Idempotency-Key gets the first answer, not a 412 from its own effect.
    again = await client.post(
        f"/v1/targets/{quarter['id']}/decomposition",
        json=body,
        headers={**auth("east-boss"), "If-Match": f'"{version}"', "Idempotency-Key": "matrix-1"},
    )
    assert (again.status_code, again.json()) == (201, r.json())
    await _split(client, auth, quarter["id"], 409, axis="org", method="even")


async def export_plan(settings, db_url, path):
    """`target-ledger export plan --year 2026 <path>`, its result."""
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    return await asyncio.to_thread(CliRunner().invoke, main, ["export", "plan", "--year", "2026", str(path)], env=env)


PRODUCTS = {"axis": "dimension", "dimension": "product", "method": "even"}
MONTHLY = {"axis": "period", "into": "month", "method": "even"}


# Split by product first, the export crashed (StopIteration: a month beside the products has no
# product) before it came to the refusal.
@pytest.mark.parametrize("first, second", [(MONTHLY, PRODUCTS), (PRODUCTS, MONTHLY)], ids=["months", "products"])
async def test_a_year_holding_a_matrix_is_not_exported_as_a_plan_without_its_cells(
    client, auth, org, settings, db_url, tmp_path, first, second
) -> None:
    quarter = await _quarter(client, auth, "900")
    await _split(client, auth, quarter["id"], **first, cross=second)
    # A plan row holds one split: the export says why it cannot write this year, and writes nothing.
    path = tmp_path / "plan-2026.xlsx"
    result = await export_plan(settings, db_url, path)
    assert result.exit_code != 0 and "decomposition matrix" in result.output, result.output
    assert quarter["id"] in result.output and not path.exists()


async def test_an_org_by_time_matrix_of_a_count_metric_rounds_to_whole_units(client, auth, org, pool) -> None:
    # East's 100 new customers in Q1, split between its two teams 1 : 2 and, crossed, by month
    # evenly: months 34 / 33 / 33, teams 33 / 67; every cell a whole customer, every margin exact.
    r = await client.post(
        "/v1/targets",
        json={"node": "east", "metric": "new_customers", "period": "2026-Q1", "value": "100"},
        headers=auth("ceo"),
    )
    assert r.status_code == 201, r.text
    east = r.json()
    cross = {"axis": "period", "into": "month", "method": "even"}
    weights = {"east-1": 1, "east-2": 2}
    split = await _split(
        client, auth, east["id"], who="ceo", axis="org", method="weights", weights=weights, cross=cross
    )
    teams = {c["node"]: c["value"] for c in split["children"]}
    months = {c["period"]: c["value"] for c in split["cross_children"]}
    assert teams == {"east-1": "33", "east-2": "67"} and months == {"2026-01": "34", "2026-02": "33", "2026-03": "33"}
    cells = {}
    for team in split["children"]:
        for cell in (await _get(client, auth, team["target_id"]))["children"]:
            assert cell["node"] == team["node"] and Decimal(cell["value"]) == int(Decimal(cell["value"]))
            cells[(cell["period"], cell["node"])] = cell["value"]
    assert len(cells) == 6
    for team, value in teams.items():
        assert sum(Decimal(v) for (_, t), v in cells.items() if t == team) == Decimal(value)
    for month, value in months.items():
        assert sum(Decimal(v) for (m, _), v in cells.items() if m == month) == Decimal(value)
    # The decomposition reads (the tree, its CSV and workbook) answer for a matrix too.
    head = await pool.fetchval("SELECT max(position) FROM events")
    for format in ("json", "csv", "xlsx"):
        r = await client.get(
            f"/v1/targets/{east['id']}/decomposition",
            params={"format": format, "min_position": head},
            headers=auth("ceo"),
        )
        assert r.status_code == 200, r.text


async def test_a_closed_month_refuses_its_cells_and_any_change_of_them(client, auth, org, clock) -> None:
    clock.set("2026-01-10")
    quarter = await _quarter(client, auth, "900")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even")
    clock.set("2026-02-03")
    r = await client.post("/v1/periods/2026-01/close", json={"node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    # January is frozen: no new cell may land in it, so the product split is refused whole...
    body = {"axis": "dimension", "dimension": "product", "method": "even"}
    r = await client.post(f"/v1/targets/{quarter['id']}/decomposition", json=body, headers=auth("east-boss"))
    assert r.status_code == 409 and "2026-01" in r.text, r.text
    assert (await _get(client, auth, quarter["id"]))["cross_children"] == []
    # An adjustment of the quarter would change January's target: refused as well.
    body = {"reason_category": "market_change", "justification": "a key customer left", "evidence": []}
    r = await client.post(
        f"/v1/targets/{quarter['id']}/adjustments", json={**body, "new_value": "600"}, headers=auth("lead1")
    )
    assert r.status_code == 409 and "2026-01" in r.text, r.text


async def test_the_decomposition_csv_of_a_matrix_is_its_cross_table_with_totals(client, auth, org, pool) -> None:
    # The source example split at once by month and by product: the export is the matrix managers draw.
    quarter = await _quarter(client, auth, "1200000")
    months = {"2026-01": "400000", "2026-02": "450000", "2026-03": "350000"}
    product = {"axis": "dimension", "dimension": "product", "method": "weights", "weights": {"A": 3, "B": 7}}
    await _split(
        client, auth, quarter["id"], axis="period", into="month", method="explicit", allocations=months, cross=product
    )
    head = await pool.fetchval("SELECT max(position) FROM events")
    r = await client.get(
        f"/v1/targets/{quarter['id']}/decomposition",
        params={"format": "csv", "min_position": head},
        headers=auth("east-boss"),
    )
    assert r.status_code == 200, r.text
    lines = [line.split(",") for line in r.text.strip().splitlines()]
    assert lines[0][1:] == ["product=A", "product=B", "total"], r.text
    assert [line[0] for line in lines[1:]] == [*months, "total"]
    assert lines[1][1:] == ["120000.00", "280000.00", "400000.00"]
    assert lines[-1][1:] == ["360000.00", "840000.00", "1200000.00"]
    # Attainment of the matrix by product, and by month x product, after actuals of January's A and B.
    for ref, product, value in (("a1", "A", "60000"), ("b1", "B", "140000")):
        r = await client.post(
            "/v1/actuals",
            json={"person": "rep1", "metric": "revenue", "date": "2026-01-20", "value": value,
                  "scope": {"product": product}, "source": "crm", "external_ref": ref},
            headers=auth(*ADMIN),
        )  # fmt: skip
        assert r.status_code == 201, r.text
    head = await pool.fetchval("SELECT max(position) FROM events")
    query = {"node": "east-1", "metric": "revenue", "period": "2026-Q1", "min_position": head}
    r = await client.get("/v1/attainment", params={**query, "breakdown": "product"}, headers=auth("east-boss"))
    assert [(b["target"], b["target_source"], b["actual"]) for b in r.json()["breakdown"]] == [
        ("360000.00", "set", "60000"),
        ("840000.00", "set", "140000"),
    ]
    r = await client.get("/v1/attainment", params={**query, "breakdown": "time,product"}, headers=auth("east-boss"))
    matrix = r.json()["matrix"]
    january = matrix["rows"][0]
    assert [(c["target"], c["actual"], c["attainment"]) for c in january["cells"]] == [
        ("120000.00", "60000", "0.5000"),
        ("280000.00", "140000", "0.5000"),
    ]
    assert (january["total"]["target"], matrix["total"]["target"]) == ("400000", "1200000")
