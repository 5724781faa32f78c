"""Liveness and readiness."""

from litestar import Response, get
from litestar.datastructures import State

from target_ledger.api.errors import RETRY_AFTER, problem


@get("/health/live", summary="The process is up", tags=["operations"])
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", summary="The database answers (503 with Retry-After while it does not)", tags=["operations"])
async def ready(state: State) -> Response:
    try:
        await state.pool.fetchval("SELECT 1", timeout=2)
    except Exception as e:  # any failure means not ready; say which
        return problem(503, "Service Unavailable", f"database not reachable: {e}", {"Retry-After": RETRY_AFTER})
    return Response({"status": "ok"})
