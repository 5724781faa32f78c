"""Payouts and closes: a node already closed (by itself or a unit above) is never finalised twice."""

from tests.api.feed_support import events
from tests.api.incentive_support import approved_plan, paid_by_person
from tests.api.monitoring_support import record
from tests.api.support import ADMIN

CLOSE, REOPEN = "/v1/periods/2026-Q3/close", "/v1/periods/2026-Q3/reopen"


async def _finalised(client, auth, position: int) -> list[tuple[str, str]]:
    found = await events(client, auth, position, types="incentive.finalised.v1")
    return sorted((e["data"]["person"], e["data"]["amount"]) for e in found)


async def test_a_close_under_a_close_in_force_is_a_409_and_finalises_nothing_again(client, auth, clock) -> None:
    clock.set("2026-06-30")
    await approved_plan(client, auth)
    clock.set("2026-09-20")
    await record(client, auth, "rep1", "2026-08-01", "510", "r1")
    await record(client, auth, "rep2", "2026-08-02", "480", "r2")
    # The quarter closes for the whole company: east-1's payouts are final, once each.
    clock.set("2026-10-02")
    r = await client.post(CLOSE, json={"node": "acme"}, headers=auth("ceo"))
    assert r.status_code == 200, r.text
    assert await _finalised(client, auth, r.json()["position"]) == [("rep1", "1000.00"), ("rep2", "1400.00")]
    # Closing east under acme's close is a 409 naming acme, and no payout is finalised again.
    r = await client.post(CLOSE, json={"node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 409 and "'acme'" in r.json()["detail"], r.text
    # Closing acme again too.
    assert (await client.post(CLOSE, json={"node": "acme"}, headers=auth("ceo"))).status_code == 409
    paid = await paid_by_person(client, auth, "east-boss", "east")
    assert {p["status"] for p in paid.values()} == {"final"}
    assert len(await _finalised(client, auth, 0)) == 2


async def test_a_company_close_over_a_closed_region_leaves_the_regions_payouts_as_its_close_froze_them(
    client, auth, clock
) -> None:
    clock.set("2026-06-30")
    await approved_plan(client, auth)
    clock.set("2026-09-20")
    await record(client, auth, "rep1", "2026-08-01", "510", "r1")
    # East closes first: its payouts are finalised by that close.
    clock.set("2026-10-02")
    r = await client.post(CLOSE, json={"node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    # Then the company closes: east-1's plan is under east's close in force, so nothing new.
    r = await client.post(CLOSE, json={"node": "acme"}, headers=auth("ceo"))
    assert r.status_code == 200, r.text
    assert len(await _finalised(client, auth, r.json()["position"])) == 2
    # The company reopens: east is still closed by its own close, so its payouts stay final.
    assert (await client.post(REOPEN, json={"node": "acme", "reason": "late"}, headers=auth("ceo"))).status_code == 200
    r = await client.post(f"{REOPEN}/approval", json={"node": "acme"}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    paid = await paid_by_person(client, auth, "east-boss", "east", r.json()["position"])
    assert {p["status"] for p in paid.values()} == {"final"}


async def test_a_close_before_the_period_ends_pays_on_every_actual_dated_in_it_as_its_review_shows(
    client, auth, clock
) -> None:
    clock.set("2026-06-30")
    await approved_plan(client, auth)
    # rep1 sells 510 of 600 by 2026-09-20, and a deal of 90 is recorded ahead, dated 2026-09-30.
    clock.set("2026-09-20")
    await record(client, auth, "rep1", "2026-08-01", "510", "r1")
    await record(client, auth, "rep1", "2026-09-30", "90", "r1-ahead")
    # East closes the quarter on 2026-09-20: the period is frozen, so its final payout counts both.
    r = await client.post(CLOSE, json={"node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    paid = await paid_by_person(client, auth, "east-boss", "east", r.json()["position"])
    # 600 of 600: tier 2, 1500.00 capped at 1400.00 (not 85 %'s 1000.00).
    assert (paid["rep1"]["status"], paid["rep1"]["actual"], paid["rep1"]["amount"]) == ("final", "600", "1400.00")
    # The closed quarter's review shows the same actual.
    r = await client.get("/v1/reviews/2026-Q3", params={"node": "east-1"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    assert [row["actual"] for row in r.json()["rows"] if row["node"] == "rep1"] == ["600"]
