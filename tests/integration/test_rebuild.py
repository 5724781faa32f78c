"""Rebuilding a read model beside the live one: readers see the old or the new model, never a
partial one; a live worker carries on from the new one; a killed rebuild changes nothing; a
new VERSION is rebuilt when a worker starts; a standby costs one connection."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from projections import attainment, audit, inbox, public_events, targets
from projections.rebuild import rebuild
from projections.runner import PROJECTIONS, tracked
from target_ledger.api.auth import issue_token
from target_ledger.config import Settings
from tests.api.live import live_api
from tests.api.support import ask, build_east, team_target

Q3 = (date(2026, 7, 1), date(2026, 9, 30))
NOW = datetime(2026, 10, 1, tzinfo=UTC)


def _auth(settings: Settings):
    def headers(subject: str, role: str | None = None, node: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings.secret(), subject, role, scope_node=node)}"}

    return headers


async def _head(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))


async def _all_caught_up(pool: asyncpg.Pool, projections: list[Any] = PROJECTIONS, limit: float = 60.0) -> None:
    """Wait until every projection has applied the last event."""
    for _ in range(int(limit / 0.05)):
        head = await _head(pool)
        positions = [(await tracked(pool, p.NAME)).position for p in projections]
        if min(positions) >= head:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the projections never caught up")


async def _answers(conn: asyncpg.Connection, team: Any) -> dict[str, Any]:
    """What readers of every read model see of the east-1 team and its target."""
    return {
        "attainment": await attainment.fetch_actual_totals(
            conn, node="east-1", metrics=["revenue"], starts_on=Q3[0], ends_on=Q3[1], scope={}
        ),
        "plan": await attainment.fetch_plan(conn, node="east-1", metric="revenue", period="2026-Q3", scope={}),
        "tree": await targets.fetch_tree(conn, team),
        "audit": await audit.fetch_history(conn, team),
        "inbox": await inbox.fetch_requests(conn, None),
        "feed": (await public_events.fetch_page(conn, after=0, limit=10_000, types=None, nodes=["east-1"]))[0],
        "actions": await conn.fetchval("SELECT count(*) FROM corrective_actions"),
        "alerts": await conn.fetchval("SELECT count(*) FROM alerts"),
        "reviews": await conn.fetchval("SELECT count(*) FROM reviews"),
    }


@contextlib.asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The API on a real port (in this event loop: a test client would block it while a
    request waits for a swap's lock) with its projections running in-process, and east-1's
    team target (split between rep1 and rep2, with one actual and an adjustment asked for)."""
    auth = _auth(settings)
    async with live_api(settings, lambda: datetime.now(UTC)) as client:
        await build_east(client, auth)
        team = await team_target(client, auth)
        await ask(client, auth, team["id"], new_value="900")
        body = {"person": "rep1", "metric": "revenue", "date": "2026-07-15", "value": "250"}
        assert (await client.post("/v1/actuals", json=body, headers=auth("crm", "integration"))).status_code == 201
        yield client, team["id"]


async def test_readers_see_the_old_or_the_new_model_while_every_projection_is_rebuilt(settings, pool, store) -> None:
    async with _service(settings) as (client, team):
        await _all_caught_up(pool)
        async with pool.acquire() as conn:
            before = await _answers(conn, team)
        assert before["attainment"] == {"revenue": Decimal(250)} and before["feed"] and before["audit"]
        seen: list[dict[str, Any]] = []
        rebuilt = asyncio.Event()

        async def poll() -> None:
            async with pool.acquire() as conn:
                while not rebuilt.is_set():
                    seen.append(await _answers(conn, team))

        async def append_elsewhere() -> None:
            # Meanwhile actuals keep coming (for east-2: nothing the reader looks at).
            body = {"person": "lead2", "metric": "orders", "date": "2026-07-02", "value": "1"}
            while not rebuilt.is_set():
                r = await client.post("/v1/actuals", json=body, headers=_auth(settings)("crm", "integration"))
                assert r.status_code == 201, r.text

        reader, writer = asyncio.create_task(poll()), asyncio.create_task(append_elsewhere())
        try:
            # Every projection rebuilt beside the live one and swapped in, one after another.
            async with pool.acquire() as conn:
                for projection in PROJECTIONS:
                    await rebuild(conn, store, projection)
        finally:
            rebuilt.set()
            await asyncio.gather(reader, writer)
        # Every answer a reader got was the complete model's.
        assert len(seen) > len(PROJECTIONS)
        assert [a for a in seen if a != before] == []
        # The live worker carried on from the new tables: the writes made meanwhile and a new
        # actual of the team all reached them.
        await _all_caught_up(pool)
        body = {"person": "rep2", "metric": "revenue", "date": "2026-07-16", "value": "100"}
        assert (
            await client.post("/v1/actuals", json=body, headers=_auth(settings)("crm", "integration"))
        ).status_code == 201
        await _all_caught_up(pool)
        async with pool.acquire() as conn:
            after = await _answers(conn, team)
        assert after["attainment"] == {"revenue": Decimal(350)}
        orders = await pool.fetchval("SELECT count(*) FROM events WHERE payload ->> 'metric' = 'orders'")
        assert orders > 0
        assert await pool.fetchval(
            "SELECT sum(value) FROM attainment_daily WHERE node = 'east-2' AND metric = 'orders'"
        ) == Decimal(orders)
        # No shadow left behind, no progress row either.
        assert await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'") == 0
        assert await pool.fetchval("SELECT count(*) FROM projection_rebuilds") == 0
