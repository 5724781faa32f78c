"""A ledger on a 4-4-5 calendar: a year's target into quarters and periods, actuals, attainment by period."""

import asyncio

import msgspec
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from target_ledger.app import create_app
from target_ledger.calendar_settings import CalendarChangedError
from target_ledger.cli import main
from target_ledger.plan_file import read_plan
from tests.api.support import ADMIN, build_east

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(settings):
    """TL_CALENDAR=445, years ending on the Saturday nearest 31 January (the NRF's year end)."""
    return msgspec.structs.replace(settings, calendar="445")


async def _set(client, auth, period: str, value: str = "100"):
    """east-boss sets east-1's revenue target for the period: the answer."""
    body = {"node": "east-1", "metric": "revenue", "period": period, "value": value}
    return await client.post("/v1/targets", json=body, headers=auth("east-boss"))


async def _target(client, auth, target_id) -> dict:
    r = await client.get(f"/v1/targets/{target_id}", headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


async def _attainment(client, auth, pool, **params) -> dict:
    head = await pool.fetchval("SELECT max(position) FROM events")
    params = {"node": "east-1", "metric": "revenue", "min_position": head, **params}
    r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


def _refused_naming(r, field: str, said: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert [e["field"] for e in r.json()["errors"]] == [field], r.json()
    assert said in r.text


def _refused_naming_period(r, said: str) -> None:
    _refused_naming(r, "period", said)


async def test_a_445_year_decomposes_into_quarters_and_periods_and_reads_attainment_by_period(
    client, auth, pool, clock
) -> None:
    await build_east(client, auth)
    clock.set("2026-02-02")
    # east-1's revenue target for fiscal 2026: 1 February 2026 to 30 January 2027, 52 weeks.
    r = await _set(client, auth, "2026", "5200000")
    assert r.status_code == 201, r.text
    year = r.json()
    assert (year["starts_on"], year["ends_on"]) == ("2026-02-01", "2027-01-30")
    # Split evenly into its four 13-week quarters (a year's default part in any calendar).
    r = await client.post(
        f"/v1/targets/{year['id']}/decomposition", json={"axis": "period", "method": "even"}, headers=auth("east-boss")
    )
    assert r.status_code == 201, r.text
    quarters = {c["period"]: c for c in r.json()["children"]}
    assert {k: c["value"] for k, c in quarters.items()} == {f"2026-Q{n}": "1300000.00" for n in range(1, 5)}
    q1 = await _target(client, auth, quarters["2026-Q1"]["target_id"])
    assert (q1["starts_on"], q1["ends_on"]) == ("2026-02-01", "2026-05-02")
    # Q1 into its three periods (weeks 4, 4, 5) by the weeks they hold.
    weights = {"2026-P01": "4", "2026-P02": "4", "2026-P03": "5"}
    r = await client.post(
        f"/v1/targets/{q1['id']}/decomposition",
        json={"axis": "period", "method": "weights", "into": "period", "weights": weights},
        headers=auth("east-boss"),
    )
    assert r.status_code == 201, r.text
    periods = {c["period"]: c for c in r.json()["children"]}
    assert {k: c["value"] for k, c in periods.items()} == {
        "2026-P01": "400000.00",
        "2026-P02": "400000.00",
        "2026-P03": "500000.00",
    }
    p03 = await _target(client, auth, periods["2026-P03"]["target_id"])
    assert (p03["starts_on"], p03["ends_on"]) == ("2026-03-29", "2026-05-02")
    # rep1 (in east-1) records a deal in P01 and one in P03.
    clock.set("2026-04-11")
    for day, value, ref in [("2026-02-10", "380000", "d-1"), ("2026-03-30", "250000", "d-2")]:
        deal = {"person": "rep1", "metric": "revenue", "date": day, "value": value, "source": "manual"}
        r = await client.post("/v1/actuals", json={**deal, "external_ref": ref}, headers=auth("rep1"))
        assert r.status_code == 201, r.text
    # On 11 April, day 14 of P03's 35: expected 500,000 * 14 / 35 = 200,000; pace 125 %.
    p03_row = (await _attainment(client, auth, pool, period="2026-P03"))["row"]
    assert (p03_row["target"], p03_row["actual"], p03_row["expected"], p03_row["pace_pct"]) == (
        "500000.00",
        "250000",
        "200000.00",
        "125.00",
    )
    assert p03_row["attainment_pct"] == "50.00"
    # Day 70 of Q1's 91: expected 1,300,000 * 70 / 91 = 1,000,000; actual 630,000: pace 63 %.
    q1_body = await _attainment(client, auth, pool, period="2026-Q1", breakdown="time")
    q1_row = q1_body["row"]
    assert (q1_row["target"], q1_row["actual"], q1_row["expected"], q1_row["pace_pct"]) == (
        "1300000.00",
        "630000",
        "1000000.00",
        "63.00",
    )
    # Broken down in time, the quarter shows its periods with their targets.
    assert [(b["period"], b["target"], b["actual"]) for b in q1_body["breakdown"]] == [
        ("2026-P01", "400000.00", "380000"),
        ("2026-P02", "400000.00", "0"),
        ("2026-P03", "500000.00", "250000"),
    ]
    # P03 in time is its five fiscal weeks, W09 (29 March - 4 April) to W13; the deal fell in W09.
    p03_weeks = (await _attainment(client, auth, pool, period="2026-P03", breakdown="time"))["breakdown"]
    assert [(b["period"], b["actual"]) for b in p03_weeks] == [
        ("2026-W09", "250000"),
        ("2026-W10", "0"),
        ("2026-W11", "0"),
        ("2026-W12", "0"),
        ("2026-W13", "0"),
    ]


async def test_a_445_ledger_refuses_calendar_months_naming_period(client, auth) -> None:
    await build_east(client, auth)
    # A calendar month is no period of a 4-4-5 year: the answer says which key to use. NRF's 2026
    # starts on 1 February, so January 2026 lies in the last period of fiscal 2025.
    r = await _set(client, auth, "2026-01")
    _refused_naming_period(r, "this ledger plans on a 4-4-5 calendar; use 2025-P12 (2025-12-28..2026-01-31)")
    r = await client.get(
        "/v1/attainment", params={"node": "east-1", "metric": "revenue", "period": "2026-03"}, headers=auth(*ADMIN)
    )
    _refused_naming_period(r, "use 2026-P02 (2026-03-01..2026-03-28), the period holding most of it")


async def test_a_gregorian_ledger_refuses_retail_periods_naming_period(auth, settings) -> None:
    gregorian = msgspec.structs.replace(settings, calendar="gregorian")
    async with AsyncTestClient(create_app(gregorian)) as other:
        await build_east(other, auth)
        r = await _set(other, auth, "2026-P01")
    _refused_naming_period(r, "plans on calendar months; use 2026-01")


async def test_a_ledger_refuses_to_start_on_another_calendar_than_its_first(client, settings) -> None:
    # The client above started the ledger on 4-4-5 and recorded it; a start on 4-5-4 would read
    # stored keys (2026-P02) as other days.
    assert (await client.get("/health/live")).status_code == 200
    other = msgspec.structs.replace(settings, calendar="454")
    with pytest.raises(ExceptionGroup) as refused:  # litestar's lifespan task group wraps it
        async with AsyncTestClient(create_app(other)):
            pass
    assert refused.group_contains(CalendarChangedError, match="recorded on the calendar 'retail 4-4-5", depth=1)
    # Started again on its own calendar, it serves.
    async with AsyncTestClient(create_app(settings)) as again:
        assert (await again.get("/health/live")).status_code == 200


@pytest.mark.parametrize(
    ("command", "calendar", "said"),
    [
        ("import", "454", "were recorded on the calendar 'retail 4-4-5"),
        ("import", "13-periods", "TL_CALENDAR is gregorian, 445, 454 or 544, not '13-periods'"),
        ("serve", "gregorian", "now describe 'gregorian, fiscal years starting in month 01'"),
        ("project", "544", "set them back; a ledger's calendar cannot change"),
        ("rebuild", "454", "were recorded on the calendar 'retail 4-4-5"),
    ],
)
async def test_a_command_on_another_or_no_calendar_stops_with_one_line(
    client, settings, db_url, tmp_path, command, calendar, said
) -> None:
    # The ledger started on 4-4-5; a command run with other settings stores nothing and says why.
    assert (await client.get("/health/live")).status_code == 200
    path = tmp_path / "actuals.csv"
    path.write_text("person,metric,date,value,external_ref\nrep1,revenue,2026-02-10,5,x-1\n")
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir, "TL_CALENDAR": calendar}
    args = ["import", "actuals", str(path)] if command == "import" else [command]
    result = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
    assert result.exit_code == 1, result.output
    assert said in result.output and "Traceback" not in result.output


async def test_a_closed_period_of_a_445_year_refuses_its_late_actuals_and_its_review_shows_its_days(
    client, auth, clock
) -> None:
    await build_east(client, auth)
    clock.set("2026-03-02")
    assert (await _set(client, auth, "2026-P01", "400000")).status_code == 201
    # east's manager closes P01 (1 - 28 February 2026) for the region.
    r = await client.post("/v1/periods/2026-P01/close", json={"node": "east"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    # A deal dated in P01 is refused, naming the period; one dated in P02 (from 1 March) is stored.
    deal = {"person": "rep1", "metric": "revenue", "value": "10", "source": "manual"}
    late = {**deal, "date": "2026-02-28", "external_ref": "late"}
    r = await client.post("/v1/actuals", json=late, headers=auth("rep1"))
    assert r.status_code == 409 and "2026-P01 is closed for 'east'" in r.json()["detail"], r.text
    march = {**deal, "date": "2026-03-01", "external_ref": "march"}
    assert (await client.post("/v1/actuals", json=march, headers=auth("rep1"))).status_code == 201
    r = await client.get("/v1/reviews/2026-P01", params={"node": "east-1"}, headers=auth("east-boss"))
    assert r.status_code == 200, r.text
    assert (r.json()["starts_on"], r.json()["ends_on"]) == ("2026-02-01", "2026-02-28")


async def test_a_plan_split_into_periods_imports_and_exports_whole_on_a_445_calendar(
    client, auth, settings, db_url, tmp_path
) -> None:
    await build_east(client, auth)
    plan = (
        "node,metric,period,scope,target,stretch,rationale,part of,2026-P01,2026-P02,2026-P03\n"
        "east,revenue,2026-Q1,,1300000,,plan,,400000,400000,500000\n"
    )
    # Imported over HTTP: Q1 and its three periods.
    r = await client.post(
        "/v1/plans/import", content=plan.encode(), headers={**auth(*ADMIN), "Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text
    # Exported by the command line on the same calendar: the same row, its parts adding up.
    path = tmp_path / "plan.xlsx"
    env = {"DATABASE_URL": db_url, "TL_DATA_DIR": settings.data_dir, "TL_CALENDAR": "445"}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["export", "plan", "--year", "2026", str(path)], env=env)
    assert result.exit_code == 0, result.output
    lines, problems = read_plan(path.read_bytes(), "plan.xlsx")
    assert problems == []
    assert [(line.period, line.splits) for line in lines] == [
        ("2026-Q1", {"2026-P01": 400000, "2026-P02": 400000, "2026-P03": 500000})
    ]


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("2028-01", "'2028-01' is a calendar month: this ledger plans on a 4-4-5 calendar"),
        ("2029-W53", "'2029-W53' is not a week: fiscal year 2029 has weeks W01 to W52"),
    ],
)
async def test_a_plan_split_column_no_period_of_the_calendar_is_named_as_that_column(
    client, auth, header, said
) -> None:
    # The row's own period (column C) is right: the fault is the split column's header (column I).
    await build_east(client, auth)
    plan = f"node,metric,period,scope,target,stretch,rationale,part of,{header}\neast,revenue,2028,,100,,,,100\n"
    r = await client.post(
        "/v1/plans/import",
        params={"dry_run": "true"},
        content=plan.encode(),
        headers={**auth(*ADMIN), "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    [error] = r.json()["errors"]
    assert error["column"] == f"I ({header})" and said in error["message"], error


async def test_a_week_broken_down_by_time_is_refused_naming_breakdown(client, auth) -> None:
    # A fiscal week is the finest period: the fault is the breakdown asked for (no `into` was sent).
    await build_east(client, auth)
    r = await client.get(
        "/v1/attainment",
        params={"node": "east-1", "metric": "revenue", "period": "2026-W44", "breakdown": "time"},
        headers=auth(*ADMIN),
    )
    _refused_naming(r, "breakdown", "'2026-W44' is a week, the finest period: it has no parts")
