"""Runs projections: catch up, then follow live; rows and position commit together."""

import asyncio
import contextlib
import itertools
import zlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import asyncpg

from projections import actions, alerts, attainment, audit, inbox, public_events, reviews, targets
from target_ledger.config import Settings
from target_ledger.database import Outage, create_pool, keep_running
from target_ledger.eventstore import Cursor, EventStore, Recorded
from target_ledger.eventstore.subscription import Notifier, follow, wake_or_timeout

PROJECTIONS: list[ModuleType] = [attainment, targets, audit, inbox, actions, public_events, alerts, reviews]
Handler = Callable[[asyncpg.Connection, Recorded], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, list[Recorded]], Awaitable[None]]


async def read_model_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """The pool a process's projections write through: one connection each for its advisory
    lock and one to write; commits do not wait for the WAL flush (see create_pool)."""
    return await create_pool(url, settings, "target-ledger-projections", durable=False, size=2 * len(PROJECTIONS))


class FencedError(Exception):
    """Another worker moved this projection on: stop rather than apply twice."""


class Progress:
    """In-process news of projections moving on, for readers waiting on min_position."""

    def __init__(self) -> None:
        self._moved = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        return self._moved

    def moved(self) -> None:
        self._moved.set()
        self._moved = asyncio.Event()


async def reset(conn: asyncpg.Connection, projection: Any) -> None:
    """Empty a projection's tables and move its position back to the start, atomically.
    A worker mid-batch finds its position fenced off and rolls back; an idle one notices
    within a second; both then rebuild from the first event."""
    async with conn.transaction():
        await conn.execute("SELECT 1 FROM projection_tracking WHERE name = $1 FOR UPDATE", projection.NAME)
        for table in projection.TABLES:  # names from the module's own constant, not input
            await conn.execute(f"DELETE FROM {table}")
        await conn.execute("UPDATE projection_tracking SET xid = '0', position = 0 WHERE name = $1", projection.NAME)


def _lock_key(name: str) -> int:
    return zlib.crc32(f"projection:{name}".encode())


async def tracked(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> Cursor:
    row = await conn.fetchrow(
        "SELECT xid::text::bigint AS xid, position FROM projection_tracking WHERE name = $1", name
    )
    return Cursor(row["xid"], row["position"]) if row else Cursor(0, 0)


MOVE = """UPDATE projection_tracking SET xid = $2::text::xid8, position = $3
            WHERE name = $1 AND xid = $4::text::xid8 AND position = $5"""


async def _move(conn: asyncpg.Connection, name: str, since: Cursor, until: Cursor) -> None:
    moved = await conn.execute(MOVE, name, str(until.xid), until.position, str(since.xid), since.position)
    if moved != "UPDATE 1":
        raise FencedError(f"projection {name} was moved on by another worker")


async def apply_batch(pool: asyncpg.Pool, projection: Any, batch: list[Recorded], since: Cursor) -> Cursor:
    """Apply a batch and move the tracked position, in one transaction. A run of events of
    one type goes to the projection's batch handler for that type, if it has one."""
    name: str = projection.NAME
    handlers: dict[type, Handler] = projection.HANDLERS
    batch_handlers: dict[type, BatchHandler] = getattr(projection, "BATCH_HANDLERS", {})
    until = batch[-1].cursor
    # By stored type: an event no handler of this projection wants is never decoded.
    runs = [(kind, list(group)) for kind, group in itertools.groupby(batch, key=lambda r: r.event_type)]
    wanted = [(kind, group) for kind, group in runs if kind in batch_handlers or kind in handlers]
    async with pool.acquire() as conn:
        if not wanted:  # nothing to write but the position: one statement is atomic on its own
            await _move(conn, name, since, until)
            return until
        async with conn.transaction():
            for kind, group in wanted:
                if kind in batch_handlers:
                    await batch_handlers[kind](conn, group)
                else:
                    for recorded in group:
                        await handlers[kind](conn, recorded)
            await _move(conn, name, since, until)
    return until


async def run_projection(
    pool: asyncpg.Pool,
    store: EventStore,
    notifier: Notifier,
    projection: Any,
    progress: Progress | None = None,
    *,
    batch_size: int = 2000,
    outage: Outage | None = None,
) -> None:
    """Run one projection forever; only the worker holding its advisory lock applies events.
    Tells `outage` when it works: the database answered with the tracked position."""
    name: str = projection.NAME
    async with pool.acquire() as lock_conn:
        key = _lock_key(name)
        # A standby polls the lock: PostgreSQL sends no event when its holder dies.
        while not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", key):  # noqa: ASYNC110
            await asyncio.sleep(1.0)
        try:
            await pool.execute("INSERT INTO projection_tracking (name) VALUES ($1) ON CONFLICT DO NOTHING", name)
            cursor = await tracked(pool, name)
            if outage is not None:
                outage.over()
            async for batch in follow(store, notifier, cursor, batch_size=batch_size):
                if not batch:  # idle: make sure nobody reset or moved this projection meanwhile
                    if await tracked(pool, name) != cursor:
                        raise FencedError(f"projection {name} was reset or moved on; starting again from there")
                    continue
                cursor = await apply_batch(pool, projection, batch, cursor)
                if progress is not None:
                    progress.moved()
        finally:
            with contextlib.suppress(Exception):
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", key)


async def supervise(
    pool: asyncpg.Pool,
    store: EventStore,
    notifier: Notifier,
    projection: Any,
    progress: Progress | None = None,
) -> None:
    """Keep a projection running: after a failure (the database gone or restarted, a bug),
    logged once per episode, it starts again from its tracked position, which the failed
    batch never moved, after a short backoff that ends early when the listener's session
    opens again (the database is back)."""

    async def run(outage: Outage) -> None:
        await run_projection(pool, store, notifier, projection, progress, outage=outage)

    await keep_running(f"projection {projection.NAME}", run, woken=notifier.reopened)


async def caught_up(
    pool: asyncpg.Pool,
    store: EventStore,
    name: str,
    position: int,
    timeout: float,
    progress: Progress | None = None,
) -> bool:
    """Wait (bounded) until projection `name` has applied the event at `position`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    target = None
    while True:
        waiter = progress.waiter() if progress else None
        target = target or await store.cursor_at(position)
        if target is not None and await tracked(pool, name) >= target:
            return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        pause = min(remaining, 0.05)  # poll too: the worker may be another process
        await wake_or_timeout(waiter or asyncio.Event(), pause)
