"""The dashboard's weekly chart: every week's standing read in one pass gives what one read per day gives."""

from datetime import UTC, date, datetime, timedelta

import pytest

from target_ledger.application import Command
from target_ledger.application.attainment import standing_on, standings_on
from target_ledger.console import chart
from target_ledger.domain.access import Principal
from tests.api.support import ADMIN, build_east, team_target

TODAY = date(2026, 8, 12)  # a Wednesday: its week is under way


@pytest.fixture
async def ledger(client, auth, clock, store, pool) -> Command:
    """east-1's Q3 target split 60 : 40 between rep1 and rep2; actuals every few days of July and
    August, one dated after today; the read model caught up; a command run on TODAY."""
    await build_east(client, auth)
    await team_target(client, auth, value="13000")
    clock.set(TODAY.isoformat())
    day = date(2026, 6, 28)  # a day before the quarter too
    while day <= TODAY + timedelta(days=3):
        for person, value in [("rep1", "110.25"), ("rep2", "47")]:
            body = {"person": person, "metric": "revenue", "source": "crm", "date": day.isoformat(), "value": value}
            r = await client.post("/v1/actuals", json={**body, "external_ref": f"{person}-{day}"}, headers=auth(*ADMIN))
            assert r.status_code == 201, r.text
        day += timedelta(days=3)
    head = await pool.fetchval("SELECT max(position) FROM events")
    params = {"node": "east-1", "metric": "revenue", "period": "2026-Q3", "min_position": head}
    assert (await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))).status_code == 200
    return Command(
        store=store, clock=lambda: datetime(2026, 8, 12, 12, tzinfo=UTC), actor=Principal(*ADMIN), request_id="c-1"
    )


@pytest.mark.parametrize("node", ["east-1", "rep1", "east-2"])
async def test_the_standings_of_many_days_are_each_day_s_standing(ledger: Command, node: str) -> None:
    cmd = ledger
    days = [date(2026, 6, 30), date(2026, 7, 1), date(2026, 7, 5), TODAY, date(2026, 8, 16), date(2026, 9, 30)]
    days += [date(2026, 10, 4), TODAY - timedelta(days=1)]  # past the quarter's end; not in order
    key = {"node": node, "metric": "revenue", "period": "2026-Q3", "scope": {}}
    async with cmd.store.pool.acquire() as conn:
        batch = await standings_on(cmd, conn, **key, days=days)  # type: ignore[arg-type]
        one_by_one = [await standing_on(cmd, conn, **key, day=day) for day in days]  # type: ignore[arg-type]
    assert batch == one_by_one
    assert (batch[0].standing is None) == (node == "east-2")  # east-2 has no target


@pytest.mark.parametrize("node", ["east-1", "rep2"])
async def test_the_chart_s_weeks_are_the_standings_on_each_week_s_end_and_today(ledger: Command, node: str) -> None:
    cmd = ledger
    weeks = await chart.weeks(cmd, node=node, metric="revenue", period="2026-Q3")
    parts = cmd.calendar.children(cmd.calendar.parse("2026-Q3"), "week")
    assert [w.key for w in weeks] == [p.key[5:] for p in parts]
    key = {"node": node, "metric": "revenue", "period": "2026-Q3", "scope": {}}
    async with cmd.store.pool.acquire() as conn:
        for week, part in zip(weeks, parts, strict=True):
            end = min(part.end, date(2026, 9, 30))
            row = await standing_on(cmd, conn, **key, day=end)  # type: ignore[arg-type]
            assert row.standing is not None and week.planned == row.standing.expected
            if part.start > TODAY:
                assert week.actual is None
            else:  # to the week's end, or to today in the week under way
                to_date = await standing_on(cmd, conn, **key, day=min(end, TODAY))  # type: ignore[arg-type]
                assert week.actual == to_date.actual
    under_way = next(w for w, p in zip(weeks, parts, strict=True) if p.start <= TODAY < p.end)
    assert under_way.actual is not None
    assert await chart.weeks(cmd, node="east-2", metric="revenue", period="2026-Q3") == []
