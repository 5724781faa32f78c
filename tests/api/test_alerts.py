"""Early warnings: judged by the scheduler as time passes, raised once, resolved with hysteresis."""

import pytest

from tests.api.monitoring_support import alerts, judge_on, record, set_target
from tests.api.support import ADMIN, build_east

# rep1's July target is 3,100: 100 a day, 700 a full ISO week. 1 July 2026 is a Wednesday,
# so W27 holds 1 to 5 July (500 planned), W28 6 to 12, W29 13 to 19, W30 20 to 26.


@pytest.fixture
async def july(client, auth, clock) -> dict:
    clock.set("2026-06-30")
    await build_east(client, auth)
    return await set_target(client, auth, "rep1", "2026-07", "3100")


async def test_two_weeks_below_80_raise_one_alert_and_a_clear_recovery_resolves_it(client, auth, clock, july) -> None:
    # W27: 300 of 500 (60 %): one week below is not yet a breach.
    await record(client, auth, "rep1", "2026-07-03", "300", "w27")
    await judge_on(client, clock, "2026-07-06")
    assert await alerts(client, auth, "weekly_completion") == []
    # W28: 400 of 700 (57 %): two weeks running raise one alert, routed to rep1's manager.
    await record(client, auth, "rep1", "2026-07-08", "400", "w28")
    await judge_on(client, clock, "2026-07-13")
    [alert] = await alerts(client, auth, "weekly_completion")
    assert (alert["status"], alert["assignee"], alert["node"], alert["value"]) == ("open", "lead1", "rep1", "57.14")
    # Judged again the next day, and the day after: still one alert, raised once.
    await judge_on(client, clock, "2026-07-14")
    await judge_on(client, clock, "2026-07-15")
    [alert] = await alerts(client, auth, "weekly_completion")
    assert alert["occurrences"] == 1 and len(alert["history"]) == 1
    # W29: 570 of 700 (81.4 %): above the threshold but within its 5-point margin: still open.
    await record(client, auth, "rep1", "2026-07-15", "570", "w29")
    await judge_on(client, clock, "2026-07-20")
    [alert] = await alerts(client, auth, "weekly_completion")
    assert alert["status"] == "open" and alert["value"] == "57.14"
    # W30: 630 of 700 (90 %): clearly recovered: resolved.
    await record(client, auth, "rep1", "2026-07-22", "630", "w30")
    await judge_on(client, clock, "2026-07-27")
    [alert] = await alerts(client, auth, "weekly_completion")
    assert (alert["status"], alert["value"]) == ("resolved", "90.00")
    assert alert["history"][0]["resolved_at"].startswith("2026-07-27")


async def test_a_big_weekly_gap_raises_its_own_alert(client, auth, clock, july) -> None:
    # W28: 500 of 700: a gap of 28.571… % of the week's target (above 20 %), shown rounded up.
    await record(client, auth, "rep1", "2026-07-07", "500", "a")
    await judge_on(client, clock, "2026-07-13")
    [gap] = await alerts(client, auth, "week_gap")
    assert gap["value"] == "28.58" and gap["threshold"] == "20"


async def test_the_manager_it_is_routed_to_acknowledges_it(client, auth, clock, july) -> None:
    await judge_on(client, clock, "2026-07-13")  # nothing recorded: 0 % two weeks running
    [alert] = await alerts(client, auth, "weekly_completion")
    # Routed to lead1: it is in their inbox, not in rep2's view.
    assert [a["alert_id"] for a in await alerts(client, auth, "weekly_completion", ("lead1",), assignee="me")] == [
        alert["alert_id"]
    ]
    assert await alerts(client, auth, "weekly_completion", ("rep2",)) == []
    url = f"/v1/alerts/{alert['alert_id']}/acknowledgement"
    assert (await client.post(url, json={"comment": "on it"}, headers=auth("rep2"))).status_code == 403
    r = await client.post(url, json={"comment": "on it"}, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    [alert] = await alerts(client, auth, "weekly_completion")
    assert (alert["acknowledged_by"], alert["ack_comment"]) == ("lead1", "on it")
    assert (await client.post(url, json={}, headers=auth("lead1"))).status_code == 409


async def test_a_rule_refined_for_a_subtree_applies_there_only(client, auth, clock, july) -> None:
    # east-1 tolerates 50 %: W27 60 % and W28 57 % are no breach there.
    r = await client.put(
        "/v1/alert-rules/weekly_completion", json={"node": "east-1", "threshold": "50"}, headers=auth("east-boss")
    )
    assert r.status_code == 200, r.text
    await record(client, auth, "rep1", "2026-07-03", "300", "w27")
    await record(client, auth, "rep1", "2026-07-08", "400", "w28")
    await judge_on(client, clock, "2026-07-13")
    assert await alerts(client, auth, "weekly_completion") == []
    # A team lead cannot refine rules above their own team; an unknown rule is a 4xx naming it.
    r = await client.put("/v1/alert-rules/pace", json={"node": "east", "threshold": "10"}, headers=auth("lead1"))
    assert r.status_code == 403
    r = await client.put("/v1/alert-rules/nonsense", json={}, headers=auth(*ADMIN))
    assert r.status_code in (400, 422) and "rule" in r.text
    r = await client.put("/v1/alert-rules/pace", json={"weeks": 0}, headers=auth(*ADMIN))
    assert r.status_code in (400, 422) and "weeks" in r.text


async def test_an_overdue_corrective_action_raises_an_alert_until_it_is_done(client, auth, clock, july) -> None:
    clock.set("2026-07-06")
    body = {
        "target_id": july["id"],
        "causes": [{"kind": "objective", "factor": "market", "description": "a competitor cut prices"}],
        "plan": "visit the ten largest accounts",
        "owner": "rep1",
        "due": "2026-07-10",
    }
    r = await client.post("/v1/corrective-actions", json=body, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    action = r.json()
    # Due on the 10th: not overdue on the 10th, overdue from the 11th.
    await judge_on(client, clock, "2026-07-10")
    assert await alerts(client, auth, "action_overdue") == []
    await judge_on(client, clock, "2026-07-11")
    [overdue] = await alerts(client, auth, "action_overdue")
    assert overdue["status"] == "open" and overdue["subject"] == action["id"] and overdue["assignee"] == "lead1"
    # Completing it resolves the alert at the next look.
    r = await client.post(
        f"/v1/corrective-actions/{action['id']}/completion", json={"outcome": "three deals"}, headers=auth("rep1")
    )
    assert r.status_code == 200, r.text
    await judge_on(client, clock, "2026-07-12")
    [overdue] = await alerts(client, auth, "action_overdue")
    assert overdue["status"] == "resolved"


async def test_no_actuals_for_three_working_days_raises_an_alert(client, auth, clock, july) -> None:
    await record(client, auth, "rep1", "2026-07-02", "100", "a")
    # Friday 3rd, Monday 6th: two working days without an actual; Tuesday 7th makes three.
    await judge_on(client, clock, "2026-07-07")
    assert await alerts(client, auth, "no_actuals") == []
    await judge_on(client, clock, "2026-07-08")
    [missing] = await alerts(client, auth, "no_actuals")
    assert missing["node"] == "rep1" and missing["assignee"] == "lead1"
    await record(client, auth, "rep1", "2026-07-08", "100", "b")
    await judge_on(client, clock, "2026-07-09")
    assert [a["status"] for a in await alerts(client, auth, "no_actuals")] == ["resolved"]


async def test_a_missed_follow_up_report_raises_an_alert_for_the_supervisor(client, auth, clock, july) -> None:
    # Planned before W27 began: from then on a report is due each week.
    clock.set("2026-06-28")
    plan = {"cadence": "weekly", "reporter": "rep1", "supervisor": "lead1"}
    r = await client.put(f"/v1/targets/{july['id']}/follow-up-plan", json=plan, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    # W27 passed with no report: lead1 hears of it on Monday.
    await judge_on(client, clock, "2026-07-06")
    [missed] = await alerts(client, auth, "follow_up_missed")
    assert missed["assignee"] == "lead1" and "rep1" in missed["message"]
    # Only the reporter reports; a report during W28 resolves it when W28 is judged.
    url = f"/v1/targets/{july['id']}/follow-ups"
    assert (await client.post(url, json={"note": "x"}, headers=auth("rep2"))).status_code == 403
    clock.set("2026-07-08")
    assert (await client.post(url, json={"note": "two meetings set"}, headers=auth("rep1"))).status_code == 201
    await judge_on(client, clock, "2026-07-13")
    assert [a["status"] for a in await alerts(client, auth, "follow_up_missed")] == ["resolved"]


async def test_a_cost_under_its_plan_raises_nothing_and_an_overrun_raises_both_weekly_rules(
    client, auth, clock
) -> None:
    clock.set("2026-06-30")
    await build_east(client, auth)
    body = {"name": "travel_cost", "unit": "money", "direction": "lower"}
    assert (await client.post("/v1/metrics", json=body, headers=auth(*ADMIN))).status_code == 201
    r = await client.post(
        "/v1/targets",
        json={"node": "rep1", "metric": "travel_cost", "period": "2026-07", "value": "3100"},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 201, r.text
    spend = {"person": "rep1", "metric": "travel_cost", "source": "crm"}
    # W27 and W28: 100 of a 500 and a 700 budget: well under plan, which is good for a cost.
    for day, ref in [("2026-07-02", "w27"), ("2026-07-07", "w28")]:
        r = await client.post(
            "/v1/actuals", json={**spend, "date": day, "value": "100", "external_ref": ref}, headers=auth(*ADMIN)
        )
        assert r.status_code == 201, r.text
    await judge_on(client, clock, "2026-07-13")
    assert await alerts(client, auth, "weekly_completion") == [] and await alerts(client, auth, "week_gap") == []
    # W29 and W30: 1,000 spent against 700 each week: 70 % completion two weeks running, and a
    # 42.86 % overrun of the week's budget.
    for day, ref in [("2026-07-14", "w29"), ("2026-07-21", "w30")]:
        r = await client.post(
            "/v1/actuals", json={**spend, "date": day, "value": "1000", "external_ref": ref}, headers=auth(*ADMIN)
        )
        assert r.status_code == 201, r.text
    await judge_on(client, clock, "2026-07-27")
    [completion] = await alerts(client, auth, "weekly_completion")
    [gap] = await alerts(client, auth, "week_gap")
    assert (completion["status"], completion["value"], gap["value"]) == ("open", "70.00", "42.86")
