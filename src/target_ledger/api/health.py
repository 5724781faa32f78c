"""Liveness and readiness."""

from litestar import Response, get
from litestar.datastructures import State

from projections.runner import PROJECTIONS
from target_ledger import observability
from target_ledger.api.errors import RETRY_AFTER, problem


@get("/health/live", summary="The process is up", tags=["operations"])
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/health/ready",
    summary="The database answers and no projection is more than TL_READY_MAX_LAG events behind"
    " (else 503 with Retry-After), unless it is being rebuilt; each projection's lag in the body,"
    " and a rebuild's progress",
    tags=["operations"],
)
async def ready(state: State) -> Response:
    try:
        lags, rebuilds = await observability.readiness(state.pool, [p.NAME for p in PROJECTIONS])
    except Exception as e:  # any failure means not ready; say which
        return problem(503, "Service Unavailable", f"database not reachable: {e}", {"Retry-After": RETRY_AFTER})
    projections: dict[str, dict[str, object]] = {
        lag.name: {"lag_events": lag.events, "lag_seconds": round(lag.seconds, 3)} for lag in lags
    }
    for name, rebuild in rebuilds.items():
        progress = {"events_done": rebuild["events_done"], "events_total": rebuild["events_total"]}
        projections[name]["rebuilding"] = progress
    most = state.settings.ready_max_lag
    # A projection being rebuilt stands still until its new model is swapped in (a worker's
    # rebuild after an upgrade): its lag is expected, and every API answering 503 for it at
    # once would take the service out.
    behind = [lag for lag in lags if lag.events > most and lag.name not in rebuilds]
    if behind:
        errors = [
            {"field": f"projections.{lag.name}", "message": f"{lag.events} events behind (at most {most})"}
            for lag in behind
        ]
        detail = f"{len(behind)} projection(s) more than {most} events behind the log"
        headers = {"Retry-After": RETRY_AFTER}
        return problem(503, "Service Unavailable", detail, headers, errors=errors, projections=projections)
    return Response({"status": "ok", "projections": projections})
