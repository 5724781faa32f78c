"""Ratio metrics in the feed: an actual of a ratio's numerator or denominator updates every
ratio target it counts for, and a rebuild announces the same."""

import pytest

from projections import public_events
from projections.rebuild import rebuild
from tests.api.feed_support import ADMIN, INTEGRATION, build_east, events

# October 2026 is over: the feed judges a rate on its own, whatever the day it was recorded.
PERIOD, DAY = "2026-10", "2026-10-15"


@pytest.fixture
async def east(client, auth) -> None:
    await build_east(client, auth)


async def _target(client, auth, node: str, metric: str, value: str) -> str:
    body = {"node": node, "metric": metric, "period": PERIOD, "value": value}
    r = await client.post("/v1/targets", json=body, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _actual(client, auth, person: str, metric: str, value: str) -> int:
    body = {"person": person, "metric": metric, "date": DAY, "value": value}
    r = await client.post("/v1/actuals", json=body, headers=auth(*INTEGRATION))
    assert r.status_code == 201, r.text
    return r.json()["position"]


def _about(feed: list[dict], target_id: str, kind: str) -> list[dict]:
    return [e["data"] for e in feed if e["type"] == kind and e["data"]["target_id"] == target_id]


async def test_ratio_target_gets_attainment_events(client, auth, pool, store, east) -> None:
    # rep1 and their team each aim at converting a quarter of their proposals.
    rep1 = await _target(client, auth, "rep1", "conversion_rate", "0.25")
    team = await _target(client, auth, "east-1", "conversion_rate", "0.25")
    # 10 proposals, then 2 wins (20 %), then a third win (30 %: the target is met).
    await _actual(client, auth, "rep1", "proposals", "10")
    await _actual(client, auth, "rep1", "wins", "2")
    last = await _actual(client, auth, "rep1", "wins", "1")
    feed = await events(client, auth, last)
    # Every actual of either part updates both targets it counts for, with the rate so far.
    for target_id in (rep1, team):
        updates = _about(feed, target_id, "attainment.updated.v1")
        assert [(u["actual"], u["attainment_pct"], u["gap"]) for u in updates] == [
            ("0.0000", "0.00", "0.2500"),
            ("0.2000", "80.00", "0.0500"),
            ("0.3000", "120.00", "-0.0500"),
        ]
        assert [u["status"] for u in updates] == ["behind", "at_risk", "ahead"]
        crossed = _about(feed, target_id, "attainment.threshold_crossed.v1")
        assert [(c["crossing"], c["actual"]) for c in crossed if c["crossing"] == "target_met"] == [
            ("target_met", "0.3000")
        ]
    # Rebuilt from the first event, the projection makes the very same events.
    async with pool.acquire() as conn:
        await rebuild(conn, store, public_events)
    assert await events(client, auth, last) == feed


async def test_a_ratio_target_set_after_its_actuals_starts_from_them(client, auth, east) -> None:
    await _actual(client, auth, "rep1", "proposals", "4")
    await _actual(client, auth, "rep1", "wins", "1")
    target = await _target(client, auth, "rep1", "conversion_rate", "0.5")
    last = await _actual(client, auth, "rep1", "proposals", "1")
    updates = _about(await events(client, auth, last), target, "attainment.updated.v1")
    # Set at 1 win of 4 proposals (half its 50 %), then 1 of 5: 40 %.
    assert [(u["actual"], u["attainment_pct"]) for u in updates] == [("0.2500", "50.00"), ("0.2000", "40.00")]


async def test_a_user_defined_ratio_gets_attainment_events_and_its_parts_keep_theirs(client, auth, east) -> None:
    body = {"name": "order_value", "unit": "ratio", "rollup": "ratio", "numerator": "revenue", "denominator": "orders"}
    r = await client.post("/v1/metrics", json=body, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    ratio = await _target(client, auth, "rep1", "order_value", "300")
    revenue = await _target(client, auth, "rep1", "revenue", "1000")
    await _actual(client, auth, "rep1", "orders", "3")
    last = await _actual(client, auth, "rep1", "revenue", "1000")
    feed = await events(client, auth, last)
    # 1,000 of revenue over 3 orders is 333.3333…: shown 333.3333, met.
    assert [u["actual"] for u in _about(feed, ratio, "attainment.updated.v1")] == ["0.0000", "333.3333"]
    assert [c["crossing"] for c in _about(feed, ratio, "attainment.threshold_crossed.v1")][:1] == ["target_met"]
    # The revenue target itself counts the revenue as before.
    assert [u["actual"] for u in _about(feed, revenue, "attainment.updated.v1")] == ["1000"]


async def test_a_reversed_part_takes_the_rate_back(client, auth, east) -> None:
    target = await _target(client, auth, "rep1", "conversion_rate", "0.25")
    await _actual(client, auth, "rep1", "proposals", "10")
    body = {"person": "rep1", "metric": "wins", "date": DAY, "value": "3"}
    r = await client.post("/v1/actuals", json=body, headers=auth(*INTEGRATION))
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/actuals/{r.json()['id']}/reversal", json={"reason": "typo"}, headers=auth(*ADMIN))
    assert r.status_code in (200, 201), r.text
    updates = _about(await events(client, auth, r.json()["position"]), target, "attainment.updated.v1")
    assert [u["actual"] for u in updates] == ["0.0000", "0.3000", "0.0000"]
