"""A plan's splits whole: exported with every part wherever its period starts, decided in a dry run as
applied when a part is a target already, and told truthfully when the same file is imported at once."""

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import msgspec
import pytest
from click.testing import CliRunner

from target_ledger.app import create_app
from target_ledger.application import Command
from target_ledger.application.plans import import_plan
from target_ledger.cli import main
from target_ledger.domain.access import Principal
from target_ledger.domain.target import target_id
from target_ledger.eventstore import EventStore
from target_ledger.plan_file import read_plan
from tests.api.ledgers import ledger_targets
from tests.api.live import serving
from tests.api.support import ADMIN, admin_post, build_east
from tests.races import blocked_by, next_position_held

CSV = {"Content-Type": "text/csv"}
HEAD = "node,metric,period,scope,target,stretch,rationale,part of,"


@pytest.fixture
def fiscal_start() -> int:
    return 1


@pytest.fixture
def settings(settings, fiscal_start):
    """The ledgers' settings, with the fiscal year starting in `fiscal_start` (a test may parametrize it)."""
    return msgspec.structs.replace(settings, fiscal_year_start=fiscal_start)


async def _import(client, auth, plan: str, *, dry_run: bool = False, **headers: str):
    params = {"dry_run": "true"} if dry_run else {}
    return await client.post(
        "/v1/plans/import", params=params, content=plan.encode(), headers={**auth(*ADMIN), **CSV, **headers}
    )


async def _cli(env: dict[str, str], *args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _env(url: str, settings) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "TL_DATA_DIR": settings.data_dir,
        "TL_FISCAL_YEAR_START": str(settings.fiscal_year_start),
    }


ROUND_TRIPS = {
    # January's weeks: 2026-W01 starts on 2025-12-29.
    "january": (1, "2026", HEAD + "2026-W01,2026-W02,2026-W03,2026-W04,2026-W05\n"
                "east,gross_profit,2026-01,,30000.25,,plan,,6000,6000,6000,6000,6000.25\n"),
    # The weeks of January 2027: 2026-W53 starts on 2026-12-28.
    "week 53": (1, "2027", HEAD + "2026-W53,2027-W01,2027-W02,2027-W03,2027-W04\n"
                "east,new_customers,2027-01,,50,,x,,10,10,10,10,10\n"),
    # A fiscal year from April: April 2026's weeks, 2026-W14 starting on 2026-03-30, in fiscal 2026.
    "fiscal April": (4, "2026", HEAD + "2026-04,2026-05,2026-06,2026-W14,2026-W15,2026-W16,2026-W17,2026-W18\n"
                     "east,orders,2026-Q1,,100,,x,,30,30,40,,,,,\n"
                     "east,orders,2026-04,,30,,x,,,,,6,6,6,6,6\n"),
}  # fmt: skip


@pytest.mark.parametrize(("fiscal_start", "year", "plan"), list(ROUND_TRIPS.values()), ids=list(ROUND_TRIPS))
async def test_a_split_whose_first_part_starts_the_year_before_round_trips_whole(
    client, auth, settings, db_url, second_ledger, tmp_path, fiscal_start, year, plan
):
    await build_east(client, auth)
    # Imported into the first ledger.
    r = await _import(client, auth, plan)
    assert r.status_code == 201, r.text
    # Exported: every part of the split, the one starting before the year too, adding up to the whole.
    env, path = _env(db_url, settings), tmp_path / "plan.xlsx"
    await _cli(env, "export", "plan", "--year", year, str(path))
    lines, problems = read_plan(path.read_bytes(), "plan.xlsx")
    original, _ = read_plan(plan.encode(), "csv")
    assert problems == []
    assert {(line.period, tuple(sorted(line.splits.items()))) for line in lines} == {
        (line.period, tuple(sorted(line.splits.items()))) for line in original
    }
    assert all(sum(line.splits.values()) == line.value for line in lines)
    # Imported again into the same ledger: nothing to change.
    out = await _cli(env, "import", "plan", "--dry-run", str(path))
    assert f"targets to set 0, splits 0, unchanged {len(original)}, needing an adjustment request 0, errors 0" in out
    # Imported into a fresh ledger: the same targets and splits.
    second_url, second = second_ledger
    await _cli(_env(second_url, second), "import", "plan", str(path))
    assert await ledger_targets(second_url, second) == await ledger_targets(db_url, settings)


async def test_a_quarter_set_on_its_own_is_an_error_on_its_cell_in_a_dry_run_as_applied(client, auth):
    await build_east(client, auth)
    # East's Q3 set on its own, before the plan.
    body = {"node": "east", "metric": "revenue", "period": "2026-Q3", "value": "120000"}
    q3 = await admin_post(client, auth, "/v1/targets", body)
    plan = HEAD + "2026-Q1,2026-Q2,2026-Q3,2026-Q4\neast,revenue,2026,,600000,,plan,,100000,200000,120000,180000\n"
    expected = [(2, "K (2026-Q3)", q3["id"])]
    # The dry run names the row and the split cell of the part that is a target already.
    r = await _import(client, auth, plan, dry_run=True)
    assert r.status_code == 200, r.text
    assert [(e["row"], e["column"], e["message"].split("(")[1][:36]) for e in r.json()["errors"]] == expected
    assert "is a target already" in r.json()["errors"][0]["message"]
    # Applied, the same error and nothing stored, every time: no 409 to retry.
    for _ in range(2):
        r = await _import(client, auth, plan)
        assert r.status_code == 422, r.text
        assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(2, "K (2026-Q3)")]
    # The API's decomposition decides the same, naming the allocation.
    year = await admin_post(client, auth, "/v1/targets", {**body, "period": "2026", "value": "600000"})
    split = {"axis": "period", "method": "explicit", "into": "quarter"}
    split["allocations"] = {"2026-Q1": "100000", "2026-Q2": "200000", "2026-Q3": "120000", "2026-Q4": "180000"}
    r = await client.post(f"/v1/targets/{year['id']}/decomposition", json=split, headers=auth(*ADMIN))
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "allocations.2026-Q3"


def _weekly(month: str, weeks: list[str]) -> str:
    """East's gross profit of the month, 30000, split 6000 into each week."""
    return HEAD + ",".join(weeks) + f"\neast,gross_profit,{month},,30000,,p,," + ",".join(["6000"] * len(weeks)) + "\n"


async def test_a_week_that_is_a_part_of_january_is_an_error_when_february_splits_into_it(client, auth):
    await build_east(client, auth)
    # January split into its weeks: 2026-W05 (26 January to 1 February) is one of its parts.
    january = _weekly("2026-01", ["2026-W01", "2026-W02", "2026-W03", "2026-W04", "2026-W05"])
    assert (await _import(client, auth, january)).status_code == 201
    # February into its weeks, 2026-W05 among them: the W05 cell, in a dry run as applied.
    february = _weekly("2026-02", ["2026-W05", "2026-W06", "2026-W07", "2026-W08", "2026-W09"])
    r = await _import(client, auth, february, dry_run=True)
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(2, "I (2026-W05)")]
    r = await _import(client, auth, february)
    assert r.status_code == 422, r.text
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(2, "I (2026-W05)")]


RACE = HEAD + "2026-H1,2026-H2\neast-1,wins,2026,,30,,x,,10,20\neast-2,wins,2026,,30,,x,,10,20\n"


@contextlib.asynccontextmanager
async def _served(settings, clock, auth) -> AsyncIterator[Callable[..., Awaitable[httpx.Response]]]:
    """Imports to an API process of its own on a loopback port: there requests really run at the
    same time (the test client runs one at a time)."""
    app = create_app(msgspec.structs.replace(settings, run_projections=False, run_webhooks=False), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield functools.partial(_import, http, auth)


async def _file_requests(pool) -> list[str]:
    """The request ids in the metadata of the events a plan file stored."""
    rows = await pool.fetch("SELECT DISTINCT metadata->>'request_id' AS r FROM events WHERE metadata ? 'file_sha256'")
    return [r["r"] for r in rows]


async def test_an_import_that_lost_the_race_to_the_same_file_says_which_request_stored_it(
    client, auth, settings, clock, db_url, pool
):
    await build_east(client, auth)
    async with _served(settings, clock, auth) as post:
        async with next_position_held(db_url) as owner:
            # The late request decides on an empty ledger, then waits to write its events.
            late = asyncio.create_task(post(RACE, **{"X-Request-Id": "late"}))
            await blocked_by(owner, late)
            # The same file from the same importer meanwhile: stored.
            first = await _import(client, auth, RACE, **{"X-Request-Id": "first"})
        answer = await late
    assert first.status_code == 201 and first.json()["stored"] is True, first.text
    # The late one stored nothing, says who did, and that each of its rows holds already.
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["stored"], report["already_stored_by"], report["position"]) == (
        False,
        "first",
        first.json()["position"],
    )
    assert (report["targets_to_set"], report["splits"], report["unchanged"]) == ([], [], 2)
    # Only the first request's events are in the log.
    assert await _file_requests(pool) == ["first"]


async def test_five_identical_imports_at_once_store_once_and_the_others_say_so(client, auth, settings, clock, pool):
    await build_east(client, auth)
    # Five requests with the same file at once.
    async with _served(settings, clock, auth) as post:
        answers = await asyncio.gather(*(post(RACE, **{"X-Request-Id": f"import-{i}"}) for i in range(5)))
    reports = [r.json() for r in answers]
    # One stored the two targets and their splits; every event of the file carries its request id.
    winners = [f"import-{i}" for i, r in enumerate(answers) if r.status_code == 201]
    assert len(winners) == 1, reports
    assert await _file_requests(pool) == winners
    # The others stored nothing: they say so (and who did, if they raced it); each row holds already.
    for answer, report in zip(answers, reports, strict=True):
        if answer.status_code == 201:
            assert (report["stored"], len(report["targets_to_set"]), report["already_stored_by"]) == (True, 2, None)
            continue
        assert answer.status_code == 200, answer.text
        assert (report["stored"], report["targets_to_set"], report["splits"], report["unchanged"]) == (False, [], [], 2)
        assert report["already_stored_by"] in (None, *winners)


class _TornStore(EventStore):
    """The ledger's store, with another request's import committing just before this decision's
    first read of the parts: after it read that the parents were not set yet."""

    def __init__(self, pool, other: Callable[[], Awaitable[None]]) -> None:
        super().__init__(pool)
        self.other: Callable[[], Awaitable[None]] | None = other

    async def load_after_each(self, versions, conn=None):
        if self.other is not None and target_id("east-1", "wins", "2026-H1", None) in versions:
            other, self.other = self.other, None
            await other()
        return await super().load_after_each(versions, conn)


async def test_an_import_whose_reads_straddle_the_same_files_append_decides_again_on_what_was_stored(
    client, auth, pool
):
    await build_east(client, auth)

    async def first() -> None:
        r = await _import(client, auth, RACE, **{"X-Request-Id": "first"})
        assert r.status_code == 201, r.text

    # The late import reads the parents unset; the first commits parents and parts; the late reads the parts set.
    store = _TornStore(pool, first)
    lines, problems = read_plan(RACE.encode())
    late = Command(
        store=store, clock=lambda: datetime(2026, 3, 1, tzinfo=UTC), actor=Principal(*ADMIN), request_id="late"
    )
    report = await import_plan(late, lines, hashlib.sha256(RACE.encode()).hexdigest(), dry_run=False)
    assert store.other is None  # the first import did commit in between
    # Not "the part is a target already": decided again on the log as stored, each row holds already.
    assert (problems, report.errors, report.stored) == ([], [], False), report.errors
    assert (report.targets_to_set, report.splits, report.unchanged) == ([], [], 2)
    assert await _file_requests(pool) == ["first"]


async def test_a_target_set_while_the_import_writes_is_a_409_naming_the_file_not_a_path(
    client, auth, settings, clock, db_url, pool
):
    await build_east(client, auth)
    async with _served(settings, clock, auth) as post:
        async with next_position_held(db_url) as owner:
            # The import decides on an empty ledger, then waits to write its events.
            late = asyncio.create_task(post(RACE))
            await blocked_by(owner, late)
            # East-1's target is set on its own meanwhile.
            body = {"node": "east-1", "metric": "wins", "period": "2026", "value": "30"}
            await admin_post(client, auth, "/v1/targets", body)
        answer = await late
    # The import stored nothing and says to import the file again: the body is at fault, no path.
    assert answer.status_code == 409, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["body"]
    assert "import the file again" in answer.json()["detail"]
    assert await _file_requests(pool) == []


async def test_a_team_set_on_its_own_is_an_error_on_its_part_of_cell_when_its_region_splits_into_it(client, auth):
    await build_east(client, auth)
    # East-1's year set on its own, before the plan.
    body = {"node": "east-1", "metric": "revenue", "period": "2026", "value": "5"}
    await admin_post(client, auth, "/v1/targets", body)
    # East's year split along the org: east-1 and east-2 are its parts.
    rows = ["east,revenue,2026,,8,,p,", "east-1,revenue,2026,,5,,p,east", "east-2,revenue,2026,,3,,p,east"]
    plan = "\n".join([HEAD.rstrip(","), *rows]) + "\n"
    # East-1's row, its `part of` cell, in a dry run as applied.
    r = await _import(client, auth, plan, dry_run=True)
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(3, "H (part of)")]
    r = await _import(client, auth, plan)
    assert r.status_code == 422, r.text
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(3, "H (part of)")]
