"""Runs projections: catch up, then follow live; rows and position commit together."""

import asyncio
import contextlib
import itertools
import logging
import zlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import asyncpg

from projections import (
    actions,
    alerts,
    attainment,
    audit,
    inbox,
    incentives,
    pipeline,
    public_events,
    reviews,
    targets,
)
from target_ledger.config import Settings
from target_ledger.database import Outage, create_pool, keep_running, unavailable
from target_ledger.eventstore import Cursor, EventStore, Recorded
from target_ledger.eventstore.subscription import Notifier, follow, wake_or_timeout

PROJECTIONS: list[ModuleType] = [
    attainment,
    targets,
    audit,
    inbox,
    actions,
    public_events,
    alerts,
    reviews,
    pipeline,
    incentives,
]
Handler = Callable[[asyncpg.Connection, Recorded], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, list[Recorded]], Awaitable[None]]
LOCK_POLL = 1.0  # seconds: how soon a standby notices that a lock's holder is gone

log = logging.getLogger(__name__)


async def read_model_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """The pool a process's projections write through: one connection to hold every lock
    (Locks), one per projection to write (or rebuild); commits do not wait for the WAL
    flush (see create_pool). It opens only the first until a lock is taken."""
    return await create_pool(url, settings, "target-ledger-projections", durable=False, size=len(PROJECTIONS) + 1)


class FencedError(Exception):
    """Another worker moved this projection on (or a rebuild swapped its tables): stop
    rather than apply twice."""


class LockLostError(Exception):
    """The session holding this process's projection locks ended: another may hold them now."""


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
    """Empty a projection's tables and move its position back to the start, atomically: its
    worker fills them again from the first event, while readers see the partial model. For
    the benchmark's timing only; an operator rebuilds beside the live model (rebuild.py).
    A worker mid-batch finds its position fenced off and rolls back; an idle one notices
    within a second. Emptied by TRUNCATE: the tables start as fresh as a rebuild's shadow
    tables (a DELETE left every old row's dead version and index entry for the catch-up's
    upserts to walk through). As the session's login user, as a rebuild runs: the service
    role may not truncate."""
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE NONE")
        await conn.execute("SELECT 1 FROM projection_tracking WHERE name = $1 FOR UPDATE", projection.NAME)
        for table in projection.TABLES:  # names from the module's own constant, not input
            await conn.execute(f"TRUNCATE {table}")
        await conn.execute("UPDATE projection_tracking SET xid = '0', position = 0 WHERE name = $1", projection.NAME)


def _lock_key(name: str) -> int:
    return zlib.crc32(f"projection:{name}".encode())


# One round trip for every lock a process waits for; a key it already holds is never asked
# again (the locks are re-entrant: it would be held twice).
TRY_LOCKS = "SELECT k FROM unnest($1::bigint[]) AS k WHERE pg_try_advisory_lock(k)"


class Locks:
    """The advisory locks of a process's projections, all held by one session of `pool`.

    A standby then costs one connection however many projections it waits for, and a
    process still takes over each projection on its own: when the session of a process
    that held some of them ends (a crash), the next look takes every one it held. A
    projection that stops running lets its lock go (`let_go`); the session goes back to
    the pool once none is held or waited for, so the pool can close.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._conn: Any = None  # the pool's connection, taken at the first look
        self._held: set[str] = set()
        self._taken: dict[str, asyncio.Event] = {}  # per projection waited for or held: set once held
        self._asked: set[str] = set()  # the names the last look asked for
        self._use = asyncio.Lock()  # one statement at a time on the session
        self._looked = float("-inf")

    def holds(self, name: str) -> bool:
        return name in self._held

    async def hold(self, name: str) -> None:
        """Wait until this process holds projection `name`'s lock."""
        self._taken.setdefault(name, asyncio.Event())
        while name not in self._held:
            await self._look_soon(name)
            if name not in self._held:
                if self._taken[name].is_set():  # held once, lost since: wait for news afresh
                    self._taken[name] = asyncio.Event()
                await wake_or_timeout(self._taken[name], LOCK_POLL)

    async def first(self, names: list[str]) -> None:
        """Wait until this process holds the lock of at least one of `names`."""
        for name in names:
            self._taken.setdefault(name, asyncio.Event())
        while not self._held & set(names):
            await self._look_soon(names[0])
            if not self._held & set(names):
                await asyncio.sleep(LOCK_POLL)

    async def _look_soon(self, name: str) -> None:
        async with self._use:  # waiters woken together share one look, unless one is new
            if name not in self._asked or asyncio.get_running_loop().time() - self._looked >= LOCK_POLL / 2:
                await self._look()

    async def _look(self) -> None:
        wanted = [name for name in self._taken if name not in self._held]
        try:
            if self._conn is None:
                self._conn = await self.pool.acquire()
                self._conn.add_termination_listener(lambda _: self._forget())
            taken = {r["k"] for r in await self._conn.fetch(TRY_LOCKS, [_lock_key(n) for n in wanted])}
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await self._lose()
            raise
        self._looked, self._asked = asyncio.get_running_loop().time(), set(wanted)
        for name in wanted:
            if _lock_key(name) in taken:
                self._held.add(name)
                self._taken[name].set()

    def _forget(self) -> None:
        """The session ended: its locks went with it."""
        self._held.clear()
        self._taken = {name: asyncio.Event() for name in self._taken}

    async def _lose(self) -> None:
        """The session is gone or unusable: so are its locks; the next look opens another."""
        self._forget()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # never back to the pool still holding a lock
            with contextlib.suppress(Exception):
                await self.pool.release(conn)

    async def let_go(self, name: str) -> None:
        """Projection `name` stops here: its lock goes (another process takes it at its next
        look), and the session with it once no other projection holds or waits."""
        async with self._use:
            self._taken.pop(name, None)
            if name in self._held and self._conn is not None:
                self._held.discard(name)
                try:
                    await self._conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(name))
                except Exception:
                    await self._lose()
            if not self._taken:
                await self.close()

    async def close(self) -> None:
        """Let every lock go, and the session back to the pool."""
        self._held.clear()
        self._taken.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.execute("SELECT pg_advisory_unlock_all()")
            except Exception:  # the session is gone, or asyncpg already took the dead connection back
                with contextlib.suppress(Exception):
                    conn.terminate()
            with contextlib.suppress(Exception):
                await self.pool.release(conn)


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
        raise FencedError(f"projection {name} was rebuilt or moved on by another worker; starting again from there")


def wanted(projection: Any, batch: list[Recorded]) -> list[tuple[type, list[Recorded]]]:
    """The batch's runs of one event type that the projection handles, in order. By stored
    type: an event no handler of this projection wants is never decoded."""
    handled = projection.HANDLERS.keys() | getattr(projection, "BATCH_HANDLERS", {}).keys()
    runs = [(kind, list(group)) for kind, group in itertools.groupby(batch, key=lambda r: r.event_type)]
    return [(kind, group) for kind, group in runs if kind in handled]


async def handle(conn: asyncpg.Connection, projection: Any, runs: list[tuple[type, list[Recorded]]]) -> None:
    """Write the runs with the projection's handlers, in the caller's transaction. A run of
    events of one type goes to the projection's batch handler for that type, if it has one."""
    handlers: dict[type, Handler] = projection.HANDLERS
    batch_handlers: dict[type, BatchHandler] = getattr(projection, "BATCH_HANDLERS", {})
    for kind, group in runs:
        if kind in batch_handlers:
            await batch_handlers[kind](conn, group)
        else:
            for recorded in group:
                await handlers[kind](conn, recorded)


async def apply_batch(pool: asyncpg.Pool, projection: Any, batch: list[Recorded], since: Cursor) -> Cursor:
    """Apply a batch and move the tracked position, in one transaction."""
    name: str = projection.NAME
    until = batch[-1].cursor
    runs = wanted(projection, batch)
    async with pool.acquire() as conn:
        if not runs:  # nothing to write but the position: one statement is atomic on its own
            await _move(conn, name, since, until)
            return until
        try:
            async with conn.transaction():
                await handle(conn, projection, runs)
                await _move(conn, name, since, until)
        except asyncpg.PostgresError as e:
            # A rebuild swapped new tables in while this batch waited for them: its writes
            # clash with rows already there, or its tables are gone. Not a failure: fenced.
            if not unavailable(e) and await tracked(conn, name) != since:
                raise FencedError(f"projection {name} was rebuilt or moved on; starting again from there") from e
            raise
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
    locks: Locks | None = None,
) -> None:
    """Run one projection forever; only the process holding its advisory lock applies events
    (`locks`: the process's; without it, a session of `pool` holds this one's lock). Built
    by another VERSION of its handlers, its read model is first rebuilt beside the live one
    (which keeps answering) and swapped in. Tells `outage` when it works: the database
    answered with the tracked position."""
    from projections import rebuild  # it builds on this module's handlers and tracking

    name: str = projection.NAME
    locks = locks or Locks(pool)
    try:
        # A standby polls the lock: PostgreSQL sends no event when its holder dies.
        await locks.hold(name)
        async with pool.acquire() as conn:
            await rebuild.upgrade(conn, store, projection)
        cursor = await tracked(pool, name)
        if outage is not None:
            outage.over()
        async for batch in follow(store, notifier, cursor, batch_size=batch_size):
            if not locks.holds(name):
                raise LockLostError(f"projection {name}: the session holding its lock ended")
            if not batch:  # idle: make sure nobody rebuilt or moved this projection meanwhile
                if await tracked(pool, name) != cursor:
                    raise FencedError(f"projection {name} was rebuilt or moved on; starting again from there")
                continue
            cursor = await apply_batch(pool, projection, batch, cursor)
            if progress is not None:
                progress.moved()
    finally:
        await locks.let_go(name)


async def supervise(
    pool: asyncpg.Pool,
    store: EventStore,
    notifier: Notifier,
    projection: Any,
    progress: Progress | None = None,
    *,
    locks: Locks | None = None,
) -> None:
    """Keep a projection running (`locks`: the process's, see Locks): after a failure (the
    database gone or restarted, a bug), logged once per episode, it starts again from its
    tracked position, which the failed batch never moved, after a short backoff that ends
    early when the listener's session opens again (the database is back). Fenced off by a
    rebuild's swap or another worker, it starts again at once: that is no failure."""

    async def run(outage: Outage) -> None:
        while True:
            try:
                return await run_projection(pool, store, notifier, projection, progress, outage=outage, locks=locks)
            except FencedError as e:  # not trouble: a rebuild swapped its tables in, or another worker moved it
                log.info("%s", e)

    await keep_running(f"projection {projection.NAME}", run, woken=notifier.reopened)


async def caught_up(
    pool: asyncpg.Pool,
    store: EventStore,
    name: str,
    position: int,
    timeout: float,
    progress: Progress | None = None,
) -> bool:
    """Wait until projection `name` has applied the event at `position`; False after `timeout`
    seconds. The bound holds for the queries too: one waiting for a lock on the log (an
    operator's, a migration's) is cancelled at the deadline, not waited out."""
    target = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                waiter = progress.waiter() if progress else None
                target = target or await store.cursor_at(position)
                if target is not None and await tracked(pool, name) >= target:
                    return True
                # Poll too: the worker may be another process.
                await wake_or_timeout(waiter or asyncio.Event(), 0.05)
    except TimeoutError:
        return False
