"""Payouts at the edges: a target of 0, a person under two plans, the team award explained."""

from tests.api.incentive_support import PLAN, approved_plan, paid_by_person
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


async def _plan_approved(client, auth, node: str, requester: str, approver: str, period: str = "2026-Q3"):
    body = {**PLAN, "node": node, "period": period}
    r = await client.post("/v1/incentive-plans", json=body, headers=auth(requester))
    assert r.status_code == 201, r.text
    return await client.post(f"/v1/incentive-plans/{r.json()['id']}/approve", headers=auth(approver))


async def test_a_person_is_never_under_two_approved_plans_of_a_metric_at_once(client, auth, clock) -> None:
    clock.set("2026-06-30")
    plan = await approved_plan(client, auth)
    # A plan for all of east would pay rep1 and rep2 a second time: its approval is a 409 naming east-1's plan.
    r = await _plan_approved(client, auth, "east", "east-boss", "ceo")
    assert r.status_code == 409 and plan["id"] in r.json()["detail"] and "'rep1'" in r.json()["detail"], r.text
    # So would a plan on rep1 alone, for August only (a day shared with Q3).
    r = await _plan_approved(client, auth, "rep1", "lead1", "east-boss", period="2026-08")
    assert r.status_code == 409 and plan["id"] in r.json()["detail"], r.text
    # east-2 shares nobody with east-1: approved.
    assert (await _plan_approved(client, auth, "east-2", "lead2", "east-boss")).status_code == 200
    # Payroll gets one row per person.
    paid = await paid_by_person(client, auth, "east-boss", "east")
    assert sorted(paid) == ["rep1", "rep2"]


async def test_the_requester_withdraws_a_waiting_change_and_the_terms_in_force_stay(client, auth, clock) -> None:
    clock.set("2026-06-30")
    plan = await approved_plan(client, auth)
    url = f"/v1/incentive-plans/{plan['id']}"
    # lead1 asks for a change of terms.
    change = {"tiers": PLAN["tiers"], "base_amount": "2000.00", "justification": "more"}
    assert (await client.post(f"{url}/changes", json=change, headers=auth("lead1"))).status_code == 201
    # Only the requester withdraws it: east-boss (the approver) is refused.
    r = await client.post(f"{url}/withdraw", json={"reason": "too early"}, headers=auth("east-boss"))
    assert r.status_code == 403, r.text
    r = await client.post(f"{url}/withdraw", json={"reason": "too early"}, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    # Nothing waits any more; version 1 is still in force.
    body = r.json()
    assert (body["status"], body["request_status"], body["pending"], body["plan_version"]) == (
        "approved",
        "withdrawn",
        None,
        1,
    )
    # Nothing is left to withdraw or approve.
    assert (await client.post(f"{url}/withdraw", json={}, headers=auth("lead1"))).status_code == 409
    assert (await client.post(f"{url}/approve", headers=auth("east-boss"))).status_code == 409
