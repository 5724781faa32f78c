"""Payouts at the edges: a target of 0, a person under two plans, the team award explained."""

from tests.api.incentive_support import approved_plan, paid_by_person
from tests.api.monitoring_support import record


async def test_a_person_with_a_target_of_0_is_listed_with_no_tier_and_explained(client, auth, clock) -> None:
    clock.set("2026-06-30")
    plan = await approved_plan(client, auth)
    # lead1, a member of east-1, gets a Q3 target of 0 and sells 50.
    body = {"node": "lead1", "metric": "revenue", "period": "2026-Q3", "value": "0"}
    r = await client.post("/v1/targets", json=body, headers=auth("east-boss"))
    assert r.status_code == 201, r.text
    clock.set("2026-08-15")
    position = await record(client, auth, "lead1", "2026-08-01", "50", "l1")
    # lead1 is listed: attainment undefined, no tier, nothing earned.
    paid = await paid_by_person(client, auth, "east-boss", "east", position)
    lead1 = paid["lead1"]
    assert (lead1["attainment_pct"], lead1["tier"], lead1["earned"], lead1["amount"]) == (None, None, "0.00", "0.00")
    # Their explanation says why, instead of a 404.
    r = await client.get(f"/v1/incentive-plans/{plan['id']}/payouts/lead1", headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    assert "target 0: attainment undefined" in r.json()["payout"]["computation"]
    # Payroll's file has the row too.
    query = {"node": "east", "metric": "revenue", "period": "2026-Q3", "format": "csv"}
    r = await client.get("/v1/payouts/export", params=query, headers=auth("east-boss"))
    assert r.status_code == 200 and "\nlead1," in r.text, r.text
