"""Wait until the projections have applied every committed event, so no leftover work skews the next figure."""

import asyncio
import time

import asyncpg

from projections.runner import PROJECTIONS


async def settle(conn: asyncpg.Connection, timeout: float = 600, names: list[str] | None = None) -> float:
    """Seconds it took every projection (or those named) to reach the newest event. Raise
    TimeoutError only when they made no progress for `timeout` seconds: catching up on millions
    of events takes as long as it takes."""
    started = stalled_since = time.perf_counter()
    names = names or [p.NAME for p in PROJECTIONS]
    last = None
    while True:
        row = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE EXISTS (
                          SELECT 1 FROM events e
                           WHERE (e.xid, e.position) > (coalesce(t.xid, '0'), coalesce(t.position, 0)))) AS behind,
                      sum(coalesce(t.position, 0)) AS done
                 FROM unnest($1::text[]) AS n(name)
                 LEFT JOIN projection_tracking t USING (name)""",
            names,
        )
        if not row["behind"]:
            return time.perf_counter() - started
        now = time.perf_counter()
        if row["done"] != last:
            last, stalled_since = row["done"], now
        elif now - stalled_since > timeout:
            raise TimeoutError(f"{row['behind']} projections made no progress for {timeout} s")
        await asyncio.sleep(0.05)
