"""The forecast: actual plus weighted open pipeline against the target; managers' commits, as known on a day."""

from decimal import Decimal

import pytest

from tests.api.monitoring_support import alerts, head, judge_on
from tests.api.pipeline_support import PATH, july_quarter, open_deal


@pytest.fixture
async def quarter(client, auth, clock) -> dict:
    """July as in the pipeline stories; Globex won on 25 July (200); on 28 July Hooli drops to 90."""
    deals = await july_quarter(client, auth, clock)
    assert (await client.post(f"{PATH}/{deals['globex']['id']}/win", json={}, headers=auth("rep1"))).status_code == 201
    clock.set("2026-07-28")
    revision = {"amount": "90", "reason": "one licence fewer"}
    r = await client.post(f"{PATH}/{deals['hooli']['id']}/revision", json=revision, headers=auth("rep2"))
    assert r.status_code == 200, r.text
    return deals


async def _forecast(client, auth, node: str, who: str = "lead1") -> dict:
    query = {"node": node, "period": "2026-Q3", "min_position": await head(client)}
    r = await client.get("/v1/forecast", params=query, headers=auth(who))
    assert r.status_code == 200, r.text
    return r.json()


async def _submit(client, auth, who: str, commit: str, best_case: str, **more):
    body = {"node": "east-1", "period": "2026-Q3", "commit": commit, "best_case": best_case, **more}
    return await client.post("/v1/forecasts", json=body, headers=auth(who))


async def _known(client, auth, who: str = "east-boss", **query) -> dict:
    query = {"node": "east-1", "period": "2026-Q3", "min_position": await head(client), **query}
    r = await client.get("/v1/forecasts", params=query, headers=auth(who))
    assert r.status_code == 200, r.text
    return r.json()


def _money(view: dict, *keys: str) -> list[Decimal | None]:
    return [None if view[k] is None else Decimal(view[k]) for k in keys]


async def test_the_forecast_adds_the_weighted_open_pipeline_to_the_actual(client, auth, clock, quarter) -> None:
    # On 31 July east-1 (target 1,000) has 250: Globex's 200 won and rep2's 50.
    clock.set("2026-07-31")
    team = await _forecast(client, auth, "east-1")
    # Open in Q3: Initech 300 at 0.8 (240) and Hooli 90 at 0.1 (9): 249 weighted of 390.
    # Soylent closes in October, Umbrella is lost: neither counts.
    assert _money(team, "target", "actual", "pipeline", "weighted_pipeline") == [1000, 250, 390, 249]
    assert team["open_opportunities"] == 2
    # Forecast 250 + 249 = 499: 49.90 % of the target, 501 short of it.
    assert _money(team, "forecast", "forecast_pct", "gap_after_forecast") == [499, Decimal("49.90"), 501]
    # Beside it, the run rate: 250 in 31 of 92 days is 741.935… by the end, shown down.
    assert _money(team, "projected") == [Decimal("741.93")]
    # rep1 alone (600): 200 won + Initech's 240 = 440, 73.333… % shown 73.33, 160 short.
    rep1 = await _forecast(client, auth, "rep1", who="rep1")
    assert _money(rep1, "actual", "weighted_pipeline", "forecast") == [200, 240, 440]
    assert _money(rep1, "forecast_pct", "gap_after_forecast") == [Decimal("73.33"), 160]


async def test_a_submission_reads_back_as_known_on_a_day(client, auth, clock, quarter) -> None:
    # lead1 commits 450 (best case 600) on 1 August, then 500 (650) on 15 August.
    clock.set("2026-08-01")
    assert (await _submit(client, auth, "lead1", "450", "600", note="Initech in August")).status_code == 201
    clock.set("2026-08-15")
    r = await _submit(client, auth, "lead1", "500", "650")
    assert r.status_code == 201 and r.json()["submissions"] == 2, r.text
    # What did east-1 forecast on 1 August? 450, best case 600; on 31 July, nothing yet.
    on_first = await _known(client, auth, as_of="2026-08-01")
    assert _money(on_first["latest"], "commit", "best_case") == [450, 600]
    assert len(on_first["submissions"]) == 1 and on_first["latest"]["submitted_by"] == "lead1"
    assert (await _known(client, auth, as_of="2026-07-31"))["latest"] is None
    # Today: 500; the period is open, so there is no accuracy yet; the forecast shows the commit beside it.
    now = await _known(client, auth)
    assert _money(now["latest"], "commit") == [500] and (now["closed"], now["accuracy"]) == (False, None)
    assert _money((await _forecast(client, auth, "east-1"))["submitted"], "commit", "best_case") == [500, 650]


async def test_accuracy_once_the_period_is_closed(client, auth, clock, quarter) -> None:
    clock.set("2026-08-15")
    assert (await _submit(client, auth, "east-boss", "500", "650")).status_code == 201
    # The quarter ends with 250 and is closed for east-1 on 2 October.
    clock.set("2026-10-02")
    r = await client.post("/v1/periods/2026-Q3/close", json={"node": "east-1"}, headers=auth("east-boss"))
    assert r.status_code in (200, 201), r.text
    # Accuracy: actual 250 ÷ commit 500 = 0.5.
    closed = await _known(client, auth)
    assert closed["closed"] is True and _money(closed, "actual", "accuracy") == [250, Decimal("0.5")]
    # A closed period takes no more submissions.
    r = await _submit(client, auth, "east-boss", "300", "300")
    assert r.status_code == 409, r.text


async def test_only_managers_submit_and_the_best_case_is_at_least_the_commit(client, auth, quarter) -> None:
    # A rep does not forecast their team; a manager cannot read another team's forecast either way round.
    assert (await _submit(client, auth, "rep1", "450", "600")).status_code == 403
    r = await client.get("/v1/forecasts", params={"node": "east-1", "period": "2026-Q3"}, headers=auth("lead2"))
    assert r.status_code == 403, r.text
    # A best case below the commit, a negative commit, an unknown period: 422 naming the field.
    r = await _submit(client, auth, "lead1", "450", "400")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["best_case"], r.text
    r = await _submit(client, auth, "lead1", "-1", "400")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["commit"], r.text
    r = await _submit(client, auth, "lead1", "1", "4", period="2026-Q9")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["period"], r.text


async def test_a_forecast_below_90_percent_of_the_target_raises_an_alert(client, auth, clock, quarter) -> None:
    # Judged on 31 July: east-1 forecasts 49.90 % of its target, rep1 73.33 %, rep2 (50 + 9 of 400) 14.75 %.
    await judge_on(client, clock, "2026-07-31")
    raised = {a["node"]: a for a in await alerts(client, auth, "forecast")}
    assert {n: (a["status"], a["value"], a["threshold"]) for n, a in raised.items()} == {
        "east-1": ("open", "49.90", "90"),
        "rep1": ("open", "73.33", "90"),
        "rep2": ("open", "14.75", "90"),
    }
    # Routed as the other rules are: to the unit's own manager, and to a person's.
    assert raised["east-1"]["assignee"] == "lead1" and raised["rep1"]["assignee"] == "lead1"
    # lead1 lowers the bar to 40 % for east-1's subtree: 49.90 and 73.33 clear it by the 5-point margin.
    refinement = {"node": "east-1", "metric": "revenue", "threshold": "40"}
    assert (await client.put("/v1/alert-rules/forecast", json=refinement, headers=auth("lead1"))).status_code == 200
    await judge_on(client, clock, "2026-08-01")
    statuses = {a["node"]: a["status"] for a in await alerts(client, auth, "forecast")}
    assert statuses == {"east-1": "resolved", "rep1": "resolved", "rep2": "open"}


async def test_a_scoped_target_forecasts_only_the_opportunities_in_its_scope(client, auth, clock, quarter) -> None:
    # lead1 gives rep1 a Q3 target of 500 for new customers; rep1 opens a new-customer deal of 100 in proposal.
    body = {"node": "rep1", "metric": "revenue", "period": "2026-Q3", "value": "500", "scope": {"segment": "new"}}
    assert (await client.post("/v1/targets", json=body, headers=auth("lead1"))).status_code == 201
    deal = {"scope": {"segment": "new"}, "stage": "proposal"}
    await open_deal(client, auth, "rep1", "rep1", "Newco", "100", "2026-09-01", **deal)
    query = {"node": "rep1", "period": "2026-Q3", "scope": "segment:new", "min_position": await head(client)}
    r = await client.get("/v1/forecast", params=query, headers=auth("rep1"))
    assert r.status_code == 200, r.text
    # Only Newco counts (100 at 0.5); Globex's actual and Initech carry no segment: 50 of 500, 450 short.
    view = r.json()
    assert _money(view, "actual", "pipeline", "weighted_pipeline", "forecast") == [0, 100, 50, 50]
    assert _money(view, "forecast_pct", "gap_after_forecast") == [Decimal("10.00"), 450]
