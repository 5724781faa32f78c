"""Opportunities through the stages: a win records the actual once, a loss says why, the funnel counts them."""

from decimal import Decimal

import pytest

from tests.api.feed_support import events
from tests.api.monitoring_support import head
from tests.api.pipeline_support import PATH, july_quarter, move, open_deal
from tests.api.support import ADMIN


@pytest.fixture
async def deals(client, auth, clock) -> dict:
    return await july_quarter(client, auth, clock)


def _fields(r) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


async def _actuals(client, auth, person: str, position: int) -> list[dict]:
    query = {"person": person, "source": "pipeline", "min_position": position}
    r = await client.get("/v1/actuals", params=query, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_win_sent_twice_records_its_actual_once(client, auth, clock, deals) -> None:
    # On 25 July rep1 wins Globex: the expected 200, dated today, as an actual from the pipeline.
    globex = deals["globex"]
    r = await client.post(f"{PATH}/{globex['id']}/win", json={}, headers=auth("rep1"))
    assert r.status_code == 201, r.text
    won = r.json()
    assert (won["status"], won["won_amount"], won["closed_on"], won["duplicate"]) == ("won", "200", "2026-07-25", False)
    # The CRM sends the same win again: nothing new, the same actual.
    again = await client.post(f"{PATH}/{globex['id']}/win", json={"amount": "200"}, headers=auth("rep1"))
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True and again.json()["actual_id"] == won["actual_id"]
    # Sent again the next day, without amount or date: what it leaves out is taken as recorded.
    clock.set("2026-07-26")
    late = await client.post(f"{PATH}/{globex['id']}/win", json={}, headers=auth("rep1"))
    assert late.status_code == 200 and late.json()["duplicate"] is True, late.text
    # One actual, source pipeline, the opportunity as its external reference.
    [actual] = await _actuals(client, auth, "rep1", again.json()["position"])
    assert (actual["id"], actual["value"], actual["date"]) == (won["actual_id"], "200", "2026-07-25")
    assert (actual["source"], actual["external_ref"]) == ("pipeline", globex["id"])
    # A win with another amount is refused: won is final (correct the actual instead).
    other = await client.post(f"{PATH}/{globex['id']}/win", json={"amount": "250"}, headers=auth("rep1"))
    assert other.status_code == 409, other.text


async def test_a_win_meets_the_rules_of_an_actual(client, auth, deals) -> None:
    # Dated more than 31 days ahead: refused like POST /v1/actuals, naming the win's `date`.
    r = await client.post(f"{PATH}/{deals['initech']['id']}/win", json={"date": "2026-09-30"}, headers=auth("rep1"))
    assert r.status_code == 422 and _fields(r) == ["date"], r.text
    # Money in whole cents, as the metric says: named `amount`.
    r = await client.post(f"{PATH}/{deals['initech']['id']}/win", json={"amount": "1.001"}, headers=auth("rep1"))
    assert r.status_code == 422 and _fields(r) == ["amount"], r.text


async def test_lost_is_final_and_says_why(client, auth, deals) -> None:
    umbrella = deals["umbrella"]
    r = await client.get(f"{PATH}/{umbrella['id']}", headers=auth("lead1"))
    assert (r.json()["status"], r.json()["loss_reason"], r.json()["stage"]) == ("lost", "price", "qualification")
    # A win after the loss, or another stage, is a 409.
    r = await client.post(f"{PATH}/{umbrella['id']}/win", json={}, headers=auth("rep2"))
    assert r.status_code == 409, r.text
    r = await client.post(f"{PATH}/{umbrella['id']}/stage", json={"stage": "proposal"}, headers=auth("rep2"))
    assert r.status_code == 409, r.text
    # No actual was recorded for it.
    assert await _actuals(client, auth, "rep2", await head(client)) == []


async def test_the_funnel_counts_converts_ages_and_flags_the_slipping(client, auth, clock, deals) -> None:
    # Globex is won on 25 July; we look on 31 July.
    assert (await client.post(f"{PATH}/{deals['globex']['id']}/win", json={}, headers=auth("rep1"))).status_code == 201
    clock.set("2026-07-31")
    query = {"node": "east-1", "period": "2026-Q3", "min_position": await head(client)}
    r = await client.get("/v1/funnel", params=query, headers=auth("lead1"))
    assert r.status_code == 200, r.text
    funnel = r.json()
    rows = {row["stage"]: row for row in funnel["stages"]}
    assert list(rows) == ["prospecting", "qualification", "proposal", "negotiation"]
    # Open: Hooli (100) prospecting since 10 July (21 days), Initech (300) in negotiation since 25 July (6 days).
    # Soylent closes in October: not in Q3's funnel.
    assert [(s, rows[s]["count"], Decimal(rows[s]["value"])) for s in rows] == [
        ("prospecting", 1, 100),
        ("qualification", 0, 0),
        ("proposal", 0, 0),
        ("negotiation", 1, 300),
    ]
    assert Decimal(rows["prospecting"]["average_age_days"]) == 21
    assert Decimal(rows["negotiation"]["average_age_days"]) == 6
    assert rows["proposal"]["average_age_days"] is None
    # Furthest reached: Globex won, Initech negotiation, Umbrella qualification, Hooli prospecting.
    # prospecting → on: 3 of 4; qualification → on: 2 of 3 (0.6666, down); proposal → on: 2 of 2;
    # negotiation → won: 1 of 2.
    assert [Decimal(rows[s]["conversion"]) for s in rows] == [
        Decimal("0.75"),
        Decimal("0.6666"),
        Decimal(1),
        Decimal("0.5"),
    ]
    assert (funnel["won_count"], Decimal(funnel["won_value"])) == (1, 200)
    assert (funnel["lost_count"], Decimal(funnel["lost_value"])) == (1, 150)
    # Hooli was expected on 25 July and is still open: slipping, 6 days late.
    assert [(s["name"], s["days_late"]) for s in funnel["slipping"]] == [("Hooli", 6)]


async def test_a_rep_opens_only_their_own_and_reads_only_their_reach(client, auth, deals) -> None:
    # rep1 cannot open an opportunity for rep2, nor move rep2's.
    r = await client.post(
        PATH, json={"person": "rep2", "name": "X", "amount": "10", "close_on": "2026-08-01"}, headers=auth("rep1")
    )
    assert r.status_code == 403, r.text
    r = await client.post(f"{PATH}/{deals['hooli']['id']}/stage", json={"stage": "proposal"}, headers=auth("rep1"))
    assert r.status_code == 403, r.text
    # rep1 reads their own team's funnel, not the region's nor the other team's.
    for node, status in (("east-1", 200), ("east", 403), ("east-2", 403)):
        r = await client.get("/v1/funnel", params={"node": node, "period": "2026-Q3"}, headers=auth("rep1"))
        assert r.status_code == status, (node, r.text)
    # A node that does not exist is a 404 naming it.
    r = await client.get("/v1/funnel", params={"node": "nobody", "period": "2026-Q3"}, headers=auth("lead1"))
    assert r.status_code == 404 and _fields(r) == ["node"], r.text


async def test_bad_inputs_are_422_or_409_naming_the_field(client, auth, deals) -> None:
    # A probability is a fraction: 1.5 is refused, in the stages and on an opportunity.
    stages = {"stages": [{"name": "prospecting", "probability": "1.5"}]}
    r = await client.put("/v1/pipeline/stages", json=stages, headers=auth(*ADMIN))
    assert r.status_code == 422 and _fields(r) == ["stages[0].probability"], r.text
    r = await client.post(
        PATH,
        json={"person": "rep1", "name": "X", "amount": "10", "close_on": "2026-08-01", "probability": "1.5"},
        headers=auth("rep1"),
    )
    assert r.status_code == 422 and _fields(r) == ["probability"], r.text
    # An amount of -1, and an unknown stage.
    r = await client.post(
        PATH, json={"person": "rep1", "name": "X", "amount": "-1", "close_on": "2026-08-01"}, headers=auth("rep1")
    )
    assert r.status_code == 422 and _fields(r) == ["amount"], r.text
    r = await client.post(f"{PATH}/{deals['initech']['id']}/stage", json={"stage": "closing"}, headers=auth("rep1"))
    assert r.status_code == 422 and _fields(r) == ["stage"], r.text
    # A loss needs a reason category.
    r = await client.post(f"{PATH}/{deals['initech']['id']}/loss", json={"reason": "weather"}, headers=auth("rep1"))
    assert r.status_code == 422 and _fields(r) == ["reason"], r.text


async def test_configured_stages_set_the_probability_of_those_entering_them(client, auth, deals) -> None:
    # The admin adds a "demo" stage at 0.35.
    stages = [
        {"name": "prospecting", "probability": "0.1"},
        {"name": "demo", "probability": "0.35"},
        {"name": "negotiation", "probability": "0.8"},
    ]
    r = await client.put("/v1/pipeline/stages", json={"stages": stages}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    r = await client.get("/v1/pipeline/stages", headers=auth("rep1"))
    assert [(s["name"], Decimal(s["probability"])) for s in r.json()["stages"]] == [
        ("prospecting", Decimal("0.1")),
        ("demo", Decimal("0.35")),
        ("negotiation", Decimal("0.8")),
    ]
    # An opportunity entering it takes its default; a manager may not configure the stages.
    deal = await open_deal(client, auth, "rep1", "rep1", "Acme Corp", "80", "2026-09-01")
    assert (await move(client, auth, "rep1", deal, "demo"))["probability"] == "0.35"
    r = await client.put("/v1/pipeline/stages", json={"stages": stages}, headers=auth("east-boss"))
    assert r.status_code == 403, r.text


async def test_subscribers_hear_of_stage_changes_closes_and_forecasts(client, auth, clock, deals) -> None:
    # Globex is won on 25 July, and lead1 submits east-1's forecast.
    assert (await client.post(f"{PATH}/{deals['globex']['id']}/win", json={}, headers=auth("rep1"))).status_code == 201
    body = {"node": "east-1", "period": "2026-Q3", "commit": "450", "best_case": "600"}
    r = await client.post("/v1/forecasts", json=body, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    types = "opportunity.stage_changed.v1,opportunity.closed.v1,forecast.submitted.v1"
    feed = await events(client, auth, r.json()["position"], types=types)
    # Every stage change, in the order they happened.
    changes = [(e["data"]["name"], e["data"]["stage"]) for e in feed if e["type"] == "opportunity.stage_changed.v1"]
    assert changes == [
        ("Globex", "qualification"),
        ("Initech", "qualification"),
        ("Umbrella", "qualification"),
        ("Globex", "proposal"),
        ("Initech", "proposal"),
        ("Initech", "negotiation"),
    ]
    closed = [e["data"] for e in feed if e["type"] == "opportunity.closed.v1"]
    assert [(c["name"], c["outcome"], c["amount"], c["reason"]) for c in closed] == [
        ("Umbrella", "lost", "150", "price"),
        ("Globex", "won", "200", None),
    ]
    # The forecast, under its period and node.
    [forecast] = [e for e in feed if e["type"] == "forecast.submitted.v1"]
    assert forecast["subject"] == "2026-Q3/east-1" and forecast["data"]["commit"] == "450"
    assert closed[1]["actual_id"] is not None and feed[0]["data"]["person"] == "rep1"


async def test_a_rep_lists_their_key_deals_and_a_lead_the_teams_open_ones(client, auth, deals) -> None:
    query = {"node": "rep1", "min_position": await head(client)}
    # rep1's plan: Globex (200, 15 Aug, proposal) and Initech (300, 10 Sep, negotiation), soonest first.
    r = await client.get(PATH, params=query, headers=auth("rep1"))
    assert r.status_code == 200, r.text
    assert [(o["name"], o["amount"], o["close_on"], o["stage"]) for o in r.json()["items"]] == [
        ("Globex", "200", "2026-08-15", "proposal"),
        ("Initech", "300", "2026-09-10", "negotiation"),
    ]
    # lead1: east-1's open ones closing in Q3 (Umbrella is lost, Soylent closes in Q4).
    r = await client.get(PATH, params={"node": "east-1", "period": "2026-Q3", "status": "open"}, headers=auth("lead1"))
    assert [o["name"] for o in r.json()["items"]] == ["Hooli", "Globex", "Initech"]
    # rep2 may not list rep1's.
    assert (await client.get(PATH, params={"node": "rep1"}, headers=auth("rep2"))).status_code == 403
