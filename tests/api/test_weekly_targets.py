"""A week inside a month target reads its planned share, and the alert judges the same figure (issue 15 §3)."""

from datetime import UTC, datetime

import pytest

from tests.api.monitoring_support import alerts, head, judge_on, record, set_target
from tests.api.support import ADMIN, build_east

# rep1's November 2026 target is 400,000 over 30 days; W48 runs Monday 23 to Sunday 29 November,
# so its planned share is 400,000 * 7/30 = 93,333.33..., shown rounded up to the cent.


@pytest.fixture
async def november(client, auth, clock) -> dict:
    clock.set("2026-11-01")
    await build_east(client, auth)
    return await set_target(client, auth, "rep1", "2026-11", "400000")


async def _read(client, auth, period: str, **query) -> dict:
    params = {"node": "rep1", "metric": "revenue", "period": period, "min_position": await head(client), **query}
    r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_week_of_a_month_target_reads_its_planned_share(client, auth, clock, november) -> None:
    # The documents' rule in weekly figures: 56,000 in W48 against its weekly target is 60 %.
    await record(client, auth, "rep1", "2026-11-24", "56000", "w48")
    clock.set("2026-11-26")  # Thursday: four of the week's seven days have begun
    row = (await _read(client, auth, "2026-W48"))["row"]
    assert (row["target"], row["target_source"], row["target_id"]) == ("93333.34", "derived_share", None)
    # Expected by Thursday: 400,000 * 4/30 = 53,333.33..., up; pace 56,000 / that = 105 %.
    assert (row["expected"], row["pace_pct"], row["status"]) == ("53333.34", "105.00", "on_track")
    # Attainment and gap against the exact share: 60 %, and 37,333.33... rounded up.
    assert (row["attainment_pct"], row["gap"]) == ("60.00", "37333.34")
    # The month itself still answers its own target, labelled as set.
    month = (await _read(client, auth, "2026-11"))["row"]
    assert (month["target"], month["target_source"]) == ("400000", "set")


async def test_the_alert_speaks_of_the_same_weekly_target_as_the_read(client, auth, clock, november) -> None:
    await record(client, auth, "rep1", "2026-11-24", "56000", "w48")
    # Monday 30 November judges W48, the last week ended: a gap of 40 % of its weekly target.
    await judge_on(client, clock, "2026-11-30")
    [gap] = await alerts(client, auth, "week_gap")
    row = (await _read(client, auth, "2026-W48"))["row"]
    assert gap["value"] == "40.00"
    assert f"gap {row['gap']} is 40.00 % of its weekly target of {row['target']};" in gap["message"]
    # Weekly completion (W47 nothing, W48 60 %) quotes the same week's attainment and target.
    [completion] = await alerts(client, auth, "weekly_completion")
    assert completion["value"] == row["attainment_pct"] == "60.00"
    assert f"weekly target of {row['target']})" in completion["message"]


async def test_a_straddling_week_takes_each_months_share_of_its_days(client, auth, clock, november) -> None:
    # December: 310,000 over 31 days. W49 runs 30 November to 6 December: one November day
    # (13,333.33...) and six December days (60,000): 73,333.33..., up to the cent.
    await set_target(client, auth, "rep1", "2026-12", "310000")
    await record(client, auth, "rep1", "2026-11-30", "30000", "nov")
    await record(client, auth, "rep1", "2026-12-02", "14000", "dec")
    await judge_on(client, clock, "2026-12-07")
    row = (await _read(client, auth, "2026-W49"))["row"]
    assert (row["target"], row["target_source"], row["attainment_pct"]) == ("73333.34", "derived_share", "60.00")
    # The alert judges the whole week against the same share (not only its December days,
    # which would be 14,000 of 60,000).
    [gap] = await alerts(client, auth, "week_gap")
    assert gap["value"] == "40.00" and f"weekly target of {row['target']};" in gap["message"]


async def test_the_month_by_week_shows_each_weeks_share(client, auth, clock, november) -> None:
    clock.set("2026-11-15")
    body = await _read(client, auth, "2026-11", breakdown="time")
    shares = {r["period"]: (r["target"], r["target_source"]) for r in body["breakdown"]}
    # W44 (26 Oct..1 Nov) and W49 (30 Nov..6 Dec) have days no target plans: no target.
    assert shares["2026-W44"] == (None, None) and shares["2026-W49"] == (None, None)
    # A whole week of November: 7/30 of it; the weeks inside lie inside the month only.
    assert {shares[w] for w in ("2026-W45", "2026-W46", "2026-W47", "2026-W48")} == {("93333.34", "derived_share")}


async def test_a_month_inside_a_quarter_without_month_targets(client, auth, clock) -> None:
    clock.set("2026-10-01")
    await build_east(client, auth)
    before = datetime.now(UTC).isoformat()  # as_of reads by when the events were recorded
    # Q4 920,000 over 92 days is 10,000 a day: November's share is 300,000 exactly.
    await set_target(client, auth, "rep1", "2026-Q4", "920000")
    row = (await _read(client, auth, "2026-11"))["row"]
    assert (row["target"], row["target_source"]) == ("300000.00", "derived_share")
    # As the ledger knew it before the quarter's target was set: no share to derive.
    row = (await _read(client, auth, "2026-11", as_of=before))["row"]
    assert row["target"] is None
    now = datetime.now(UTC).isoformat()
    row = (await _read(client, auth, "2026-11", as_of=now))["row"]
    assert (row["target"], row["target_source"]) == ("300000.00", "derived_share")


async def test_a_day_of_a_month_target_reads_its_planned_share(client, auth, clock, november) -> None:
    # A rep's day: 400,000 / 30 = 13,333.33... for 24 November; 10,000 sold that day is 75 %.
    await record(client, auth, "rep1", "2026-11-24", "10000", "d24")
    await record(client, auth, "rep1", "2026-11-25", "99999", "d25")  # another day: not counted
    clock.set("2026-11-30")
    row = (await _read(client, auth, "2026-11-24"))["row"]
    assert (row["period"], row["target"], row["target_source"]) == ("2026-11-24", "13333.34", "derived_share")
    assert (row["actual"], row["attainment_pct"]) == ("10000", "75.00")
    # A day is read, never planned: no target may be set on one, and a day has no time parts.
    refused = await client.post(
        "/v1/targets",
        json={"node": "rep1", "metric": "revenue", "period": "2026-11-24", "value": "1", "rationale": "a day"},
        headers=auth(*ADMIN),
    )
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["period"], refused.text
    for period, field in (("2026-02-30", "period"), ("2026-11-24", "breakdown")):
        params = {"node": "rep1", "metric": "revenue", "period": period, "breakdown": "time"}
        r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == [field], r.text
