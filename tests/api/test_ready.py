"""/health/ready: not ready while a projection is more than TL_READY_MAX_LAG events behind the
log (a load balancer sends reads elsewhere), ready again once it caught up; the lags in the body."""

import msgspec
from litestar.testing import AsyncTestClient

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
