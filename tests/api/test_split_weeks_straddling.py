"""A week made by splitting a month plans that month's days only; read whole, its other days take
their derived share, so the plan covers every day the actual counts (issue 15, section 3).

The documents state the warning rule in weekly figures ("week 2: 80,000 against a weekly target
of 133,300 = 60 %"): a week's target must plan the same days as its actual."""

from decimal import Decimal

import pytest

from tests.api.monitoring_support import alerts, head, judge_on, record, set_target
from tests.api.support import ADMIN, build_east


@pytest.fixture
async def months(client, auth, clock) -> dict:
    """rep1: November 400,000 (30 days), December 310,000 (31 days); November split into weeks."""
    clock.set("2026-11-01")
    await build_east(client, auth)
    november = await set_target(client, auth, "rep1", "2026-11", "400000")
    await set_target(client, auth, "rep1", "2026-12", "310000")
    split = {"axis": "period", "method": "even", "into": "week"}
    r = await client.post(f"/v1/targets/{november['id']}/decomposition", json=split, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    return {c["period"]: c for c in r.json()["children"]}


async def _read(client, auth, period: str) -> dict:
    params = {"node": "rep1", "metric": "revenue", "period": period, "min_position": await head(client)}
    r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()["row"]


async def test_a_split_week_straddling_the_month_end_reads_its_other_days_derived(client, auth, clock, months) -> None:
    # W49 (30 Nov to 6 Dec) holds November's one day: 400,000 / 30 = 13,333.33 (by the split's
    # rounding). Its six December days are 6/31 of 310,000 = 60,000: the week plans 73,333.33.
    w49 = Decimal(months["2026-W49"]["value"])
    assert abs(w49 - Decimal("13333.33")) <= Decimal("0.01")
    await record(client, auth, "rep1", "2026-11-30", "30000", "nov")
    await record(client, auth, "rep1", "2026-12-02", "14000", "dec")
    await judge_on(client, clock, "2026-12-07")
    row = await _read(client, auth, "2026-W49")
    assert (Decimal(row["target"]), row["target_source"]) == (w49 + 60000, "set_and_derived_share")
    assert row["target_id"] == months["2026-W49"]["target_id"]
    # The alert judges the same figure: 44,000 of about 73,333 is 60 %, not 330 % of 13,333.
    [gap] = await alerts(client, auth, "week_gap")
    assert f"weekly target of {row['target']};" in gap["message"]
    # A week inside November is its set target, as before.
    inside = await _read(client, auth, "2026-W47")
    assert (inside["target"], inside["target_source"]) == (months["2026-W47"]["value"], "set")


async def test_splitting_the_next_month_into_weeks_collides_on_the_straddling_week(client, auth, months) -> None:
    # December's split would make W49 again, a target already (November's part): a 409 naming it.
    listed = {"node": "rep1", "period": "2026-12", "min_position": await head(client)}  # the split just written
    december = await client.get("/v1/targets", params=listed, headers=auth(*ADMIN))
    [target] = [t for t in december.json()["items"] if t["period"] == "2026-12"]
    split = {"axis": "period", "method": "even", "into": "week"}
    r = await client.post(f"/v1/targets/{target['id']}/decomposition", json=split, headers=auth(*ADMIN))
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "parts", r.text
    assert "2026-W49" in r.text
