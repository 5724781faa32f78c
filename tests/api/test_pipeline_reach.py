"""What the pipeline shows a reader: the deals they may read, a page at a time, every open deal counted."""

from decimal import Decimal

import pytest

from tests.api.monitoring_support import head
from tests.api.pipeline_support import PATH, july_quarter
from tests.api.support import ADMIN


@pytest.fixture
async def deals(client, auth, clock) -> dict:
    return await july_quarter(client, auth, clock)


async def _get(client, auth, path: str, who: str, **query) -> dict:
    r = await client.get(path, params={"min_position": await head(client), **query}, headers=auth(who))
    assert r.status_code == 200, r.text
    return r.json()


def _fields(r) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


async def test_a_rep_lists_only_the_deals_they_may_read_one_by_one(client, auth, deals) -> None:
    # rep1 may read east-1's totals, but not rep2's Hooli on its own.
    r = await client.get(f"{PATH}/{deals['hooli']['id']}", headers=auth("rep1"))
    assert r.status_code == 403, r.text
    # So listing east-1 shows rep1 only their own: Globex and Initech.
    page = await _get(client, auth, PATH, "rep1", node="east-1")
    assert [o["name"] for o in page["items"]] == ["Globex", "Initech"] and page["next"] is None
    # lead1, who manages east-1, sees every one of it, soonest first.
    page = await _get(client, auth, PATH, "lead1", node="east-1")
    assert [o["name"] for o in page["items"]] == ["Umbrella", "Hooli", "Globex", "Initech", "Soylent"]


async def test_the_opportunities_come_a_page_at_a_time(client, auth, deals) -> None:
    # Two at a time, lead1 walks east-1's five deals in three pages, each once.
    seen, query = [], {"node": "east-1", "limit": 2}
    while True:
        page = await _get(client, auth, PATH, "lead1", **query)
        seen.append([o["name"] for o in page["items"]])
        if page["next"] is None:
            break
        query["cursor"] = page["next"]
    assert seen == [["Umbrella", "Hooli"], ["Globex", "Initech"], ["Soylent"]]
    # A limit out of 1-500, or a cursor this list never gave, is a 422 naming it.
    for bad, field in (({"limit": 100000}, "limit"), ({"limit": 0}, "limit"), ({"cursor": "bm9wZQ"}, "cursor")):
        r = await client.get(PATH, params={"node": "east-1", **bad}, headers=auth("lead1"))
        assert r.status_code == 422 and _fields(r) == [field], r.text


async def test_the_funnel_counts_the_team_but_shows_a_rep_only_their_own_slipping_deals(client, auth, clock, deals):
    # On 31 July rep2's Hooli (expected 25 July) is slipping.
    clock.set("2026-07-31")
    lead = await _get(client, auth, "/v1/funnel", "lead1", node="east-1", period="2026-Q3")
    assert [s["name"] for s in lead["slipping"]] == ["Hooli"]
    # rep1 reads east-1's funnel: the same counts, but no Hooli among the slipping.
    rep = await _get(client, auth, "/v1/funnel", "rep1", node="east-1", period="2026-Q3")
    assert rep["stages"] == lead["stages"] and rep["slipping"] == []


async def test_a_deal_in_a_removed_stage_still_counts_in_the_funnel(client, auth, clock, deals) -> None:
    # The admin removes qualification and negotiation; Initech (300) stands in negotiation still.
    stages = [{"name": "prospecting", "probability": "0.1"}, {"name": "proposal", "probability": "0.5"}]
    r = await client.put("/v1/pipeline/stages", json={"stages": stages}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    funnel = await _get(client, auth, "/v1/funnel", "lead1", node="east-1", period="2026-Q3")
    rows = [(s["stage"], s["count"], Decimal(s["value"]), s["configured"]) for s in funnel["stages"]]
    # After the configured stages, negotiation, flagged as no longer configured.
    assert rows == [
        ("prospecting", 1, 100, True),
        ("proposal", 1, 200, True),
        ("negotiation", 1, 300, False),
    ]
    # The funnel and the forecast agree on the open deals: Hooli, Globex, Initech.
    forecast = await _get(client, auth, "/v1/forecast", "lead1", node="east-1", period="2026-Q3")
    assert sum(s["count"] for s in funnel["stages"]) == forecast["open_opportunities"] == 3


async def test_the_funnel_refuses_a_metric_the_forecast_refuses(client, auth, deals) -> None:
    # conversion_rate is a ratio, not a sum: both answer 422 naming metric.
    for path in ("/v1/funnel", "/v1/forecast", PATH):
        query = {"node": "east-1", "period": "2026-Q3", "metric": "conversion_rate"}
        r = await client.get(path, params=query, headers=auth("lead1"))
        assert r.status_code == 422 and _fields(r) == ["metric"], (path, r.text)


async def test_a_scoped_forecast_shows_no_whole_node_submission(client, auth, deals) -> None:
    # lead1 submits east-1's Q3 forecast: it is for the whole team.
    body = {"node": "east-1", "period": "2026-Q3", "commit": "450", "best_case": "600"}
    assert (await client.post("/v1/forecasts", json=body, headers=auth("lead1"))).status_code == 201
    whole = await _get(client, auth, "/v1/forecast", "lead1", node="east-1", period="2026-Q3")
    assert whole["submitted"]["commit"] == "450"
    # The forecast of new customers alone shows none.
    scoped = await _get(client, auth, "/v1/forecast", "lead1", node="east-1", period="2026-Q3", scope="segment:new")
    assert scoped["submitted"] is None


async def test_a_refused_change_names_the_opportunity_and_a_duplicate_win_is_documented(client, auth, deals) -> None:
    # rep1 may not move rep2's Hooli: the refusal speaks of changing an opportunity.
    r = await client.post(f"{PATH}/{deals['hooli']['id']}/stage", json={"stage": "proposal"}, headers=auth("rep1"))
    assert r.status_code == 403 and "changing an opportunity for 'rep2'" in r.json()["detail"], r.text
    # The same win again answers 200: the document says so beside the 201.
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    answers = paths["/v1/opportunities/{opportunity_id}/win"]["post"]["responses"]
    assert {"200", "201"} <= set(answers)


async def test_whoever_opened_a_deal_still_lists_it_after_they_stop_managing(client, auth, clock, deals) -> None:
    # On 26 July rep1 takes over east-1 from lead1, who stays a member of it.
    clock.set("2026-07-26")
    body = {"manager": "rep1", "effective": "2026-07-26"}
    r = await client.post("/v1/org/units/east-1/manager", json=body, headers=auth(*ADMIN))
    assert r.status_code in (200, 201), r.text
    # lead1 opened rep2's Hooli: they read it alone, and the list shows it to them, and nothing else of east-1.
    assert (await client.get(f"{PATH}/{deals['hooli']['id']}", headers=auth("lead1"))).status_code == 200
    page = await _get(client, auth, PATH, "lead1", node="east-1")
    assert [o["name"] for o in page["items"]] == ["Hooli"] and page["items"][0]["opened_by"] == "lead1"
