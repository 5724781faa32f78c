"""A team's month against a year of daily actuals: attainment, pace, rollups, corrections."""

import asyncio
import csv
import json
import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from click.testing import CliRunner

from projections import attainment as attainment_model
from projections.rebuild import rebuild
from projections.runner import tracked
from target_ledger.cli import main

ADMIN = ("root", "admin")
TEAM = ["a1", "a2", "a3", "a4"]
YEAR = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]


def daily(person: str, day: date) -> Decimal:
    """The generated file's figure for a person and day."""
    return Decimal(10 * (TEAM.index(person) + 1) + day.day % 3)


@pytest.fixture
async def ledger(client, auth, tmp_path, db_url, settings):
    """acme → team-a (lead, a1..a4), team-b (b1); July targets; a year of daily actuals imported."""
    admin = auth(*ADMIN)

    async def post(path: str, body: dict) -> dict:
        r = await client.post(path, json=body, headers=admin)
        assert r.status_code in (200, 201), r.text
        return r.json()

    await post("/v1/org/units", {"node": "acme", "kind": "company", "name": "Acme"})
    for team in ("team-a", "team-b"):
        await post("/v1/org/units", {"node": team, "kind": "team", "name": team, "parent": "acme"})
    await post("/v1/org/people", {"person": "lead", "name": "Lead", "unit": "acme", "effective": "2025-01-01"})
    await post("/v1/org/units/team-a/manager", {"manager": "lead", "effective": "2025-01-01"})
    for person in TEAM:
        await post("/v1/org/people", {"person": person, "name": person, "unit": "team-a", "effective": "2025-01-01"})
    await post("/v1/org/people", {"person": "b1", "name": "b1", "unit": "team-b", "effective": "2025-01-01"})
    # The team's July revenue target, split evenly over its four people.
    team = await post("/v1/targets", {"node": "team-a", "metric": "revenue", "period": "2026-07", "value": "4000"})
    await post(f"/v1/targets/{team['id']}/decomposition", {"axis": "org", "method": "even"})
    # A year of daily actuals for the four, from a generated CSV file, imported by the CLI.
    path = tmp_path / "actuals-2026.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["person", "metric", "date", "value", "external_ref"])
        for day in YEAR:
            for person in TEAM:
                writer.writerow([person, "revenue", day.isoformat(), daily(person, day), f"{person}-{day}"])
    summary = await _import(path, db_url, settings)
    assert "stored 1460, duplicates 0, rejected 0" in summary
    return {"team": team, "file": path}


async def _import(path, db_url, settings, exit_code: int = 0) -> str:
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["import", "actuals", str(path)], env=env)
    assert result.exit_code == exit_code, result.output
    return result.output


async def _head(pool) -> int:
    return await pool.fetchval("SELECT max(position) FROM events")


async def _attainment(client, auth, pool, who=ADMIN, **params) -> dict:
    params = {"metric": "revenue", "period": "2026-07", "min_position": await _head(pool), **params}
    r = await client.get("/v1/attainment", params=params, headers=auth(*who))
    assert r.status_code == 200, r.text
    return r.json()


def _cents(exact: Fraction, *, up: bool = False) -> Decimal:
    """By hand: to the cent, down (or up where a higher figure is worse news, as the plan to date)."""
    return Decimal(math.ceil(exact * 100) if up else math.floor(exact * 100)) / 100


def _to_date(person: str, until: date) -> Decimal:
    return sum((daily(person, d) for d in YEAR if date(2026, 7, 1) <= d <= until), Decimal(0))


@pytest.mark.parametrize("today", [date(2026, 7, 10), date(2026, 7, 20), date(2026, 7, 31)])
async def test_attainment_pace_and_projection_match_a_hand_computed_table(
    client, auth, pool, clock, ledger, today
) -> None:
    clock.set(today.isoformat())
    row = (await _attainment(client, auth, pool, node="a2"))["row"]
    # a2 makes 20 a day plus day-of-month mod 3; the target is 1000 for July's 31 days.
    actual = _to_date("a2", today)
    elapsed = today.day
    expected = Fraction(1000) * elapsed / 31
    pace = Fraction(actual) / expected * 100
    assert Decimal(row["actual"]) == actual
    assert Decimal(row["gap"]) == 1000 - actual
    # Shown without flattering: percentages and the projection down, the plan to date up.
    assert Decimal(row["attainment_pct"]) == _cents(Fraction(actual) / 10)
    assert Decimal(row["expected"]) == _cents(expected, up=True)
    assert Decimal(row["pace_pct"]) == _cents(pace)
    assert Decimal(row["projected"]) == _cents(Fraction(actual) * 31 / elapsed)
    assert row["status"] == (
        "ahead" if actual >= 1000 else "on_track" if pace >= 100 else "at_risk" if pace >= 80 else "behind"
    )


async def test_chosen_days_by_hand(client, auth, pool, clock, ledger) -> None:
    # On 10 July a1 has 10 a day plus 1,2,0,1,2,0,1,2,0,1 = 110 of an expected 322.5806…
    # (shown rounded up, as a bar not yet reached): behind.
    clock.set("2026-07-10")
    row = (await _attainment(client, auth, pool, node="a1"))["row"]
    assert (row["actual"], row["expected"], row["pace_pct"], row["status"]) == ("110", "322.59", "34.10", "behind")
    assert row["projected"] == "341.00"
    # On 31 July a4 has 40 a day plus the remainders: 1240 + 31 = 1271, the target is met.
    clock.set("2026-07-31")
    row = (await _attainment(client, auth, pool, node="a4"))["row"]
    assert (row["actual"], row["attainment_pct"], row["gap"], row["status"]) == ("1271", "127.10", "-271.00", "ahead")


async def test_the_team_row_is_the_sum_of_its_people(client, auth, pool, clock, ledger) -> None:
    clock.set("2026-07-20")
    body = await _attainment(client, auth, pool, node="team-a", breakdown="children")
    people = {r["node"]: Decimal(r["actual"]) for r in body["breakdown"]}
    assert set(people) == set(TEAM)
    assert Decimal(body["row"]["actual"]) == sum(people.values()) == sum(_to_date(p, date(2026, 7, 20)) for p in TEAM)
    assert body["row"]["target"] == "4000"
    # Broken down by time, the days before today are in their weeks.
    weeks = await _attainment(client, auth, pool, node="team-a", breakdown="time")
    assert sum(Decimal(r["actual"]) for r in weeks["breakdown"]) >= Decimal(body["row"]["actual"])


async def test_a_person_moved_mid_month_counts_where_they_were_each_day(client, auth, pool, clock, ledger) -> None:
    # a4 moves to team-b from 16 July.
    r = await client.post(
        "/v1/org/people/a4/move", json={"to_unit": "team-b", "effective": "2026-07-16"}, headers=auth(*ADMIN)
    )
    assert r.status_code == 200, r.text
    clock.set("2026-07-31")
    team_a = Decimal((await _attainment(client, auth, pool, node="team-a"))["row"]["actual"])
    team_b = Decimal((await _attainment(client, auth, pool, node="team-b"))["row"]["actual"])
    a4_before = _to_date("a4", date(2026, 7, 15))
    a4_all = _to_date("a4", date(2026, 7, 31))
    assert team_a == sum(_to_date(p, date(2026, 7, 31)) for p in TEAM[:3]) + a4_before
    assert team_b == a4_all - a4_before
    # The company counts all of it once.
    acme = Decimal((await _attainment(client, auth, pool, node="acme"))["row"]["actual"])
    assert acme == team_a + team_b


async def test_reimporting_the_file_adds_nothing(client, auth, pool, clock, ledger, db_url, settings) -> None:
    clock.set("2026-07-31")
    before = await _attainment(client, auth, pool, node="team-a")
    assert "stored 0, duplicates 1460, rejected 0" in await _import(ledger["file"], db_url, settings)
    assert await _attainment(client, auth, pool, node="team-a") == before


async def test_a_reversal_changes_attainment_back(client, auth, pool, clock, ledger) -> None:
    clock.set("2026-07-31")
    before = (await _attainment(client, auth, pool, node="team-a"))["row"]["actual"]
    # a1 records a deal twice by mistake, then reverses one.
    deal = {"person": "a1", "metric": "revenue", "date": "2026-07-05", "value": "500", "source": "manual"}
    first = await client.post("/v1/actuals", json={**deal, "external_ref": "d-1"}, headers=auth("a1"))
    wrong = await client.post("/v1/actuals", json={**deal, "external_ref": "d-2"}, headers=auth("a1"))
    doubled = (await _attainment(client, auth, pool, node="team-a"))["row"]["actual"]
    assert Decimal(doubled) == Decimal(before) + 1000
    r = await client.post(
        f"/v1/actuals/{wrong.json()['id']}/reversal", json={"reason": "entered twice"}, headers=auth("a1")
    )
    assert r.status_code == 201, r.text
    after = (await _attainment(client, auth, pool, node="team-a"))["row"]["actual"]
    assert Decimal(after) == Decimal(before) + 500 and first.status_code == 201
    # Reversing twice is a conflict; the original stays in the log.
    again = await client.post(
        f"/v1/actuals/{wrong.json()['id']}/reversal", json={"reason": "again"}, headers=auth("a1")
    )
    assert again.status_code == 409
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", wrong.json()["id"]) == 2


async def test_a_batch_with_bad_items_stores_nothing_and_lists_them(client, auth, pool, ledger) -> None:
    before = await pool.fetchval("SELECT count(*) FROM events")
    items = [
        {"person": "a1", "metric": "revenue", "date": "2026-07-01", "value": "5", "external_ref": "b-0"},
        {"person": "a1", "metric": "happiness", "date": "2026-07-01", "value": "5", "external_ref": "b-1"},
        {"person": "a1", "metric": "revenue", "date": "2026-07-01", "value": "lots", "external_ref": "b-2"},
        {"person": "a1", "metric": "revenue", "date": "2026-07-01", "value": "5", "scope": {"segment": "vip"}},
    ]
    r = await client.post("/v1/actuals/batch", json={"items": items}, headers=auth("crm", "integration"))
    assert r.status_code == 422, r.text
    assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [(1, "metric"), (2, "value"), (3, "scope.segment")]
    assert await pool.fetchval("SELECT count(*) FROM events") == before
    # Without them the batch is stored whole; sent again, every item is a duplicate.
    good = {"items": [items[0]]}
    assert (await client.post("/v1/actuals/batch", json=good, headers=auth("crm", "integration"))).json()["stored"] == 1
    again = (await client.post("/v1/actuals/batch", json=good, headers=auth("crm", "integration"))).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)


async def test_conversion_rate_rolls_up_as_a_ratio(client, auth, pool, clock, ledger) -> None:
    clock.set("2026-07-31")
    await client.post(
        "/v1/targets",
        json={"node": "team-a", "metric": "conversion_rate", "period": "2026-07", "value": "0.2"},
        headers=auth(*ADMIN),
    )
    # a1 wins 1 of 2 proposals (50 %), a2 wins 1 of 10 (10 %).
    items = [
        {"person": p, "metric": m, "date": "2026-07-03", "value": v, "external_ref": f"{p}-{m}"}
        for p, m, v in [("a1", "wins", "1"), ("a1", "proposals", "2"), ("a2", "wins", "1"), ("a2", "proposals", "10")]
    ]
    r = await client.post("/v1/actuals/batch", json={"items": items}, headers=auth("crm", "integration"))
    assert r.status_code == 201, r.text
    row = (await _attainment(client, auth, pool, node="team-a", metric="conversion_rate"))["row"]
    # 2 wins of 12 proposals is 16.666… %, not the 30 % average of the two rates; judged and
    # shown from the exact rate (rounding it first to 0.1667 overstated attainment as 83.35 %).
    assert row["actual"] == "0.1666" and row["target"] == "0.2"
    assert row["attainment_pct"] == "83.33" and row["status"] == "at_risk"


async def test_visibility_follows_the_org(client, auth, pool, clock, ledger) -> None:
    clock.set("2026-07-31")
    # A salesperson sees their team's totals, and only their own row below it.
    body = await _attainment(client, auth, pool, who=("a1",), node="team-a", breakdown="children")
    assert [r["node"] for r in body["breakdown"]] == ["a1"]
    r = await client.get(
        "/v1/attainment", params={"node": "a2", "metric": "revenue", "period": "2026-07"}, headers=auth("a1")
    )
    assert r.status_code == 403
    # The team's manager sees everyone in it; an auditor sees everything.
    body = await _attainment(client, auth, pool, who=("lead",), node="team-a", breakdown="children")
    assert sorted(r["node"] for r in body["breakdown"]) == TEAM
    assert (await _attainment(client, auth, pool, who=("eve", "auditor"), node="b1"))["row"]["node"] == "b1"


async def test_the_leaderboard_ranks_people_by_attainment(client, auth, pool, clock, ledger) -> None:
    clock.set("2026-07-31")
    r = await client.get(
        "/v1/attainment/leaderboard",
        params={"unit": "team-a", "metric": "revenue", "period": "2026-07", "min_position": await _head(pool)},
        headers=auth("lead"),
    )
    assert r.status_code == 200, r.text
    assert [row["node"] for row in r.json()["rows"]] == ["a4", "a3", "a2", "a1"]


async def test_rebuilding_the_read_model_from_zero_gives_identical_rows(
    client, auth, pool, store, clock, ledger
) -> None:
    clock.set("2026-07-25")
    await client.post(
        "/v1/org/people/a4/move", json={"to_unit": "team-b", "effective": "2026-07-16"}, headers=auth(*ADMIN)
    )
    queries = [{"node": "team-a", "breakdown": "children"}, {"node": "acme", "breakdown": "time"}, {"node": "team-b"}]
    before = [await _attainment(client, auth, pool, **q) for q in queries]
    # Rebuild the read model from the first event beside the live one, and swap it in.
    async with pool.acquire() as conn:
        await rebuild(conn, store, attainment_model)
    assert (await tracked(pool, attainment_model.NAME)).position == await _head(pool)
    after = [await _attainment(client, auth, pool, **q) for q in queries]
    assert after == before


async def test_an_import_rejects_bad_rows_with_reasons_and_takes_json_lines(
    client, auth, pool, ledger, tmp_path, db_url, settings
) -> None:
    # A JSON Lines file: two good rows, one unknown metric, one broken line, one bad date.
    path = tmp_path / "crm-export.jsonl"
    path.write_text(
        '{"person": "b1", "metric": "revenue", "date": "2026-07-02", "value": "70", "scope": {"segment": "new"}}\n'
        '{"person": "b1", "metric": "orders", "date": "2026-07-02", "value": "3"}\n'
        '{"person": "b1", "metric": "happiness", "date": "2026-07-02", "value": "3"}\n'
        "{not json\n"
        '{"person": "b1", "metric": "revenue", "date": "2026-02-30", "value": "1"}\n'
    )
    output = await _import(path, db_url, settings, exit_code=1)
    assert "stored 2, duplicates 0, rejected 3" in output
    # Each rejected line as it was, with its error (a broken line quoted in it).
    rejects = [json.loads(line) for line in (tmp_path / "crm-export.jsonl.rejects.jsonl").read_text().splitlines()]
    assert sorted(r["error"].split(": ")[:2] for r in rejects) == [
        ["line 3", "metric"],
        ["line 4", "not JSON"],
        ["line 5", "date"],
    ]
    # Run again after an "interruption": nothing new.
    assert "stored 0, duplicates 2, rejected 3" in await _import(path, db_url, settings, exit_code=1)


async def test_managers_record_for_their_subtree_only(client, auth, ledger) -> None:
    actual = {"person": "a1", "metric": "calls", "date": "2026-07-02", "value": "4"}
    assert (await client.post("/v1/actuals", json=actual, headers=auth("lead"))).status_code == 201
    assert (await client.post("/v1/actuals", json=actual, headers=auth("a2"))).status_code == 403
    assert (await client.post("/v1/actuals", json={**actual, "person": "b1"}, headers=auth("lead"))).status_code == 403


async def test_a_breakdown_by_dimension_splits_the_actuals_by_scope(client, auth, pool, clock, ledger) -> None:
    clock.set("2026-07-31")
    items = [
        {"person": "b1", "metric": "revenue", "date": "2026-07-02", "value": v, "scope": {"segment": s}}
        for s, v in [("new", "30"), ("existing", "50"), ("new", "20")]
    ]
    r = await client.post("/v1/actuals/batch", json={"items": items}, headers=auth("crm", "integration"))
    assert r.status_code == 201, r.text
    body = await _attainment(client, auth, pool, node="team-b", breakdown="segment")
    assert {r["scope"]["segment"]: r["actual"] for r in body["breakdown"]} == {
        "new": "50",
        "existing": "50",
        "key_account": "0",
    }
    narrowed = await _attainment(client, auth, pool, node="team-b", scope="segment:new")
    assert narrowed["row"]["actual"] == "50"


async def test_an_actual_for_someone_outside_the_org_is_refused(client, auth, ledger) -> None:
    actual = {"person": "ghost", "metric": "revenue", "date": "2026-07-02", "value": "4"}
    r = await client.post("/v1/actuals", json=actual, headers=auth("crm", "integration"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "person"
