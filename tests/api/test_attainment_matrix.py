"""The source's worked example read as a matrix: Q1 by month, each month by product, read by product
and as month x product, with totals that equal the one-axis reads to the cent."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

ADMIN = ("root", "admin")
MONTHS = {"2026-01": "400000", "2026-02": "450000", "2026-03": "350000"}
# Actuals of rep r1 by month, for product A (high margin) and B (the volume line).
ACTUALS = {"2026-01": ("100000", "300000"), "2026-02": ("150000", "250000"), "2026-03": ("90000", "200000.50")}


@pytest.fixture
async def plan(client, auth, clock):
    """Team east (lead, r1): Q1 revenue 1,200,000 split by month 400/450/350 k, then each month split by
    product A 30 % / B 70 % (the source's first worked example, done with today's one-axis splits)."""
    admin = auth(*ADMIN)

    async def post(path: str, body: dict, who: dict = admin) -> dict:
        r = await client.post(path, json=body, headers=who)
        assert r.status_code in (200, 201), r.text
        return r.json()

    clock.set("2026-03-31")
    await post("/v1/dimensions", {"name": "product", "values": ["A", "B"]})
    await post("/v1/org/units", {"node": "acme", "kind": "company", "name": "Acme"})
    await post("/v1/org/units", {"node": "east", "kind": "team", "name": "East", "parent": "acme"})
    for person in ("lead", "r1"):
        await post("/v1/org/people", {"person": person, "name": person, "unit": "east", "effective": "2025-01-01"})
    quarter = await post("/v1/targets", {"node": "east", "metric": "revenue", "period": "2026-Q1", "value": "1200000"})
    split = {"axis": "period", "method": "explicit", "allocations": MONTHS}
    months = await post(f"/v1/targets/{quarter['id']}/decomposition", split)
    by_product = {"axis": "dimension", "dimension": "product", "method": "weights", "weights": {"A": "30", "B": "70"}}
    for month in months["children"]:
        await post(f"/v1/targets/{month['target_id']}/decomposition", by_product)
    items = [
        {"person": "r1", "metric": "revenue", "date": f"{m}-10", "value": v, "scope": {"product": p}}
        for m, values in ACTUALS.items()
        for p, v in zip("AB", values, strict=True)
    ]
    await post("/v1/actuals/batch", {"items": items}, auth("crm", "integration"))
    return quarter


async def _read(client, auth, pool, **params) -> dict:
    head = await pool.fetchval("SELECT max(position) FROM events")
    query = {"node": "east", "metric": "revenue", "period": "2026-Q1", "min_position": head, **params}
    r = await client.get("/v1/attainment", params=query, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


async def test_q1_by_product_shows_the_targets_summed_from_the_months(client, auth, pool, plan) -> None:
    body = await _read(client, auth, pool, breakdown="product")
    rows = {r["scope"]["product"]: r for r in body["breakdown"]}
    # No (Q1, A) target was set: its target is Jan A + Feb A + Mar A = 120,000 + 135,000 + 105,000.
    assert (rows["A"]["target"], rows["A"]["target_source"], rows["A"]["target_id"]) == (
        "360000.00",
        "sum_of_parts",
        None,
    )
    assert (rows["A"]["actual"], rows["A"]["gap"], rows["A"]["attainment_pct"]) == ("340000", "20000.00", "94.44")
    b = rows["B"]
    assert (b["target"], b["actual"], b["attainment_pct"]) == ("840000.00", "750000.50", "89.28")
    # The quarter itself was set: its source says so, and its answer is as before.
    assert (body["row"]["target"], body["row"]["target_source"], body["matrix"]) == ("1200000", "set", None)
    # The planned share to date follows the months' split: the whole quarter has elapsed.
    assert rows["A"]["expected"] == "360000.00" and rows["A"]["status"] == "at_risk"  # pace 94.44 %
    # As the ledger knew it at an instant (events are recorded at the server's time), read from the log: the same sum.
    then = await _read(client, auth, pool, breakdown="product", as_of=datetime.now(UTC).isoformat())
    assert [r["target"] for r in then["breakdown"]] == ["360000.00", "840000.00"]


async def test_no_target_is_invented_when_the_parts_do_not_cover_the_period(client, auth, pool, plan) -> None:
    # Only April has a target for product A: Q2 for A has no target, not April's value.
    body = {"node": "east", "metric": "revenue", "period": "2026-04", "value": "50000", "scope": {"product": "A"}}
    assert (await client.post("/v1/targets", json=body, headers=auth(*ADMIN))).status_code == 201
    q2 = await _read(client, auth, pool, period="2026-Q2", breakdown="product")
    assert [(r["target"], r["target_source"]) for r in q2["breakdown"]] == [(None, None), (None, None)]
    # A ratio metric's target is a rate, never a sum of the months' rates.
    rate = await _read(client, auth, pool, metric="conversion_rate", breakdown="product")
    assert [r["target"] for r in rate["breakdown"]] == [None, None]


async def test_targets_set_month_by_month_sum_to_the_quarter_they_tile(client, auth, pool, plan) -> None:
    # Gross profit for product A set directly for each month of Q1, no quarter target at all.
    for month, value in [("2026-01", "10"), ("2026-02", "20"), ("2026-03", "30.50")]:
        body = {"node": "east", "metric": "gross_profit", "period": month, "value": value, "scope": {"product": "A"}}
        assert (await client.post("/v1/targets", json=body, headers=auth(*ADMIN))).status_code == 201
    read = await _read(client, auth, pool, metric="gross_profit", breakdown="product")
    assert [(r["target"], r["target_source"]) for r in read["breakdown"]] == [("60.50", "sum_of_parts"), (None, None)]
    # The quarter without a product has no month targets below it: no target.
    assert read["row"]["target"] is None


async def test_a_product_target_sums_over_the_org_split_of_its_margin(client, auth, pool, plan) -> None:
    admin = auth(*ADMIN)
    # Q2: the team's revenue split evenly over its two people, each person's split by product 30 / 70.
    body = {"node": "east", "metric": "revenue", "period": "2026-Q2", "value": "1000000"}
    team = (await client.post("/v1/targets", json=body, headers=admin)).json()
    split = await client.post(
        f"/v1/targets/{team['id']}/decomposition", json={"axis": "org", "method": "even"}, headers=admin
    )
    assert split.status_code == 201, split.text
    by_product = {"axis": "dimension", "dimension": "product", "method": "weights", "weights": {"A": "3", "B": "7"}}
    for person in split.json()["children"]:
        r = await client.post(f"/v1/targets/{person['target_id']}/decomposition", json=by_product, headers=admin)
        assert r.status_code == 201, r.text
    # The team's Q2 for A is lead A + r1 A = 150,000 + 150,000.
    read = await _read(client, auth, pool, period="2026-Q2", breakdown="product")
    assert [(r["target"], r["target_source"]) for r in read["breakdown"]] == [
        ("300000.00", "sum_of_parts"),
        ("700000.00", "sum_of_parts"),
    ]
    # As a matrix of people by product: the set cells, and the summed column totals.
    matrix = (await _read(client, auth, pool, period="2026-Q2", breakdown="children,product"))["matrix"]
    assert [[c["target"] for c in line["cells"]] for line in matrix["rows"]] == [
        ["150000.00", "350000.00"],
        ["150000.00", "350000.00"],
    ]
    assert [c["total"]["target"] for c in matrix["columns"]] == ["300000.00", "700000.00"]


def _money(text: str | None) -> Decimal:
    return Decimal(text or "0")


async def test_month_by_product_answers_the_matrix_with_totals_equal_to_the_one_axis_reads(
    client, auth, pool, plan
) -> None:
    body = await _read(client, auth, pool, breakdown="time,product")
    matrix = body["matrix"]
    assert matrix["axes"] == ["time", "product"]
    assert [c["label"] for c in matrix["columns"]] == ["A", "B"]
    assert [r["label"] for r in matrix["rows"]] == list(MONTHS)
    # Every cell is the month's product target, set by the split, with its actual and attainment (a fraction).
    jan_a = matrix["rows"][0]["cells"][0]
    assert (jan_a["target"], jan_a["target_source"], jan_a["actual"], jan_a["attainment"], jan_a["gap"]) == (
        "120000.00",
        "set",
        "100000",
        "0.8333",
        "20000.00",
    )
    # The totals are the one-axis answers, to the cent: by month, by product, and the quarter.
    by_month = await _read(client, auth, pool, breakdown="time")
    by_product = await _read(client, auth, pool, breakdown="product")
    for line, one_axis in zip(matrix["rows"], by_month["breakdown"], strict=True):
        assert (line["total"]["target"], line["total"]["actual"]) == (one_axis["target"], one_axis["actual"])
    for column, one_axis in zip(matrix["columns"], by_product["breakdown"], strict=True):
        assert (column["total"]["target"], column["total"]["actual"], column["total"]["gap"]) == (
            one_axis["target"],
            one_axis["actual"],
            one_axis["gap"],
        )
    assert (matrix["total"]["target"], matrix["total"]["actual"]) == ("1200000", "1090000.50")
    assert matrix["total"]["attainment"] == "0.9083"  # 1,090,000.50 / 1,200,000 = 0.908333..., shown down
    # ... and the cells add up to every total.
    for line in matrix["rows"]:
        assert sum(_money(c["target"]) for c in line["cells"]) == _money(line["total"]["target"])
        assert sum(_money(c["actual"]) for c in line["cells"]) == _money(line["total"]["actual"])
    for j, column in enumerate(matrix["columns"]):
        assert sum(_money(line["cells"][j]["target"]) for line in matrix["rows"]) == _money(column["total"]["target"])
    assert sum(_money(c["total"]["target"]) for c in matrix["columns"]) == Decimal("1200000")
    # The breakdown of a matrix answer is its first axis's rows; the row, the quarter's.
    assert body["breakdown"] == by_month["breakdown"] and body["row"] == by_month["row"]
    # As the ledger knew it at an instant, from the log: the same matrix.
    then = await _read(client, auth, pool, breakdown="time,product", as_of=datetime.now(UTC).isoformat())
    assert then["matrix"] == matrix


async def test_the_matrix_reads_along_any_two_axes(client, auth, pool, plan) -> None:
    # Transposed: products as rows, months as columns, the same cells.
    turned = (await _read(client, auth, pool, breakdown="product,time"))["matrix"]
    assert [r["label"] for r in turned["rows"]] == ["A", "B"]
    assert [c["cells"][0]["target"] for c in turned["rows"]] == ["120000.00", "280000.00"]
    assert turned["rows"][0]["total"]["target"] == "360000.00"
    # People by month: r1's actuals in their months; r1 has no target of their own.
    people = (await _read(client, auth, pool, breakdown="children,time"))["matrix"]
    r1 = next(line for line in people["rows"] if line["label"] == "r1")
    assert [c["actual"] for c in r1["cells"]] == ["400000", "400000", "290000.50"]
    assert r1["total"]["target"] is None
    # People by product.
    mix = (await _read(client, auth, pool, breakdown="children,product"))["matrix"]
    assert [c["label"] for c in mix["columns"]] == ["A", "B"]
    # The workbook of a matrix read holds its first axis's rows, as its JSON breakdown does.
    query = {"node": "east", "metric": "revenue", "period": "2026-Q1", "breakdown": "time,product", "format": "xlsx"}
    r = await client.get("/v1/attainment/export", params=query, headers=auth(*ADMIN))
    assert r.status_code == 200 and r.content.startswith(b"PK"), r.text


@pytest.mark.parametrize(
    "breakdown",
    ["time,time", "time,product,children", "time,nowhere", "time,", ",product", "product,product"],
)
async def test_a_bad_two_axis_breakdown_is_refused_naming_breakdown(client, auth, pool, plan, breakdown) -> None:
    query = {"node": "east", "metric": "revenue", "period": "2026-Q1", "breakdown": breakdown}
    r = await client.get("/v1/attainment", params=query, headers=auth(*ADMIN))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "breakdown"


async def test_a_matrix_of_more_than_ten_thousand_cells_is_refused(client, auth, pool, plan) -> None:
    # 120 SKUs by 90 stores: 10,800 cells, one query and an answer nobody reads.
    for name, count in (("sku", 120), ("store", 90)):
        values = [f"{name}{n}" for n in range(count)]
        r = await client.post("/v1/dimensions", json={"name": name, "values": values}, headers=auth(*ADMIN))
        assert r.status_code == 201, r.text
    query = {"node": "east", "metric": "revenue", "period": "2026-Q1", "breakdown": "sku,store"}
    r = await client.get("/v1/attainment", params=query, headers=auth(*ADMIN))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "breakdown", r.text
    assert "120 x 90" in r.json()["errors"][0]["message"]


async def test_the_decomposition_csv_shows_the_cross_table_with_totals(client, auth, pool, plan) -> None:
    head = await pool.fetchval("SELECT max(position) FROM events")
    r = await client.get(
        f"/v1/targets/{plan['id']}/decomposition/export",
        params={"format": "csv", "min_position": head},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 200, r.text
    table = list(csv.reader(io.StringIO(r.text)))
    assert table == [
        ["period \\ product", "product=A", "product=B", "total"],
        ["2026-01", "120000.00", "280000.00", "400000.00"],
        ["2026-02", "135000.00", "315000.00", "450000.00"],
        ["2026-03", "105000.00", "245000.00", "350000.00"],
        ["total", "360000.00", "840000.00", "1200000.00"],
    ]
    # A month, split along one axis only, keeps today's CSV (one line per target).
    month = next(row for row in (await _tree(client, auth, plan["id"]))["rows"] if row["period"] == "2026-01")
    r = await client.get(
        f"/v1/targets/{month['target_id']}/decomposition/export", params={"format": "csv"}, headers=auth(*ADMIN)
    )
    assert r.text.splitlines()[0].startswith("depth,node,metric,period,scope,value")
    assert len(r.text.splitlines()) == 4  # the header, January, A and B


async def _tree(client, auth, target_id: str) -> dict:
    r = await client.get(f"/v1/targets/{target_id}/decomposition", headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()
