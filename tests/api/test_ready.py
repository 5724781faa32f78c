"""/health/ready: not ready while a projection is more than TL_READY_MAX_LAG events behind the
log (a load balancer sends reads elsewhere), ready again once it caught up; the lags in the body.
A projection being rebuilt lags as it must, and keeps the service ready."""

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient

from projections import attainment
from target_ledger.app import create_app
from tests.api.live import until

ADMIN = ("root", "admin")


async def test_readiness_is_503_while_a_projection_lags_beyond_the_bound_and_200_once_caught_up(settings, auth) -> None:
    # An API process without projections, allowed 2 events of lag; no worker runs yet.
    behind = msgspec.structs.replace(settings, run_projections=False, ready_max_lag=2)
    async with AsyncTestClient(create_app(behind)) as api:
        units = [{"node": "acme", "kind": "company", "name": "Acme"}]
        units += [{"node": node, "kind": "team", "name": node.title(), "parent": "acme"} for node in ("east", "west")]
        for unit in units:
            assert (await api.post("/v1/org/units", json=unit, headers=auth(*ADMIN))).status_code == 201
        # Three events the projections have not applied: more than allowed.
        r = await api.get("/health/ready")
        assert r.status_code == 503 and r.headers["retry-after"]
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["projections"]["attainment"]["lag_events"] >= 3
        assert problem["projections"]["attainment"]["lag_seconds"] >= 0
        lag = problem["projections"]["attainment"]["lag_events"]
        assert {"field": "projections.attainment", "message": f"{lag} events behind (at most 2)"} in problem["errors"]
        # A worker (another process's projections) catches up: ready, each lag 0 in the body.
        async with AsyncTestClient(create_app(settings)):

            async def ready() -> bool:
                return (await api.get("/health/ready")).status_code == 200

            await until(ready, "readiness once the projections caught up")
        body = (await api.get("/health/ready")).json()
        assert body["status"] == "ok"
        assert body["projections"]["attainment"] == {"lag_events": 0, "lag_seconds": 0.0}


async def test_a_lag_within_the_bound_is_ready_and_says_how_far_behind(settings, auth) -> None:
    within = msgspec.structs.replace(settings, run_projections=False, ready_max_lag=1000)
    async with AsyncTestClient(create_app(within)) as api:
        unit = {"node": "acme", "kind": "company", "name": "Acme"}
        assert (await api.post("/v1/org/units", json=unit, headers=auth(*ADMIN))).status_code == 201
        r = await api.get("/health/ready")
    assert r.status_code == 200
    assert r.json()["projections"]["attainment"]["lag_events"] >= 1


async def test_a_projection_rebuilt_after_an_upgrade_keeps_the_service_ready_and_shows_its_progress(
    settings, auth, monkeypatch
) -> None:
    # A company and a team, projected by a worker of this version.
    async with AsyncTestClient(create_app(settings)) as api:
        units = [{"node": "acme", "kind": "company", "name": "Acme"}]
        units += [{"node": "east", "kind": "team", "name": "East", "parent": "acme"}]
        for unit in units:
            assert (await api.post("/v1/org/units", json=unit, headers=auth(*ADMIN))).status_code == 201

        async def caught_up() -> bool:
            r = await api.get("/health/ready")
            return r.status_code == 200 and not any(p["lag_events"] for p in r.json()["projections"].values())

        await until(caught_up, "every projection caught up")
    # A report left idle in a transaction on an attainment table keeps the rebuild's swap out.
    report = await asyncpg.connect(settings.database_url)
    await report.execute("BEGIN; SELECT count(*) FROM attainment_targets")
    try:
        # The upgraded worker rebuilds attainment; the old model stands still meanwhile, and
        # falls more than the bound behind as units keep coming.
        monkeypatch.setattr(attainment, "VERSION", attainment.VERSION + 1)
        upgraded = msgspec.structs.replace(settings, ready_max_lag=2)
        async with AsyncTestClient(create_app(upgraded)) as api:
            for node in ("west", "north", "south"):
                unit = {"node": node, "kind": "team", "name": node.title(), "parent": "acme"}
                assert (await api.post("/v1/org/units", json=unit, headers=auth(*ADMIN))).status_code == 201

            async def only_attainment_behind() -> bool:
                projections = (await api.get("/health/ready")).json()["projections"]
                rebuilt = projections["attainment"].get("rebuilding", {}).get("events_done", 0)
                lags = {name: p["lag_events"] for name, p in projections.items()}
                return lags.pop("attainment") >= 3 and not any(lags.values()) and rebuilt > 0

            await until(only_attainment_behind, "the other projections caught up, attainment behind, rebuilt")
            # Ready all the same: attainment is being rebuilt, its progress and lag in the body.
            r = await api.get("/health/ready")
            assert r.status_code == 200, r.text
            projection = r.json()["projections"]["attainment"]
            assert projection["lag_events"] >= 3 and projection["lag_seconds"] >= 0
            assert projection["rebuilding"]["events_total"] >= projection["rebuilding"]["events_done"] > 0
            # The report ends: the rebuilt model is swapped in and catches up, the rebuild gone from the body.
            await report.execute("ROLLBACK")

            async def swapped_in() -> bool:
                r = await api.get("/health/ready")
                return r.status_code == 200 and r.json()["projections"]["attainment"] == {
                    "lag_events": 0,
                    "lag_seconds": 0.0,
                }

            await until(swapped_in, "the rebuilt attainment model swapped in")
    finally:
        await report.close()
