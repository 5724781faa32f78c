"""Incentive plans: tiers by attainment, a cap, a team award; provisional payouts, finalised at close."""

import asyncio
import csv
import io

import pytest
from openpyxl import load_workbook

from tests.api.feed_support import events
from tests.api.incentive_support import PLAN, TIERS, approved_plan, paid_by_person
from tests.api.live import live_api
from tests.api.monitoring_support import record
from tests.api.support import ADMIN, build_east
from tests.races import blocked_by, next_position_held


@pytest.fixture
async def plan(client, auth, clock) -> dict:
    clock.set("2026-06-30")
    return await approved_plan(client, auth)


async def test_a_rep_at_85_pct_and_one_at_120_pct_are_paid_by_their_tiers_capped_and_with_the_team_award(
    client, auth, clock, plan
) -> None:
    # rep1 reaches 510 of 600 (85 %), rep2 480 of 400 (120 %): the team 990 of 1000.
    clock.set("2026-08-15")
    await record(client, auth, "rep1", "2026-08-01", "510", "r1")
    position = await record(client, auth, "rep2", "2026-08-02", "480", "r2")
    paid = await paid_by_person(client, auth, "lead1", "east-1", position)
    # rep1: tier 1 (0.8 to 1), 1000.00 * 1 = 1000.00; the team is at 99 %: no award.
    assert paid["rep1"]["attainment_pct"] == "85.00" and paid["rep1"]["tier"] == 2
    rep1 = paid["rep1"]
    assert (rep1["earned"], rep1["team_award"], rep1["amount"]) == ("1000.00", "0.00", "1000.00")
    # rep2: tier 2 (1 and above), 1000.00 * 1.5 = 1500.00, capped at 1400.00.
    assert paid["rep2"]["tier"] == 3 and paid["rep2"]["cap_applied"] is True
    assert (paid["rep2"]["earned"], paid["rep2"]["amount"]) == ("1400.00", "1400.00")
    assert {p["status"] for p in paid.values()} == {"provisional"} and set(paid) == {"rep1", "rep2"}
    # lead1 sells the last 10: the team reaches 1000 of 1000, and each person gets 200.00 more.
    position = await record(client, auth, "lead1", "2026-08-03", "10", "l1")
    paid = await paid_by_person(client, auth, "lead1", "east-1", position)
    assert paid["rep1"]["team_reached"] is True and paid["rep1"]["team_attainment_pct"] == "100.00"
    assert (paid["rep1"]["amount"], paid["rep2"]["amount"]) == ("1200.00", "1600.00")
    assert "lead1" not in paid  # no target of their own: nothing to pay on


async def test_a_close_finalises_the_payouts_with_a_public_event_and_a_reopen_makes_them_provisional_again(
    client, auth, clock, plan
) -> None:
    clock.set("2026-09-20")
    await record(client, auth, "rep1", "2026-08-01", "510", "r1")
    await record(client, auth, "rep2", "2026-08-02", "480", "r2")
    # The quarter closes for East: every payout under east-1's plan is final.
    clock.set("2026-10-02")
    r = await client.post("/v1/periods/2026-Q3/close", json={"node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    closed_at = r.json()["position"]
    paid = await paid_by_person(client, auth, "east-boss", "east", closed_at)
    assert {p["status"] for p in paid.values()} == {"final"}
    assert (paid["rep1"]["amount"], paid["rep2"]["amount"]) == ("1000.00", "1400.00")
    # Payroll's subscribers get one incentive.finalised.v1 per person paid.
    found = await events(client, auth, closed_at, types="incentive.finalised.v1")
    assert sorted((e["data"]["person"], e["data"]["amount"]) for e in found) == [
        ("rep1", "1000.00"),
        ("rep2", "1400.00"),
    ]
    # The plan's terms are frozen with the period.
    change = {"tiers": TIERS, "base_amount": "2000.00", "justification": "more"}
    r = await client.post(f"/v1/incentive-plans/{plan['id']}/changes", json=change, headers=auth("lead1"))
    assert r.status_code == 409 and "closed" in r.text
    # Reopened (asked by east-boss, approved by ceo): provisional again, and a late deal counts.
    url = "/v1/periods/2026-Q3/reopen"
    ask = {"node": "east", "reason": "a late deal"}
    assert (await client.post(url, json=ask, headers=auth("east-boss"))).status_code == 200
    r = await client.post(f"{url}/approval", json={"node": "east"}, headers=auth("ceo"))
    assert r.status_code == 200, r.text
    reopened = await paid_by_person(client, auth, "east-boss", "east", r.json()["position"])
    assert {p["status"] for p in reopened.values()} == {"provisional"}
    # rep1 now 600 of 600: tier 2, 1500.00 capped at 1400.00; the team 1080 of 1000: 200.00 more.
    await record(client, auth, "rep1", "2026-09-30", "90", "r1-late")
    # The next close finalises again, with the new figures, and says so again.
    r = await client.post("/v1/periods/2026-Q3/close", json={"node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    paid = await paid_by_person(client, auth, "east-boss", "east", r.json()["position"])
    assert paid["rep1"]["status"] == "final" and paid["rep1"]["amount"] == "1600.00"
    found = await events(client, auth, r.json()["position"], types="incentive.finalised.v1")
    assert [e["data"]["amount"] for e in found if e["data"]["person"] == "rep1"] == ["1000.00", "1600.00"]


async def test_a_payout_is_explained_down_to_the_events_it_comes_from(client, auth, clock, plan) -> None:
    clock.set("2026-08-15")
    await record(client, auth, "rep1", "2026-08-01", "500", "r1-a")
    await record(client, auth, "rep2", "2026-08-05", "300", "r2-a")
    position = await record(client, auth, "rep1", "2026-08-09", "10", "r1-b")
    url = f"/v1/incentive-plans/{plan['id']}/payouts/rep1"
    r = await client.get(url, params={"min_position": position}, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    body = r.json()
    # The figures, and the steps to the cent.
    assert body["payout"]["amount"] == "1000.00"
    assert body["payout"]["computation"] == "tier 2 (from 0.8): base 1000.00 * 1 = 1000.00; amount 1000.00"
    # The events: east-1's target and its split (behind the team award), rep1's target, the plan's
    # request and approval, and every actual east-1's figure counts (rep2's too), oldest first.
    types = [e["type"] for e in body["events"]]
    assert types == [
        "TargetSet",
        "TargetDecomposed",
        "TargetSet",
        "IncentivePlanRequested",
        "IncentivePlanApproved",
        "ActualRecorded",
        "ActualRecorded",
        "ActualRecorded",
    ]
    assert [e["payload"]["value"] for e in body["events"] if e["type"] == "ActualRecorded"] == ["500", "300", "10"]
    assert body["events"][3]["actor"] == "lead1" and body["events"][4]["actor"] == "east-boss"
    positions = [e["position"] for e in body["events"]]
    assert positions == sorted(positions)


async def test_the_requester_cannot_approve_their_own_plan(client, auth, clock) -> None:
    clock.set("2026-06-30")
    await build_east(client, auth)
    r = await client.post("/v1/incentive-plans", json=PLAN, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    # lead1 asked: neither lead1 nor rep1 approves it; east-boss, above east-1, does.
    for who in ("lead1", "rep1"):
        r2 = await client.post(f"/v1/incentive-plans/{r.json()['id']}/approve", headers=auth(who))
        assert r2.status_code == 403, (who, r2.text)
    # A second plan for the same node, metric and period is a change of the first: 409.
    assert (await client.post("/v1/incentive-plans", json=PLAN, headers=auth("lead1"))).status_code == 409
    # The request shows in the audit trail of east-1.
    query = {"node": "east-1", "min_position": r.json()["position"]}
    r3 = await client.get("/v1/audit", params=query, headers=auth("root", "auditor"))
    assert r3.status_code == 200, r3.text
    assert "IncentivePlanRequested" in r3.text


async def test_a_rep_cannot_read_another_reps_payout(client, auth, clock, plan) -> None:
    clock.set("2026-08-15")
    position = await record(client, auth, "rep2", "2026-08-02", "480", "r2")
    # rep1 sees their own payout, not rep2's, nor rep2's explanation.
    assert set(await paid_by_person(client, auth, "rep1", "rep1", position)) == {"rep1"}
    query = {"node": "rep2", "metric": "revenue", "period": "2026-Q3"}
    assert (await client.get("/v1/payouts", params=query, headers=auth("rep1"))).status_code == 403
    r = await client.get(f"/v1/incentive-plans/{plan['id']}/payouts/rep2", headers=auth("rep1"))
    assert r.status_code == 403, r.text


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ([{"from": "0", "to": "0.8", "multiplier": "0.5"}, {"from": "0.9", "multiplier": "1"}], "tiers[1].from"),
        ([{"from": "0", "to": "0.8", "multiplier": "0.5"}, {"from": "0.7", "multiplier": "1"}], "tiers[1].from"),
        ([{"from": "0", "to": "1", "multiplier": "1"}, {"from": "1", "multiplier": "-0.5"}], "tiers[1].multiplier"),
        ([{"from": "0", "to": "1", "multiplier": "-2"}, {"from": "1", "multiplier": "1"}], "tiers[0].multiplier"),
        ([{"from": "0", "to": "1", "multiplier": "1"}, {"from": "1", "to": "2", "multiplier": "1"}], "tiers[1].to"),
        ([{"from": "0.1", "multiplier": "1"}], "tiers[0].from"),
        ([], "tiers"),
    ],
)
async def test_bad_tiers_are_a_422_naming_the_field(client, auth, clock, tiers, field) -> None:
    clock.set("2026-06-30")
    await build_east(client, auth)
    r = await client.post("/v1/incentive-plans", json={**PLAN, "tiers": tiers}, headers=auth("lead1"))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_a_plan_pays_a_base_amount_or_a_rate_of_the_actual_never_both(client, auth, clock) -> None:
    clock.set("2026-06-30")
    await build_east(client, auth)
    both = {**PLAN, "rate_of_actual": "0.05"}
    r = await client.post("/v1/incentive-plans", json=both, headers=auth("lead1"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "base_amount"
    cents = {**PLAN, "base_amount": "1000.001"}
    r = await client.post("/v1/incentive-plans", json=cents, headers=auth("lead1"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "base_amount"
    rate = {**PLAN, "base_amount": None, "rate_of_actual": "5"}
    r = await client.post("/v1/incentive-plans", json=rate, headers=auth("lead1"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rate_of_actual"


async def test_payroll_gets_the_payouts_as_csv_and_as_a_workbook_with_a_total(client, auth, clock, plan) -> None:
    clock.set("2026-08-15")
    await record(client, auth, "rep1", "2026-08-01", "510", "r1")
    position = await record(client, auth, "rep2", "2026-08-02", "480", "r2")
    query = {"node": "east-1", "metric": "revenue", "period": "2026-Q3", "min_position": position}
    # CSV: a row per person, amounts as decimals.
    r = await client.get("/v1/payouts/export", params={**query, "format": "csv"}, headers=auth("lead1"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    rows = {row["person"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert (rows["rep1"]["amount"], rows["rep2"]["amount"]) == ("1000.00", "1400.00")
    assert (rows["rep1"]["cap_applied"], rows["rep2"]["cap_applied"]) == ("no", "yes")
    # xlsx, in Chinese: the amounts and a total row summing them.
    headers = {**auth("lead1"), "Accept-Language": "zh-CN"}
    r = await client.get("/v1/payouts/export", params={**query, "format": "xlsx"}, headers=headers)
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    amount = header.index("应发金额") + 1
    assert [sheet.cell(row=i, column=amount).value for i in (2, 3)] == [1000, 1400]
    assert str(sheet.cell(row=4, column=amount).value).startswith("=SUM(")
    # Its values are in Chinese too: status 暂定 (provisional), capped 否/是; tiers numbered from 1.
    column = {name: header.index(name) + 1 for name in ("状态", "封顶", "档位")}
    rows_zh = [[sheet.cell(row=i, column=c).value for c in column.values()] for i in (2, 3)]
    assert rows_zh == [["暂定", "否", 2], ["暂定", "是", 3]]


async def test_a_change_of_terms_takes_effect_only_once_approved_and_a_rejected_one_changes_nothing(
    client, auth, clock, plan
) -> None:
    clock.set("2026-08-15")
    await record(client, auth, "rep1", "2026-08-01", "510", "r1")
    await record(client, auth, "rep2", "2026-08-02", "480", "r2")
    # lead1 asks to pay 5 % of the actual instead: pending, the old terms still pay.
    change = {"tiers": TIERS, "rate_of_actual": "0.05", "justification": "pay on what is sold"}
    url = f"/v1/incentive-plans/{plan['id']}"
    r = await client.post(f"{url}/changes", json=change, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    assert r.json()["pending"]["rate_of_actual"] == "0.05" and r.json()["terms"]["base_amount"] == "1000.00"
    paid = await paid_by_person(client, auth, "lead1", "east-1", r.json()["position"])
    assert (paid["rep1"]["amount"], paid["rep1"]["plan_version"]) == ("1000.00", 1)
    # east-boss approves: version 2. rep1: 510 * 0.05 * 1 = 25.50; rep2: 480 * 0.05 * 1.5 = 36.00.
    r = await client.post(f"{url}/approve", headers=auth("east-boss"))
    assert r.status_code == 200 and r.json()["plan_version"] == 2, r.text
    paid = await paid_by_person(client, auth, "lead1", "east-1", r.json()["position"])
    assert (paid["rep1"]["amount"], paid["rep2"]["amount"], paid["rep2"]["plan_version"]) == ("25.50", "36.00", 2)
    # A further change, rejected with a reason: version 2 still pays.
    r = await client.post(f"{url}/changes", json={**change, "rate_of_actual": "0.5"}, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    assert (await client.post(f"{url}/reject", json={"reason": ""}, headers=auth("east-boss"))).status_code == 422
    r = await client.post(f"{url}/reject", json={"reason": "over budget"}, headers=auth("east-boss"))
    # The plan is still approved (version 2 in force); the request's state shows beside it.
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["request_status"], r.json()["plan_version"]) == ("approved", "rejected", 2)
    paid = await paid_by_person(client, auth, "lead1", "east-1", r.json()["position"])
    assert paid["rep1"]["amount"] == "25.50"
    # The plan's whole history is in the audit trail, who asked and who decided.
    query = {"node": "east-1", "min_position": r.json()["position"]}
    r = await client.get("/v1/audit", params=query, headers=auth("root", "auditor"))
    trail = [(e["type"], e["actor"]) for e in r.json() if e["target_id"] == plan["id"]]
    assert trail == [
        ("IncentivePlanRequested", "lead1"),
        ("IncentivePlanApproved", "east-boss"),
        ("IncentivePlanChangeRequested", "lead1"),
        ("IncentivePlanApproved", "east-boss"),
        ("IncentivePlanChangeRequested", "lead1"),
        ("IncentivePlanRejected", "east-boss"),
    ]


async def _waits_for_a_lock(owner, task: asyncio.Task) -> None:
    """Return once an append waits for the closures' advisory lock (the close, for the deal's)."""
    sql = """SELECT exists(SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                              AND wait_event = 'advisory' AND query LIKE '%append_guarded%')"""
    async with asyncio.timeout(10):
        # The owner's transaction would see its first look at the activity again: a fresh look each time.
        while not await owner.fetchval("SELECT pg_stat_clear_snapshot()") and not await owner.fetchval(sql):
            assert not task.done(), f"it did not wait: {task.result()}"
            await asyncio.sleep(0.01)


async def test_a_deal_committed_while_the_close_reads_its_figures_is_paid_by_that_close(
    settings, auth, clock, db_url
) -> None:
    clock.set("2026-06-30")
    # A server of its own: requests to it really run at the same time.
    async with live_api(settings, clock) as api:
        await approved_plan(api, auth)
        clock.set("2026-09-20")
        await record(api, auth, "rep1", "2026-08-01", "510", "r1")
        await record(api, auth, "rep2", "2026-08-02", "480", "r2")
        clock.set("2026-10-02")
        deal = {"person": "rep1", "metric": "revenue", "date": "2026-09-30", "value": "90", "external_ref": "late"}
        async with next_position_held(db_url) as owner:
            # A deal for rep1 passes the closure check, then waits before it commits.
            recording = asyncio.create_task(api.post("/v1/actuals", json=deal, headers=auth(*ADMIN)))
            await blocked_by(owner, recording)
            # The close reads the figures without it, then waits for the deal's write to end.
            body = {"node": "east"}
            closing = asyncio.create_task(api.post("/v1/periods/2026-Q3/close", json=body, headers=auth("east-boss")))
            await _waits_for_a_lock(owner, closing)
        # The deal commits before the close: the close finalises again, with it.
        assert (await recording).status_code == 201
        closed = await closing
        assert closed.status_code == 200, closed.text
        paid = await paid_by_person(api, auth, "east-boss", "east", closed.json()["position"])
    # rep1 600 of 600: 1400.00 (capped) + 200.00 (the team 1080 of 1000).
    assert (paid["rep1"]["status"], paid["rep1"]["amount"]) == ("final", "1600.00")
