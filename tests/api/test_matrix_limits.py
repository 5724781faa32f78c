"""A decomposition matrix's edges: no third axis through a margin, no cells silently dropped,
transfers beside a closed month, a size limit, and fields named as sent."""

from decimal import Decimal

import pytest

from tests.api.support import ADMIN, admin_post, ask, build_east
from tests.api.test_decomposition_matrix import _approve, _check_sums, _get, _matrix, _quarter, _split

EVEN_PRODUCTS = {"axis": "dimension", "dimension": "product", "method": "even"}


@pytest.fixture
async def org(client, auth) -> None:
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})


async def _post(client, auth, path: str, body: dict, who: str = "east-boss"):
    return await client.post(path, json=body, headers=auth(who))


async def test_a_margin_of_a_matrix_is_not_split_along_a_third_axis(client, auth, org) -> None:
    quarter = await _quarter(client, auth, "900")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even", cross=EVEN_PRODUCTS)
    january = (await _get(client, auth, quarter["id"]))["children"][0]["target_id"]
    # January's parts are its cells (products): split by people too it would be a matrix inside a
    # matrix that no adjustment of the quarter re-allocates. Refused, as a third axis of the quarter is.
    r = await _post(client, auth, f"/v1/targets/{january}/decomposition",
                    {"axis": "org", "method": "weights", "weights": {"rep1": 1, "rep2": 1}})  # fmt: skip
    assert r.status_code == 409 and "margin of a decomposition matrix" in r.text, r.text
    assert len((await _get(client, auth, january))["children"]) == 2  # nothing stored
    product = (await _get(client, auth, quarter["id"]))["cross_children"][0]["target_id"]
    r = await _post(client, auth, f"/v1/targets/{product}/decomposition", {"axis": "org", "method": "even"})
    assert r.status_code == 409, r.text


async def test_the_same_split_with_other_cells_is_refused_not_dropped(client, auth, org) -> None:
    quarter = await _quarter(client, auth, "300")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even")
    body = {"axis": "dimension", "dimension": "product", "method": "weights", "weights": {"A": 1, "B": 2}}
    cells = {"2026-01": {"A": "30", "B": "70"}, "2026-02": {"A": "30", "B": "70"}, "2026-03": {"A": "40", "B": "60"}}
    await _split(client, auth, quarter["id"], **body, cells=cells)
    # Other cells that hold the same margins: a 409, where it used to be a 200 that stored nothing.
    other = {**cells, "2026-01": {"A": "40", "B": "60"}, "2026-03": {"A": "30", "B": "70"}}
    r = await _post(client, auth, f"/v1/targets/{quarter['id']}/decomposition", {**body, "cells": other})
    assert r.status_code == 409 and "other cells" in r.text, r.text
    # The very same cells again (spelt otherwise): nothing new, a 200.
    await _split(client, auth, quarter["id"], 200, **body, cells={**cells, "2026-01": {"A": "30.00", "B": 70}})
    *_, stored = await _matrix(client, auth, quarter["id"])
    assert stored[("2026-01", "A")] == "30"


async def test_quota_moves_between_two_open_months_beside_a_closed_one(client, auth, org, clock) -> None:
    clock.set("2026-01-10")
    quarter = await _quarter(client, auth, "900")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even", cross=EVEN_PRODUCTS)
    clock.set("2026-02-03")
    r = await _post(client, auth, "/v1/periods/2026-01/close", {"node": "east"})
    assert r.status_code == 200, r.text
    months = {c["period"]: c["target_id"] for c in (await _get(client, auth, quarter["id"]))["children"]}
    asked = await ask(client, auth, months["2026-02"], transfer_to=months["2026-03"], amount="30")
    # January and its cells stay as they are: out of the diff, so its close does not refuse the move.
    periods = {c["period"] for c in asked["changes"] if Decimal(c["old_value"]) != Decimal(c["new_value"])}
    assert periods == {"2026-02", "2026-03"}, asked["changes"]
    assert "2026-01" not in {c["period"] for c in asked["changes"]}
    await _approve(client, auth, asked, "east-boss")
    q, by_month, by_product, cells = await _matrix(client, auth, quarter["id"])
    assert by_month == {"2026-01": "300.00", "2026-02": "270.00", "2026-03": "330.00"}
    assert by_product == {"A": "450.00", "B": "450.00"}
    assert [c["value"] for c in q["children"]] == ["300.00", "270.00", "330.00"]  # the quarter's parts follow
    _check_sums(q, by_month, by_product, cells)
    # Moving quota out of January is refused, naming the transfer's field, not new_value.
    body = {"reason_category": "market_change", "justification": "j", "evidence": []}
    r = await _post(client, auth, f"/v1/targets/{months['2026-01']}/adjustments",
                    {**body, "transfer_to": months["2026-02"], "amount": "10"}, who="lead1")  # fmt: skip
    assert r.status_code == 409 and "2026-01" in r.text and "transfer_to" in r.text, r.text


async def test_a_split_of_more_than_ten_thousand_cells_is_refused(client, auth, org) -> None:
    skus = [f"s{i:04d}" for i in range(1000)]
    await admin_post(client, auth, "/v1/dimensions", {"name": "sku", "values": skus})
    quarter = await _quarter(client, auth, "1000000")
    # 13 weeks x 1,000 skus: the rounding of 53,000 cells took half a minute on the event loop.
    cross = {"axis": "dimension", "dimension": "sku", "method": "even", "parts": skus}
    r = await _post(client, auth, f"/v1/targets/{quarter['id']}/decomposition",
                    {"axis": "period", "into": "week", "method": "even", "cross": cross})  # fmt: skip
    assert r.status_code == 422 and "more than 10000" in r.text, r.text
    assert r.json()["errors"][0]["field"] == "cross"
    assert (await _get(client, auth, quarter["id"]))["children"] == []
    # Weights are capped like parts.
    weights = {f"s{i:04d}": 1 for i in range(1001)}
    r = await _post(client, auth, f"/v1/targets/{quarter['id']}/decomposition",
                    {"axis": "dimension", "dimension": "sku", "method": "weights", "weights": weights})  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "weights", r.text


async def test_cells_are_read_like_allocations_and_named_as_sent(client, auth, org) -> None:
    quarter = await _quarter(client, auth, "300")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even")
    cells = {"2026-01": {"A": "abc", "B": "70"}}
    r = await _post(client, auth, f"/v1/targets/{quarter['id']}/decomposition", {**EVEN_PRODUCTS, "cells": cells})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cells.2026-01.A", r.text
    # A percent in a cell of money is that cell's error (it was named after a row's allocations).
    cells = {"2026-01": {"A": "50%", "B": "50"}, "2026-02": {"A": "50", "B": "50"}, "2026-03": {"A": "50", "B": "50"}}
    r = await _post(client, auth, f"/v1/targets/{quarter['id']}/decomposition", {**EVEN_PRODUCTS, "cells": cells})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cells.2026-01.A", r.text
    # A cell of a matrix is adjusted through a margin or the whole: the refusal says so.
    await _split(client, auth, quarter["id"], **EVEN_PRODUCTS)
    january = (await _get(client, auth, quarter["id"]))["children"][0]["target_id"]
    cell = (await _get(client, auth, january))["children"][0]["target_id"]
    body = {"reason_category": "market_change", "justification": "j", "evidence": [], "new_value": "1"}
    r = await _post(client, auth, f"/v1/targets/{cell}/adjustments", body, who="lead1")
    assert r.status_code == 422 and "adjust one of its margins" in r.text, r.text
    assert "re-allocation" not in r.text


async def test_a_matrix_target_expects_its_value_once_the_period_is_over(client, auth, org, pool, clock) -> None:
    clock.set("2026-03-31")
    quarter = await _quarter(client, auth, "300.03")
    await _split(client, auth, quarter["id"], axis="period", into="month", method="even", cross=EVEN_PRODUCTS)
    r = await client.post("/v1/actuals/batch", headers=auth("crm", "integration"), json={"items": [
        {"person": "rep1", "metric": "revenue", "date": "2026-02-10", "value": "300", "scope": {"product": "A"}}
    ]})  # fmt: skip
    assert r.status_code in (200, 201), r.text
    head = await pool.fetchval("SELECT max(position) FROM events")
    query = {"node": "east-1", "metric": "revenue", "period": "2026-Q1", "min_position": head}
    r = await client.get("/v1/attainment", params=query, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    row = r.json()["row"]
    # The products span the whole quarter: counted as a time split beside the months, they doubled it.
    assert (row["target"], row["expected"]) == ("300.03", "300.03"), row
    assert Decimal(row["actual"]) == 300 and row["status"] != "behind"
