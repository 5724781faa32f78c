"""Figures are judged on exact values and shown rounded toward the side that does not flatter."""

import pytest

from tests.api.feed_support import events
from tests.api.monitoring_support import alerts, judge_on, record, set_target
from tests.api.support import ADMIN, admin_post, build_east


@pytest.fixture
async def east(client, auth, clock) -> None:
    """East as in the other stories, read on the last day of July."""
    clock.set("2026-07-31")
    await build_east(client, auth)


async def _target(client, auth, node: str, value: str, metric: str = "revenue", period: str = "2026-07") -> dict:
    return await admin_post(
        client, auth, "/v1/targets", {"node": node, "metric": metric, "period": period, "value": value}
    )


async def _actual(client, auth, person: str, value: str, metric: str = "revenue", day: str = "2026-07-15") -> int:
    body = {"person": person, "metric": metric, "date": day, "value": value}
    r = await client.post("/v1/actuals", json=body, headers=auth("crm", "integration"))
    assert r.status_code == 201, r.text
    return r.json()["position"]


async def _row(client, auth, position: int, node: str = "rep1", metric: str = "revenue") -> dict:
    params = {"node": node, "metric": metric, "period": "2026-07", "min_position": position}
    r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()["row"]


async def _cost_metric(client, auth) -> None:
    """A lower-is-better money metric: spending less than the budget is good."""
    body = {"name": "travel_cost", "unit": "money", "direction": "lower"}
    await admin_post(client, auth, "/v1/metrics", body)


async def test_999_99_of_1000_is_not_shown_as_100_percent(client, auth, east) -> None:
    # rep1 is one cent short of July's 1,000.00 on its last day.
    await _target(client, auth, "rep1", "1000.00")
    row = await _row(client, auth, await _actual(client, auth, "rep1", "999.99"))
    # Short is short: 99.99 %, a gap of a cent, and not on track.
    assert (row["attainment_pct"], row["pace_pct"], row["gap"]) == ("99.99", "99.99", "0.01")
    assert row["status"] == "at_risk"


async def test_a_pace_a_hair_under_80_percent_is_behind(client, auth, east) -> None:
    await _target(client, auth, "rep1", "1000.00")
    row = await _row(client, auth, await _actual(client, auth, "rep1", "799.99"))
    # 79.999 % is below the 80 % line of `at_risk`, however it would round.
    assert (row["pace_pct"], row["status"]) == ("79.99", "behind")


async def test_a_cost_a_cent_over_budget_is_not_shown_as_on_budget(client, auth, east) -> None:
    await _cost_metric(client, auth)
    await _target(client, auth, "rep1", "1000.00", metric="travel_cost")
    row = await _row(client, auth, await _actual(client, auth, "rep1", "1000.01", "travel_cost"), metric="travel_cost")
    # For a cost the share of the budget used rounds up, and its pace (plan ÷ actual) down.
    assert (row["attainment_pct"], row["pace_pct"], row["status"]) == ("100.01", "99.99", "at_risk")


async def test_a_rate_a_hair_under_its_target_is_not_rounded_up_to_it(client, auth, east) -> None:
    await _target(client, auth, "rep1", "0.3", metric="conversion_rate")
    await _actual(client, auth, "rep1", "100000", "proposals")
    position = await _actual(client, auth, "rep1", "29999", "wins")
    row = await _row(client, auth, position, metric="conversion_rate")
    # 29,999 wins of 100,000 proposals is 0.29999: short of 0.3, not a target met.
    assert (row["actual"], row["attainment_pct"], row["status"]) == ("0.2999", "99.99", "at_risk")


async def test_the_leaderboard_ranks_on_exact_attainment(client, auth, east) -> None:
    # Both show 50.00 %, but rep2's 50.004 % is ahead of rep1's 50.001 %.
    for person, value in [("rep1", "500.01"), ("rep2", "500.04")]:
        await _target(client, auth, person, "1000.00")
        position = await _actual(client, auth, person, value)
    params = {"unit": "east-1", "metric": "revenue", "period": "2026-07", "min_position": position}
    r = await client.get("/v1/attainment/leaderboard", params=params, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    assert [(row["node"], row["attainment_pct"]) for row in r.json()["rows"]] == [
        ("rep2", "50.00"),
        ("rep1", "50.00"),
    ]


async def test_a_cost_leaderboard_ranks_the_smallest_share_of_budget_first(client, auth, east) -> None:
    await _cost_metric(client, auth)
    for person, value in [("rep1", "900"), ("rep2", "500")]:
        await _target(client, auth, person, "1000", metric="travel_cost")
        position = await _actual(client, auth, person, value, "travel_cost")
    params = {"unit": "east-1", "metric": "travel_cost", "period": "2026-07", "min_position": position}
    r = await client.get("/v1/attainment/leaderboard", params=params, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    assert [row["node"] for row in r.json()["rows"]] == ["rep2", "rep1"]


async def test_the_feed_never_announces_100_percent_while_short(client, auth) -> None:
    await build_east(client, auth)
    # October is over (the feed judges pace on the day the actual was recorded).
    target = await _target(client, auth, "rep1", "1000.00", period="2026-10")
    position = await _actual(client, auth, "rep1", "999.99", day="2026-10-15")
    feed = await events(client, auth, position)
    [update] = [e["data"] for e in feed if e["type"] == "attainment.updated.v1"]
    assert update["target_id"] == target["id"]
    assert (update["attainment_pct"], update["pace_pct"], update["status"]) == ("99.99", "99.99", "at_risk")
    crossings = [e["data"]["crossing"] for e in feed if e["type"] == "attainment.threshold_crossed.v1"]
    assert "target_met" not in crossings


async def test_a_week_a_hair_under_80_percent_raises_the_weekly_alerts(client, auth, clock) -> None:
    # rep1's July is 3,100: 500 planned in W27 (1 to 5 July), 700 in W28.
    clock.set("2026-06-30")
    await build_east(client, auth)
    await set_target(client, auth, "rep1", "2026-07", "3100")
    # 399.99 of 500 and 559.99 of 700: each week 79.99… %, never 80 %.
    await record(client, auth, "rep1", "2026-07-03", "399.99", "w27")
    await record(client, auth, "rep1", "2026-07-08", "559.99", "w28")
    await judge_on(client, clock, "2026-07-13")
    raised = {a["rule"]: a["value"] for a in await alerts(client, auth)}
    # The gap of 140.01 is 20.001… % of the week: above 20 %, and shown rounded up.
    assert raised == {"weekly_completion": "79.99", "week_gap": "20.01", "pace": "79.99"}


async def _inbox_change(client, auth, target: dict, new_value: str) -> dict:
    """lead1 asks for new_value; the one change the approvers' inbox shows for it."""
    body = {"new_value": new_value, "reason_category": "market_change", "justification": "the plan moved"}
    r = await client.post(f"/v1/targets/{target['id']}/adjustments", json=body, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    params = {"status": "pending", "min_position": r.json()["position"]}
    r = await client.get("/v1/adjustments", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    [request] = r.json()
    [change] = request["changes"]
    return change


async def test_the_approvers_inbox_does_not_round_attainment_up(client, auth, east) -> None:
    target = await _target(client, auth, "rep1", "1000.00")
    await _actual(client, auth, "rep1", "999.99")
    change = await _inbox_change(client, auth, target, "1050")
    assert (change["attainment_old_pct"], change["attainment_new_pct"]) == ("99.99", "95.23")


async def test_the_approvers_inbox_counts_a_ratio_targets_rate_from_its_parts(client, auth, east) -> None:
    target = await _target(client, auth, "rep1", "0.25", metric="conversion_rate")
    await _actual(client, auth, "rep1", "30", "proposals")
    await _actual(client, auth, "rep1", "7", "wins")
    change = await _inbox_change(client, auth, target, "0.2")
    # 7 wins of 30 proposals is 0.2333…: 93.33 % of 0.25, 116.66 % of 0.2 (not 0 % of either).
    assert (change["actual"], change["attainment_old_pct"], change["attainment_new_pct"]) == (
        "0.2333",
        "93.33",
        "116.66",
    )


async def test_a_review_does_not_round_a_shortfall_up_to_100_percent(client, auth, clock, east) -> None:
    await _target(client, auth, "rep1", "1000.00")
    await _actual(client, auth, "rep1", "999.99")
    clock.set("2026-08-03")
    r = await client.post("/v1/periods/2026-07/close", json={"node": "east-1"}, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    params = {"node": "east-1", "min_position": r.json()["position"]}
    r = await client.get("/v1/reviews/2026-07", params=params, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    [rep1] = [row for row in r.json()["rows"] if row["node"] == "rep1"]
    assert (rep1["attainment_pct"], rep1["gap"], rep1["status"]) == ("99.99", "0.01", "at_risk")
