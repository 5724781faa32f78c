"""Share, growth and proration rules as the breaker found them wrong (issue 15, sections 2 to 4).

From the source documents (seeds): rates such as the conversion rate ("转化率") are fractions, a
product's share of sales ("product A at 40 % of sales") is one, and a team's target is carried by
the people present."""

from tests.api.monitoring_support import head
from tests.api.support import ADMIN, admin_post, build_east

CSV = {"Content-Type": "text/csv"}
HEAD = "node,metric,period,scope,target,stretch,rationale,part of\n"


async def _post(client, auth, path: str, body: dict, who=ADMIN):
    return await client.post(path, json=body, headers=auth(*who) if isinstance(who, tuple) else auth(who))


async def _import_error(client, auth, line: str) -> dict:
    """The one error of importing a plan of one line (a 422: nothing stored)."""
    r = await client.post("/v1/plans/import", content=f"{HEAD}{line}\n".encode(), headers={**auth(*ADMIN), **CSV})
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    return error


def _field(r) -> str:
    assert r.status_code == 422, r.text
    return r.json()["errors"][0]["field"]


async def test_a_percent_is_refused_for_money_and_counts_naming_the_field(client, auth) -> None:
    await build_east(client, auth)
    body = {"node": "east-1", "metric": "revenue", "period": "2026-Q4"}
    # "15%" of revenue used to store 0.15 of money: a percent is a rate.
    r = await _post(client, auth, "/v1/targets", {**body, "value": "15%"})
    assert _field(r) == "value" and "a percent is a rate: revenue is money, give an amount" in r.text
    r = await _post(client, auth, "/v1/targets", {**body, "metric": "orders", "value": "5000%"})
    assert _field(r) == "value"
    target = await admin_post(client, auth, "/v1/targets", {**body, "value": "3000"})
    split = {
        "axis": "period",
        "method": "explicit",
        "into": "month",
        "allocations": {"2026-10": "50000%", "2026-11": "1000", "2026-12": "1500"},
    }
    r = await _post(client, auth, f"/v1/targets/{target['id']}/decomposition", split)
    assert _field(r) == "allocations.2026-10"
    ask = {"new_value": "12000%", "reason_category": "market_change", "justification": "typed as a percent"}
    r = await _post(client, auth, f"/v1/targets/{target['id']}/adjustments", ask, who="east-boss")
    assert _field(r) == "new_value"
    # A plan import cell "15%" for revenue is the same error; nothing is stored.
    error = await _import_error(client, auth, "east-2,revenue,2026-10,,15%,,typed as percent,")
    assert "a percent is a rate" in error["message"]


async def test_a_percent_stretch_weights_and_ramp_are_read_as_fractions(client, auth) -> None:
    await build_east(client, auth)
    body = {"node": "east-1", "metric": "conversion_rate", "period": "2026-Q4", "value": "15%", "stretch": "20%"}
    target = await admin_post(client, auth, "/v1/targets", body)
    assert (target["value"], target["stretch"]) == ("0.15", "0.2")
    money = await admin_post(
        client, auth, "/v1/targets", {**body, "metric": "revenue", "value": "1000", "stretch": "1100"}
    )
    split = {"axis": "org", "method": "weights", "weights": {"rep1": "60%", "rep2": "40%"}}
    r = await _post(client, auth, f"/v1/targets/{money['id']}/decomposition", split)
    assert r.status_code == 201, r.text
    assert {c["node"]: c["value"] for c in r.json()["children"]} == {"rep1": "600.00", "rep2": "400.00"}
    # A bad weight names its key: too large, or negative.
    other = await admin_post(client, auth, "/v1/targets", {**body, "metric": "orders", "value": "10", "stretch": None})
    for bad in ("1e20", "-60%"):
        ask = {**split, "weights": {"rep1": bad, "rep2": "1"}}
        r = await _post(client, auth, f"/v1/targets/{other['id']}/decomposition", ask)
        assert _field(r) == "weights.rep1"


async def test_a_plan_import_refuses_a_rate_of_15_on_an_existing_target_as_an_error(client, auth) -> None:
    await build_east(client, auth)
    rate = {"node": "east-1", "metric": "conversion_rate", "period": "2026-10", "value": "0.1"}
    await admin_post(client, auth, "/v1/targets", rate)
    # The same error as for a new target, not "needs adjustment".
    error = await _import_error(client, auth, "east-1,conversion_rate,2026-10,,15,,typed as percent,")
    assert error["row"] == 2 and "between 0 and 1" in error["message"]


async def test_a_share_of_a_over_b_is_unbounded_and_a_share_of_the_whole_is_bounded(client, auth) -> None:
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/dimensions", {"name": "product", "values": ["A", "B"]})
    share = {"unit": "ratio", "rollup": "ratio", "numerator": "revenue", "denominator": "revenue"}
    a_over_b = {**share, "name": "a_over_b", "numerator_scope": {"product": "A"}, "denominator_scope": {"product": "B"}}
    await admin_post(client, auth, "/v1/metrics", a_over_b)
    await admin_post(client, auth, "/v1/metrics", {**share, "name": "a_share", "numerator_scope": {"product": "A"}})
    metrics = (await client.get("/v1/metrics", headers=auth(*ADMIN))).json()
    bounded = {m["name"]: m["bounded"] for m in metrics}
    assert (bounded["a_over_b"], bounded["a_share"]) == (False, True)
    body = {"node": "east-1", "metric": "a_over_b", "period": "2026-10", "value": "1.5"}
    assert (await admin_post(client, auth, "/v1/targets", body))["value"] == "1.5"


async def test_prorated_splits_over_sub_units_and_the_people_present(client, auth) -> None:
    await build_east(client, auth)
    # east has sub-units east-1 and east-2 (every day of June) and its own member east-boss: the
    # README's rule splits over all three, 30 days each.
    target = await admin_post(
        client, auth, "/v1/targets", {"node": "east", "metric": "revenue", "period": "2026-06", "value": "3000"}
    )
    r = await _post(client, auth, f"/v1/targets/{target['id']}/decomposition", {"axis": "org", "method": "prorated"})
    assert r.status_code == 201, r.text
    parts = {c["node"]: c["value"] for c in r.json()["children"]}
    assert parts == {"east-1": "1000.00", "east-2": "1000.00", "east-boss": "1000.00"}


async def test_a_zero_ramp_and_a_huge_growth_rate_name_their_own_fields(client, auth, clock) -> None:
    clock.set("2026-06-01")
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/org/units", {"node": "solo", "kind": "team", "name": "Solo", "parent": "east"})
    await admin_post(
        client, auth, "/v1/org/people", {"person": "n", "name": "n", "unit": "solo", "effective": "2026-06-01"}
    )
    target = await admin_post(
        client, auth, "/v1/targets", {"node": "solo", "metric": "revenue", "period": "2026-06", "value": "100"}
    )
    ask = {"axis": "org", "method": "prorated", "ramp": ["0"]}
    assert _field(await _post(client, auth, f"/v1/targets/{target['id']}/decomposition", ask)) == "ramp"
    clock.set("2026-10-02")
    actual = {"person": "rep1", "metric": "orders", "date": "2026-07-01", "value": "20"}
    assert (await client.post("/v1/actuals", json=actual, headers=auth("crm", "integration"))).status_code == 201
    body = {"node": "rep1", "metric": "orders", "period": "2026-Q4"}
    r = await _post(client, auth, "/v1/targets", {**body, "growth": {"over": "previous_period", "rate": "1e14"}})
    assert _field(r) == "growth.rate"
    # 20 orders down 99 % is 0.2, rounding to 0 orders: no target of nothing.
    r = await _post(client, auth, "/v1/targets", {**body, "growth": {"over": "previous_period", "rate": "-0.99"}})
    assert _field(r) == "growth"


async def test_an_inherited_rate_shows_as_its_target_does(client, auth) -> None:
    await build_east(client, auth)
    body = {"node": "rep1", "metric": "conversion_rate", "period": "2026-11", "value": "0.40"}
    assert (await admin_post(client, auth, "/v1/targets", body))["value"] == "0.40"
    params = {"node": "rep1", "metric": "conversion_rate", "period": "2026-W47", "min_position": await head(client)}
    r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    row = r.json()["row"]
    # A week of the month inherits the rate, shown as the month's target shows it (not 0.4).
    assert (row["target"], row["target_source"]) == ("0.40", "derived_share")
