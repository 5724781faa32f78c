"""Wait until the projections have applied every committed event, so no leftover work skews the next figure."""

import asyncio
import time

import asyncpg

from projections.runner import PROJECTIONS


async def settle(conn: asyncpg.Connection, timeout: float = 600, names: list[str] | None = None) -> float:
    """Seconds it took every projection (or those named) to reach the newest event."""
    started = time.perf_counter()
    names = names or [p.NAME for p in PROJECTIONS]
    while True:
        behind = await conn.fetchval(
            """SELECT count(*) FROM unnest($1::text[]) AS n(name)
                LEFT JOIN projection_tracking t USING (name)
               WHERE EXISTS (SELECT 1 FROM events e
                              WHERE (e.xid, e.position) > (coalesce(t.xid, '0'), coalesce(t.position, 0)))""",
            names,
        )
        if not behind:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{behind} projections still behind after {timeout} s")
        await asyncio.sleep(0.05)
