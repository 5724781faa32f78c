"""Adjusting a target: asked with a reason, approved from above, applied all at once or not at all."""

import asyncio
from decimal import Decimal

import pytest

from tests.api.support import ADMIN, ask, build_east, team_target


@pytest.fixture
async def org(client, auth) -> None:
    await build_east(client, auth)


async def _values(client, auth, target: dict) -> list[str]:
    parent = (await client.get(f"/v1/targets/{target['id']}", headers=auth(*ADMIN))).json()
    children = [
        (await client.get(f"/v1/targets/{c['target_id']}", headers=auth(*ADMIN))).json() for c in parent["children"]
    ]
    return [parent["value"], *[c["value"] for c in children]]


async def test_a_cut_is_approved_from_above_and_reallocated_proportionally(client, auth, org) -> None:
    target = await team_target(client, auth)
    # The team manager asks for 5 % less; the children follow proportionally.
    asked = await ask(client, auth, target["id"], new_value="950")
    assert asked["approvals_needed"] == 1 and asked["status"] == "pending"
    assert [(c["old_value"], c["new_value"]) for c in asked["changes"]] == [
        ("1000", "950"),
        ("600.00", "570.00"),
        ("400.00", "380.00"),
    ]
    # The requester cannot approve their own request; a peer manager cannot either.
    for who in ("lead1", "lead2"):
        r = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth(who))
        assert r.status_code == 403, (who, r.text)
    assert await _values(client, auth, target) == ["1000", "600.00", "400.00"]
    # The regional manager approves: every value changes at once, and still sums.
    r = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    values = await _values(client, auth, target)
    assert values == ["950", "570.00", "380.00"] and Decimal(values[1]) + Decimal(values[2]) == Decimal(values[0])
    # A decided request cannot be decided again.
    again = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("ceo"))
    assert again.status_code == 409


async def test_a_large_change_waits_for_the_next_level_up(client, auth, org) -> None:
    target = await team_target(client, auth)
    asked = await ask(client, auth, target["id"], new_value="850")  # 15 %
    assert asked["approvals_needed"] == 2
    first = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))
    assert first.json()["status"] == "pending" and first.json()["approvals"] == ["east-boss"]
    assert await _values(client, auth, target) == ["1000", "600.00", "400.00"]
    # The same approver again, or someone not above them, is not the next level.
    assert (await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))).status_code == 403
    assert (await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("lead2"))).status_code == 403
    second = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("ceo"))
    assert second.json()["status"] == "approved"
    assert await _values(client, auth, target) == ["850", "510.00", "340.00"]


async def test_two_approvals_racing_on_one_target_apply_exactly_one(client, auth, org) -> None:
    target = await team_target(client, auth)
    one = await ask(client, auth, target["id"], new_value="990")
    two = await ask(client, auth, target["id"], new_value="980")
    results = await asyncio.gather(
        client.post(f"/v1/adjustments/{one['id']}/approve", headers=auth("east-boss")),
        client.post(f"/v1/adjustments/{two['id']}/approve", headers=auth("east-boss")),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    assert (await _values(client, auth, target))[0] in ("990", "980")
    # The loser stays pending; approving it now finds the target changed since it was asked.
    loser = one if results[0].status_code == 409 else two
    late = await client.post(f"/v1/adjustments/{loser['id']}/approve", headers=auth("east-boss"))
    assert late.status_code == 409 and "submit a new request" in late.json()["detail"]


async def test_a_rejected_request_changes_nothing(client, auth, org, pool) -> None:
    target = await team_target(client, auth)
    asked = await ask(client, auth, target["id"], new_value="500")
    r = await client.post(f"/v1/adjustments/{asked['id']}/reject", json={}, headers=auth("east-boss"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = await client.post(
        f"/v1/adjustments/{asked['id']}/reject", json={"reason": "not justified"}, headers=auth("east-boss")
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert await _values(client, auth, target) == ["1000", "600.00", "400.00"]
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'TargetAdjusted'") == 0


async def test_only_the_requester_withdraws(client, auth, org) -> None:
    target = await team_target(client, auth)
    asked = await ask(client, auth, target["id"], new_value="999")
    assert (
        await client.post(f"/v1/adjustments/{asked['id']}/withdraw", json={}, headers=auth("east-boss"))
    ).status_code == 403
    r = await client.post(f"/v1/adjustments/{asked['id']}/withdraw", json={}, headers=auth("lead1"))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


async def test_quota_moves_between_siblings_keeping_the_parent(client, auth, org) -> None:
    target = await team_target(client, auth)
    rep1, rep2 = target["children"]
    asked = await ask(client, auth, rep1["target_id"], transfer_to=rep2["target_id"], amount="50")
    r = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    assert await _values(client, auth, target) == ["1000", "550.00", "450.00"]


async def test_a_part_alone_cannot_change_and_break_the_sum(client, auth, org) -> None:
    target = await team_target(client, auth)
    body = {"reason_category": "other", "justification": "x", "new_value": "1"}
    r = await client.post(
        f"/v1/targets/{target['children'][0]['target_id']}/adjustments", json=body, headers=auth("lead1")
    )
    assert r.status_code == 422 and "transfer quota" in r.json()["detail"]
    r = await client.post(
        f"/v1/targets/{target['id']}/adjustments", json={**body, "reason_category": "whim"}, headers=auth("lead1")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason_category"


async def _head(pool) -> int:
    return await pool.fetchval("SELECT max(position) FROM events")


async def test_the_inbox_shows_what_waits_for_me_with_its_impact(client, auth, org, pool) -> None:
    target = await team_target(client, auth)
    # rep1 sold 300 so far this quarter.
    r = await client.post(
        "/v1/actuals",
        json={"person": "rep1", "metric": "revenue", "date": "2026-07-02", "value": "300"},
        headers=auth("rep1"),
    )
    assert r.status_code == 201
    asked = await ask(client, auth, target["id"], new_value="950")
    params = {"status": "pending", "approver": "me", "min_position": await _head(pool)}
    # The regional manager sees it; the requester and a peer do not.
    mine = (await client.get("/v1/adjustments", params=params, headers=auth("east-boss"))).json()
    assert [item["adjustment_id"] for item in mine] == [asked["id"]]
    for who in ("lead1", "lead2"):
        assert (await client.get("/v1/adjustments", params=params, headers=auth(who))).json() == []
    # Every target whose value would change, old → new, with the effect on attainment.
    impact = {c["node"]: c for c in mine[0]["changes"]}
    assert (impact["rep1"]["old_value"], impact["rep1"]["new_value"]) == ("600.00", "570.00")
    assert (impact["rep1"]["attainment_old_pct"], impact["rep1"]["attainment_new_pct"]) == ("50.00", "52.63")


async def test_history_answers_why_the_target_changed(client, auth, org, pool) -> None:
    target = await team_target(client, auth)
    asked = await ask(client, auth, target["id"], new_value="850")
    await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))
    await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("ceo"))
    r = await client.get(
        f"/v1/targets/{target['id']}/history", params={"min_position": await _head(pool)}, headers=auth("lead1")
    )
    assert r.status_code == 200, r.text
    history = r.json()
    assert [e["type"] for e in history] == [
        "TargetSet",
        "TargetDecomposed",
        "AdjustmentRequested",
        "AdjustmentApproved",
        "AdjustmentApproved",
        "TargetAdjusted",
    ]
    requested = history[2]
    assert (requested["actor"], requested["reason_category"]) == ("lead1", "market_change")
    assert requested["detail"]["justification"] == "a key customer went bankrupt"
    assert requested["detail"]["evidence"] == ["https://crm.example/acct/77"]
    assert [e["detail"]["approver"] for e in history[3:5]] == ["east-boss", "ceo"]
    assert (history[5]["old_value"], history[5]["new_value"]) == ("1000", "850")
    assert [e["position"] for e in history] == sorted(e["position"] for e in history)
    # The auditor finds the same change across targets by reason; a rep cannot search everything.
    r = await client.get(
        "/v1/audit", params={"reason_category": "market_change", "node": "east"}, headers=auth("eve", "auditor")
    )
    assert r.status_code == 200, r.text
    found = r.json()
    assert {e["node"] for e in found if e["type"] == "TargetAdjusted"} == {"east-1", "rep1", "rep2"}
    assert (await client.get("/v1/audit", headers=auth("rep1"))).status_code == 403


async def test_attainment_as_known_at_an_instant(client, auth, org, pool, clock) -> None:
    clock.set("2026-07-31")
    target = await team_target(client, auth)
    sale = {"person": "rep1", "metric": "revenue", "date": "2026-07-02", "value": "300", "external_ref": "s-1"}
    first = await client.post("/v1/actuals", json=sale, headers=auth("rep1"))
    await asyncio.sleep(0.05)
    before = await pool.fetchval("SELECT now()")  # the ledger knows the target at 1000 and one sale
    await asyncio.sleep(0.05)
    # Later: a second sale, the first one reversed, and the target cut to 950.
    second = {**sale, "person": "rep2", "value": "100", "external_ref": "s-2"}
    assert (await client.post("/v1/actuals", json=second, headers=auth("rep2"))).status_code == 201
    await client.post(f"/v1/actuals/{first.json()['id']}/reversal", json={"reason": "cancelled"}, headers=auth("rep1"))
    asked = await ask(client, auth, target["id"], new_value="950")
    await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))
    params = {"node": "east-1", "metric": "revenue", "period": "2026-Q3", "min_position": await _head(pool)}
    now = (await client.get("/v1/attainment", params=params, headers=auth("lead1"))).json()["row"]
    assert (now["target"], now["actual"]) == ("950", "100")
    # As known then: computed from the events recorded by that instant.
    then = await client.get("/v1/attainment", params={**params, "as_of": before.isoformat()}, headers=auth("lead1"))
    assert then.status_code == 200, then.text
    assert (then.json()["row"]["target"], then.json()["row"]["actual"]) == ("1000", "300")
    assert then.json()["as_of"] == before.date().isoformat()
    naive = await client.get("/v1/attainment", params={**params, "as_of": "2026-07-01T09:00:00"}, headers=auth("lead1"))
    assert naive.status_code in (400, 422) and naive.json()["errors"][0]["field"] == "as_of"
