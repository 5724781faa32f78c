"""Closing a period freezes it; reopening needs a reason and an approval; a review looks back."""

import pytest

from projections.rebuild import rebuild
from projections.runner import PROJECTIONS
from tests.api.monitoring_support import alerts, head, judge_on, record, set_target
from tests.api.support import ADMIN, ask, build_east, team_target


@pytest.fixture
async def org(client, auth, clock) -> None:
    clock.set("2026-06-30")
    await build_east(client, auth)


async def _close(client, auth, period: str, node: str, who: str = "east-boss"):
    return await client.post(f"/v1/periods/{period}/close", json={"node": node}, headers=auth(who))


async def test_a_closed_month_rejects_an_actual_with_a_clear_409_and_a_reopened_one_accepts_it(
    client, auth, clock, org
) -> None:
    july = await set_target(client, auth, "rep1", "2026-07", "3100")
    pending = await ask(client, auth, july["id"], new_value="3000")  # asked while July is open
    early = {"person": "rep1", "metric": "revenue", "date": "2026-07-02", "value": "100", "external_ref": "early"}
    early_id = (await client.post("/v1/actuals", json=early, headers=auth(*ADMIN))).json()["id"]
    clock.set("2026-08-03")
    # A team lead does not close the region; its manager does.
    assert (await _close(client, auth, "2026-07", "east", who="lead1")).status_code == 403
    r = await _close(client, auth, "2026-07", "east")
    assert r.status_code == 200, r.text
    assert (await _close(client, auth, "2026-07", "east")).status_code == 409  # closed already
    # An actual dated in July for someone in the region: 409, saying the period is closed.
    actual = {"person": "rep1", "metric": "revenue", "date": "2026-07-14", "value": "10", "external_ref": "late-1"}
    r = await client.post("/v1/actuals", json=actual, headers=auth(*ADMIN))
    assert r.status_code == 409 and "2026-07 is closed for 'east'" in r.json()["detail"], r.text
    r = await client.post("/v1/actuals/batch", json={"items": [actual]}, headers=auth(*ADMIN))
    assert r.status_code == 409
    r = await client.post(f"/v1/actuals/{early_id}/reversal", json={"reason": "typo"}, headers=auth(*ADMIN))
    assert r.status_code == 409 and "closed" in r.text  # taking one back changes July too
    # August is open, and so is July elsewhere; a July target or adjustment in the region is not.
    august = {**actual, "date": "2026-08-01", "external_ref": "aug-1"}
    assert (await client.post("/v1/actuals", json=august, headers=auth(*ADMIN))).status_code == 201
    r = await client.post(
        "/v1/targets",
        json={"node": "rep2", "metric": "revenue", "period": "2026-07", "value": "1"},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 409 and "closed" in r.text
    body = {"new_value": "3000", "reason_category": "other", "justification": "late", "evidence": []}
    r = await client.post(f"/v1/targets/{july['id']}/adjustments", json=body, headers=auth("lead1"))
    assert r.status_code == 409 and "closed" in r.text
    r = await client.post(f"/v1/adjustments/{pending['id']}/approve", headers=auth("east-boss"))
    assert r.status_code == 409 and "closed" in r.text  # nor is one asked before the close applied
    # Reopening needs a reason, then an approval by someone above the region, not the asker.
    url = "/v1/periods/2026-07/reopen"
    r = await client.post(url, json={"node": "east", "reason": ""}, headers=auth("east-boss"))
    assert r.status_code in (400, 422) and "reason" in r.text
    r = await client.post(
        url, json={"node": "east", "reason": "a CRM outage hid three July deals"}, headers=auth("east-boss")
    )
    assert r.status_code == 200, r.text
    for who in ("east-boss", "lead1"):
        r = await client.post(f"{url}/approval", json={"node": "east"}, headers=auth(who))
        assert r.status_code == 403, (who, r.text)
    still = await client.post("/v1/actuals", json=actual, headers=auth(*ADMIN))
    assert still.status_code == 409  # asked, not yet approved
    r = await client.post(f"{url}/approval", json={"node": "east"}, headers=auth("ceo"))
    assert r.status_code == 200, r.text
    assert (await client.post("/v1/actuals", json=actual, headers=auth(*ADMIN))).status_code == 201
    [closure] = (await client.get("/v1/periods/", params={"period": "2026-07"}, headers=auth(*ADMIN))).json()
    assert closure["status"] == "reopened"


async def test_closing_a_quarter_freezes_its_months_and_a_bad_period_names_the_field(client, auth, clock, org) -> None:
    clock.set("2026-10-02")
    assert (await _close(client, auth, "2026-Q3", "east-1", who="lead1")).status_code == 200
    actual = {"person": "rep2", "metric": "revenue", "date": "2026-09-30", "value": "5", "external_ref": "q3"}
    assert (await client.post("/v1/actuals", json=actual, headers=auth(*ADMIN))).status_code == 409
    # east-2 is outside the closed subtree.
    r = await client.post(
        "/v1/targets",
        json={"node": "east-2", "metric": "revenue", "period": "2026-09", "value": "1"},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 201
    r = await _close(client, auth, "2026-Q9", "east-1")
    assert r.status_code in (400, 422) and "period" in r.text


async def _review(client, auth, pool_head: int, fmt: str = "json"):
    return await client.get(
        "/v1/reviews/2026-Q3",
        params={"node": "east-1", "format": fmt, "min_position": pool_head},
        headers=auth("east-boss"),
    )


async def test_the_quarterly_review_shows_targets_adjustment_alert_action_effect_and_comparisons(
    client, auth, clock, org, pool, store
) -> None:
    # A year ago and the quarter before: targets and results to compare with.
    await set_target(client, auth, "east-1", "2025-Q3", "800")
    await record(client, auth, "rep1", "2025-08-01", "600", "ly")
    await set_target(client, auth, "east-1", "2026-Q2", "900")
    await record(client, auth, "rep1", "2026-05-04", "450", "q2")
    # This quarter: 1,000 split 60:40, then cut to 950 on an approved request.
    target = await team_target(client, auth)
    asked = await ask(client, auth, target["id"], new_value="950")
    assert (await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))).status_code == 200
    # Two empty weeks raise alerts; the team lead opens an action against the team's target.
    await judge_on(client, clock, "2026-07-13")
    assert [a["node"] for a in await alerts(client, auth, "weekly_completion", node="east-1")]
    action = {
        "target_id": target["id"],
        "causes": [{"kind": "subjective", "factor": "team", "description": "new reps not yet calling"}],
        "plan": "daily call blocks",
        "owner": "rep1",
        "due": "2026-07-31",
    }
    r = await client.post("/v1/corrective-actions", json=action, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    action_id = r.json()["id"]
    await record(client, auth, "rep1", "2026-07-15", "300", "q3-a")
    clock.set("2026-07-20")
    r = await client.post(
        f"/v1/corrective-actions/{action_id}/completion", json={"outcome": "300 booked"}, headers=auth("rep1")
    )
    assert r.status_code == 200, r.text
    clock.set("2026-09-10")  # September's deal is booked in September (not weeks ahead)
    await record(client, auth, "rep2", "2026-09-10", "500", "q3-b")
    # Not closed yet: no review; then closed on 1 October, and reviewed once.
    clock.set("2026-10-01")
    notes = {"period": "2026-Q3", "node": "east-1", "summary": "recovered after a slow July"}
    notes |= {"success_factors": ["call blocks"], "shortfall_causes": ["slow start"], "lessons": ["start early"]}
    assert (await client.post("/v1/reviews/", json=notes, headers=auth("east-boss"))).status_code == 409
    assert (await _close(client, auth, "2026-Q3", "east-1")).status_code == 200
    r = await client.post("/v1/reviews/", json=notes, headers=auth("east-boss"))
    assert r.status_code == 201, r.text
    assert (await client.post("/v1/reviews/", json=notes, headers=auth("east-boss"))).status_code == 409
    r = await _review(client, auth, await head(client))
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["closed"] is True and review["review"]["lessons"] == ["start early"]
    team = next(row for row in review["rows"] if row["node"] == "east-1")
    assert (team["original"], team["final"], team["actual"], team["attainment_pct"]) == ("1000", "950", "800", "84.21")
    [adjustment] = team["adjustments"]
    assert (adjustment["old_value"], adjustment["new_value"], adjustment["approved_by"]) == (
        "1000",
        "950",
        ["east-boss"],
    )
    assert any(a["rule"] == "weekly_completion" for a in team["alerts"])
    [measured] = team["corrective_actions"]
    assert measured["status"] == "completed" and measured["attainment_before"] == "0.00"
    assert measured["attainment_after"] == "31.57"  # 300 of 950 (31.578… %) when it was completed
    assert team["previous"] == {
        "period": "2026-Q2",
        "original": "900",
        "final": "900",
        "actual": "450",
        "attainment_pct": "50.00",
        "gap": "450",
    }
    assert team["last_year"]["period"] == "2025-Q3" and team["last_year"]["attainment_pct"] == "75.00"
    assert {row["node"] for row in review["rows"]} == {"east-1", "rep1", "rep2"}
    # The same review as a spreadsheet and as a printable page.
    csv = (await _review(client, auth, 0, "csv")).text.splitlines()
    assert csv[0].startswith("node,metric,scope,original,final") and len(csv) == 4
    html = await _review(client, auth, 0, "html")
    assert html.headers["content-type"].startswith("text/html") and "Review of 2026-Q3" in html.text
    # Every read model rebuilt from the first event gives the same review.
    async with pool.acquire() as conn:
        for projection in PROJECTIONS:
            await rebuild(conn, store, projection)
    last = await head(client)
    assert (await _review(client, auth, last)).json() == review
