"""The pull feed: public CloudEvents in order, thresholds announced once, scopes respected."""

import uuid
from datetime import UTC, datetime

import pytest

from projections import public_events
from projections.rebuild import rebuild
from target_ledger.domain.alert import Alert
from target_ledger.eventstore import Metadata
from tests.api.feed_support import INTEGRATION, actual, build_east, east_2_target, events, team_target
from tests.api.support import ask


@pytest.fixture
async def team(client, auth) -> dict:
    await build_east(client, auth)
    return await team_target(client, auth, value="1000", period="2026-Q4")


async def test_meeting_a_target_is_announced_exactly_once(client, auth, team) -> None:
    # rep1's share is 600: 700 meets it; the next 100 meets nothing new.
    await actual(client, auth, "rep1", "700")
    await actual(client, auth, "rep1", "100")
    # rep2's 200 takes the team to 1000: the team target is met.
    last = await actual(client, auth, "rep2", "200")
    feed = await events(client, auth, last, types="attainment.threshold_crossed.v1")
    met = [(e["data"]["node"], e["data"]["actual"]) for e in feed if e["data"]["crossing"] == "target_met"]
    assert met == [("rep1", "700"), ("east-1", "1000")]


async def test_events_are_cloudevents_in_a_stable_order(client, auth, team, pool, store) -> None:
    last = await actual(client, auth, "rep1", "50")
    feed = await events(client, auth, last)
    # Every envelope is CloudEvents 1.0 with the ledger position as an extension.
    assert {e["specversion"] for e in feed} == {"1.0"}
    assert [e["sequence"] for e in feed] == list(range(1, len(feed) + 1))
    assert [e["type"] for e in feed[:3]] == ["target.set.v1"] * 3
    updated = [e for e in feed if e["type"] == "attainment.updated.v1"]
    assert {e["data"]["node"] for e in updated} == {"rep1", "east-1"}
    assert all(e["ledgerposition"] == last for e in updated)
    # More actuals, one by one: a rebuild reads them as one run, and must say the same.
    for person, value in [("rep1", "600"), ("rep2", "100"), ("rep2", "400")]:
        last = await actual(client, auth, person, value)
    feed = await events(client, auth, last)
    # Rebuilt from the first event, the projection makes the very same events.
    async with pool.acquire() as conn:
        await rebuild(conn, store, public_events)
    assert await events(client, auth, last) == feed


async def test_a_scoped_token_never_sees_another_nodes_events(client, auth, team) -> None:
    await east_2_target(client, auth)
    await actual(client, auth, "rep1", "10")
    last = await actual(client, auth, "rep3", "10")
    # A token scoped to east-2 sees only east-2's events, whatever node it asks for.
    scoped = ("bi", "integration", "east-2")
    seen = await events(client, auth, last, who=scoped)
    assert [(e["type"], e["data"]["node"]) for e in seen] == [
        ("target.set.v1", "east-2"),
        ("attainment.updated.v1", "east-2"),
    ]
    assert await events(client, auth, last, who=scoped, node="east-1") == []
    everything = await events(client, auth, last)
    assert {e["data"]["node"] for e in everything} >= {"rep1", "east-1", "east-2"}


async def test_only_systems_and_auditors_read_the_feed(client, auth, team) -> None:
    assert (await client.get("/v1/feed", headers=auth("rep1"))).status_code == 403
    assert (await client.get("/v1/feed", headers=auth("audit", "auditor"))).status_code == 200
    r = await client.get("/v1/feed", params={"types": "target.deleted.v1"}, headers=auth(*INTEGRATION))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "types"
    schemas = (await client.get("/v1/feed/schemas", headers=auth(*INTEGRATION))).json()
    assert len(schemas) == 15 and schemas["period.closed.v1"]["title"] == "period.closed.v1"


async def test_adjustments_actions_and_closes_reach_the_feed(client, auth, team) -> None:
    # The team lead asks for 5 % less; the regional manager approves.
    asked = await ask(client, auth, team["id"], new_value="950")
    r = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    # An action is opened on rep1's share and completed.
    rep1 = next(c for c in team["children"] if c["node"] == "rep1")
    body = {
        "target_id": rep1["target_id"],
        "causes": [{"kind": "objective", "factor": "market", "description": "a slow autumn"}],
        "plan": "two visits a week",
        "owner": "rep1",
        "due": "2026-12-31",
    }
    action = (await client.post("/v1/corrective-actions", json=body, headers=auth("lead1"))).json()
    done = await client.post(
        f"/v1/corrective-actions/{action['id']}/completion", json={"outcome": "ok"}, headers=auth("rep1")
    )
    assert done.status_code == 200, done.text
    # The region's quarter is closed.
    closed = await client.post("/v1/periods/2026-Q4/close", json={"node": "east"}, headers=auth("ceo"))
    assert closed.status_code == 200, closed.text
    feed = await events(client, auth, closed.json()["position"])
    kinds = [e["type"] for e in feed if not e["type"].startswith(("target.set", "attainment."))]
    assert kinds == [
        "adjustment.requested.v1",
        "adjustment.decided.v1",
        "target.adjusted.v1",
        "target.adjusted.v1",
        "target.adjusted.v1",
        "corrective_action.opened.v1",
        "corrective_action.completed.v1",
        "period.closed.v1",
    ]
    decided = next(e for e in feed if e["type"] == "adjustment.decided.v1")["data"]
    assert (decided["decision"], decided["decided_by"], decided["node"]) == ("approved", "east-boss", "east-1")
    assert feed[-1]["subject"] == "2026-Q4/east" and feed[-1]["data"]["closed_by"] == "ceo"


async def test_an_alert_raised_resolved_and_raised_again_is_announced_each_time(client, auth, team, store) -> None:
    # The scheduler raises an alert on rep1's share, resolves it, and raises it again.
    rep1 = next(c for c in team["children"] if c["node"] == "rep1")
    at = datetime(2026, 10, 20, 9, tzinfo=UTC)
    alert = Alert.raise_(
        rule="pace",
        subject=rep1["target_id"],
        target_id=uuid.UUID(rep1["target_id"]),
        node="rep1",
        message="pace below 80 %",
        assignee="lead1",
        at=at,
    )
    alert.resolve(value=None, message="back on pace", at=at)
    alert.recur(value=None, message="pace below 80 % again", assignee="lead1", at=at)
    last = (await store.append(alert.collect_events(), Metadata(actor="scheduler"))).last
    feed = await events(client, auth, last, types="alert.raised.v1,alert.resolved.v1")
    assert [(e["type"], e["data"].get("occurrence"), e["data"]["node"]) for e in feed] == [
        ("alert.raised.v1", 1, "rep1"),
        ("alert.resolved.v1", None, "rep1"),
        ("alert.raised.v1", 2, "rep1"),
    ]
    assert len({e["id"] for e in feed}) == 3 and feed[1]["data"]["rule"] == "pace"
