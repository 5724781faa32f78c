"""Rebuild a read model beside the live one, then swap it in atomically: readers see the old
complete model until the swap's commit and the new one after, never a partial one.

The shadow model (shadow.py) is built by the projection's own handlers, unchanged. Swapping
drops the live tables and moves the shadow's into public, which takes their owner's rights: the
rebuild runs as the session's login user (SET LOCAL ROLE NONE), the one that runs migrations,
not as the service role.
"""

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable
from typing import Any

import asyncpg
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
    wait_exponential_jitter,
)

from projections.runner import handle, tracked, wanted
from projections.shadow import as_owner, drop, prepare, quoted, shadow_schema
from target_ledger.eventstore import Cursor, EventStore

BATCH = 2000  # events per shadow transaction
NEAR = 500  # events behind the head: close enough to swap (the rest is applied under the swap's lock)
# Readers of a live table queue behind a swap waiting for its lock: each attempt waits this
# long at most (for all its locks together), the longest a reader stalls for it.
SWAP_LOCK_TIMEOUT = "150ms"
SWAP_WAIT_MAX = 5.0  # seconds between attempts at most (they start at 0.1 s and double)
SWAP_GIVE_UP = 600.0  # seconds of attempts before an operator's rebuild gives up (a worker's never does)
BLOCKED_LOG_EVERY = 60.0  # seconds: how often a swap kept waiting names the sessions in its way
REPORT_EVERY = 0.5  # seconds: how often the progress row in projection_rebuilds is written

OnProgress = Callable[[int, int], None]  # events done, events in the log when it began


log = logging.getLogger(__name__)


class RebuildRunningError(Exception):
    """Another session is rebuilding this projection now."""


class SwapBlockedError(Exception):
    """The swap never got the live tables' locks in the time allowed; the message names the
    sessions that held them (the rebuilt model is dropped, the live one unchanged)."""


class Tally:
    """A rebuild's progress: told to `on_progress` at every batch, and kept in a row of
    projection_rebuilds (at most every REPORT_EVERY seconds) for other processes' /metrics."""

    def __init__(self, conn: asyncpg.Connection, name: str, total: int, on_progress: OnProgress | None) -> None:
        self.conn, self.name, self.total, self.on_progress = conn, name, total, on_progress
        self.done = 0
        self._written = float("-inf")

    async def begin(self) -> None:
        # A killed rebuild's row (its process died) gives way: this one starts now.
        await self.conn.execute("DELETE FROM projection_rebuilds WHERE name = $1", self.name)
        await self.write()

    async def add(self, events: int, *, write: bool = True) -> None:
        self.done += events
        self.total = max(self.total, self.done)  # events appended since it began count too
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)
        if write and asyncio.get_running_loop().time() - self._written >= REPORT_EVERY:
            await self.write()

    async def write(self) -> None:
        await self.conn.execute(
            """INSERT INTO projection_rebuilds (name, started_at, updated_at, events_done, events_total)
               VALUES ($1, now(), now(), $2, $3)
               ON CONFLICT (name) DO UPDATE
                  SET updated_at = now(), events_done = EXCLUDED.events_done, events_total = EXCLUDED.events_total""",
            self.name,
            self.done,
            self.total,
        )
        self._written = asyncio.get_running_loop().time()

    async def end(self) -> None:
        """No row left behind, swapped in or not (a killed process's row stays: its
        updated_at tells how long ago it stopped)."""
        with contextlib.suppress(Exception):
            await self.conn.execute("DELETE FROM projection_rebuilds WHERE name = $1", self.name)


def rebuild_lock_key(name: str) -> int:
    """The advisory lock a rebuild of projection `name` holds while it runs: held, the rebuild
    is alive (PostgreSQL lets it go when the session ends, however its process died)."""
    return zlib.crc32(f"rebuild:{name}".encode())


def _key(projection: Any) -> int:
    return rebuild_lock_key(projection.NAME)


async def rebuild(
    conn: asyncpg.Connection,
    store: EventStore,
    projection: Any,
    on_progress: OnProgress | None = None,
    *,
    give_up_after: float | None = None,
) -> Cursor:
    """Rebuild `projection` from the first event beside its live model and swap it in;
    return the position it stands at. Refused while another rebuild of it runs. A swap that
    gets no locks on the live tables for `give_up_after` seconds (SWAP_GIVE_UP) raises
    SwapBlockedError, the rebuilt model dropped."""
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _key(projection)):
        raise RebuildRunningError(f"a rebuild of {projection.NAME} is running in another session")
    try:
        bound = SWAP_GIVE_UP if give_up_after is None else give_up_after
        return await _rebuild(conn, store, projection, on_progress, bound)
    finally:
        with contextlib.suppress(Exception):  # a connection that broke has let the lock go
            await conn.execute("SELECT pg_advisory_unlock($1)", _key(projection))


async def upgrade(conn: asyncpg.Connection, store: EventStore, projection: Any) -> None:
    """What a worker does on taking a projection's lock: a read model built by another
    VERSION of the handlers is rebuilt and swapped in (the old one answers meanwhile); a
    model with nothing in it yet is simply marked as this version's. Its swap waits for the
    live tables' locks as long as it takes (never from the first event again)."""
    await conn.execute("INSERT INTO projection_tracking (name) VALUES ($1) ON CONFLICT DO NOTHING", projection.NAME)
    if await _current(conn, projection):
        return
    await conn.execute("SELECT pg_advisory_lock($1)", _key(projection))  # wait for an operator's rebuild
    try:
        if not await _current(conn, projection):
            await _rebuild(conn, store, projection, None, None)
    finally:
        with contextlib.suppress(Exception):  # a connection that broke has let the lock go
            await conn.execute("SELECT pg_advisory_unlock($1)", _key(projection))


async def _current(conn: asyncpg.Connection, projection: Any) -> bool:
    """Whether the read model is this VERSION's, marking an empty one so."""
    marked = await conn.execute(
        "UPDATE projection_tracking SET version = $2 WHERE name = $1 AND position = 0 AND version <> $2",
        projection.NAME,
        projection.VERSION,
    )
    version = await conn.fetchval("SELECT version FROM projection_tracking WHERE name = $1", projection.NAME)
    return marked == "UPDATE 1" or version == projection.VERSION


async def _rebuild(
    conn: asyncpg.Connection,
    store: EventStore,
    projection: Any,
    on_progress: OnProgress | None,
    give_up_after: float | None,
) -> Cursor:
    await conn.execute("INSERT INTO projection_tracking (name) VALUES ($1) ON CONFLICT DO NOTHING", projection.NAME)
    tally = Tally(conn, projection.NAME, await conn.fetchval("SELECT count(*) FROM events"), on_progress)
    await tally.begin()
    try:
        await prepare(conn, projection)
        cursor, full = Cursor(0, 0), True
        while full:  # until near the head: what comes after is applied under the swap's lock
            cursor, read = await _catch_up(conn, store, projection, cursor, tally)
            full = read > NEAR
        await tally.write()  # near the head now: said at once, the swap may wait a while for its locks
        async with conn.transaction():
            await as_owner(conn, projection)
            for table in projection.TABLES:  # fresh tables have no statistics: plan reads well at once
                await conn.execute(f"ANALYZE {quoted(shadow_schema(projection))}.{quoted(table)}")
        try:
            return await _swap_when_possible(conn, store, projection, cursor, tally, give_up_after)
        except SwapBlockedError:
            await drop(conn, projection)  # nothing left for an operator to clean up
            raise
    finally:
        await tally.end()


async def _catch_up(
    conn: asyncpg.Connection, store: EventStore, projection: Any, cursor: Cursor, tally: Tally
) -> tuple[Cursor, int]:
    """Apply the events after `cursor` to the shadow, a batch per transaction, until a read
    comes back short of a batch; the cursor reached and how many events the last read had."""
    while True:
        batch = await store.read_after(cursor, BATCH, conn)
        if batch:
            async with conn.transaction():
                await as_owner(conn, projection)
                await handle(conn, projection, wanted(projection, batch))
            cursor = batch[-1].cursor
            await tally.add(len(batch))
        if len(batch) < BATCH:
            return cursor, len(batch)


class _Behind(Exception):
    """The shadow stands behind the live model: catch up more, then try again."""


# What keeps a swap from its locks: a reader or a worker's batch on the live tables (the lock
# timeout, or the statement's bound on all of them together), or a deadlock that chose it.
REFUSED = (asyncpg.LockNotAvailableError, asyncpg.QueryCanceledError, asyncpg.DeadlockDetectedError)

# The sessions holding any lock on the live tables (any lock keeps an ACCESS EXCLUSIVE out).
BLOCKERS = """
SELECT DISTINCT a.pid, a.application_name, a.state, a.xact_start
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid()
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.relation = ANY($1::text[]::regclass[])
 ORDER BY a.xact_start NULLS LAST, a.pid
"""


async def _blockers(conn: asyncpg.Connection, projection: Any) -> str:
    """The sessions in the swap's way, in a line: pid, application, state, transaction start."""
    async with conn.transaction():  # as the login user: the service role sees no other user's state
        await conn.execute("SET LOCAL ROLE NONE")
        rows = await conn.fetch(BLOCKERS, [f"public.{t}" for t in projection.TABLES])
    held = [
        f"pid {r['pid']} ({r['application_name'] or 'no application_name'}, {r['state'] or 'state not visible'}"
        + (f", in a transaction since {r['xact_start']:%Y-%m-%d %H:%M:%S%z}" if r["xact_start"] else "")
        + ")"
        for r in rows
    ]
    return "; ".join(held) or "no session now"


async def _swap_when_possible(
    conn: asyncpg.Connection,
    store: EventStore,
    projection: Any,
    cursor: Cursor,
    tally: Tally,
    give_up_after: float | None,
) -> Cursor:
    """Swap; when the live tables' locks do not come within SWAP_LOCK_TIMEOUT (a long reader
    or a worker's batch), catch up and try again after a growing wait, for `give_up_after`
    seconds (None: for ever), naming the sessions in the way once a BLOCKED_LOG_EVERY."""
    loop = asyncio.get_running_loop()
    logged = loop.time()
    retrying = AsyncRetrying(
        retry=retry_if_exception_type((*REFUSED, _Behind)),
        wait=wait_exponential_jitter(multiplier=0.1, max=SWAP_WAIT_MAX, jitter=0.1),
        stop=stop_never if give_up_after is None else stop_after_delay(give_up_after),
    )
    try:
        async for attempt in retrying:
            with attempt:
                cursor, _ = await _catch_up(conn, store, projection, cursor, tally)
                try:
                    cursor = await _swap(conn, store, projection, cursor, tally)
                except REFUSED:
                    if loop.time() - logged >= BLOCKED_LOG_EVERY:
                        logged = loop.time()
                        held = await _blockers(conn, projection)
                        log.warning(
                            "the swap of %s waits for its locks on the live tables, held by: %s", projection.NAME, held
                        )
                    raise
    except RetryError:
        raise SwapBlockedError(
            f"the swap of {projection.NAME} got no lock on its live tables in {give_up_after:g} s; held by:"
            f" {await _blockers(conn, projection)}; the rebuilt model was dropped, the live one is unchanged"
        ) from None
    return cursor


async def _swap(conn: asyncpg.Connection, store: EventStore, projection: Any, cursor: Cursor, tally: Tally) -> Cursor:
    """In one transaction: the live tables locked (tables first, then the tracking row: the
    order a live worker's batch takes them, so neither waits on the other in a circle), the
    last events applied to the shadow, the live tables dropped, the shadow's moved into
    their place, and the tracked position and version set to the shadow's. A live worker
    of this projection elsewhere finds its next move fenced off and starts again from here."""
    schema, name = shadow_schema(projection), projection.NAME
    live = ", ".join(f"public.{quoted(t)}" for t in projection.TABLES)
    async with conn.transaction():
        await as_owner(conn, projection)
        # Each lock waited for, and all of them together, bounded: a reader stalls that long at most.
        before = await conn.fetchval("SELECT current_setting('statement_timeout')")
        await conn.execute("SELECT set_config('lock_timeout', $1, true)", SWAP_LOCK_TIMEOUT)
        await conn.execute("SELECT set_config('statement_timeout', $1, true)", SWAP_LOCK_TIMEOUT)
        await conn.execute(f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
        await conn.execute("SELECT set_config('statement_timeout', $1, true)", before)
        await conn.execute("SELECT 1 FROM projection_tracking WHERE name = $1 FOR UPDATE", name)
        while True:  # to the watermark: what commits after this transaction began comes after it
            batch = await store.read_after(cursor, BATCH, conn)
            if not batch:
                break
            await handle(conn, projection, wanted(projection, batch))
            cursor = batch[-1].cursor
            await tally.add(len(batch), write=False)
        if cursor < await tracked(conn, name):
            raise _Behind(f"the shadow of {name} stands behind its live model")
        for table in projection.TABLES:
            await conn.execute(f"DROP TABLE public.{quoted(table)}")
            await conn.execute(f"ALTER TABLE {quoted(schema)}.{quoted(table)} SET SCHEMA public")
        await conn.execute(f"DROP SCHEMA {quoted(schema)}")
        await conn.execute(
            """UPDATE projection_tracking SET xid = $2::text::xid8, position = $3, version = $4 WHERE name = $1""",
            name,
            str(cursor.xid),
            cursor.position,
            projection.VERSION,
        )
        await conn.execute("DELETE FROM projection_rebuilds WHERE name = $1", name)
    return cursor
