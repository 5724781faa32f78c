"""Share and growth targets, and rates as fractions, with answers computed by hand.

From the source documents (seeds): targets by product line ("product A at 40 % of sales"),
targets grown over the previous period (环比) or the same period last year (同比), and the
conversion rate as a rate ("转化率"), never a count."""

from datetime import UTC, datetime, timedelta

from tests.api.feed_support import events
from tests.api.support import ADMIN, admin_post, build_east

CSV = {"Content-Type": "text/csv"}
SHARE = {
    "name": "product_a_share",
    "unit": "ratio",
    "rollup": "ratio",
    "numerator": "revenue",
    "numerator_scope": {"product": "A"},
    "denominator": "revenue",
}


def _now() -> str:
    return (datetime.now(UTC) + timedelta(seconds=1)).isoformat()


async def _head(pool) -> int:
    return await pool.fetchval("SELECT max(position) FROM events")


async def _actuals(client, auth, person: str, items: list[tuple[str, str, dict]]) -> None:
    for day, value, scope in items:
        body = {"person": person, "metric": "revenue", "date": day, "value": value, "scope": scope}
        r = await client.post("/v1/actuals", json=body, headers=auth("crm", "integration"))
        assert r.status_code == 201, r.text


async def _attainment(client, auth, pool, **params) -> dict:
    params = {"min_position": await _head(pool), **params}
    r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_share_target_is_attained_as_actual_share_over_target_share(client, auth, pool, clock) -> None:
    clock.set("2026-07-31")
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})
    # "Product A at 40 % of sales": A's revenue over all revenue, the share a ratio metric.
    await admin_post(client, auth, "/v1/metrics", SHARE)
    body = {"node": "east-1", "metric": "product_a_share", "period": "2026-07", "value": "40%"}
    target = await admin_post(client, auth, "/v1/targets", body)
    assert target["value"] == "0.4"
    # A sold 300 (rep1 200, rep2 100), B 500: A's share is 300 / 800 = 0.375 of revenue.
    await _actuals(
        client, auth, "rep1", [("2026-07-03", "200", {"product": "A"}), ("2026-07-04", "500", {"product": "B"})]
    )
    await _actuals(client, auth, "rep2", [("2026-07-05", "100", {"product": "A"})])
    row = (await _attainment(client, auth, pool, node="east-1", metric="product_a_share", period="2026-07"))["row"]
    # Attainment 0.375 / 0.4 = 0.9375: 93.75 %, rolled up as Σ A ÷ Σ revenue, not an average of shares.
    assert (row["actual"], row["target"], row["attainment_pct"]) == ("0.3750", "0.4", "93.75")
    # As the ledger knew it at an instant (read from the log, not the read model): the same.
    r = await client.get(
        "/v1/attainment",
        params={"node": "east-1", "metric": "product_a_share", "period": "2026-07", "as_of": _now()},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["row"]["actual"], r.json()["row"]["attainment_pct"]) == ("0.3750", "93.75")
    # Per person: rep1 200 / 700 = 0.2857…, rep2 100 / 100 = 1 (their lead sold nothing: 0).
    rows = await _attainment(
        client, auth, pool, node="east-1", metric="product_a_share", period="2026-07", breakdown="children"
    )
    assert {r["node"]: r["actual"] for r in rows["breakdown"]} == {
        "lead1": "0.0000",
        "rep1": "0.2857",
        "rep2": "1.0000",
    }
    # By product: within A's revenue A's share is 1; within B's, nothing is A's (never A over B).
    rows = await _attainment(
        client, auth, pool, node="east-1", metric="product_a_share", period="2026-07", breakdown="product"
    )
    assert [(r["scope"], r["actual"]) for r in rows["breakdown"]] == [
        ({"product": "A"}, "1.0000"),
        ({"product": "B"}, "0.0000"),
    ]
    # The metric lists its parts' scopes; its bound is the default for like over like.
    metrics = (await client.get("/v1/metrics", headers=auth(*ADMIN))).json()
    share = next(m for m in metrics if m["name"] == "product_a_share")
    assert (share["numerator_scope"], share["denominator_scope"], share["bounded"]) == ({"product": "A"}, None, True)


async def test_a_share_needs_declared_scopes_and_two_different_parts(client, auth) -> None:
    await build_east(client, auth)
    # An undeclared product in the numerator's scope is a 422 naming it.
    r = await client.post("/v1/metrics", json={**SHARE, "numerator_scope": {"product": "Z"}}, headers=auth(*ADMIN))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "numerator_scope.product", r.text
    # revenue over revenue, both unscoped, is always 1: refused.
    r = await client.post("/v1/metrics", json={**SHARE, "numerator_scope": None}, headers=auth(*ADMIN))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "numerator_scope", r.text


async def test_a_rate_of_15_is_refused_and_15_percent_is_a_fraction(client, auth, pool) -> None:
    await build_east(client, auth)
    body = {"node": "east-1", "metric": "conversion_rate", "period": "2026-Q4"}
    # 15 meant as 15 % would read 0.22 % attainment: refused, naming the field and the rule.
    r = await client.post("/v1/targets", json={**body, "value": "15"}, headers=auth(*ADMIN))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "value" and "between 0 and 1" in r.text
    # "15%" is the fraction 0.15; a number 0.15 is the same.
    target = await admin_post(client, auth, "/v1/targets", {**body, "value": "15%"})
    assert target["value"] == "0.15"
    # Split or adjusted, a rate stays a fraction: 15 refused, naming the field.
    split = {
        "axis": "period",
        "method": "explicit",
        "into": "month",
        "allocations": {"2026-10": "15", "2026-11": "0.1", "2026-12": "0.1"},
    }
    r = await client.post(f"/v1/targets/{target['id']}/decomposition", json=split, headers=auth(*ADMIN))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "allocations.2026-10", r.text
    ask = {"new_value": "15", "reason_category": "market_change", "justification": "typed as a percent"}
    r = await client.post(f"/v1/targets/{target['id']}/adjustments", json=ask, headers=auth("east-boss"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "new_value", r.text
    # In the percent form both are fractions: months at 15 %, 10 %, 10 %; then 20 % asked for.
    split["allocations"] = {"2026-10": "15%", "2026-11": "10%", "2026-12": "0.1"}
    r = await client.post(f"/v1/targets/{target['id']}/decomposition", json=split, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    assert [c["value"] for c in r.json()["children"]] == ["0.15", "0.1", "0.1"]
    r = await client.post(
        f"/v1/targets/{target['id']}/adjustments", json={**ask, "new_value": "20%"}, headers=auth("east-boss")
    )
    assert r.status_code == 201, r.text
    # A rate is inherited by the months: every change is to 0.2.
    assert {c["new_value"] for c in r.json()["changes"]} == {"0.2"}
    # A money target is not a rate: 15 is 15.
    money = await admin_post(client, auth, "/v1/targets", {**body, "metric": "revenue", "value": 15})
    assert money["value"] == "15"


async def test_an_unbounded_ratio_takes_values_above_one(client, auth) -> None:
    await build_east(client, auth)
    # Revenue per order (unlike parts) is unbounded by default; a growth ratio declares it.
    await admin_post(
        client,
        auth,
        "/v1/metrics",
        {"name": "order_value", "unit": "ratio", "rollup": "ratio", "numerator": "revenue", "denominator": "orders"},
    )
    body = {"node": "east-1", "metric": "order_value", "period": "2026-10", "value": "300"}
    assert (await admin_post(client, auth, "/v1/targets", body))["value"] == "300"
    growth = {**SHARE, "name": "a_over_b", "denominator_scope": {"product": "B"}, "bounded": False}
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})
    await admin_post(client, auth, "/v1/metrics", growth)
    body = {**body, "metric": "a_over_b", "value": "1.5"}
    assert (await admin_post(client, auth, "/v1/targets", body))["value"] == "1.5"


async def test_a_plan_import_refuses_a_rate_of_15_and_reads_15_percent(client, auth, pool) -> None:
    await build_east(client, auth)
    head = "node,metric,period,scope,target,stretch,rationale,part of\n"
    r = await client.post(
        "/v1/plans/import",
        content=(head + "east-1,conversion_rate,2026-10,,15,,typed as percent,\n").encode(),
        headers={**auth(*ADMIN), **CSV},
    )
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["row"] == 2 and "between 0 and 1" in error["message"]
    r = await client.post(
        "/v1/plans/import",
        content=(head + "east-1,conversion_rate,2026-10,,15%,,a rate,\n").encode(),
        headers={**auth(*ADMIN), **CSV},
    )
    assert r.status_code in (200, 201), r.text
    params = {"node": "east-1", "min_position": await _head(pool)}
    got = await client.get("/v1/targets", params=params, headers=auth(*ADMIN))
    assert [t["value"] for t in got.json()["items"] if t["metric"] == "conversion_rate"] == ["0.15"]


async def test_growth_over_the_previous_quarter_records_its_base(client, auth, pool, clock) -> None:
    clock.set("2026-10-02")
    await build_east(client, auth)
    # Q2 2026 (the base of Q3): rep1 sold 400,000.10 and rep2 223,456.45 for east-1: 623,456.55.
    await _actuals(client, auth, "rep1", [("2026-04-10", "400000.10", {})])
    await _actuals(client, auth, "rep2", [("2026-05-20", "223456.45", {})])
    # Q3: +20 % over the previous quarter (环比): 623,456.55 * 1.2 = 748,147.86 exactly.
    body = {"node": "east-1", "metric": "revenue", "period": "2026-Q3"}
    body["growth"] = {"over": "previous_period", "rate": "0.20"}
    target = await admin_post(client, auth, "/v1/targets", body)
    assert target["value"] == "748147.86"
    assert target["growth"] == {
        "over": "previous_period",
        "rate": "0.20",
        "base_period": "2026-Q2",
        "base_actual": "623456.55",
        "exact_value": "748147.8600",
        "rounding": "half up to 0.01 (money)",
    }
    # The audit trail shows where the number came from.
    r = await client.get(
        f"/v1/targets/{target['id']}/history", params={"min_position": await _head(pool)}, headers=auth(*ADMIN)
    )
    assert r.status_code == 200, r.text
    [set_] = r.json()
    assert set_["new_value"] == "748147.86" and set_["detail"]["growth"]["base_actual"] == "623456.55"
    # Q2 +7.5 % over Q1, which has no actual to grow from: 422 naming growth.
    r = await client.post(
        "/v1/targets",
        json={**body, "period": "2026-Q2", "growth": {"over": "previous_period", "rate": "7.5%"}},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "growth", r.text


async def test_growth_over_the_same_quarter_last_year_rounds_counts_to_whole_units(client, auth, clock) -> None:
    clock.set("2026-10-02")
    await build_east(client, auth)
    # Q3 2025: 37 orders; Q3 2026 +15 % over the same quarter last year (同比): 42.55 → 43 orders.
    for day, value in [("2025-07-01", "30"), ("2025-09-30", "7"), ("2025-10-01", "100")]:
        body = {"person": "rep1", "metric": "orders", "date": day, "value": value}
        assert (await client.post("/v1/actuals", json=body, headers=auth("crm", "integration"))).status_code == 201
    body = {"node": "rep1", "metric": "orders", "period": "2026-Q3"}
    target = await admin_post(
        client, auth, "/v1/targets", {**body, "growth": {"over": "same_period_last_year", "rate": "15%"}}
    )
    assert target["value"] == "43"
    assert (target["growth"]["base_period"], target["growth"]["base_actual"]) == ("2025-Q3", "37")
    assert target["growth"]["rounding"] == "half up to 1 (count)"
    # Exactly one of value and growth; a base without actuals, or not ended, is a 422 naming growth.
    r = await client.post(
        "/v1/targets",
        json={**body, "period": "2026-Q4", "value": "1", "growth": {"over": "previous_period", "rate": "0.1"}},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "growth", r.text
    for period, over in [("2026-Q1", "same_period_last_year"), ("2027-Q1", "previous_period")]:
        ask = {**body, "node": "rep2", "period": period, "growth": {"over": over, "rate": "0.1"}}
        r = await client.post("/v1/targets", json=ask, headers=auth(*ADMIN))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "growth", r.text
    # A rate has no growth target: set its value.
    ask = {**body, "metric": "conversion_rate", "growth": {"over": "previous_period", "rate": "0.1"}}
    r = await client.post("/v1/targets", json=ask, headers=auth(*ADMIN))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "growth", r.text


async def test_a_share_target_gets_its_attainment_events_from_its_scoped_part(client, auth, pool) -> None:
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})
    await admin_post(client, auth, "/v1/metrics", SHARE)
    # A sold 200 before the target was set: it starts from 200 / 200.
    await _actuals(client, auth, "rep1", [("2026-10-03", "200", {"product": "A"})])
    body = {"node": "east-1", "metric": "product_a_share", "period": "2026-10", "value": "0.4"}
    target = await admin_post(client, auth, "/v1/targets", body)
    # Then B 500 (200 / 700) and A 100 more (300 / 800 = 0.375, 93.75 % of 0.4).
    await _actuals(client, auth, "rep1", [("2026-10-04", "500", {"product": "B"})])
    await _actuals(client, auth, "rep2", [("2026-10-05", "100", {"product": "A"})])
    feed = await events(client, auth, await _head(pool))
    updates = [e["data"] for e in feed if e["type"] == "attainment.updated.v1"]
    mine = [(u["actual"], u["attainment_pct"]) for u in updates if u["target_id"] == target["id"]]
    assert mine == [("1.0000", "250.00"), ("0.2857", "71.42"), ("0.3750", "93.75")]
