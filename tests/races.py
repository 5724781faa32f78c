"""Transactions interleaved by hand: hold what the next append needs, see it wait, let it go."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg


async def blocked_by(owner: asyncpg.Connection, waiter: asyncio.Task) -> None:
    """Return once another session waits for a lock that `owner`'s transaction holds: the
    waiter's statement (its task must still be running)."""
    sql = "SELECT exists(SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))"
    async with asyncio.timeout(10):
        while True:
            assert not waiter.done(), f"it did not wait: {waiter.result()}"
            if await owner.fetchval(sql, owner.get_server_pid()):
                return
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def next_position_held(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold the position the next append will take, in an open transaction that rolls back on
    exit. That append checks its event ids, then waits here before writing its index entries:
    the moment at which an identical append can commit in between."""
    owner = await asyncpg.connect(db_url)
    held = owner.transaction()
    await held.start()
    try:
        await owner.execute(
            """INSERT INTO events (position, event_id, stream_id, version, type, payload, metadata)
               OVERRIDING SYSTEM VALUE
               SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END,
                      gen_random_uuid(), gen_random_uuid(), 1, 'test.Held', '{}', '{}'
                 FROM events_position_seq"""
        )
        yield owner
    finally:
        await held.rollback()
        await owner.close()
