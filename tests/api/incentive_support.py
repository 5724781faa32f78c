"""Incentive plans in tests: east-1's plan on its Q3 target, and the payouts by person."""

from tests.api.support import build_east, team_target

TIERS = [
    {"from": "0", "to": "0.8", "multiplier": "0.5"},
    {"from": "0.8", "to": "1", "multiplier": "1"},
    {"from": "1", "to": None, "multiplier": "1.5"},
]
PLAN = {
    "node": "east-1",
    "metric": "revenue",
    "period": "2026-Q3",
    "tiers": TIERS,
    "base_amount": "1000.00",
    "cap": "1400.00",
    "team_award": "200.00",
    "justification": "tiered commission: beat the target, earn more",
}


async def approved_plan(client, auth) -> dict:
    """east-1's Q3 target of 1000 (rep1 600, rep2 400), and its plan, approved by east-boss."""
    await build_east(client, auth)
    await team_target(client, auth)
    r = await client.post("/v1/incentive-plans", json=PLAN, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.json()["terms"] is None
    r = await client.post(f"/v1/incentive-plans/{r.json()['id']}/approve", headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    return r.json()


async def paid_by_person(client, auth, who: str, node: str, position: int = 0) -> dict[str, dict]:
    query = {"node": node, "metric": "revenue", "period": "2026-Q3", "min_position": position}
    r = await client.get("/v1/payouts", params=query, headers=auth(who))
    assert r.status_code == 200, r.text
    return {p["person"]: p for p in r.json()["payouts"]}
