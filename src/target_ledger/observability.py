"""What the ledger's tables say about its health, read at scrape time: one short query per figure."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from projections.rebuild import rebuild_lock_key

READ_TIMEOUT = 2.0  # seconds for the whole reading: a scrape must answer during an outage too
STATEMENT_TIMEOUT = "1s"  # each statement, on the server: a slow table cannot hold a connection

# Each projection's place against the head of the log. Lag in events is the head's position less
# the tracked one (the identity may skip numbers, so it is an upper bound), 0 when no event is
# after its cursor (positions and the (xid, position) order can differ a little); lag in seconds
# is the age of the first event it has not applied. A projection never started counts from 0.
PROJECTIONS = """
SELECT p.name, coalesce(t.position, 0) AS position, n.position AS next_position, n.recorded_at AS next_recorded_at
  FROM unnest($1::text[]) AS p(name)
  LEFT JOIN projection_tracking t ON t.name = p.name
  LEFT JOIN LATERAL (
      SELECT e.position, e.recorded_at FROM events e
       WHERE (e.xid, e.position) > (coalesce(t.xid, '0'), coalesce(t.position, 0))
       ORDER BY e.xid, e.position LIMIT 1) AS n ON true
 ORDER BY p.name"""
HEAD = "SELECT coalesce(max(position), 0) AS head, now() AS now FROM events"
PUBLIC_HEAD = "SELECT coalesce(max(seq), 0) FROM public_events"
WEBHOOKS = "SELECT id::text AS id, status, delivered, failures FROM webhook_subscriptions ORDER BY id"
RELAYS = "SELECT name, seq FROM relay_positions ORDER BY name"
# The rebuilds alive now: a row whose rebuild holds its advisory lock. A killed rebuild's row
# stays behind, but its lock went with its session; and a live rebuild may write no progress
# for a while (a long batch, a swap waiting for its locks), so a row's age would tell neither.
# A bigint advisory key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
REBUILDS = """
SELECT r.name, r.started_at, r.updated_at, r.events_done, r.events_total
  FROM projection_rebuilds r JOIN unnest($1::text[], $2::bigint[]) AS k(name, key) ON k.name = r.name
 WHERE EXISTS (SELECT FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND (l.classid::bigint << 32 | l.objid::bigint) = k.key)
 ORDER BY r.name"""
SCHEDULERS = """SELECT scheduler, looked_at, judged_at FROM scheduler_looks ORDER BY scheduler"""


@dataclass(frozen=True)
class ProjectionLag:
    name: str
    position: int
    events: int
    seconds: float


@dataclass
class Reading:
    """The figures of one scrape; optional tables that do not exist yet leave their lists empty."""

    head: int
    projections: list[ProjectionLag]
    public_head: int = 0
    webhooks: list[asyncpg.Record] = field(default_factory=list)
    relays: list[asyncpg.Record] = field(default_factory=list)
    rebuilds: list[asyncpg.Record] = field(default_factory=list)
    schedulers: list[asyncpg.Record] = field(default_factory=list)


@contextlib.asynccontextmanager
async def _reading(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire(timeout=READ_TIMEOUT) as conn, conn.transaction(readonly=True):
        await conn.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")  # a constant, not input
        yield conn


async def _lags(conn: asyncpg.Connection, names: list[str]) -> tuple[int, list[ProjectionLag]]:
    top = await conn.fetchrow(HEAD)
    head, now = top["head"], top["now"]
    return head, [_lag(row, head, now) for row in await conn.fetch(PROJECTIONS, names)]


def _lag(row: asyncpg.Record, head: int, now: datetime) -> ProjectionLag:
    if row["next_position"] is None:
        return ProjectionLag(row["name"], row["position"], 0, 0.0)
    behind = max(head - row["position"], 1)
    return ProjectionLag(row["name"], row["position"], behind, max((now - row["next_recorded_at"]).total_seconds(), 0))


async def readiness(pool: asyncpg.Pool, names: list[str]) -> tuple[list[ProjectionLag], dict[str, asyncpg.Record]]:
    """Each projection's lag behind the log, and the rebuilds alive now by projection."""
    async with asyncio.timeout(READ_TIMEOUT), _reading(pool) as conn:
        lags = (await _lags(conn, names))[1]
        return lags, {r["name"]: r for r in await _rebuilds(conn, names)}


async def _rebuilds(conn: asyncpg.Connection, names: list[str]) -> list[asyncpg.Record]:
    return await _optional(conn, REBUILDS, names, [rebuild_lock_key(name) for name in names])


async def _optional(conn: asyncpg.Connection, query: str, *args: object) -> list[asyncpg.Record]:
    """Rows of a table another part of the service may not have created yet (an older schema): none then."""
    try:
        async with conn.transaction():  # a savepoint: the failed statement leaves the reading usable
            return list(await conn.fetch(query, *args))
    except asyncpg.UndefinedTableError:
        return []


async def read(pool: asyncpg.Pool, names: list[str]) -> Reading:
    """Every figure of a scrape, in one read-only transaction on one connection."""
    async with asyncio.timeout(READ_TIMEOUT), _reading(pool) as conn:
        head, projections = await _lags(conn, names)
        return Reading(
            head=head,
            projections=projections,
            public_head=await conn.fetchval(PUBLIC_HEAD),
            webhooks=list(await conn.fetch(WEBHOOKS)),
            relays=list(await conn.fetch(RELAYS)),
            rebuilds=await _rebuilds(conn, names),
            schedulers=await _optional(conn, SCHEDULERS),
        )
