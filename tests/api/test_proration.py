"""A team's target split over its people by the days each was present (issue 15 §4)."""

from decimal import Decimal

import pytest

from tests.api.support import admin_post, build_east

# Who was in team june, and from / until when (the first day no longer a member).
PEOPLE = [("a", "2025-01-01", None), ("b", "2025-01-01", None), ("d", "2026-06-16", None)]


@pytest.fixture
async def june(client, auth, clock) -> None:
    """Team june under east: a and b all of June, d joins on 16 June, e left in May."""
    clock.set("2026-06-01")
    await build_east(client, auth)
    await admin_post(client, auth, "/v1/org/units", {"node": "june", "kind": "team", "name": "June", "parent": "east"})
    for person, since, _ in [*PEOPLE, ("e", "2025-01-01", None)]:
        await admin_post(
            client, auth, "/v1/org/people", {"person": person, "name": person, "unit": "june", "effective": since}
        )
    await admin_post(client, auth, "/v1/org/people/e/leave", {"effective": "2026-05-01"})


async def _split(client, auth, value: str, method: str, expect: int = 201, **more) -> dict:
    r = await client.post(
        "/v1/targets",
        json={"node": "june", "metric": "revenue", "period": "2026-06", "value": value},
        headers=auth("east-boss"),
    )
    assert r.status_code == 201, r.text
    body = {"axis": "org", "method": method, **more}
    r = await client.post(f"/v1/targets/{r.json()['id']}/decomposition", json=body, headers=auth("east-boss"))
    assert r.status_code == expect, r.text
    return {c["node"]: c["value"] for c in r.json()["children"]} if expect == 201 else r.json()


async def test_prorated_split_weighs_each_person_by_days_present(client, auth, june) -> None:
    # The June example: 3,000 over a and b (30 days each) and d (16..30 June, 15 days):
    # 3000 * 30/75, 30/75, 15/75. The split is made on 1 June, before d joins: d still carries a share.
    parts = await _split(client, auth, "3000", "prorated")
    assert parts == {"a": "1200.00", "b": "1200.00", "d": "600.00"}
    # e left on 1 May, before the period: no share, as with an even split.
    assert "e" not in parts


async def test_even_split_stays_the_default_answer(client, auth, june, clock) -> None:
    # An even split counts the members on the day it is made: on 20 June, a, b and d, 1,000 each,
    # as before this method existed.
    clock.set("2026-06-20")
    assert await _split(client, auth, "3000", "even") == {"a": "1000.00", "b": "1000.00", "d": "1000.00"}


async def test_prorated_cents_go_to_the_largest_remainders(client, auth, june) -> None:
    # 1,000.00 over 30 + 30 + 15 days: 400, 400, 200 exactly; 1,000.01 leaves one cent, which goes to
    # the first of the largest remainders (a).
    parts = await _split(client, auth, "1000.01", "prorated")
    assert sum(Decimal(v) for v in parts.values()) == Decimal("1000.01")
    assert parts == {"a": "400.01", "b": "400.00", "d": "200.00"}


async def test_a_mid_period_leaver_carries_the_days_they_were_there(client, auth, june) -> None:
    # b leaves on 21 June (20 days present): 3000 * 30/65, 20/65, 15/65, cents by largest remainder.
    await admin_post(client, auth, "/v1/org/people/b/leave", {"effective": "2026-06-21"})
    parts = await _split(client, auth, "3000", "prorated")
    assert parts == {"a": "1384.61", "b": "923.08", "d": "692.31"}
    assert sum(Decimal(v) for v in parts.values()) == Decimal(3000)


async def test_prorated_is_refused_off_the_org_axis(client, auth, june) -> None:
    r = await client.post(
        "/v1/targets",
        json={"node": "june", "metric": "revenue", "period": "2026-Q3", "value": "9000"},
        headers=auth("east-boss"),
    )
    r = await client.post(
        f"/v1/targets/{r.json()['id']}/decomposition",
        json={"axis": "period", "method": "prorated"},
        headers=auth("east-boss"),
    )
    assert r.status_code == 422, r.text
    assert "method" in r.text


async def test_a_ramp_weighs_a_new_hires_first_months(client, auth, june) -> None:
    # d joined in June: their first month counts 0.6 of a day, so 15 days weigh 9 against a's and
    # b's 30: 3000 * 30/69, 30/69, 9/69; a and b started long ago, past any ramp.
    parts = await _split(client, auth, "3000", "prorated", ramp=["0.6", "0.8"])
    assert parts == {"a": "1304.35", "b": "1304.35", "d": "391.30"}


@pytest.mark.parametrize(("method", "ramp", "field"), [("even", ["0.5"], "ramp"), ("prorated", ["1.5"], "ramp.0")])
async def test_a_ramp_goes_with_prorated_and_holds_fractions(client, auth, june, method, ramp, field) -> None:
    problem = await _split(client, auth, "3000", method, expect=422, ramp=ramp)
    assert field in str(problem), problem
