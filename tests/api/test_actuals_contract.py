"""The actuals contract over HTTP: a retry is a duplicate, other content under a stored
external_ref is a 409, a correction is one append, and dates stay within the ledger's reach."""

import asyncio
import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from target_ledger.app import create_app
from target_ledger.application import Command
from target_ledger.domain.access import Principal
from target_ledger.importer import Rejects, import_actuals
from tests.api.live import serving
from tests.api.monitoring_support import alerts, judge_on, set_target
from tests.api.monitoring_support import record as record_deal
from tests.api.support import ADMIN, admin_post, build_east
from tests.races import blocked_by, next_position_held

TODAY = "2026-08-03"
DEAL = {
    "person": "rep1",
    "metric": "revenue",
    "date": "2026-07-14",
    "value": "100.00",
    "source": "crm",
    "external_ref": "deal-88",
}
RECORDED = "SELECT count(*) FROM events WHERE type = 'ActualRecorded'"


@pytest.fixture(autouse=True)
async def east(client, auth, clock) -> None:
    clock.set(TODAY)
    await build_east(client, auth)


async def record(client, auth, body: dict, who: tuple = ADMIN):
    return await client.post("/v1/actuals", json=body, headers=auth(*who))


async def actual_of(client, auth, node: str, position: int, period: str = "2026-07") -> str:
    params = {"node": node, "metric": "revenue", "period": period, "min_position": position}
    r = await client.get("/v1/attainment", params=params, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    return str(r.json()["row"]["actual"])


# Reproducer 1: a retry arriving at the same moment is a duplicate, on one process or two.


@contextlib.asynccontextmanager
async def served(settings, clock) -> AsyncIterator[httpx.AsyncClient]:
    """An API process of its own on a loopback port: requests to it really run at the same time
    (the test client runs one request at a time)."""
    app = create_app(msgspec.structs.replace(settings, run_projections=False, run_webhooks=False), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def race(one, other, auth, db_url: str, path: str, body: dict, first_differs: dict | None = None):
    """The request to `one` checks its event id, then waits; the same one (or one differing by
    `first_differs`) to `other` commits meanwhile. Return the first answer and the late one."""
    async with next_position_held(db_url) as owner:
        late = asyncio.create_task(one.post(path, json=body, headers=auth(*ADMIN)))
        await blocked_by(owner, late)
        first = await other.post(path, json={**body, **(first_differs or {})}, headers=auth(*ADMIN))
    return first, await late


async def test_two_identical_actuals_at_the_same_moment_are_201_and_a_duplicate(
    auth, pool, db_url, settings, clock
) -> None:
    async with served(settings, clock) as api:
        first, late = await race(api, api, auth, db_url, "/v1/actuals", DEAL)
    assert (first.status_code, late.status_code) == (201, 200), late.text
    assert late.json() == {**first.json(), "duplicate": True}
    assert await pool.fetchval(RECORDED) == 1


async def test_two_identical_actuals_at_the_same_moment_on_two_processes_are_201_and_a_duplicate(
    auth, pool, db_url, settings, clock
) -> None:
    async with served(settings, clock) as one, served(settings, clock) as other:
        first, late = await race(one, other, auth, db_url, "/v1/actuals", DEAL)
    assert (first.status_code, late.status_code) == (201, 200), late.text
    assert late.json() == {**first.json(), "duplicate": True}
    assert await pool.fetchval(RECORDED) == 1


async def test_two_identical_batches_at_the_same_moment_store_once(auth, pool, db_url, settings, clock) -> None:
    batch = {"items": [DEAL, {**DEAL, "external_ref": "deal-89", "value": "5"}]}
    async with served(settings, clock) as api:
        first, late = await race(api, api, auth, db_url, "/v1/actuals/batch", batch)
    assert (first.status_code, late.status_code) == (201, 201), late.text
    assert (first.json()["stored"], late.json()["stored"], late.json()["duplicates"]) == (2, 0, 2)
    assert await pool.fetchval(RECORDED) == 2


# Reproducer 2: the same source and external_ref with other content is a 409 with the stored actual.


@pytest.mark.parametrize(
    "change",
    [
        {"value": "120.00"},
        {"person": "rep2"},
        {"date": "2026-07-15"},
        {"metric": "collections"},
        {"scope": {"segment": "new"}},
    ],
    ids=["value", "person", "date", "metric", "scope"],
)
async def test_an_actual_resent_with_other_content_is_a_409_with_the_stored_one(client, auth, pool, change) -> None:
    first = await record(client, auth, DEAL)
    assert first.status_code == 201, first.text
    # The CRM sends the deal again, changed.
    r = await record(client, auth, {**DEAL, **change})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json"), r.text
    problem = r.json()
    assert [e["field"] for e in problem["errors"]] == ["external_ref"]
    assert f"/v1/actuals/{first.json()['id']}/correction" in problem["detail"]
    assert problem["stored"] == {
        "id": first.json()["id"],
        **{k: v for k, v in DEAL.items()},
        "scope": {},
        "reversed": False,
    }
    # Nothing new was stored: the deal still says what it said first.
    assert await pool.fetchval(RECORDED) == 1


async def test_the_same_amount_written_otherwise_is_still_a_duplicate(client, auth) -> None:
    first = await record(client, auth, DEAL)
    again = await record(client, auth, {**DEAL, "value": "100"})
    assert (first.status_code, again.status_code, again.json()["duplicate"]) == (201, 200, True)


async def test_a_batch_item_resent_with_other_content_is_listed_by_index_and_nothing_is_stored(
    client, auth, pool
) -> None:
    assert (await record(client, auth, DEAL)).status_code == 201
    items = [{**DEAL, "external_ref": "deal-90"}, {**DEAL, "value": "120.00"}]
    r = await client.post("/v1/actuals/batch", json={"items": items}, headers=auth(*ADMIN))
    assert r.status_code == 409, r.text
    [error] = r.json()["errors"]
    assert (error["index"], error["field"], error["stored"]["value"]) == (1, "external_ref", "100.00")
    # The new item of the batch was not stored either: all or nothing.
    assert await pool.fetchval(RECORDED) == 1


async def test_a_batch_repeating_an_external_ref_with_other_content_is_refused(client, auth, pool) -> None:
    items = [DEAL, {**DEAL, "value": "120.00"}]
    r = await client.post("/v1/actuals/batch", json={"items": items}, headers=auth(*ADMIN))
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert (error["index"], error["field"]) == (1, "external_ref") and "item 0" in error["message"]
    assert await pool.fetchval(RECORDED) == 0


async def test_a_reversed_actual_resent_unchanged_is_a_duplicate_and_changed_a_409(client, auth) -> None:
    first = (await record(client, auth, DEAL)).json()
    r = await client.post(f"/v1/actuals/{first['id']}/reversal", json={"reason": "wrong deal"}, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    # Sent again as it was: it changes nothing (it stays reversed).
    again = await record(client, auth, DEAL)
    assert (again.status_code, again.json()["id"], again.json()["duplicate"]) == (200, first["id"], True)
    # Sent changed: a 409 showing it reversed.
    changed = await record(client, auth, {**DEAL, "value": "1"})
    assert changed.status_code == 409 and changed.json()["stored"]["reversed"] is True
    assert "another external_ref" in changed.json()["detail"]


# Reproducer 3: a one-call correction.


async def correct(client, auth, actual_id: str, body: dict, who: tuple = ADMIN):
    return await client.post(f"/v1/actuals/{actual_id}/correction", json=body, headers=auth(*who))


async def test_a_correction_reverses_and_records_in_one_append(client, auth, pool) -> None:
    old = (await record(client, auth, DEAL)).json()
    # The CRM corrects the amount and the day.
    r = await correct(client, auth, old["id"], {"value": "120.00", "date": "2026-07-20", "reason": "typo"})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["id"] == str(uuid.uuid5(uuid.UUID(old["id"]), "correction")) and new["duplicate"] is False
    # The reversal and the new actual are in the log, written by one transaction.
    rows = await pool.fetch(
        "SELECT type, xid::text AS xid, payload FROM events WHERE stream_id = ANY($1::uuid[]) ORDER BY position",
        [uuid.UUID(old["id"]), uuid.UUID(new["id"])],
    )
    assert [r["type"] for r in rows] == ["ActualRecorded", "ActualReversed", "ActualRecorded"]
    assert rows[1]["xid"] == rows[2]["xid"] and "typo" in rows[1]["payload"]
    # Attainment counts the corrected value only; what was not given was kept.
    assert await actual_of(client, auth, "rep1", new["position"]) == "120.00"
    stored = await client.post(
        "/v1/actuals", json={**DEAL, "value": "120.00", "date": "2026-07-20"}, headers=auth(*ADMIN)
    )
    # Re-sending the deal as corrected is a duplicate of the correction.
    assert (stored.status_code, stored.json()["id"]) == (200, new["id"])


async def test_a_retried_correction_changes_nothing_and_another_is_a_409(client, auth, pool) -> None:
    old = (await record(client, auth, DEAL)).json()
    body = {"value": "120.00", "reason": "typo"}
    first = await correct(client, auth, old["id"], body)
    again = await correct(client, auth, old["id"], body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    # A different correction of the same (now reversed) actual: correct the correction instead.
    other = await correct(client, auth, old["id"], {"value": "130.00", "reason": "typo again"})
    assert other.status_code == 409 and first.json()["id"] in other.json()["detail"], other.text
    assert await pool.fetchval(RECORDED) == 2


@pytest.mark.parametrize(("late_value", "late_status"), [("120.00", 200), ("130.00", 409)], ids=["same", "other"])
async def test_two_corrections_at_the_same_moment_store_one(
    client, auth, pool, db_url, settings, clock, late_value, late_status
) -> None:
    old = (await record(client, auth, DEAL)).json()
    path = f"/v1/actuals/{old['id']}/correction"
    async with served(settings, clock) as api:
        # One correction waits after checking its event ids; another commits meanwhile.
        first, r = await race(api, api, auth, db_url, path, {"value": late_value, "reason": "b"}, {"value": "120.00"})
    assert first.status_code == 201, first.text
    # The same correction is a duplicate of it; another one a 409 pointing at it.
    assert r.status_code == late_status, r.text
    assert (
        r.json() == {**first.json(), "duplicate": True}
        if late_status == 200
        else "corrected already" in r.json()["detail"]
    )
    assert await pool.fetchval(RECORDED) == 2


async def test_correcting_a_reversed_actual_is_a_409(client, auth) -> None:
    old = (await record(client, auth, DEAL)).json()
    await client.post(f"/v1/actuals/{old['id']}/reversal", json={"reason": "void"}, headers=auth(*ADMIN))
    r = await correct(client, auth, old["id"], {"value": "5.00", "reason": "late fix"})
    assert r.status_code == 409 and "reversed" in r.json()["detail"], r.text


async def test_a_correction_needs_the_permission_of_a_reversal(client, auth) -> None:
    old = (await record(client, auth, DEAL)).json()
    # rep2 may not touch rep1's actuals; their team lead may.
    assert (await correct(client, auth, old["id"], {"value": "5.00", "reason": "x"}, ("rep2",))).status_code == 403
    assert (await correct(client, auth, old["id"], {"value": "5.00", "reason": "x"}, ("lead1",))).status_code == 201


async def test_a_correction_of_an_unknown_actual_is_a_404(client, auth) -> None:
    r = await correct(client, auth, str(uuid.uuid4()), {"value": "5.00", "reason": "x"})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "actual_id"


@pytest.mark.parametrize("moved_to", [None, "2026-08-01"], ids=["old-date-closed", "new-date-closed"])
async def test_a_correction_touching_a_closed_period_is_refused(client, auth, pool, moved_to) -> None:
    deal = DEAL if moved_to else {**DEAL, "date": "2026-08-01"}
    old = (await record(client, auth, deal)).json()
    await admin_post(client, auth, "/v1/periods/2026-07/close", {"node": "acme"})
    # Either the old actual or the corrected one lies in the closed July.
    body = {"value": "5.00", "reason": "x", "date": moved_to or "2026-07-31"}
    r = await correct(client, auth, old["id"], body)
    assert r.status_code == 409 and "2026-07" in r.json()["detail"], r.text
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type = 'ActualReversed'") == 0


async def test_a_correction_that_changes_nothing_is_refused(client, auth) -> None:
    old = (await record(client, auth, DEAL)).json()
    r = await correct(client, auth, old["id"], {"value": "100", "reason": "no-op"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "value", r.text


# Reproducer 5: an actual's date lies between the person's joining and a few days ahead.


@pytest.mark.parametrize(
    "day",
    [
        "0001-01-01",
        "2024-12-31",
        "9999-12-31",
        "2027-06-01",
        (date.fromisoformat(TODAY) + timedelta(days=32)).isoformat(),
    ],
    ids=["year-1", "before-joining", "year-9999", "next-year", "32-days-ahead"],
)
async def test_an_actual_dated_outside_the_persons_reach_is_a_422_naming_date(client, auth, pool, day) -> None:
    r = await record(client, auth, {**DEAL, "date": day})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date", r.text
    assert await pool.fetchval(RECORDED) == 0


async def test_an_actual_up_to_the_allowed_days_ahead_is_recorded(client, auth) -> None:
    day = (date.fromisoformat(TODAY) + timedelta(days=31)).isoformat()
    assert (await record(client, auth, {**DEAL, "date": day})).status_code == 201


async def test_the_days_ahead_are_a_setting(auth, settings, clock) -> None:
    strict = create_app(msgspec.structs.replace(settings, actual_max_days_ahead=0), clock=clock)
    async with AsyncTestClient(strict) as client:  # on the same database, the same organisation
        assert (await record(client, auth, {**DEAL, "date": TODAY})).status_code == 201
        tomorrow = await record(client, auth, {**DEAL, "external_ref": "t", "date": "2026-08-04"})
        assert tomorrow.status_code == 422 and "0 days" in tomorrow.json()["detail"]


async def test_an_actual_on_or_after_the_day_its_person_left_is_a_422_naming_date(client, auth, pool) -> None:
    deal = (await record(client, auth, DEAL)).json()
    r = await client.post("/v1/org/people/rep2/leave", json={"effective": "2026-07-20"}, headers=auth(*ADMIN))
    assert r.status_code in (200, 201), r.text
    # Then an actual of rep2's dated on the day they left, or after, belongs to no unit: refused...
    for day in ["2026-07-20", "2026-07-25"]:
        r = await record(client, auth, {**DEAL, "person": "rep2", "external_ref": f"late-{day}", "date": day})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date", r.text
    # ... and so is a correction that would move rep1's deal to rep2 on that day.
    r = await correct(
        client, auth, deal["id"], {"value": "120.00", "person": "rep2", "date": "2026-07-21", "reason": "x"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date", r.text
    # Dated the day before they left, it is theirs, and their team's.
    day_before = {**DEAL, "person": "rep2", "external_ref": "in-time", "date": "2026-07-19"}
    assert (await record(client, auth, day_before)).status_code == 201
    assert await pool.fetchval(RECORDED) == 2


async def test_the_date_rule_holds_in_a_batch_and_a_correction(client, auth) -> None:
    items = [DEAL, {**DEAL, "external_ref": "far", "date": "2030-01-01"}]
    r = await client.post("/v1/actuals/batch", json={"items": items}, headers=auth(*ADMIN))
    assert r.status_code == 422 and [(e["index"], e["field"]) for e in r.json()["errors"]] == [(1, "date")]
    old = (await record(client, auth, DEAL)).json()
    r = await correct(client, auth, old["id"], {"value": "1.00", "date": "2030-01-01", "reason": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date", r.text


async def test_the_importer_rejects_rows_dated_out_of_reach_or_clashing_and_stores_the_rest(
    client, auth, store, tmp_path
) -> None:
    assert (await record(client, auth, DEAL)).status_code == 201
    rows = [
        "person,metric,date,value,source,external_ref",
        "rep2,revenue,2026-07-02,10.00,crm,deal-1",  # fine
        "rep2,revenue,2027-06-01,10.00,crm,deal-2",  # too far ahead
        "rep1,revenue,2026-07-14,999.00,crm,deal-88",  # deal-88 holds 100.00
    ]
    path = tmp_path / "actuals.csv"
    path.write_text("\n".join(rows) + "\n")
    cmd = Command(
        store=store,
        clock=lambda: datetime.fromisoformat(TODAY).replace(hour=12, tzinfo=UTC),
        actor=Principal("crm-sync", "integration"),
        request_id="import-1",
    )
    out = io.StringIO()
    summary = await import_actuals(cmd, path, Rejects(out))
    assert (summary.stored, summary.duplicates, summary.rejected) == (1, 0, 2)
    rejected = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["error"].split(": ")[:2] for r in rejected] == [["line 3", "date"], ["line 4", "external_ref"]]


async def test_an_actual_dated_ahead_does_not_silence_the_no_actuals_alert(client, auth, clock) -> None:
    await set_target(client, auth, "rep1", "2026-08", "3100")
    # On 3 August a deal is booked for the 20th (within the days allowed ahead)...
    await record_deal(client, auth, "rep1", "2026-08-20", "100", "ahead")
    # ...yet by Thursday 6 August nothing has happened for three working days: the alert is raised.
    await judge_on(client, clock, "2026-08-06")
    [missing] = await alerts(client, auth, "no_actuals")
    assert (missing["node"], missing["status"]) == ("rep1", "open")
